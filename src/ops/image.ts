import type { Attrs, Dim, Shape } from "../ir/types.js";
import { formatShape } from "../ir/types.js";
import { sizeOf, tensor, type Tensor } from "../ir/tensor.js";
import type { EmitContext } from "../codegen/context.js";
import { group, PREC, type OpDef, type ShapeResult } from "./def.js";

/**
 * Image operations as deep-learning practice means them: conv2d is a cross-correlation with
 * zero padding, over [H, W] with a [kh, kw] kernel, [C, H, W] with [F, C, kh, kw] filters, or
 * a batch [N, C, H, W]; pooling works on the last two axes. Every variant is handled as the
 * batched four-axis case with axes of size one, and gradients are ops of their own (the
 * input's gradient a full convolution with the flipped kernel, the kernel's a correlation
 * of the input with the upstream gradient), so each has its rules here too.
 */

interface ConvDims {
  readonly n: Dim;
  readonly c: Dim;
  readonly h: number;
  readonly w: number;
  readonly f: Dim;
  readonly kh: number;
  readonly kw: number;
  readonly ho: number;
  readonly wo: number;
  readonly out: Shape;
}

const stride = (attrs: Attrs) => Number(attrs.stride ?? 1);
const padding = (attrs: Attrs) => Number(attrs.padding ?? 0);
const windowSize = (attrs: Attrs) => Number(attrs.size ?? 2);

/** ⌊(size + 2·padding − kernel)/stride⌋ + 1, or the arithmetic that shows why it does not fit. */
function outputSize(
  what: "kernel" | "window",
  axis: "H" | "W",
  size: number,
  kernel: number,
  s: number,
  p: number,
): number | { error: string; notes: string[]; size: true } {
  const span = size + 2 * p - kernel;
  const formula =
    what === "kernel"
      ? `${axis}′ = ⌊(${axis} + 2·padding − ${what})/stride⌋ + 1 = ⌊(${size} + 2·${p} − ${kernel})/${s}⌋ + 1`
      : `${axis}′ = ⌊(${axis} − ${what})/stride⌋ + 1 = ⌊(${size} − ${kernel})/${s}⌋ + 1`;
  if (span < 0) {
    const where = `${axis === "H" ? "height" : "width"} ${size}${p > 0 ? ` (padded by ${p} on each side)` : ""}`;
    return {
      error: `the ${what} of ${axis === "H" ? "height" : "width"} ${kernel} does not fit in the image's ${where}`,
      notes: [`${formula} < 1`],
      size: true,
    };
  }
  return Math.floor(span / s) + 1;
}

function checkAttrs(
  attrs: Attrs,
  names: readonly ("stride" | "padding" | "size")[],
): { error: string } | undefined {
  for (const name of names) {
    const v = Number(
      attrs[name] ?? (name === "padding" ? 0 : name === "size" ? 2 : 1),
    );
    const ok = Number.isInteger(v) && (name === "padding" ? v >= 0 : v >= 1);
    if (!ok)
      return {
        error: `${name} must be ${name === "padding" ? "a non-negative" : "a positive"} integer, got ${v}`,
      };
  }
  return undefined;
}

function convDims(
  x: Shape,
  k: Shape,
  attrs: Attrs,
): ConvDims | { error: string; notes?: string[]; size?: true } {
  const bad = checkAttrs(attrs, ["stride", "padding"]);
  if (bad) return bad;
  const rank = x.length;
  const expectedKernel = rank === 2 ? 2 : 4;
  if (rank < 2 || rank > 4 || k.length !== expectedKernel) {
    return {
      error: `conv2d takes an image [H, W] with a kernel [kh, kw], or [C, H, W] or [N, C, H, W] with filters [F, C, kh, kw]; got ${formatShape(x)} and ${formatShape(k)}`,
    };
  }
  const [h, w] = [x[rank - 2], x[rank - 1]];
  const [kh, kw] = [k[k.length - 2], k[k.length - 1]];
  if (
    typeof h !== "number" ||
    typeof w !== "number" ||
    typeof kh !== "number" ||
    typeof kw !== "number"
  ) {
    return { error: "image and kernel heights and widths must be fixed sizes" };
  }
  const c = rank >= 3 ? x[rank - 3]! : 1;
  if (rank >= 3 && k[1] !== c)
    return {
      error: `the image has ${c} channels but the filters ${formatShape(k)} expect ${k[1]}`,
    };
  const ho = outputSize("kernel", "H", h, kh, stride(attrs), padding(attrs));
  if (typeof ho !== "number") return ho;
  const wo = outputSize("kernel", "W", w, kw, stride(attrs), padding(attrs));
  if (typeof wo !== "number") return wo;
  const n = rank === 4 ? x[0]! : 1;
  const f = k.length === 4 ? k[0]! : 1;
  const out: Shape =
    rank === 2 ? [ho, wo] : rank === 3 ? [f, ho, wo] : [n, f, ho, wo];
  return { n, c, h, w, f, kh, kw, ho, wo, out };
}

interface PoolDims {
  readonly lead: readonly Dim[];
  readonly h: number;
  readonly w: number;
  readonly ho: number;
  readonly wo: number;
  readonly out: Shape;
}

function poolDims(
  x: Shape,
  attrs: Attrs,
): PoolDims | { error: string; notes?: string[]; size?: true } {
  const bad = checkAttrs(attrs, ["size", "stride"]);
  if (bad) return bad;
  if (x.length < 2)
    return {
      error: `pooling needs an image of at least two axes, got ${formatShape(x)}`,
    };
  const [h, w] = [x[x.length - 2], x[x.length - 1]];
  if (typeof h !== "number" || typeof w !== "number")
    return { error: "image heights and widths must be fixed sizes" };
  const ho = outputSize("window", "H", h, windowSize(attrs), stride(attrs), 0);
  if (typeof ho !== "number") return ho;
  const wo = outputSize("window", "W", w, windowSize(attrs), stride(attrs), 0);
  if (typeof wo !== "number") return wo;
  const lead = x.slice(0, -2);
  return { lead, h, w, ho, wo, out: [...lead, ho, wo] };
}

const asShape = (r: ConvDims | PoolDims | { error: string }): ShapeResult =>
  "error" in r ? r : { shape: r.out };

/** A gradient op's shape: `result`, once `operand` matches the forward op's output `d.out`. */
function gradientShape(
  d: ConvDims | PoolDims | { error: string },
  operand: Shape,
  result: () => Shape,
  what = "the forward output",
): ShapeResult {
  if ("error" in d) return d;
  return formatShape(d.out) === formatShape(operand)
    ? { shape: result() }
    : {
        error: `${formatShape(operand)} does not match ${what} ${formatShape(d.out)}`,
      };
}
const num = (d: Dim, dims: ReadonlyMap<string, number>) =>
  typeof d === "number" ? d : dims.get(d)!;

/** Loops over a conv's index space; `body` sees the flat offsets of x, k and the output. */
function convLoops(
  ctx: EmitContext,
  d: ConvDims,
  attrs: Attrs,
  body: (x: string, k: string, o: string) => string,
  perOutput?: { before: (o: string) => string; after: (o: string) => string },
): string {
  const [n, f, oh, ow, c, i, j, ih, iw] = [
    "n",
    "f",
    "oh",
    "ow",
    "c",
    "i",
    "j",
    "ih",
    "iw",
  ].map((p) => ctx.fresh(p));
  const s = stride(attrs);
  const p = padding(attrs);
  const [N, C, F] = [ctx.dim(d.n), ctx.dim(d.c), ctx.dim(d.f)];
  const o = `((${n} * ${F} + ${f}) * ${d.ho} + ${oh}) * ${d.wo} + ${ow}`;
  const row =
    p > 0
      ? `const ${ih} = ${oh} * ${s} + ${i} - ${p}; if (${ih} < 0 || ${ih} >= ${d.h}) continue;`
      : `const ${ih} = ${oh} * ${s} + ${i};`;
  const col =
    p > 0
      ? `const ${iw} = ${ow} * ${s} + ${j} - ${p}; if (${iw} < 0 || ${iw} >= ${d.w}) continue;`
      : `const ${iw} = ${ow} * ${s} + ${j};`;
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
  const s = stride(attrs);
  const p = padding(attrs);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let oh = 0; oh < d.ho; oh++)
        for (let ow = 0; ow < d.wo; ow++)
          for (let c = 0; c < C; c++)
            for (let i = 0; i < d.kh; i++) {
              const ih = oh * s + i - p;
              if (ih < 0 || ih >= d.h) continue;
              for (let j = 0; j < d.kw; j++) {
                const iw = ow * s + j - p;
                if (iw < 0 || iw >= d.w) continue;
                visit(
                  ((n * C + c) * d.h + ih) * d.w + iw,
                  ((f * C + c) * d.kh + i) * d.kw + j,
                  ((n * F + f) * d.ho + oh) * d.wo + ow,
                );
              }
            }
}

/** Each pooling window: its output offset and the input offsets it covers, row by row. */
function eachWindow(
  d: PoolDims,
  attrs: Attrs,
  dims: ReadonlyMap<string, number>,
  visit: (o: number, inputs: number[]) => void,
): void {
  const lead = d.lead.reduce<number>((a, x) => a * num(x, dims), 1);
  const [k, s] = [windowSize(attrs), stride(attrs)];
  for (let l = 0; l < lead; l++)
    for (let oh = 0; oh < d.ho; oh++)
      for (let ow = 0; ow < d.wo; ow++) {
        const inputs: number[] = [];
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++)
            inputs.push((l * d.h + oh * s + i) * d.w + ow * s + j);
        visit((l * d.ho + oh) * d.wo + ow, inputs);
      }
}

/** Loops over pooling windows in generated code; `body` gets the window's output offset and a function of (i, j) giving input offsets. */
function windowLoops(
  ctx: EmitContext,
  d: PoolDims,
  attrs: Attrs,
  body: (o: string, at: (i: string, j: string) => string) => string,
): string {
  const [l, oh, ow, o] = ["l", "oh", "ow", "o"].map((p) => ctx.fresh(p));
  const s = stride(attrs);
  const lead =
    d.lead.length === 0 ? "1" : d.lead.map((x) => ctx.dim(x)).join(" * ");
  const at = (i: string, j: string) =>
    `(${l} * ${d.h} + ${oh} * ${s} + ${i}) * ${d.w} + ${ow} * ${s} + ${j}`;
  return `for (let ${l} = 0; ${l} < ${lead}; ${l}++) for (let ${oh} = 0; ${oh} < ${d.ho}; ${oh}++) for (let ${ow} = 0; ${ow} < ${d.wo}; ${ow}++) { const ${o} = (${l} * ${d.ho} + ${oh}) * ${d.wo} + ${ow}; ${body(o, at)} }`;
}

/** Code finding the first maximum of a window into local `best`, and its offset into `arg` when asked for. */
function argmaxCode(
  ctx: EmitContext,
  x: string,
  attrs: Attrs,
  at: (i: string, j: string) => string,
  best: string,
  arg?: string,
): string {
  const [i, j, q] = [ctx.fresh("i"), ctx.fresh("j"), ctx.fresh("q")];
  const k = windowSize(attrs);
  const track = arg ? ` ${arg} = ${q};` : "";
  return `let ${best} = -Infinity;${arg ? ` let ${arg} = 0;` : ""} for (let ${i} = 0; ${i} < ${k}; ${i}++) for (let ${j} = 0; ${j} < ${k}; ${j}++) { const ${q} = ${at(i, j)}; if (${x}[${q}] > ${best}) { ${best} = ${x}[${q}];${track} } }`;
}

/** The first maximum of a window (ties go to the first position in row-major order). */
const argmax = (x: Tensor, inputs: readonly number[]) =>
  inputs.reduce(
    (best, q) => (x.data[q]! > x.data[best]! ? q : best),
    inputs[0]!,
  );

/** Kernels up to this many taps per channel are unrolled, their weights or sums held in locals. */
const UNROLL_TAPS = 25;
const unrollable = (d: ConvDims, attrs: Attrs) =>
  padding(attrs) === 0 && d.kh * d.kw <= UNROLL_TAPS;

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
  const [n, f, c, oh, ow, col] = ["n", "f", "c", "oh", "ow", "col"].map((p) =>
    ctx.fresh(p),
  );
  const [w, r, acc] = [ctx.fresh("w"), ctx.fresh("r"), ctx.fresh("s")];
  const s = stride(attrs);
  const [N, C, F] = [ctx.dim(d.n), ctx.dim(d.c), ctx.dim(d.f)];
  const taps: [number, number][] = [];
  for (let i = 0; i < d.kh; i++)
    for (let j = 0; j < d.kw; j++) taps.push([i, j]);
  const weights = taps
    .map(
      ([i, j]) =>
        `const ${w}_${i}_${j} = ${k}[((${f} * ${C} + ${c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}];`,
    )
    .join(" ");
  const rows = Array.from(
    { length: d.kh },
    (_, i) =>
      `const ${r}_${i} = ((${n} * ${C} + ${c}) * ${d.h} + ${oh} * ${s} + ${i}) * ${d.w};`,
  ).join(" ");
  const sum = taps
    .map(
      ([i, j]) =>
        `${w}_${i}_${j} * ${x}[${r}_${i} + ${col}${j === 0 ? "" : ` + ${j}`}]`,
    )
    .join(" + ");
  const o = `((${n} * ${F} + ${f}) * ${d.ho} + ${oh}) * ${d.wo} + ${ow}`;
  // One pass per input channel: the first writes the output, the others add to it.
  return `for (let ${n} = 0; ${n} < ${N}; ${n}++) for (let ${f} = 0; ${f} < ${F}; ${f}++) for (let ${c} = 0; ${c} < ${C}; ${c}++) {
  ${weights}
  for (let ${oh} = 0; ${oh} < ${d.ho}; ${oh}++) {
    ${rows}
    for (let ${ow} = 0; ${ow} < ${d.wo}; ${ow}++) { const ${col} = ${ow} * ${s}; const ${acc} = ${sum}; if (${c} === 0) ${out}[${o}] = ${acc}; else ${out}[${o}] += ${acc}; }
  }
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
  const [n, f, c, oh, ow, col, gv] = [
    "n",
    "f",
    "c",
    "oh",
    "ow",
    "col",
    "g",
  ].map((p) => ctx.fresh(p));
  const [acc, r] = [ctx.fresh("s"), ctx.fresh("r")];
  const s = stride(attrs);
  const [N, C, F] = [ctx.dim(d.n), ctx.dim(d.c), ctx.dim(d.f)];
  const taps: [number, number][] = [];
  for (let i = 0; i < d.kh; i++)
    for (let j = 0; j < d.kw; j++) taps.push([i, j]);
  const rows = Array.from(
    { length: d.kh },
    (_, i) =>
      `const ${r}_${i} = ((${n} * ${C} + ${c}) * ${d.h} + ${oh} * ${s} + ${i}) * ${d.w};`,
  ).join(" ");
  return `for (let ${f} = 0; ${f} < ${F}; ${f}++) for (let ${c} = 0; ${c} < ${C}; ${c}++) {
  ${taps.map(([i, j]) => `let ${acc}_${i}_${j} = 0;`).join(" ")}
  for (let ${n} = 0; ${n} < ${N}; ${n}++) for (let ${oh} = 0; ${oh} < ${d.ho}; ${oh}++) {
    ${rows}
    for (let ${ow} = 0; ${ow} < ${d.wo}; ${ow}++) {
      const ${gv} = ${g}[((${n} * ${F} + ${f}) * ${d.ho} + ${oh}) * ${d.wo} + ${ow}]; const ${col} = ${ow} * ${s};
      ${taps.map(([i, j]) => `${acc}_${i}_${j} += ${gv} * ${x}[${r}_${i} + ${col}${j === 0 ? "" : ` + ${j}`}];`).join(" ")}
    }
  }
  ${taps.map(([i, j]) => `${out}[((${f} * ${C} + ${c}) * ${d.kh} + ${i}) * ${d.kw} + ${j}] = ${acc}_${i}_${j};`).join(" ")}
}`;
}

const convAttrs = (attrs: Attrs) => ({
  stride: stride(attrs),
  padding: padding(attrs),
});
const poolAttrs = (attrs: Attrs) => ({
  size: windowSize(attrs),
  stride: stride(attrs),
});
const sub = (attrs: Attrs) => {
  const parts = [
    stride(attrs) !== 1 ? `s=${stride(attrs)}` : "",
    padding(attrs) !== 0 ? `p=${padding(attrs)}` : "",
  ].filter(Boolean);
  return parts.length > 0 ? `_{${parts.join(",")}}` : "";
};
const poolSub = (attrs: Attrs) =>
  `_{${windowSize(attrs)}\\times${windowSize(attrs)}${stride(attrs) !== windowSize(attrs) ? `,s=${stride(attrs)}` : ""}}`;

export const imageOps: readonly OpDef[] = [
  {
    name: "conv2d",
    surface: {
      params: [
        { name: "x" },
        { name: "k" },
        { name: "stride", attr: true, default: 1 },
        { name: "padding", attr: true, default: 0 },
      ],
    },
    shape: ([x, k], attrs) => asShape(convDims(x!, k!, attrs)),
    vjp: (b, node, g, needed) => {
      const [x, k] = node.args as [number, number];
      return [
        needed[0]
          ? b.op("conv2d_input_grad", [g, k], {
              ...convAttrs(node.attrs),
              shape: b.shape(x),
            })
          : null,
        needed[1]
          ? b.op("conv2d_kernel_grad", [x, g], {
              ...convAttrs(node.attrs),
              shape: b.shape(k),
            })
          : null,
      ];
    },
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial L}{\\partial x} = \\operatorname{conv}_{\\text{full}}\\left(\\delta, \\operatorname{rot}_{180}\\, k\\right) \\text{ (a full convolution with the flipped kernel)}"
        : "\\frac{\\partial L}{\\partial k} = x \\star \\delta \\text{ (the input correlated with the upstream gradient)}",
    evaluate: ([x, k], attrs, shape, dims) => {
      const d = convDims(x!.shape, k!.shape, attrs) as ConvDims;
      const out = tensor(shape);
      eachConv(
        d,
        attrs,
        dims,
        (xi, ki, o) => (out.data[o]! += x!.data[xi]! * k!.data[ki]!),
      );
      return out;
    },
    emit: (ctx, node) => {
      const [x, k] = node.args.map((a) => ctx.ref(a));
      const d = convDims(
        ctx.shapeOf(node.args[0]!),
        ctx.shapeOf(node.args[1]!),
        node.attrs,
      ) as ConvDims;
      if (unrollable(d, node.attrs))
        return emitConvUnrolled(ctx, d, node.attrs, x!, k!, ctx.ref(node.id));
      const s = ctx.fresh("s");
      return convLoops(
        ctx,
        d,
        node.attrs,
        (xi, ki) => `${s} += ${x}[${xi}] * ${k}[${ki}];`,
        {
          before: () => `let ${s} = 0;`,
          after: (o) => `${ctx.ref(node.id)}[${o}] = ${s};`,
        },
      );
    },
    latex: ([x, k], attrs) => ({
      text: `\\left(${group(x!, PREC.product)} \\star ${group(k!, PREC.product)}\\right)${sub(attrs)}`,
      prec: PREC.atom,
    }),
  },
  {
    name: "conv2d_input_grad",
    shape: ([g, k], attrs) =>
      gradientShape(
        convDims(attrs.shape as Shape, k!, attrs),
        g!,
        () => attrs.shape as Shape,
      ),
    vjp: (b, node, u, needed) => {
      const [g, k] = node.args as [number, number];
      return [
        needed[0] ? b.op("conv2d", [u, k], convAttrs(node.attrs)) : null,
        needed[1]
          ? b.op("conv2d_kernel_grad", [u, g], {
              ...convAttrs(node.attrs),
              shape: b.shape(k),
            })
          : null,
      ];
    },
    rule: () => "\\text{linear in } \\delta \\text{ and } k",
    evaluate: ([g, k], attrs, shape, dims) => {
      const d = convDims(shape, k!.shape, attrs) as ConvDims;
      const out = tensor(shape);
      eachConv(
        d,
        attrs,
        dims,
        (xi, ki, o) => (out.data[xi]! += g!.data[o]! * k!.data[ki]!),
      );
      return out;
    },
    emit: (ctx, node) => {
      const [g, k] = node.args.map((a) => ctx.ref(a));
      const d = convDims(
        node.shape,
        ctx.shapeOf(node.args[1]!),
        node.attrs,
      ) as ConvDims;
      const out = ctx.ref(node.id);
      const gv = ctx.fresh("g");
      const loops = convLoops(
        ctx,
        d,
        node.attrs,
        (xi, ki) => `${out}[${xi}] += ${gv} * ${k}[${ki}];`,
        { before: (o) => `const ${gv} = ${g}[${o}];`, after: () => "" },
      );
      return `${out}.fill(0);\n${loops}`;
    },
    latex: ([g, k], attrs) => ({
      text: `\\operatorname{conv}_{\\text{full}}${sub(attrs)}\\left(${g!.text}, \\operatorname{rot}_{180}\\, ${group(k!, PREC.atom)}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "conv2d_kernel_grad",
    shape: ([x, g], attrs) =>
      gradientShape(
        convDims(x!, attrs.shape as Shape, attrs),
        g!,
        () => attrs.shape as Shape,
      ),
    vjp: (b, node, v, needed) => {
      const [x, g] = node.args as [number, number];
      return [
        needed[0]
          ? b.op("conv2d_input_grad", [g, v], {
              ...convAttrs(node.attrs),
              shape: b.shape(x),
            })
          : null,
        needed[1] ? b.op("conv2d", [x, v], convAttrs(node.attrs)) : null,
      ];
    },
    rule: () => "\\text{linear in } x \\text{ and } \\delta",
    evaluate: ([x, g], attrs, shape, dims) => {
      const d = convDims(x!.shape, shape, attrs) as ConvDims;
      const out = tensor(shape);
      eachConv(
        d,
        attrs,
        dims,
        (xi, ki, o) => (out.data[ki]! += x!.data[xi]! * g!.data[o]!),
      );
      return out;
    },
    emit: (ctx, node) => {
      const [x, g] = node.args.map((a) => ctx.ref(a));
      const d = convDims(
        ctx.shapeOf(node.args[0]!),
        node.shape,
        node.attrs,
      ) as ConvDims;
      const out = ctx.ref(node.id);
      if (unrollable(d, node.attrs))
        return emitKernelGradUnrolled(ctx, d, node.attrs, x!, g!, out);
      const gv = ctx.fresh("g");
      const loops = convLoops(
        ctx,
        d,
        node.attrs,
        (xi, ki) => `${out}[${ki}] += ${x}[${xi}] * ${gv};`,
        { before: (o) => `const ${gv} = ${g}[${o}];`, after: () => "" },
      );
      return `${out}.fill(0);\n${loops}`;
    },
    latex: ([x, g], attrs) => ({
      text: `\\left(${group(x!, PREC.product)} \\star ${group(g!, PREC.product)}\\right)${sub(attrs)}`,
      prec: PREC.atom,
    }),
  },
  {
    name: "maxpool",
    surface: {
      params: [
        { name: "x" },
        { name: "size", attr: true, default: 2 },
        { name: "stride", attr: true, default: 2 },
      ],
    },
    shape: ([x], attrs) => asShape(poolDims(x!, attrs)),
    vjp: (b, node, g) => [
      b.op("maxpool_grad", [node.args[0]!, g], poolAttrs(node.attrs)),
    ],
    rule: () =>
      "\\text{each window's gradient goes to the position of its maximum (the first, on ties)}",
    evaluate: ([x], attrs, shape, dims) => {
      const out = tensor(shape);
      eachWindow(
        poolDims(x!.shape, attrs) as PoolDims,
        attrs,
        dims,
        (o, inputs) => (out.data[o] = x!.data[argmax(x!, inputs)]!),
      );
      return out;
    },
    emit: (ctx, node) => {
      const x = ctx.ref(node.args[0]!);
      const best = ctx.fresh("m");
      return windowLoops(
        ctx,
        poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims,
        node.attrs,
        (o, at) =>
          `${argmaxCode(ctx, x, node.attrs, at, best)} ${ctx.ref(node.id)}[${o}] = ${best};`,
      );
    },
    latex: ([x], attrs) => ({
      text: `\\operatorname{maxpool}${poolSub(attrs)}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "maxpool_grad",
    shape: ([x, g], attrs) =>
      gradientShape(poolDims(x!, attrs), g!, () => x!, "the pooled"),
    vjp: (b, node, u, needed) => [
      null,
      needed[1]
        ? b.op("maxpool_gather", [node.args[0]!, u], poolAttrs(node.attrs))
        : null,
    ],
    nonDifferentiable: [0],
    rule: () => "\\text{linear in } \\delta",
    evaluate: ([x, g], attrs, shape, dims) => {
      const out = tensor(shape);
      eachWindow(
        poolDims(x!.shape, attrs) as PoolDims,
        attrs,
        dims,
        (o, inputs) => (out.data[argmax(x!, inputs)]! += g!.data[o]!),
      );
      return out;
    },
    emit: (ctx, node) => {
      const [x, g] = node.args.map((a) => ctx.ref(a));
      const out = ctx.ref(node.id);
      const [best, arg] = [ctx.fresh("m"), ctx.fresh("q")];
      return `${out}.fill(0);\n${windowLoops(ctx, poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims, node.attrs, (o, at) => `${argmaxCode(ctx, x, node.attrs, at, best, arg)} ${out}[${arg}] += ${g}[${o}];`)}`;
    },
    latex: ([x, g]) => ({
      text: `\\operatorname{unpool}_{\\arg\\max ${group(x!, PREC.atom)}}\\left(${g!.text}\\right)`,
      prec: PREC.atom,
    }),
    domain: () => "any",
  },
  {
    name: "maxpool_gather",
    shape: ([x, u], attrs) =>
      formatShape(x!) === formatShape(u!)
        ? asShape(poolDims(x!, attrs))
        : {
            error: `${formatShape(u!)} does not match the image ${formatShape(x!)}`,
          },
    vjp: (b, node, v, needed) => [
      null,
      needed[1]
        ? b.op("maxpool_grad", [node.args[0]!, v], poolAttrs(node.attrs))
        : null,
    ],
    nonDifferentiable: [0],
    rule: () => "\\text{linear in its second argument}",
    evaluate: ([x, u], attrs, shape, dims) => {
      const out = tensor(shape);
      eachWindow(
        poolDims(x!.shape, attrs) as PoolDims,
        attrs,
        dims,
        (o, inputs) => (out.data[o] = u!.data[argmax(x!, inputs)]!),
      );
      return out;
    },
    emit: (ctx, node) => {
      const [x, u] = node.args.map((a) => ctx.ref(a));
      const [best, arg] = [ctx.fresh("m"), ctx.fresh("q")];
      return windowLoops(
        ctx,
        poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims,
        node.attrs,
        (o, at) =>
          `${argmaxCode(ctx, x, node.attrs, at, best, arg)} ${ctx.ref(node.id)}[${o}] = ${u}[${arg}];`,
      );
    },
    latex: ([x, u]) => ({
      text: `\\operatorname{gather}_{\\arg\\max ${group(x!, PREC.atom)}}\\left(${u!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "avgpool",
    surface: {
      params: [
        { name: "x" },
        { name: "size", attr: true, default: 2 },
        { name: "stride", attr: true, default: 2 },
      ],
    },
    shape: ([x], attrs) => asShape(poolDims(x!, attrs)),
    vjp: (b, node, g) => [
      b.op("avgpool_grad", [g], {
        ...poolAttrs(node.attrs),
        shape: b.shape(node.args[0]!),
      }),
    ],
    rule: () =>
      "\\text{each window's gradient is spread evenly over the window}",
    evaluate: ([x], attrs, shape, dims) => {
      const out = tensor(shape);
      eachWindow(
        poolDims(x!.shape, attrs) as PoolDims,
        attrs,
        dims,
        (o, inputs) =>
          (out.data[o] =
            inputs.reduce((s, q) => s + x!.data[q]!, 0) / inputs.length),
      );
      return out;
    },
    emit: (ctx, node) => {
      const x = ctx.ref(node.args[0]!);
      const k = windowSize(node.attrs);
      const [s, i, j] = [ctx.fresh("s"), ctx.fresh("i"), ctx.fresh("j")];
      return windowLoops(
        ctx,
        poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims,
        node.attrs,
        (o, at) =>
          `let ${s} = 0; for (let ${i} = 0; ${i} < ${k}; ${i}++) for (let ${j} = 0; ${j} < ${k}; ${j}++) ${s} += ${x}[${at(i, j)}]; ${ctx.ref(node.id)}[${o}] = ${s} / ${k * k};`,
      );
    },
    latex: ([x], attrs) => ({
      text: `\\operatorname{avgpool}${poolSub(attrs)}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "avgpool_grad",
    shape: ([g], attrs) =>
      gradientShape(
        poolDims(attrs.shape as Shape, attrs),
        g!,
        () => attrs.shape as Shape,
        "the pooled",
      ),
    vjp: (b, node, u) => [b.op("avgpool", [u], poolAttrs(node.attrs))],
    rule: () => "\\text{linear}",
    evaluate: ([g], attrs, shape, dims) => {
      const out = tensor(shape);
      eachWindow(poolDims(shape, attrs) as PoolDims, attrs, dims, (o, inputs) =>
        inputs.forEach((q) => (out.data[q]! += g!.data[o]! / inputs.length)),
      );
      return out;
    },
    emit: (ctx, node) => {
      const g = ctx.ref(node.args[0]!);
      const out = ctx.ref(node.id);
      const k = windowSize(node.attrs);
      const [i, j, v] = [ctx.fresh("i"), ctx.fresh("j"), ctx.fresh("v")];
      return `${out}.fill(0);\n${windowLoops(ctx, poolDims(node.shape, node.attrs) as PoolDims, node.attrs, (o, at) => `const ${v} = ${g}[${o}] / ${k * k}; for (let ${i} = 0; ${i} < ${k}; ${i}++) for (let ${j} = 0; ${j} < ${k}; ${j}++) ${out}[${at(i, j)}] += ${v};`)}`;
    },
    latex: ([g], attrs) => ({
      text: `\\operatorname{spread}${poolSub(attrs)}\\left(${g!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "flatten",
    surface: {
      params: [{ name: "x" }, { name: "from", attr: true, default: 0 }],
    },
    shape: ([x], attrs) => {
      const from = Number(attrs.from ?? 0);
      if (!Number.isInteger(from) || from < 0 || from >= Math.max(1, x!.length))
        return { error: `'from' must be an axis of ${formatShape(x!)}` };
      const rest = x!.slice(from);
      if (!rest.every((d) => typeof d === "number"))
        return { error: "the flattened axes must have fixed sizes" };
      return { shape: [...x!.slice(0, from), sizeOf(rest as number[])] };
    },
    vjp: (b, node, g) => [
      b.op("reshape", [g], { shape: b.shape(node.args[0]!) }),
    ],
    rule: () =>
      "\\text{flattening only reorders: the gradient is reshaped back}",
    evaluate: ([x], _attrs, shape) => tensor(shape, Float64Array.from(x!.data)),
    sharesBuffer: true,
    emit: (ctx, node) => `${ctx.ref(node.id)}.set(${ctx.ref(node.args[0]!)});`,
    latex: ([x]) => ({
      text: `\\operatorname{vec}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "reshape",
    shape: ([x], attrs) => {
      const to = attrs.shape as Shape;
      const same =
        x!.filter((d) => typeof d === "string").join() ===
        to.filter((d) => typeof d === "string").join();
      const fixed = (s: Shape) =>
        s
          .filter((d): d is number => typeof d === "number")
          .reduce((a, b) => a * b, 1);
      return same && fixed(x!) === fixed(to)
        ? { shape: to }
        : { error: `cannot reshape ${formatShape(x!)} to ${formatShape(to)}` };
    },
    vjp: (b, node, g) => [
      b.op("reshape", [g], { shape: b.shape(node.args[0]!) }),
    ],
    rule: () =>
      "\\text{reshaping only reorders: the gradient is reshaped back}",
    evaluate: ([x], _attrs, shape) => tensor(shape, Float64Array.from(x!.data)),
    sharesBuffer: true,
    emit: (ctx, node) => `${ctx.ref(node.id)}.set(${ctx.ref(node.args[0]!)});`,
    latex: ([x], attrs) => ({
      text: `\\operatorname{reshape}_{${formatShape(attrs.shape as Shape)
        .replace(/[[\]]/g, "")
        .replace(/, /g, "\\times ")}}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
];
