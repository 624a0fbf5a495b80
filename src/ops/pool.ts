import type { Attrs, Shape } from "../ir/types.js";
import { problem } from "../diagnostics/shapes.js";
import { sizeOf, tensor, type Tensor } from "../ir/tensor.js";
import type { EmitContext } from "./lowering.js";
import { group, PREC, type FusionRules, type OpDef, type Python, type TorchContext } from "../ir/op.js";
import { atom, call, imageCall, method, py, tuple } from "./python.js";
import { dimLatex } from "../syntax/latexName.js";
import { asShape, gradientShape, num, poolDims, strides, windowSizes, type PoolDims } from "./imageShapes.js";

/**
 * Pooling over the last two axes (any leading axes: channels, a batch), flatten and
 * reshape. Max-pooling's gradient goes to the first maximum of each window in row-major
 * order; with overlapping windows a position receives the sum of the windows that chose it.
 */
/** Each pooling window: its output offset and the input offsets it covers, row by row. */
function eachWindow(
  d: PoolDims,
  attrs: Attrs,
  dims: ReadonlyMap<string, number>,
  visit: (o: number, inputs: number[]) => void,
): void {
  const lead = d.lead.reduce<number>((a, x) => a * num(x, dims), 1);
  const [[kh, kw], [sh, sw]] = [windowSizes(attrs), strides(attrs)];
  for (let l = 0; l < lead; l++)
    for (let oh = 0; oh < d.ho; oh++)
      for (let ow = 0; ow < d.wo; ow++) {
        const inputs: number[] = [];
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) inputs.push((l * d.h + oh * sh + i) * d.w + ow * sw + j);
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
  const [sh, sw] = strides(attrs);
  const lead = d.lead.length === 0 ? "1" : d.lead.map((x) => ctx.dim(x)).join(" * ");
  const at = (i: string, j: string) =>
    `(${l} * ${d.h} + ${oh} * ${sh} + ${i}) * ${d.w} + ${ow} * ${sw} + ${j}`;
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
  const [kh, kw] = windowSizes(attrs);
  const track = arg ? ` ${arg} = ${q};` : "";
  return `let ${best} = -Infinity;${arg ? ` let ${arg} = 0;` : ""} for (let ${i} = 0; ${i} < ${kh}; ${i}++) for (let ${j} = 0; ${j} < ${kw}; ${j}++) { const ${q} = ${at(i, j)}; if (${x}[${q}] > ${best}) { ${best} = ${x}[${q}];${track} } }`;
}

/** The flat index of lead indices over lead dims: ((l0 · D1 + l1) · D2 + l2)…, 0 without any. */
function leadOffset(ctx: EmitContext, lead: readonly string[], dims: PoolDims["lead"]): string {
  if (lead.length === 0) return "0";
  return `(${lead.reduce((acc, l, i) => (i === 0 ? l : `(${acc}) * ${ctx.dim(dims[i]!)} + ${l}`))})`;
}

/**
 * Max-pooling fused with the op producing its input: for each window the producer computes
 * the window's values in locals, the first maximum in row-major order (as maxpool and
 * pool_argmax choose it) is stored, and its offset in the input — the window's winner,
 * which the backward pass routes δ to — is recorded. A non-decreasing function the producer
 * leaves to apply (`then`: ReLU) is applied to the maximum alone; the winner is then the first
 * maximum of its operand, the same one wherever the function is not flat. The input itself is stored only when
 * asked, which needs windows that tile it; windows that overlap would compute values twice.
 */
const maxpoolFusion: FusionRules = {
  pool: (ctx, node, storeInput) => {
    const d = poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims;
    const [[kh, kw], [sh, sw]] = [windowSizes(node.attrs), strides(node.attrs)];
    if (sh < kh || sw < kw) return undefined;
    if (storeInput && (sh !== kh || sw !== kw || d.ho * sh !== d.h || d.wo * sw !== d.w)) return undefined;
    return (produce, targets) => {
      const lead = d.lead.map(() => ctx.fresh("l"));
      const [ph, pw, o, base, m, q] = ["ph", "pw", "o", "base", "m", "q"].map((p) => ctx.fresh(p));
      const flat = leadOffset(ctx, lead, d.lead);
      const at = (r: number, c: number) => ({
        offset: `${base} + ${r * d.w + c}`,
        axes: [...lead, `(${ph} * ${sh} + ${r})`, `(${pw} * ${sw} + ${c})`],
      });
      const code = produce({ lead, row: `${ph} * ${sh}`, col: `${pw} * ${sw}`, rows: kh, cols: kw }, at);
      const cells: [number, number][] = [];
      for (let r = 0; r < kh; r++) for (let c = 0; c < kw; c++) cells.push([r, c]);
      // The winner's offset in the input or, asked for, the key of its position.
      const key = targets.key;
      const kb = key ? ctx.fresh("kb") : "";
      const recorded = (r: number, c: number) =>
        key ? `${kb} + ${r * key.steps[0] + c * key.steps[1]}` : at(r, c).offset;
      const select = cells
        .map(
          ([r, c]) =>
            `if (${code.values[r]![c]} > ${m}) { ${m} = ${code.values[r]![c]};${targets.winners ? ` ${q} = ${recorded(r, c)};` : ""} }`,
        )
        .join(" ");
      const stores = targets.input
        ? cells
            .map(([r, c]) => {
              const value = code.values[r]![c]!;
              return `${targets.input}[${at(r, c).offset}] = ${code.then ? code.then(value) : value};`;
            })
            .join(" ")
        : "";
      const rest = `${code.code}
let ${m} = -Infinity;${targets.winners ? ` let ${q} = 0;` : ""}
${select}
${ctx.ref(node.id)}[${o}] = ${code.then ? code.then(m) : m};${targets.winners ? ` ${targets.winners}[${o}] = ${q};` : ""}
${stores}`;
      // The window's offset in the input, where anything reads it (not with keys recorded).
      const offset = new RegExp(`\\b${base}\\b`).test(rest)
        ? `const ${base} = (${flat} * ${d.h} + ${ph} * ${sh}) * ${d.w} + ${pw} * ${sw};`
        : "";
      const window = `const ${o} = (${flat} * ${d.ho} + ${ph}) * ${d.wo} + ${pw};
${offset}${key && targets.winners ? ` const ${kb} = ${key.at(at(0, 0).axes)};` : ""}
${rest}`;
      const windows = `${code.hoist}\nfor (let ${ph} = 0; ${ph} < ${d.ho}; ${ph}++) for (let ${pw} = 0; ${pw} < ${d.wo}; ${pw}++) {\n${window}\n}`;
      return lead.reduceRight(
        (inner, l, i) => `for (let ${l} = 0; ${l} < ${ctx.dim(d.lead[i]!)}; ${l}++) {\n${inner}\n}`,
        windows,
      );
    };
  },
  // The winner's row in its window by comparisons with the row starts (no division; V8 then
  // also knows the winner's row and column ranges), its offset read as an integer (| 0).
  // With keys, the key is read as recorded.
  winners: (ctx, node, winners, lead, body, keyed) => {
    const d = poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims;
    const [[kh], [sh, sw]] = [windowSizes(node.attrs), strides(node.attrs)];
    const [ph, pw, o, r, a, oh, ow] = ["ph", "pw", "o", "r", "a", "oh", "ow"].map((p) => ctx.fresh(p));
    const flat = leadOffset(ctx, lead, d.lead);
    if (keyed) {
      const k = ctx.fresh("k");
      return `for (let ${ph} = 0; ${ph} < ${d.ho}; ${ph}++) for (let ${pw} = 0; ${pw} < ${d.wo}; ${pw}++) {
const ${o} = (${flat} * ${d.ho} + ${ph}) * ${d.wo} + ${pw}; const ${k} = ${winners}[${o}] | 0;
${body(o, [], k)}
}`;
    }
    const row = Array.from({ length: kh - 1 }, (_, i) => `+(${r} >= ${(i + 1) * d.w})`).join(" + ") || "0";
    return `for (let ${ph} = 0; ${ph} < ${d.ho}; ${ph}++) for (let ${pw} = 0; ${pw} < ${d.wo}; ${pw}++) {
const ${o} = (${flat} * ${d.ho} + ${ph}) * ${d.wo} + ${pw};
const ${r} = (${winners}[${o}] | 0) - ((${flat} * ${d.h} + ${ph} * ${sh}) * ${d.w} + ${pw} * ${sw}); const ${a} = ${row};
const ${oh} = ${ph} * ${sh} + ${a}; const ${ow} = ${pw} * ${sw} + ${r} - ${a} * ${d.w};
${body(o, [...lead, oh, ow], "")}
}`;
  },
};

/** The first maximum of a window (ties go to the first position in row-major order). */
const argmax = (x: Tensor, inputs: readonly number[]) =>
  inputs.reduce((best, q) => (x.data[q]! > x.data[best]! ? q : best), inputs[0]!);

const poolAttrs = (attrs: Attrs) => ({
  size: attrs.size ?? 2,
  stride: attrs.stride ?? 2,
});
/** 2×2, or 2×3 with s=(1,2) when the stride is not the window. */
const poolSub = (attrs: Attrs) => {
  const [[kh, kw], [sh, sw]] = [windowSizes(attrs), strides(attrs)];
  const s = sh === kh && sw === kw ? "" : sh === sw ? `,s=${sh}` : `,s=(${sh},${sw})`;
  return `_{${kh}\\times${kw}${s}}`;
};

/** Pooling over the last two axes whatever the leading ones: torch pools [C, H, W] and [N, C, H, W]. */
function poolTorch(fn: string, x: Python, attrs: Attrs, shape: Shape, out: Shape, ctx: TorchContext): Python {
  const [size, stride] = [windowSizes(attrs), strides(attrs)];
  const rest = [`kernel_size=${tuple(size.map(String))}`, `stride=${tuple(stride.map(String))}`];
  if (shape.length === 3 || shape.length === 4) return imageCall(fn, x, 0, rest, ctx);
  if (shape.length === 2) return imageCall(fn, x, 1, rest, ctx);
  // More leading axes: pool them as one, then put them back.
  const [h, w] = shape.slice(-2);
  const flat = atom(`${py(ctx.tensor(x), PREC.atom)}.reshape(-1, ${ctx.dim(h!)}, ${ctx.dim(w!)})`);
  const pooled = imageCall(fn, flat, 0, rest, ctx);
  return atom(`${pooled.text}.reshape(${out.map((d) => ctx.dim(d)).join(", ")})`);
}

export const poolOps: readonly OpDef[] = [
  {
    name: "maxpool",
    surface: {
      params: [
        { name: "x" },
        { name: "size", attr: true, default: 2, pair: true },
        { name: "stride", attr: true, default: 2, pair: true },
      ],
    },
    shape: ([x], attrs) => asShape(poolDims(x!, attrs)),
    // The gradient is routed by indices: each window's δ is scattered to its argmax.
    vjp: (b, node, g) => {
      const x = node.args[0]!;
      const routes = b.op("pool_argmax", [x], poolAttrs(node.attrs));
      return [b.op("scatter_add", [g, routes], { flat: true, shape: b.shape(x) })];
    },
    rule: () => "\\text{each window's gradient goes to the position of its maximum (the first, on ties)}",
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
        (o, at) => `${argmaxCode(ctx, x, node.attrs, at, best)} ${ctx.ref(node.id)}[${o}] = ${best};`,
      );
    },
    torch: ([x], attrs, [xs], out, ctx) => poolTorch("F.max_pool2d", x!, attrs, xs!, out, ctx),
    fusion: maxpoolFusion,
    latex: ([x], attrs) => ({
      text: `\\operatorname{maxpool}${poolSub(attrs)}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    // Where each window's maximum lies: its offset in the image (the first maximum in row-major
    // order). Integer-valued, so it carries no derivative; a gather at these offsets is the
    // max-pooling, a scatter_add to them its gradient.
    name: "pool_argmax",
    shape: ([x], attrs) => asShape(poolDims(x!, attrs)),
    offsets: true,
    vjp: () => [null],
    nonDifferentiable: [0],
    rule: () => "\\text{the positions of the maxima do not change under a small change of } x",
    evaluate: ([x], attrs, shape, dims) => {
      const out = tensor(shape);
      eachWindow(
        poolDims(x!.shape, attrs) as PoolDims,
        attrs,
        dims,
        (o, inputs) => (out.data[o] = argmax(x!, inputs)),
      );
      return out;
    },
    emit: (ctx, node) => {
      const x = ctx.ref(node.args[0]!);
      const [best, arg] = [ctx.fresh("m"), ctx.fresh("q")];
      return windowLoops(
        ctx,
        poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims,
        node.attrs,
        (o, at) => `${argmaxCode(ctx, x, node.attrs, at, best, arg)} ${ctx.ref(node.id)}[${o}] = ${arg};`,
      );
    },
    latex: ([x], attrs) => ({
      text: `\\arg\\max${poolSub(attrs)} ${group(x!, PREC.atom)}`,
      prec: PREC.atom,
    }),
    domain: () => "any",
  },
  {
    // Linear, so its transpose (`transpose: "x"`, `shape` the image's) is avgpool read the
    // other way round: each window's value spread evenly over the window.
    name: "avgpool",
    surface: {
      params: [
        { name: "x" },
        { name: "size", attr: true, default: 2, pair: true },
        { name: "stride", attr: true, default: 2, pair: true },
      ],
    },
    shape: ([x], attrs) =>
      attrs.transpose === "x"
        ? gradientShape(poolDims(attrs.shape as Shape, attrs), x!, () => attrs.shape as Shape, "the pooled")
        : asShape(poolDims(x!, attrs)),
    vjp: (b, node, g) => [
      node.attrs.transpose === "x"
        ? b.op("avgpool", [g], poolAttrs(node.attrs))
        : b.op("avgpool", [g], { ...poolAttrs(node.attrs), transpose: "x", shape: b.shape(node.args[0]!) }),
    ],
    rule: (_i, attrs) =>
      attrs.transpose === "x"
        ? "\\text{linear}"
        : "\\text{each window's gradient is spread evenly over the window}",
    evaluate: ([x], attrs, shape, dims) => {
      const out = tensor(shape);
      if (attrs.transpose === "x") {
        eachWindow(poolDims(shape, attrs) as PoolDims, attrs, dims, (o, inputs) =>
          inputs.forEach((q) => (out.data[q]! += x!.data[o]! / inputs.length)),
        );
        return out;
      }
      eachWindow(
        poolDims(x!.shape, attrs) as PoolDims,
        attrs,
        dims,
        (o, inputs) => (out.data[o] = inputs.reduce((s, q) => s + x!.data[q]!, 0) / inputs.length),
      );
      return out;
    },
    emit: (ctx, node) => {
      const x = ctx.ref(node.args[0]!);
      const out = ctx.ref(node.id);
      const [kh, kw] = windowSizes(node.attrs);
      const [s, i, j] = [ctx.fresh("s"), ctx.fresh("i"), ctx.fresh("j")];
      if (node.attrs.transpose === "x")
        return `${out}.fill(0);\n${windowLoops(ctx, poolDims(node.shape, node.attrs) as PoolDims, node.attrs, (o, at) => `const ${s} = ${x}[${o}] / ${kh * kw}; for (let ${i} = 0; ${i} < ${kh}; ${i}++) for (let ${j} = 0; ${j} < ${kw}; ${j}++) ${out}[${at(i, j)}] += ${s};`)}`;
      return windowLoops(
        ctx,
        poolDims(ctx.shapeOf(node.args[0]!), node.attrs) as PoolDims,
        node.attrs,
        (o, at) =>
          `let ${s} = 0; for (let ${i} = 0; ${i} < ${kh}; ${i}++) for (let ${j} = 0; ${j} < ${kw}; ${j}++) ${s} += ${x}[${at(i, j)}]; ${out}[${o}] = ${s} / ${kh * kw};`,
      );
    },
    // The spreading of an average back over its window is a gradient: torch.autograd's business.
    torch: ([x], attrs, [xs], out, ctx) =>
      attrs.transpose === "x" ? undefined : poolTorch("F.avg_pool2d", x!, attrs, xs!, out, ctx),
    latex: ([x], attrs) => ({
      text: `\\operatorname{${attrs.transpose === "x" ? "spread" : "avgpool"}}${poolSub(attrs)}\\left(${x!.text}\\right)`,
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
        return { error: problem("flattenFrom", { shape: x! }) };
      const rest = x!.slice(from);
      if (!rest.every((d) => typeof d === "number")) return { error: problem("flattenFixed") };
      return { shape: [...x!.slice(0, from), sizeOf(rest as number[])] };
    },
    vjp: (b, node, g) => [b.op("reshape", [g], { shape: b.shape(node.args[0]!) })],
    rule: () => "\\text{flattening only reorders: the gradient is reshaped back}",
    evaluate: ([x], _attrs, shape) => tensor(shape, Float64Array.from(x!.data)),
    sharesBuffer: true,
    emit: (ctx, node) => `${ctx.ref(node.id)}.set(${ctx.ref(node.args[0]!)});`,
    torch: ([x], attrs, _shapes, _shape, ctx) =>
      call("torch.flatten", [x!], ctx, `start_dim=${Number(attrs.from ?? 0)}`),
    latex: ([x]) => ({
      text: `\\operatorname{vec}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "reshape",
    surface: { params: [{ name: "x" }, { name: "shape", list: "shape" }] },
    shape: ([x], attrs) => {
      const to = attrs.shape as Shape;
      const same =
        x!.filter((d) => typeof d === "string").join() === to.filter((d) => typeof d === "string").join();
      const fixed = (s: Shape) =>
        s.filter((d): d is number => typeof d === "number").reduce((a, b) => a * b, 1);
      return same && fixed(x!) === fixed(to)
        ? { shape: to }
        : { error: problem("reshape", { from: x!, to }) };
    },
    vjp: (b, node, g) => [b.op("reshape", [g], { shape: b.shape(node.args[0]!) })],
    rule: () => "\\text{reshaping only reorders: the gradient is reshaped back}",
    evaluate: ([x], _attrs, shape) => tensor(shape, Float64Array.from(x!.data)),
    sharesBuffer: true,
    emit: (ctx, node) => `${ctx.ref(node.id)}.set(${ctx.ref(node.args[0]!)});`,
    torch: ([x], attrs, _shapes, _shape, ctx) =>
      method(x!, "reshape", ctx, ...(attrs.shape as Shape).map((d) => ctx.dim(d))),
    // A reshape that only adds or drops axes of size 1 (a row sum kept as a column) is not written.
    latex: ([x], attrs, [from]) => {
      const to = attrs.shape as Shape;
      const sizes = (s: Shape) => s.filter((d) => d !== 1).join(",");
      if (sizes(from!) === sizes(to)) return x!;
      return {
        text: `\\operatorname{reshape}_{${to.map(dimLatex).join("\\times ")}}\\left(${x!.text}\\right)`,
        prec: PREC.atom,
      };
    },
  },
];
