import type { EmitContext } from "./lowering.js";
import { GEMM } from "../wasm/kernels.js";

/**
 * Matrix kernels as performance engineers write them by hand: row-major flat arrays and
 * register blocking — a small tile of the output held in local accumulators while the
 * loop over the inner dimension runs innermost, so each step loads one value per tile row
 * and column and stores nothing. Dims are JS expressions: literals when fixed, so V8 sees
 * constant trip counts.
 */
export interface MatMatSpec {
  readonly out: string;
  readonly a: string;
  readonly b: string;
  readonly m: string;
  readonly n: string;
  readonly k: string;
  /** A is stored [k, m] and read transposed. */
  readonly ta: boolean;
  /** B is stored [n, k] and read transposed. */
  readonly tb: boolean;
}

/**
 * Tile shapes (rows × columns of the output). Reading A transposed strides through memory,
 * so fewer rows and more columns pay off there; both measured on the MLP benchmark.
 */
const tileOf = (s: MatMatSpec): [number, number] =>
  s.n === "1" ? [s.ta ? 4 : rowBlock(s.m), 1] : s.ta ? [2, 4] : [4, 2];

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export function emitMatMat(ctx: EmitContext, s: MatMatSpec): string {
  const v = names(ctx, ["i", "j", "p", "ar", "bc", "pm", "pn", "a", "b", "s"]);
  const [R, C] = tileOf(s);
  const at = (base: string, r: number) => (r === 0 ? base : `${base} + ${r}`);
  const tile = (rows: number, cols: number) => {
    const rs = range(rows);
    const cs = range(cols);
    // Row and column bases that do not depend on p are computed once per tile.
    const setup = [
      ...(s.ta ? [] : rs.map((r) => `const ${v.ar}_${r} = (${at(v.i, r)}) * ${s.k};`)),
      ...(s.tb ? cs.map((c) => `const ${v.bc}_${c} = (${at(v.j, c)}) * ${s.k};`) : []),
      ...rs.flatMap((r) => cs.map((c) => `let ${v.s}_${r}_${c} = 0;`)),
    ];
    const loads = [
      ...(s.ta ? [`const ${v.pm} = ${v.p} * ${s.m};`] : []),
      ...(s.tb ? [] : [`const ${v.pn} = ${v.p} * ${s.n};`]),
      ...rs.map(
        (r) => `const ${v.a}_${r} = ${s.a}[${s.ta ? at(`${v.pm} + ${v.i}`, r) : `${v.ar}_${r} + ${v.p}`}];`,
      ),
      ...cs.map(
        (c) => `const ${v.b}_${c} = ${s.b}[${s.tb ? `${v.bc}_${c} + ${v.p}` : at(`${v.pn} + ${v.j}`, c)}];`,
      ),
    ];
    const fmas = rs.flatMap((r) => cs.map((c) => `${v.s}_${r}_${c} += ${v.a}_${r} * ${v.b}_${c};`));
    const stores = rs.flatMap((r) =>
      cs.map((c) => `${s.out}[(${at(v.i, r)}) * ${s.n} + ${at(v.j, c)}] = ${v.s}_${r}_${c};`),
    );
    return `${setup.join(" ")}
for (let ${v.p} = 0; ${v.p} < ${s.k}; ${v.p}++) {
  ${loads.join(" ")}
  ${fmas.join(" ")}
}
${stores.join(" ")}`;
  };
  const columns = (rows: number) => `{\n${blocked(v.j, s.n, C, (cols) => tile(rows, cols))}\n}`;
  return `{\n${blocked(v.i, s.m, R, columns)}\n}`;
}

export interface MatVecSpec {
  readonly out: string;
  readonly a: string;
  readonly x: string;
  /** Logical rows and inner size of op(A). */
  readonly m: string;
  readonly k: string;
  /** A is stored [k, m]. */
  readonly ta: boolean;
}

/** op(A)·x is the matrix product with a one-column B. */
export function emitMatVec(ctx: EmitContext, s: MatVecSpec): string {
  return emitMatMat(ctx, {
    out: s.out,
    a: s.a,
    b: s.x,
    m: s.m,
    n: "1",
    k: s.k,
    ta: s.ta,
    tb: false,
  });
}

/**
 * a bᵀ written into (`=`) or added to (`+=`) a row-major [m, n] target, four rows per pass
 * so each b[j] loaded feeds four products (Σ_t δ_t h_{t-1}ᵀ in a backward loop).
 */
export function emitOuter(
  ctx: EmitContext,
  a: string,
  b: string,
  target: string,
  m: string,
  n: string,
  assign: "=" | "+=",
): string {
  const v = names(ctx, ["i", "j", "a", "o", "bv"]);
  const rows = (count: number) => {
    const rs = Array.from({ length: count }, (_, r) => r);
    const at = (r: number) => (r === 0 ? v.i : `${v.i} + ${r}`);
    return `${rs.map((r) => `const ${v.a}_${r} = ${a}[${at(r)}]; const ${v.o}_${r} = (${at(r)}) * ${n};`).join(" ")}
for (let ${v.j} = 0; ${v.j} < ${n}; ${v.j}++) { const ${v.bv} = ${b}[${v.j}]; ${rs.map((r) => `${target}[${v.o}_${r} + ${v.j}] ${assign} ${v.a}_${r} * ${v.bv};`).join(" ")} }`;
  };
  return `{\n${blocked(v.i, m, 4, rows)}\n}`;
}

/**
 * The two products of one δ `g` [m] with one matrix: the rank-1 update g hᵀ written into
 * (`=`) or added to (`+=`) `target` [m, n], and Wᵀ g into `product` [n] (W [m, n]), in one
 * pass over the rows of W and the target, `rows` at a time: each h[j] loaded feeds the rows'
 * products and each W[i, j] is read once, along its row (as a dense layer's backward is
 * written by hand).
 */
export function emitOuterAndTransposedProduct(
  ctx: EmitContext,
  s: {
    readonly g: string;
    readonly h: string;
    readonly w: string;
    readonly target: string;
    readonly assign: "=" | "+=";
    readonly product: string;
    readonly m: string;
    readonly n: string;
    /** Wᵀg added to what `product` holds (a recurrence's δ for the step before) instead of stored. */
    readonly addToProduct?: boolean;
  },
): string {
  const v = names(ctx, ["i", "j", "g", "o", "hv"]);
  const rows = (count: number) => {
    const rs = range(count);
    const at = (r: number) => (r === 0 ? v.i : `${v.i} + ${r}`);
    return `${rs.map((r) => `const ${v.g}_${r} = ${s.g}[${at(r)}]; const ${v.o}_${r} = (${at(r)}) * ${s.n};`).join(" ")}
for (let ${v.j} = 0; ${v.j} < ${s.n}; ${v.j}++) { const ${v.hv} = ${s.h}[${v.j}]; ${rs.map((r) => `${s.target}[${v.o}_${r} + ${v.j}] ${s.assign} ${v.g}_${r} * ${v.hv};`).join(" ")} ${s.product}[${v.j}] += ${rs.map((r) => `${s.w}[${v.o}_${r} + ${v.j}] * ${v.g}_${r}`).join(" + ")}; }`;
  };
  const zero = s.addToProduct ? "" : `${s.product}.fill(0, 0, ${s.n});\n`;
  return `${zero}{\n${blocked(v.i, s.m, rowBlock(s.m), rows)}\n}`;
}

/**
 * Matrix-vector products A_q x_q [m] that feed one elementwise value, in one pass over their
 * rows, `rowBlock` rows at a time: each product's rows accumulate in locals and the value is
 * stored as they finish (a recurrence's tanh(Wxh x_t + Whh h_{t−1} + b), applied on store),
 * so the products never go to memory.
 */
export function emitMatVecsThen(
  ctx: EmitContext,
  s: {
    readonly products: readonly { readonly a: string; readonly x: string; readonly k: string }[];
    readonly m: string;
    readonly out: string;
    readonly value: (row: string, sums: readonly string[]) => string;
  },
): string {
  const v = names(ctx, ["i", "p", "ar", "x", "s"]);
  const rows = (count: number) => {
    const rs = range(count);
    const at = (r: number) => (r === 0 ? v.i : `${v.i} + ${r}`);
    const passes = s.products.map(
      (
        q,
        n,
      ) => `${rs.map((r) => `const ${v.ar}_${n}_${r} = (${at(r)}) * ${q.k}; let ${v.s}_${n}_${r} = 0;`).join(" ")}
for (let ${v.p} = 0; ${v.p} < ${q.k}; ${v.p}++) { const ${v.x} = ${q.x}[${v.p}]; ${rs.map((r) => `${v.s}_${n}_${r} += ${q.a}[${v.ar}_${n}_${r} + ${v.p}] * ${v.x};`).join(" ")} }`,
    );
    const stores = rs.map(
      (r) =>
        `${s.out}[${at(r)}] = ${s.value(
          at(r),
          s.products.map((_, n) => `${v.s}_${n}_${r}`),
        )};`,
    );
    return `${passes.join("\n")}\n${stores.join(" ")}`;
  };
  return `{\n${blocked(v.i, s.m, rowBlock(s.m), rows)}\n}`;
}

/** Rows per pass over a matrix: four, or five when that divides a fixed row count four does not (10 classes: two passes, not three). */
export function rowBlock(m: string): number {
  const literal = /^\d+$/.test(m) ? Number(m) : undefined;
  return literal !== undefined && literal % 4 !== 0 && literal % 5 === 0 ? 5 : 4;
}

export function emitDot(ctx: EmitContext, out: string, a: string, b: string, n: string): string {
  const v = names(ctx, ["p", "s"]);
  return `{ let ${v.s} = 0; for (let ${v.p} = 0; ${v.p} < ${n}; ${v.p}++) ${v.s} += ${a}[${v.p}] * ${b}[${v.p}]; ${out}[0] = ${v.s}; }`;
}

/**
 * A loop taking `size` rows at a time up to the last whole block, then one for the rest, each
 * declaring its own index: V8 then knows each index's range, and with it the row offsets'
 * (declared outside its loop, as an earlier version did, the same kernels measured 1.3× slower).
 * With a literal bound, a loop that could never run is left out.
 */
function blocked(i: string, bound: string, size: number, block: (count: number) => string): string {
  if (size === 1) return `for (let ${i} = 0; ${i} < ${bound}; ${i}++) {\n${block(1)}\n}`;
  const literal = /^\d+$/.test(bound) ? Number(bound) : undefined;
  const end =
    literal !== undefined ? String(literal - (literal % size)) : `(${bound}) - (${bound}) % ${size}`;
  const parts: string[] = [];
  if (literal === undefined || literal >= size)
    parts.push(`for (let ${i} = 0; ${i} < ${end}; ${i} += ${size}) {\n${block(size)}\n}`);
  if (literal === undefined || literal % size !== 0)
    parts.push(
      `for (let ${i} = ${literal !== undefined && literal < size ? 0 : end}; ${i} < ${bound}; ${i}++) {\n${block(1)}\n}`,
    );
  return parts.join("\n");
}

function names<K extends string>(ctx: EmitContext, keys: readonly K[]): Record<K, string> {
  return Object.fromEntries(keys.map((k) => [k, ctx.fresh(k)])) as Record<K, string>;
}

/**
 * A product in the WebAssembly kernels' terms (wasm/kernels.ts): C[m, n] = β C + A B with
 * A(i, p) at i·sai + p·sap and B(p, j) at p·sbp + j·sbj, every size a JS expression.
 */
export interface GemmSpec {
  readonly m: string;
  readonly n: string;
  readonly k: string;
  readonly sai: string;
  readonly sap: string;
  readonly sbp: string;
  readonly sbj: string;
}

/**
 * The call of the WebAssembly gemm kernel, when the target has one and the arrays are in its
 * memory ([C, A, B] addresses from `ctx.addresses`); undefined otherwise, and for layouts the
 * kernel runs only as a plain loop (both operands strided along p and B along j), which the
 * register-blocked JavaScript kernels do better.
 */
export function emitGemmCall(
  addresses: readonly string[] | undefined,
  s: GemmSpec,
  accumulate = false,
): string | undefined {
  if (addresses === undefined) return undefined;
  if (s.sbj !== "1" && !(s.sap === "1" && s.sbp === "1")) return undefined;
  const [c, a, b] = addresses;
  return `${GEMM}(${c}, ${a}, ${b}, ${s.m}, ${s.n}, ${s.k}, ${s.sai}, ${s.sap}, ${s.sbp}, ${s.sbj}, ${accumulate ? 1 : 0});`;
}
