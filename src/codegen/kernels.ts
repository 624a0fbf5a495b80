import type { EmitContext } from "./context.js";

/**
 * Matrix kernels as performance engineers write them by hand: row-major flat arrays,
 * four output rows (or columns) per pass with the operands held in locals, the inner
 * loop running over contiguous memory. Dims are JS expressions: literals when fixed,
 * so V8 sees constant trip counts.
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

const ROWS = [0, 1, 2, 3];

export function emitMatMat(ctx: EmitContext, s: MatMatSpec): string {
  const v = names(ctx, ["i", "j", "p", "c", "o", "bv", "av", "s"]);
  const aAt = (row: string, p: string) =>
    s.ta
      ? `${s.a}[${p} * ${s.m} + ${row}]`
      : `${s.a}[(${row}) * ${s.k} + ${p}]`;
  if (!s.tb) {
    // C[i,:] += A[i,p] * B[p,:], four rows of C per sweep over a row of B.
    const rowBlock = (count: number, iExpr: (r: number) => string) => {
      const rows = ROWS.slice(0, count);
      return `${rows.map((r) => `const ${v.c}_${r} = (${iExpr(r)}) * ${s.n};`).join(" ")}
${s.out}.fill(0, ${v.c}_0, ${v.c}_0 + ${count} * ${s.n});
for (let ${v.p} = 0; ${v.p} < ${s.k}; ${v.p}++) {
  ${rows.map((r) => `const ${v.av}_${r} = ${aAt(iExpr(r), v.p)};`).join(" ")}
  const ${v.o} = ${v.p} * ${s.n};
  for (let ${v.j} = 0; ${v.j} < ${s.n}; ${v.j}++) {
    const ${v.bv} = ${s.b}[${v.o} + ${v.j}];
    ${rows.map((r) => `${s.out}[${v.c}_${r} + ${v.j}] += ${v.av}_${r} * ${v.bv};`).join(" ")}
  }
}`;
    };
    return `{
${blocked(v.i, s.m, rowBlock)}
}`;
  }
  // B read transposed: C[i,j] = dot(A[i,:], B[j,:]); four columns of C per pass over A's row.
  const colBlock = (count: number, jExpr: (r: number) => string) => {
    const cols = ROWS.slice(0, count);
    return `${cols.map((r) => `let ${v.s}_${r} = 0; const ${v.o}_${r} = (${jExpr(r)}) * ${s.k};`).join(" ")}
for (let ${v.p} = 0; ${v.p} < ${s.k}; ${v.p}++) {
  const ${v.av} = ${aAt(v.i, v.p)};
  ${cols.map((r) => `${v.s}_${r} += ${v.av} * ${s.b}[${v.o}_${r} + ${v.p}];`).join(" ")}
}
${cols.map((r) => `${s.out}[${v.i} * ${s.n} + ${jExpr(r)}] = ${v.s}_${r};`).join(" ")}`;
  };
  return `for (let ${v.i} = 0; ${v.i} < ${s.m}; ${v.i}++) {
${blocked(v.j, s.n, colBlock)}
}`;
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

export function emitMatVec(ctx: EmitContext, s: MatVecSpec): string {
  const v = names(ctx, ["i", "p", "o", "s", "xv"]);
  if (s.ta) {
    // out = Aᵀx: accumulate x[p] times row p of A, a contiguous sweep per p.
    return `${s.out}.fill(0, 0, ${s.m});
for (let ${v.p} = 0; ${v.p} < ${s.k}; ${v.p}++) {
  const ${v.xv} = ${s.x}[${v.p}];
  const ${v.o} = ${v.p} * ${s.m};
  for (let ${v.i} = 0; ${v.i} < ${s.m}; ${v.i}++) ${s.out}[${v.i}] += ${s.a}[${v.o} + ${v.i}] * ${v.xv};
}`;
  }
  const rowBlock = (count: number, iExpr: (r: number) => string) => {
    const rows = ROWS.slice(0, count);
    return `${rows.map((r) => `let ${v.s}_${r} = 0; const ${v.o}_${r} = (${iExpr(r)}) * ${s.k};`).join(" ")}
for (let ${v.p} = 0; ${v.p} < ${s.k}; ${v.p}++) {
  const ${v.xv} = ${s.x}[${v.p}];
  ${rows.map((r) => `${v.s}_${r} += ${s.a}[${v.o}_${r} + ${v.p}] * ${v.xv};`).join(" ")}
}
${rows.map((r) => `${s.out}[${iExpr(r)}] = ${v.s}_${r};`).join(" ")}`;
  };
  return `{
${blocked(v.i, s.m, rowBlock)}
}`;
}

export function emitDot(
  ctx: EmitContext,
  out: string,
  a: string,
  b: string,
  n: string,
): string {
  const v = names(ctx, ["p", "s"]);
  return `{ let ${v.s} = 0; for (let ${v.p} = 0; ${v.p} < ${n}; ${v.p}++) ${v.s} += ${a}[${v.p}] * ${b}[${v.p}]; ${out}[0] = ${v.s}; }`;
}

/**
 * `let i = 0;` then a loop taking four at a time and one for the rest; with a literal
 * bound, a loop that could never run is left out.
 */
function blocked(
  i: string,
  bound: string,
  block: (count: number, at: (r: number) => string) => string,
): string {
  const literal = /^\d+$/.test(bound) ? Number(bound) : undefined;
  const parts = [`let ${i} = 0;`];
  if (literal === undefined || literal >= 4) {
    parts.push(
      `for (; ${i} + 3 < ${bound}; ${i} += 4) {\n${block(4, (r) => (r === 0 ? i : `${i} + ${r}`))}\n}`,
    );
  }
  if (literal === undefined || literal % 4 !== 0) {
    parts.push(`for (; ${i} < ${bound}; ${i}++) {\n${block(1, () => i)}\n}`);
  }
  return parts.join("\n");
}

function names<K extends string>(
  ctx: EmitContext,
  keys: readonly K[],
): Record<K, string> {
  return Object.fromEntries(keys.map((k) => [k, ctx.fresh(k)])) as Record<
    K,
    string
  >;
}
