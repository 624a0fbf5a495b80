import type { Attrs } from "../ir/types.js";
import { problem } from "../diagnostics/shapes.js";
import { tensor } from "../ir/tensor.js";
import type { EmitContext } from "./lowering.js";
import { group, PREC, type FusionRules, type OpDef, type OutputBlock, type PointCode } from "../ir/op.js";
import { convDims, gradientShape, asShape, num, paddings, strides, type ConvDims } from "./imageShapes.js";
import type { Shape } from "../ir/types.js";
import { imageCall, py, tuple } from "./python.js";
import { convCall, type ConvCallDims } from "../wasm/conv.js";

/**
 * Image operations as deep-learning practice means them: conv2d is a cross-correlation with
 * zero padding, over [H, W] with a [kh, kw] kernel, [C, H, W] with [F, C, kh, kw] filters, or
 * a batch [N, C, H, W]; pooling works on the last two axes. Every variant is handled as the
 * batched four-axis case with axes of size one, and gradients are ops of their own (the
 * input's gradient a full convolution with the flipped kernel, the kernel's a correlation
 * of the input with the upstream gradient), so each has its rules here too.
 */

/** Loops over a conv's index space; `body` sees the flat offsets of x, k and the output. */
function convLoops(
  ctx: EmitContext,
  d: ConvDims,
  attrs: Attrs,
  body: (x: string, k: string, o: string) => string,
  perOutput?: { before: (o: string) => string; after: (o: string) => string },
): string {
  const [n, f, oh, ow, c, i, j, ih, iw] = ["n", "f", "oh", "ow", "c", "i", "j", "ih", "iw"].map((p) =>
    ctx.fresh(p),
  );
  const [[sh, sw], [ph, pw]] = [strides(attrs), paddings(attrs)];
  const [N, C, F] = [ctx.dim(d.n), ctx.dim(d.c), ctx.dim(d.f)];
  const o = `((${n} * ${F} + ${f}) * ${d.ho} + ${oh}) * ${d.wo} + ${ow}`;
  const row =
    ph > 0
      ? `const ${ih} = ${oh} * ${sh} + ${i} - ${ph}; if (${ih} < 0 || ${ih} >= ${d.h}) continue;`
      : `const ${ih} = ${oh} * ${sh} + ${i};`;
  const col =
    pw > 0
      ? `const ${iw} = ${ow} * ${sw} + ${j} - ${pw}; if (${iw} < 0 || ${iw} >= ${d.w}) continue;`
      : `const ${iw} = ${ow} * ${sw} + ${j};`;
  const inner = `for (let ${c} = 0; ${c} < ${C}; ${c}++) for (let ${i} = 0; ${i} < ${d.kh}; ${i}++) { ${row} for (let ${j} = 0; ${j} < ${d.kw}; ${j}++) { ${col} ${body(`((${n} * ${C} + ${c}) * ${d.h} + ${ih}) * ${d.w} + ${iw}`, `((${f} * ${C} + ${c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}`, o)} } }`;
  return `for (let ${n} = 0; ${n} < ${N}; ${n}++) for (let ${f} = 0; ${f} < ${F}; ${f}++) for (let ${oh} = 0; ${oh} < ${d.ho}; ${oh}++) for (let ${ow} = 0; ${ow} < ${d.wo}; ${ow}++) { ${perOutput?.before(o) ?? ""} ${inner} ${perOutput?.after(o) ?? ""} }`;
}

/** The same index space for the reference evaluator. */
function eachConv(
  d: ConvDims,
  attrs: Attrs,
  dims: ReadonlyMap<string, number>,
  visit: (x: number, k: number, o: number) => void,
): void {
  const [N, C, F] = [num(d.n, dims), num(d.c, dims), num(d.f, dims)];
  const [[sh, sw], [ph, pw]] = [strides(attrs), paddings(attrs)];
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let oh = 0; oh < d.ho; oh++)
        for (let ow = 0; ow < d.wo; ow++)
          for (let c = 0; c < C; c++)
            for (let i = 0; i < d.kh; i++) {
              const ih = oh * sh + i - ph;
              if (ih < 0 || ih >= d.h) continue;
              for (let j = 0; j < d.kw; j++) {
                const iw = ow * sw + j - pw;
                if (iw < 0 || iw >= d.w) continue;
                visit(
                  ((n * C + c) * d.h + ih) * d.w + iw,
                  ((f * C + c) * d.kh + i) * d.kw + j,
                  ((n * F + f) * d.ho + oh) * d.wo + ow,
                );
              }
            }
}

/** Kernels up to this many taps per channel are unrolled, their weights or sums held in locals. */
const UNROLL_TAPS = 25;
const unrollable = (d: ConvDims, attrs: Attrs) =>
  paddings(attrs).every((p) => p === 0) && d.kh * d.kw <= UNROLL_TAPS;

/** The sizes of a conv2d as the WebAssembly kernels take them (wasm/conv.ts). */
const callDims = (ctx: EmitContext, d: ConvDims, attrs: Attrs): ConvCallDims => ({
  n: ctx.dim(d.n),
  c: ctx.dim(d.c),
  f: ctx.dim(d.f),
  h: d.h,
  w: d.w,
  kh: d.kh,
  kw: d.kw,
  ho: d.ho,
  wo: d.wo,
  stride: strides(attrs),
  padding: paddings(attrs),
});

/**
 * With the WebAssembly target, a conv2d in any role is one call of its kernels (wasm/conv.ts:
 * the convolution and the input's gradient the `conv` kernel, the filters' gradient
 * `convFilter`), when its arrays can live in their memory; undefined otherwise.
 */
function emitConvCall(ctx: EmitContext, node: Parameters<OpDef["emit"]>[1], d: ConvDims): string | undefined {
  const addresses = ctx.addresses?.([node.id, ...node.args]);
  return addresses && convCall(roleOf(node.attrs), callDims(ctx, d, node.attrs), addresses);
}

/**
 * conv2d without padding and with a small kernel, as hand-written code does it: each
 * filter's weights in locals, the taps written out, one store per output.
 */
function emitConvUnrolled(
  ctx: EmitContext,
  d: ConvDims,
  attrs: Attrs,
  x: string,
  k: string,
  out: string,
): string {
  const [n, f, c, oh, ow, col] = ["n", "f", "c", "oh", "ow", "col"].map((p) => ctx.fresh(p));
  const [w, r] = [ctx.fresh("w"), ctx.fresh("r")];
  const [sh, sw] = strides(attrs);
  const [N, C, F] = [ctx.dim(d.n), ctx.dim(d.c), ctx.dim(d.f)];
  const taps: [number, number][] = [];
  for (let i = 0; i < d.kh; i++) for (let j = 0; j < d.kw; j++) taps.push([i, j]);
  const weights = taps
    .map(([i, j]) => `const ${w}_${i}_${j} = ${k}[((${f} * ${C} + ${c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}];`)
    .join(" ");
  const rows = Array.from(
    { length: d.kh },
    (_, i) => `const ${r}_${i} = ((${n} * ${C} + ${c}) * ${d.h} + ${oh} * ${sh} + ${i}) * ${d.w};`,
  ).join(" ");
  const sum = taps
    .map(([i, j]) => `${w}_${i}_${j} * ${x}[${r}_${i} + ${col}${j === 0 ? "" : ` + ${j}`}]`)
    .join(" + ");
  const base = ctx.fresh("ob");
  // One pass per input channel: the first writes the output, the others add to it (two loops, no branch).
  const pass = (assign: "=" | "+=") => `{
  ${weights}
  for (let ${oh} = 0; ${oh} < ${d.ho}; ${oh}++) {
    ${rows}
    const ${base} = ((${n} * ${F} + ${f}) * ${d.ho} + ${oh}) * ${d.wo};
    for (let ${ow} = 0; ${ow} < ${d.wo}; ${ow}++) { const ${col} = ${ow} * ${sw}; ${out}[${base} + ${ow}] ${assign} ${sum}; }
  }
}`;
  return `for (let ${n} = 0; ${n} < ${N}; ${n}++) for (let ${f} = 0; ${f} < ${F}; ${f}++) {
  { const ${c} = 0; ${pass("=")} }
  for (let ${c} = 1; ${c} < ${C}; ${c}++) ${pass("+=")}
}`;
}

/**
 * The kernel's gradient without padding and with a small kernel: for each filter and
 * channel, one sum per tap held in a local while the loop runs over every output position.
 */
function emitKernelGradUnrolled(
  ctx: EmitContext,
  d: ConvDims,
  attrs: Attrs,
  x: string,
  g: string,
  out: string,
): string {
  const [n, f, c, oh, ow, col, gv] = ["n", "f", "c", "oh", "ow", "col", "g"].map((p) => ctx.fresh(p));
  const [acc, r] = [ctx.fresh("s"), ctx.fresh("r")];
  const [sh, sw] = strides(attrs);
  const [N, C, F] = [ctx.dim(d.n), ctx.dim(d.c), ctx.dim(d.f)];
  const taps: [number, number][] = [];
  for (let i = 0; i < d.kh; i++) for (let j = 0; j < d.kw; j++) taps.push([i, j]);
  const rows = Array.from(
    { length: d.kh },
    (_, i) => `const ${r}_${i} = ((${n} * ${C} + ${c}) * ${d.h} + ${oh} * ${sh} + ${i}) * ${d.w};`,
  ).join(" ");
  return `for (let ${f} = 0; ${f} < ${F}; ${f}++) for (let ${c} = 0; ${c} < ${C}; ${c}++) {
  ${taps.map(([i, j]) => `let ${acc}_${i}_${j} = 0;`).join(" ")}
  for (let ${n} = 0; ${n} < ${N}; ${n}++) for (let ${oh} = 0; ${oh} < ${d.ho}; ${oh}++) {
    ${rows}
    for (let ${ow} = 0; ${ow} < ${d.wo}; ${ow}++) {
      const ${gv} = ${g}[((${n} * ${F} + ${f}) * ${d.ho} + ${oh}) * ${d.wo} + ${ow}]; const ${col} = ${ow} * ${sw};
      ${taps.map(([i, j]) => `${acc}_${i}_${j} += ${gv} * ${x}[${r}_${i} + ${col}${j === 0 ? "" : ` + ${j}`}];`).join(" ")}
    }
  }
  ${taps.map(([i, j]) => `${out}[((${f} * ${C} + ${c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}] = ${acc}_${i}_${j};`).join(" ")}
}`;
}

/**
 * A block of conv2d's outputs (a pooling window) computed in locals, never stored. Without
 * padding and with a small kernel, as hand-written code does it: the block's patch of x is
 * read one row at a time into locals, each row feeding every output of the block whose
 * receptive field holds it, the weights in locals (once per filter for one input channel,
 * once per channel and block otherwise). Padded or large kernels: the taps in loops.
 */
function convBlock(ctx: EmitContext, node: Parameters<OpDef["emit"]>[1]) {
  if (roleOf(node.attrs) !== "out") return undefined;
  const d = roleDims(
    "out",
    node.args.map((a) => ctx.shapeOf(a)),
    node.attrs,
  ) as ConvDims;
  const [[sh, sw], [ph, pw]] = [strides(node.attrs), paddings(node.attrs)];
  return (block: OutputBlock) => {
    const [x, k] = node.args.map((a) => ctx.ref(a)) as [string, string];
    const rank = node.shape.length;
    const n = rank === 4 ? block.lead[0]! : "0";
    const f = rank >= 3 ? block.lead[block.lead.length - 1]! : "0";
    const C = ctx.dim(d.c);
    const s = ctx.fresh("s");
    const cells: [number, number][] = [];
    for (let a = 0; a < block.rows; a++) for (let b = 0; b < block.cols; b++) cells.push([a, b]);
    const values = Array.from({ length: block.rows }, (_, a) =>
      Array.from({ length: block.cols }, (_, b) => `${s}_${a}_${b}`),
    );
    const declare = cells.map(([a, b]) => `let ${s}_${a}_${b} = 0;`).join(" ");
    const addresses = ctx.addresses?.([node.id, ...node.args]);
    if (addresses !== undefined) {
      // WebAssembly: the whole convolution by the kernel into its own array, once (at the first
      // lead index), and each block's values read from there.
      const first = block.lead.map((l) => `${l} === 0`).join(" && ");
      const call = convCall("out", callDims(ctx, d, node.attrs), addresses);
      const [out, ob] = [ctx.ref(node.id), ctx.fresh("ob")];
      const reads = cells.map(([a, b]) => `const ${s}_${a}_${b} = ${out}[${ob} + ${a * d.wo + b}];`);
      return {
        hoist: first === "" ? call : `if (${first}) ${call}`,
        code: `const ${ob} = ((${n} * ${ctx.dim(d.f)} + ${f}) * ${d.ho} + ${block.row}) * ${d.wo} + ${block.col};\n${reads.join(" ")}`,
        values,
      };
    }
    if (!unrollable(d, node.attrs)) {
      const [c, i, j, ih, iw] = ["c", "i", "j", "ih", "iw"].map((p) => ctx.fresh(p));
      const sums = cells.map(
        ([a, b]) =>
          `for (let ${c} = 0; ${c} < ${C}; ${c}++) for (let ${i} = 0; ${i} < ${d.kh}; ${i}++) { const ${ih} = (${block.row} + ${a}) * ${sh} + ${i} - ${ph}; if (${ih} < 0 || ${ih} >= ${d.h}) continue; for (let ${j} = 0; ${j} < ${d.kw}; ${j}++) { const ${iw} = (${block.col} + ${b}) * ${sw} + ${j} - ${pw}; if (${iw} < 0 || ${iw} >= ${d.w}) continue; ${s}_${a}_${b} += ${x}[((${n} * ${C} + ${c}) * ${d.h} + ${ih}) * ${d.w} + ${iw}] * ${k}[((${f} * ${C} + ${c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}]; } }`,
      );
      return { hoist: "", code: `${declare}\n${sums.join("\n")}`, values };
    }
    const [w, v, xb] = [ctx.fresh("w"), ctx.fresh("x"), ctx.fresh("xb")];
    const weights = (c: string) =>
      Array.from({ length: d.kh * d.kw }, (_, t) => {
        const [i, j] = [Math.floor(t / d.kw), t % d.kw];
        return `const ${w}_${i}_${j} = ${k}[((${f} * ${C} + ${c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}];`;
      }).join(" ");
    // Patch row r holds input row r of the block's receptive fields: output row a reads it with kernel row r − a·sh.
    const patch: string[] = [];
    for (let r = 0; r < (block.rows - 1) * sh + d.kh; r++) {
      const uses: string[] = [];
      const columns = new Set<number>();
      for (let a = 0; a < block.rows; a++) {
        const i = r - a * sh;
        if (i < 0 || i >= d.kh) continue;
        for (let b = 0; b < block.cols; b++) {
          const terms = Array.from({ length: d.kw }, (_, j) => {
            columns.add(b * sw + j);
            return `${w}_${i}_${j} * ${v}_${r}_${b * sw + j}`;
          });
          uses.push(`${s}_${a}_${b} += ${terms.join(" + ")};`);
        }
      }
      if (uses.length === 0) continue;
      const loads = [...columns]
        .sort((p, q) => p - q)
        .map((cc) => `const ${v}_${r}_${cc} = ${x}[${xb} + ${r * d.w + cc}];`);
      patch.push(`${loads.join(" ")}\n${uses.join("\n")}`);
    }
    const channel = (c: string) =>
      `const ${xb} = ((${n} * ${C} + ${c}) * ${d.h} + (${block.row}) * ${sh}) * ${d.w} + (${block.col}) * ${sw};\n${patch.join("\n")}`;
    if (d.c === 1) return { hoist: weights("0"), code: `${declare}\n{\n${channel("0")}\n}`, values };
    const c = ctx.fresh("c");
    return {
      hoist: "",
      code: `${declare}\nfor (let ${c} = 0; ${c} < ${C}; ${c}++) {\n${weights(c)}\n${channel(c)}\n}`,
      values,
    };
  };
}

/**
 * The kernel's gradient (role "k", args [x, δ]) from a δ nonzero only at given points: each
 * point's receptive field times its δ, summed per filter and channel in locals (one per tap,
 * for a small kernel without padding) over the points, then added to the gradient. The loop
 * over input channels is this consumer's own.
 */
function kernelGradientAtPoints(
  ctx: EmitContext,
  node: Parameters<OpDef["emit"]>[1],
  operand: number,
): PointCode | undefined {
  if (roleOf(node.attrs) !== "k" || operand !== 1 || node.args[0] === node.args[1]) return undefined;
  const d = roleDims(
    "k",
    node.args.map((a) => ctx.shapeOf(a)),
    node.attrs,
  ) as ConvDims;
  const [[sh, sw], [ph, pw]] = [strides(node.attrs), paddings(node.attrs)];
  const rank = ctx.shapeOf(node.args[1]!).length;
  const nf = (lead: readonly string[]) => [
    rank === 4 ? lead[0]! : "0",
    rank >= 3 ? lead[lead.length - 1]! : "0",
  ];
  const C = ctx.dim(d.c);
  // Names are taken when the code is built, so that planning leaves the numbering alone.
  let names: Record<"c" | "t" | "r" | "i" | "j" | "ih" | "iw", string> | undefined;
  const v = () =>
    (names ??= Object.fromEntries(
      ["c", "t", "r", "i", "j", "ih", "iw"].map((p) => [p, ctx.fresh(p)]),
    ) as Record<"c" | "t" | "r" | "i" | "j" | "ih" | "iw", string>);
  const taps: [number, number][] = [];
  for (let i = 0; i < d.kh; i++) for (let j = 0; j < d.kw; j++) taps.push([i, j]);
  const kIndex = (f: string, i: string | number, j: string | number) =>
    `((${f} * ${C} + ${v().c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}`;
  const init = () => `${ctx.ref(node.id)}.fill(0, 0, ${ctx.size(node.shape)});`;
  /** One point's value times the image under every tap, into the taps' sums; `rowStart(i)`: where the point's tap row i starts in the image. */
  const addTaps = (value: string, rowStart: (i: number) => string) => {
    const [x, r, t] = [ctx.ref(node.args[0]!), v().r, v().t];
    const rows = Array.from({ length: d.kh }, (_, i) => `const ${r}_${i} = ${rowStart(i)};`);
    return `${rows.join(" ")}\n${taps.map(([i, j]) => `${t}_${i}_${j} += ${value} * ${x}[${r}_${i}${j === 0 ? "" : ` + ${j}`}];`).join(" ")}`;
  };
  const loop = {
    get index() {
      return v().c;
    },
    bound: C,
  };
  if (unrollable(d, node.attrs))
    return {
      init,
      loop,
      before: () => taps.map(([i, j]) => `let ${v().t}_${i}_${j} = 0;`).join(" "),
      after: (lead) =>
        taps
          .map(([i, j]) => `${ctx.ref(node.id)}[${kIndex(nf(lead)[1]!, i, j)}] += ${v().t}_${i}_${j};`)
          .join(" "),
      point: (value, axes) => {
        const [oh, ow] = axes.slice(-2) as [string, string];
        const [n] = nf(axes.slice(0, -2));
        return addTaps(
          value,
          (i) => `((${n} * ${C} + ${v().c}) * ${d.h} + ${oh} * ${sh} + ${i}) * ${d.w} + ${ow} * ${sw}`,
        );
      },
      // The receptive field's top-left in the image plane, oh·sh·W + ow·sw: the rows of the
      // image the point reads are the channel's plane plus it, as hand-written code records it.
      key: {
        at: (axes) => {
          const [oh, ow] = axes.slice(-2) as [string, string];
          return `${oh} * ${sh * d.w} + ${ow} * ${sw}`;
        },
        steps: [sh * d.w, sw],
        point: (value, key, lead) => {
          const [n] = nf(lead);
          return addTaps(value, (i) => `(${n} * ${C} + ${v().c}) * ${d.h * d.w} + ${key} + ${i * d.w}`);
        },
      },
    };
  return {
    init,
    loop,
    before: () => "",
    after: () => "",
    point: (value, axes) => {
      const [oh, ow] = axes.slice(-2) as [string, string];
      const [n, f] = nf(axes.slice(0, -2));
      const { c, i, j, ih, iw } = v();
      const x = ctx.ref(node.args[0]!);
      return `for (let ${i} = 0; ${i} < ${d.kh}; ${i}++) { const ${ih} = ${oh} * ${sh} + ${i} - ${ph}; if (${ih} < 0 || ${ih} >= ${d.h}) continue; for (let ${j} = 0; ${j} < ${d.kw}; ${j}++) { const ${iw} = ${ow} * ${sw} + ${j} - ${pw}; if (${iw} < 0 || ${iw} >= ${d.w}) continue; ${ctx.ref(node.id)}[${kIndex(f!, i, j)}] += ${value} * ${x}[((${n} * ${C} + ${c}) * ${d.h} + ${ih}) * ${d.w} + ${iw}]; } }`;
    },
  };
}

const convFusion: FusionRules = { block: convBlock, atPoints: kernelGradientAtPoints };

const convAttrs = (attrs: Attrs) => ({
  stride: attrs.stride ?? 1,
  padding: attrs.padding ?? 0,
  ...(attrs.line ? { line: true } : {}),
});
/** s=2, p=1 under the ⋆; a 1-D convolution (`line`) shows its one axis, a 2-D one a pair when the axes differ. */
const sub = (attrs: Attrs) => {
  const show = ([h, w]: [number, number]) => (attrs.line ? String(w) : h === w ? String(h) : `(${h},${w})`);
  const [s, p] = [strides(attrs), paddings(attrs)];
  const parts = [
    s.some((v) => v !== 1) ? `s=${show(s)}` : "",
    p.some((v) => v !== 0) ? `p=${show(p)}` : "",
  ].filter(Boolean);
  return parts.length > 0 ? `_{${parts.join(",")}}` : "";
};

/**
 * conv2d is bilinear: out[n,f,oh,ow] = Σ x[n,c,oh·s+i−p, ow·s+j−p] · k[f,c,i,j]. Its two
 * transposes are the same index space read the other way round, so they are conv2d too, with
 * `transpose` naming the operand whose place the result takes (as JAX's `defbilinear` makes a
 * convolution's transposes convolutions): "x", args [δ, k], is a full convolution with the
 * flipped kernel; "k", args [x, δ], correlates the input with δ. `shape` is the result's.
 */
type Role = "out" | "x" | "k";
const roleOf = (attrs: Attrs): Role =>
  attrs.transpose === "x" || attrs.transpose === "k" ? attrs.transpose : "out";
const conv = (b: Parameters<OpDef["vjp"]>[0], role: Role, args: number[], attrs: Attrs, shape?: number) =>
  b.op(
    "conv2d",
    args,
    role === "out" ? convAttrs(attrs) : { ...convAttrs(attrs), transpose: role, shape: b.shape(shape!) },
  );

/** The x, k and output shapes of a conv2d node in any role. */
function roleDims(role: Role, [a, c]: readonly Shape[], attrs: Attrs) {
  const result = attrs.shape as Shape;
  return role === "out"
    ? convDims(a!, c!, attrs)
    : role === "x"
      ? convDims(result, c!, attrs)
      : convDims(a!, result, attrs);
}

export const convOps: readonly OpDef[] = [
  {
    name: "conv2d",
    surface: {
      params: [
        { name: "x" },
        { name: "k" },
        { name: "stride", attr: true, default: 1, pair: true },
        { name: "padding", attr: true, default: 0, pair: true },
      ],
    },
    shape: (args, attrs) => {
      const role = roleOf(attrs);
      const d = roleDims(role, args, attrs);
      return role === "out"
        ? asShape(d)
        : gradientShape(d, role === "x" ? args[0]! : args[1]!, () => attrs.shape as Shape);
    },
    vjp: (b, node, g, needed) => {
      const [a, c] = node.args as [number, number];
      const role = roleOf(node.attrs);
      const at = node.attrs;
      // Each role's two operands, and the roles their cotangents take (x, k and out permute).
      if (role === "out")
        return [
          needed[0] ? conv(b, "x", [g, c], at, a) : null,
          needed[1] ? conv(b, "k", [a, g], at, c) : null,
        ];
      if (role === "x")
        return [
          needed[0] ? conv(b, "out", [g, c], at) : null,
          needed[1] ? conv(b, "k", [g, a], at, c) : null,
        ];
      return [needed[0] ? conv(b, "x", [c, g], at, a) : null, needed[1] ? conv(b, "out", [a, g], at) : null];
    },
    rule: (i, attrs) => {
      const role = roleOf(attrs);
      if (role !== "out") return `\\text{linear in each operand}`;
      return i === 0
        ? "\\frac{\\partial L}{\\partial x} = \\operatorname{conv}_{\\text{full}}\\left(\\delta, \\operatorname{rot}_{180}\\, k\\right) \\text{ (a full convolution with the flipped kernel)}"
        : "\\frac{\\partial L}{\\partial k} = x \\star \\delta \\text{ (the input correlated with the upstream gradient)}";
    },
    evaluate: ([a, c], attrs, shape, dims) => {
      const role = roleOf(attrs);
      const d = roleDims(role, [a!.shape, c!.shape], attrs) as ConvDims;
      const out = tensor(shape);
      const [A, C] = [a!.data, c!.data];
      if (role === "out") eachConv(d, attrs, dims, (xi, ki, o) => (out.data[o]! += A[xi]! * C[ki]!));
      else if (role === "x") eachConv(d, attrs, dims, (xi, ki, o) => (out.data[xi]! += A[o]! * C[ki]!));
      else eachConv(d, attrs, dims, (xi, ki, o) => (out.data[ki]! += A[xi]! * C[o]!));
      return out;
    },
    emit: (ctx, node) => {
      const [a, c] = node.args.map((x) => ctx.ref(x)) as [string, string];
      const role = roleOf(node.attrs);
      const d = roleDims(
        role,
        node.args.map((x) => ctx.shapeOf(x)),
        node.attrs,
      ) as ConvDims;
      const call = emitConvCall(ctx, node, d);
      if (call !== undefined) return call;
      const out = ctx.ref(node.id);
      if (role === "out") {
        if (unrollable(d, node.attrs)) return emitConvUnrolled(ctx, d, node.attrs, a, c, out);
        const s = ctx.fresh("s");
        return convLoops(ctx, d, node.attrs, (xi, ki) => `${s} += ${a}[${xi}] * ${c}[${ki}];`, {
          before: () => `let ${s} = 0;`,
          after: (o) => `${out}[${o}] = ${s};`,
        });
      }
      if (role === "k" && unrollable(d, node.attrs))
        return emitKernelGradUnrolled(ctx, d, node.attrs, a, c, out);
      const gv = ctx.fresh("g");
      const [g, accumulate] =
        role === "x"
          ? [a, (xi: string, ki: string) => `${out}[${xi}] += ${gv} * ${c}[${ki}];`]
          : [c, (xi: string, ki: string) => `${out}[${ki}] += ${a}[${xi}] * ${gv};`];
      const loops = convLoops(ctx, d, node.attrs, accumulate, {
        before: (o) => `const ${gv} = ${g}[${o}];`,
        after: () => "",
      });
      return `${out}.fill(0);\n${loops}`;
    },
    fusion: convFusion,
    // Only the convolution itself: its transposes are gradients, which torch.autograd computes.
    torch: ([x, k], attrs, [xs, ks], _shape, ctx) => {
      if (roleOf(attrs) !== "out") return undefined;
      const [stride, padding] = [strides(attrs), paddings(attrs)];
      const kernel = ks!.length === 2 ? `${py(ctx.tensor(k!), PREC.atom)}[None, None]` : ctx.tensor(k!).text;
      return imageCall(
        "F.conv2d",
        x!,
        4 - xs!.length,
        [kernel, `stride=${tuple(stride.map(String))}`, `padding=${tuple(padding.map(String))}`],
        ctx,
      );
    },
    latex: ([a, c], attrs) => {
      const role = roleOf(attrs);
      if (role === "x")
        return {
          text: `\\operatorname{conv}_{\\text{full}}${sub(attrs)}\\left(${a!.text}, \\operatorname{rot}_{180}\\, ${group(c!, PREC.atom)}\\right)`,
          prec: PREC.atom,
        };
      // A product operand gets brackets: x ⋆ (u ⊙ H(h)), not x ⋆ u ⊙ H(h).
      return {
        text: `\\left(${group(a!, PREC.power)} \\star ${group(c!, PREC.power)}\\right)${sub(attrs)}`,
        prec: PREC.atom,
      };
    },
  },
  {
    // A 1-D convolution (a signal [L], channels [C, L] or a batch [N, C, L], with a kernel [kw]
    // or filters [F, C, kw]) is a convolution of a 1-high image: reshapes that only add that
    // axis (which the handout does not write), conv2d strided and padded along W only.
    name: "conv1d",
    surface: {
      params: [
        { name: "x" },
        { name: "k" },
        { name: "stride", attr: true, default: 1 },
        { name: "padding", attr: true, default: 0 },
      ],
    },
    shape: ([x, k]) =>
      // A signal and kernel that fit are rewritten as conv2d before this rule is asked.
      ({ error: problem("conv1dShapes", { x: x!, k: k! }) }),
    simplify: (b, [x, k], attrs) => {
      const [xs, ks] = [b.shape(x!), b.shape(k!)];
      if (!oneD(xs, ks)) return undefined;
      const image = [...xs.slice(0, -1), 1, xs[xs.length - 1]!];
      const kernel = [...ks.slice(0, -1), 1, ks[ks.length - 1]!];
      const [s, p] = [Number(attrs.stride ?? 1), Number(attrs.padding ?? 0)];
      const out = b.op(
        "conv2d",
        [b.op("reshape", [x!], { shape: image }), b.op("reshape", [k!], { shape: kernel })],
        { stride: s === 1 ? 1 : [1, s], padding: p === 0 ? 0 : [0, p], line: true },
      );
      const shape = b.shape(out);
      return b.op("reshape", [out], { shape: [...shape.slice(0, -2), shape[shape.length - 1]!] });
    },
    vjp: () => [null, null],
    rule: () => "\\text{a 1-D convolution is a 2-D one of a 1-high image}",
    evaluate: () => {
      throw new Error("conv1d is rewritten as conv2d before it is evaluated");
    },
    emit: () => {
      throw new Error("conv1d is rewritten as conv2d before code is generated");
    },
    latex: ([x, k]) => ({ text: `\\left(${x!.text} \\star ${k!.text}\\right)`, prec: PREC.atom }),
  },
];

/** Whether shapes are a 1-D convolution's: [L] with [kw], or [C, L] / [N, C, L] with [F, C, kw]. */
function oneD(x: Shape, k: Shape): boolean {
  return (x.length === 1 && k.length === 1) || ((x.length === 2 || x.length === 3) && k.length === 3);
}
