import type { Attrs, NodeId, Shape } from "../ir/types.js";
import { problem } from "../diagnostics/shapes.js";
import type { GraphBuilder } from "../ir/builder.js";
import { broadcastShapes, sameShape } from "../ir/shapes.js";
import { sizeOf, tensor, forEachBroadcast } from "../ir/tensor.js";
import { broadcastOffset, emitElementwise, emitLines, emitRows, emitSumTo } from "./lowering.js";
import { evalMap, reduceTo, scalarShape, softmaxRows } from "./common.js";
import { group, PREC, type Latex, type OpDef } from "../ir/op.js";
import { call, method, py, tuple } from "./python.js";

const targetShape = (attrs: Attrs) => attrs.shape as Shape;
/** The element count of a shape in LaTeX: `N K`, or a number when fixed. */
export const countLatex = (shape: Shape): string => {
  const fixed = shape.filter((d): d is number => typeof d === "number").reduce((a, b) => a * b, 1);
  const named = shape.filter((d): d is string => typeof d === "string");
  return [...(fixed !== 1 || named.length === 0 ? [String(fixed)] : []), ...named].join(" ");
};

/** Index letters for the axes a sum runs over: Σ_i over the first, Σ_j over the second. */
const AXIS_LETTERS = ["i", "j", "k", "l"];
/** A sum's index letter: j along the last axis (a row's entries, a softmax's classes), else by position. */
const axisLetter = (shape: Shape, axis: number) =>
  axis === shape.length - 1 ? "j" : (AXIS_LETTERS[axis] ?? "k");

/** Each row's sum, its last axis kept as 1 (a scalar is its own sum). */
export const rowSum = (b: GraphBuilder, x: NodeId): NodeId =>
  b.shape(x).length === 0 ? x : b.op("sum", [x], { axis: -1, keep: 1 });
const flag = (v: Attrs[string]) => v !== undefined && v !== 0 && v !== false;

/** The axis a reduction runs over (a negative one counts from the end), when it is one of `shape`'s. */
export function axisOf(shape: Shape, attrs: Attrs): number | undefined {
  const a = Number(attrs.axis);
  const axis = a < 0 ? shape.length + a : a;
  return Number.isInteger(axis) && axis >= 0 && axis < shape.length ? axis : undefined;
}

/** `shape` without `axis`, or with it as 1 when the reduction keeps it. */
export function reducedShape(shape: Shape, axis: number, keep: boolean): Shape {
  return keep ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

export const reduceOps: readonly OpDef[] = [
  {
    name: "sum",
    surface: {
      params: [{ name: "x" }, { name: "axis", attr: true }, { name: "keep", attr: true }],
    },
    shape: ([x], attrs) => {
      if (attrs.axis === undefined) return { shape: [] };
      const axis = axisOf(x!, attrs);
      if (axis === undefined) return { error: problem("notAnAxis", { axis: attrs.axis, shape: x! }) };
      return { shape: reducedShape(x!, axis, flag(attrs.keep)) };
    },
    vjp: (b, node, g) => {
      const x = node.args[0]!;
      const shape = b.shape(x);
      if (node.attrs.axis === undefined) return [b.op("broadcast_to", [g], { shape })];
      // The sum of each row goes back to every entry of its row: keep the axis, then broadcast.
      const kept = reducedShape(shape, axisOf(shape, node.attrs)!, true);
      return [b.op("broadcast_to", [b.op("reshape", [g], { shape: kept })], { shape })];
    },
    rule: () => "\\frac{\\partial \\sum_i a_i}{\\partial a_j} = 1",
    evaluate: ([x], attrs, shape) => {
      if (attrs.axis === undefined) return tensor([], Float64Array.of(x!.data.reduce((a, v) => a + v, 0)));
      const kept = reducedShape(x!.shape, axisOf(x!.shape, attrs)!, true) as number[];
      const out = tensor(shape);
      forEachBroadcast(x!.shape, [kept], (flat, [o]) => {
        out.data[o!]! += x!.data[flat]!;
      });
      return out;
    },
    emit: (ctx, node) => {
      const arg = node.args[0]!;
      if (node.attrs.axis !== undefined) {
        // Without the axis or with it kept as 1, the sums lie in the same order in memory.
        const kept = reducedShape(ctx.shapeOf(arg), axisOf(ctx.shapeOf(arg), node.attrs)!, true);
        return emitSumTo(ctx, node.id, kept, arg);
      }
      const [s, i] = [ctx.fresh("s"), ctx.fresh("i")];
      const x = ctx.ref(arg);
      return `{ let ${s} = 0; for (let ${i} = 0; ${i} < ${ctx.size(ctx.shapeOf(arg))}; ${i}++) ${s} += ${x}[${i}]; ${ctx.ref(node.id)}[0] = ${s}; }`;
    },
    latex: ([x], attrs, [shape]) => ({
      text:
        attrs.axis === undefined
          ? `\\sum ${group(x!, PREC.atom)}`
          : `\\textstyle\\sum_{${axisLetter(shape!, axisOf(shape!, attrs)!)}} ${group(x!, PREC.atom)}`,
      prec: PREC.product,
    }),
    torch: ([x], attrs, [shape], _shape, ctx) =>
      attrs.axis === undefined
        ? call("torch.sum", [x!], ctx)
        : call(
            "torch.sum",
            [x!],
            ctx,
            `dim=${axisOf(shape!, attrs)!}`,
            ...(flag(attrs.keep) ? ["keepdim=True"] : []),
          ),
  },
  {
    name: "mean",
    surface: {
      params: [{ name: "x" }, { name: "axis", attr: true }, { name: "keep", attr: true }],
    },
    // With a valid axis, simplify has already made the node a sum divided by a size.
    shape: ([x], attrs) =>
      attrs.axis === undefined
        ? { shape: [] }
        : { error: problem("notAnAxis", { axis: attrs.axis, shape: x! }) },
    // Over an axis, the mean is that axis's sum divided by its size: μ_i = (1/D) Σ_j x_ij.
    simplify: (b, [x], attrs) => {
      if (attrs.axis === undefined) return undefined;
      const shape = b.shape(x!);
      const axis = axisOf(shape, attrs);
      if (axis === undefined) return undefined;
      const size = shape[axis]!;
      const n = typeof size === "number" ? b.scalar(size) : b.op("dim_size", [], { dim: size });
      return b.op("div", [b.op("sum", [x!], attrs), n]);
    },
    vjp: (b, node, g) => {
      const x = node.args[0]!;
      return [
        b.op("broadcast_to", [b.op("div", [g, b.op("count", [x])])], {
          shape: b.shape(x),
        }),
      ];
    },
    rule: () => "\\frac{\\partial \\operatorname{mean}(a)}{\\partial a_j} = \\frac{1}{n}",
    evaluate: ([x]) => tensor([], Float64Array.of(x!.data.reduce((a, v) => a + v, 0) / x!.data.length)),
    emit: (ctx, node) => {
      const [s, i] = [ctx.fresh("s"), ctx.fresh("i")];
      const arg = node.args[0]!;
      const n = ctx.size(ctx.shapeOf(arg));
      return `{ let ${s} = 0; for (let ${i} = 0; ${i} < ${n}; ${i}++) ${s} += ${ctx.ref(arg)}[${i}]; ${ctx.ref(node.id)}[0] = ${s} / (${n}); }`;
    },
    latex: ([x]) => ({
      text: `\\operatorname{mean}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
    torch: ([x], _attrs, _shapes, _shape, ctx) => call("torch.mean", [x!], ctx),
  },
  {
    name: "count",
    shape: scalarShape,
    simplify: (b, [x]) => {
      const shape = b.shape(x!);
      return shape.every((d) => typeof d === "number") ? b.scalar(sizeOf(shape as number[])) : undefined;
    },
    vjp: () => [null],
    nonDifferentiable: [0],
    rule: () => "\\text{the number of elements does not depend on their values}",
    evaluate: ([x]) => tensor([], Float64Array.of(x!.data.length)),
    emit: (ctx, node) => `${ctx.ref(node.id)}[0] = ${ctx.size(ctx.shapeOf(node.args[0]!))};`,
    // The number of entries as a Python number, as a size is.
    torch: ([x], _attrs, _shapes, _shape, ctx) => ({
      text: `float(${py(ctx.tensor(x!), PREC.atom)}.numel())`,
      prec: PREC.atom,
      number: true,
    }),
    latex: (_args, _attrs, [s]) => ({
      text: countLatex(s!),
      prec: PREC.product,
    }),
  },
  {
    name: "sum_to",
    shape: ([x], attrs) =>
      broadcastShapes(x!, targetShape(attrs)) && sameShape(broadcastShapes(x!, targetShape(attrs))!, x!)
        ? { shape: targetShape(attrs) }
        : {
            error: problem("sumTo", { from: x!, to: targetShape(attrs) }),
          },
    simplify: (b, [x], attrs) => (sameShape(b.shape(x!), targetShape(attrs)) ? x : undefined),
    vjp: (b, node, g) => [b.op("broadcast_to", [g], { shape: b.shape(node.args[0]!) })],
    rule: () => "\\text{a broadcast operand receives the sum of the gradient over the broadcast axes}",
    evaluate: ([x], _attrs, shape) => {
      const out = tensor(shape);
      const xs = x!;
      // Walk the input and accumulate into the broadcast position of the output.
      forEachBroadcast(xs.shape, [shape], (flat, [o]) => {
        out.data[o!]! += xs.data[flat]!;
      });
      return out;
    },
    emit: (ctx, node) => emitSumTo(ctx, node.id, node.shape, node.args[0]!),
    // From a value nonzero only at some points (a max-pool's winners): each adds to its
    // broadcast position; a sum over the image axes (a bias per filter) runs in a local per
    // lead index.
    fusion: {
      atPoints: (ctx, node) => {
        const [from, to] = [ctx.shapeOf(node.args[0]!), node.shape];
        const target = (axes: readonly string[]) =>
          `${ctx.ref(node.id)}[${broadcastOffset(ctx, to, from, axes)}]`;
        const summed = (k: number) => {
          const axis = to.length - (from.length - k);
          return axis < 0 || (to[axis] === 1 && from[k] !== 1);
        };
        const init = () => `${ctx.ref(node.id)}.fill(0, 0, ${ctx.size(to)});`;
        if (from.length < 2 || !summed(from.length - 1) || !summed(from.length - 2))
          return {
            init,
            before: () => "",
            after: () => "",
            point: (value, axes) => `${target(axes)} += ${value};`,
          };
        let acc: string | undefined;
        const local = () => (acc ??= ctx.fresh("a"));
        return {
          init,
          before: () => `let ${local()} = 0;`,
          after: (lead) => `${target([...lead, "0", "0"])} += ${local()};`,
          point: (value) => `${local()} += ${value};`,
        };
      },
    },
    // Over j within each row when only the last axis goes (a per-row statistic's gradient);
    // over the rows otherwise (a bias's, broadcast along the leading axes).
    // sum_to_size sums over the axes a broadcast added or stretched.
    torch: ([x], attrs, _shapes, _shape, ctx) =>
      targetShape(attrs).length === 0
        ? call("torch.sum", [x!], ctx)
        : method(x!, "sum_to_size", ctx, ...targetShape(attrs).map((d) => ctx.dim(d))),
    latex: ([x], attrs, [from]) => {
      const to = targetShape(attrs);
      const last = from!.length - 1;
      const withinRows =
        from!.length >= 2 &&
        to.length === from!.length &&
        to[last] === 1 &&
        from![last] !== 1 &&
        to.slice(0, last).every((d, i) => d === from![i]);
      const over = withinRows ? "j" : "\\text{rows}";
      return { text: `\\sum_{${over}} ${group(x!, PREC.atom)}`, prec: PREC.product };
    },
  },
  {
    name: "broadcast_to",
    shape: ([x], attrs) =>
      broadcastShapes(x!, targetShape(attrs)) &&
      sameShape(broadcastShapes(x!, targetShape(attrs))!, targetShape(attrs))
        ? { shape: targetShape(attrs) }
        : {
            error: problem("broadcastTo", { from: x!, to: targetShape(attrs) }),
          },
    simplify: (b, [x], attrs) => (sameShape(b.shape(x!), targetShape(attrs)) ? x : undefined),
    vjp: (b, node, g) => [reduceTo(b, g, b.shape(node.args[0]!))],
    rule: () => "\\text{broadcasting copies the value, so gradients add up}",
    evaluate: (args, _attrs, shape) => evalMap(args, shape, (x) => x),
    elementwise: ([x]) => x!,
    emit: (ctx, node) => emitElementwise(ctx, node.id, node.shape, node.args, ([x]) => x!),
    latex: ([x], attrs) => ({
      text: `${group(x!, PREC.atom)}\\,\\mathbf{1}`,
      prec: PREC.product,
    }),
    torch: ([x], attrs, _shapes, _shape, ctx) =>
      call("torch.broadcast_to", [x!], ctx, tuple(targetShape(attrs).map((d) => ctx.dim(d)))),
  },
  {
    name: "softmax",
    surface: { params: [{ name: "z" }, { name: "axis", attr: true }] },
    shape: softmaxShape,
    simplify: lastAxisPlain("softmax"),
    vjp: (b, node, g) => {
      const sum = (x: NodeId) => lineSum(b, x, node.attrs);
      return [b.op("mul", [node.id, b.op("sub", [g, sum(b.op("mul", [g, node.id]))])])];
    },
    rule: () => "\\frac{\\partial \\operatorname{softmax}(z)_i}{\\partial z_j} = s_i(\\delta_{ij} - s_j)",
    evaluate: ([x], attrs) => softmaxRows(x!, false, axisOf(x!.shape, attrs)),
    emit: (ctx, node) => emitSoftmax(ctx, node.args[0]!, ctx.ref(node.id), false, node.attrs),
    latex: softmaxLatex("\\operatorname{softmax}"),
    torch: softmaxTorch("torch.softmax"),
  },
  {
    name: "log_softmax",
    surface: { params: [{ name: "z" }, { name: "axis", attr: true }] },
    shape: softmaxShape,
    simplify: lastAxisPlain("log_softmax"),
    vjp: (b, node, g) => [b.op("sub", [g, b.op("mul", [b.op("exp", [node.id]), lineSum(b, g, node.attrs)])])],
    rule: () => "\\frac{\\partial \\log\\operatorname{softmax}(z)_i}{\\partial z_j} = \\delta_{ij} - s_j",
    evaluate: ([x], attrs) => softmaxRows(x!, true, axisOf(x!.shape, attrs)),
    emit: (ctx, node) => emitSoftmax(ctx, node.args[0]!, ctx.ref(node.id), true, node.attrs),
    latex: softmaxLatex("\\log\\operatorname{softmax}"),
    torch: softmaxTorch("torch.log_softmax"),
  },
];

/**
 * A softmax runs over the last axis unless `axis` names another (a column softmax of a
 * matrix is axis = 0). An axis naming the last one is dropped, so the node is the plain
 * softmax that the fused cross-entropy rules recognise.
 */
function softmaxShape([x]: readonly Shape[], attrs: Attrs) {
  if (attrs.axis === undefined) return { shape: x! };
  return axisOf(x!, attrs) === undefined
    ? { error: problem("notAnAxis", { axis: attrs.axis, shape: x! }) }
    : { shape: x! };
}
function lastAxisPlain(op: string) {
  return (b: GraphBuilder, [x]: readonly NodeId[], attrs: Attrs): NodeId | undefined => {
    if (attrs.axis === undefined) return undefined;
    const shape = b.shape(x!);
    const axis = axisOf(shape, attrs);
    if (axis === undefined) return undefined;
    if (axis === shape.length - 1) return b.op(op, [x!]);
    return attrs.axis === axis ? undefined : b.op(op, [x!], { axis });
  };
}
/** Sums along the softmax's axis, kept as 1. */
function lineSum(b: GraphBuilder, x: NodeId, attrs: Attrs): NodeId {
  return attrs.axis === undefined ? rowSum(b, x) : b.op("sum", [x], { axis: attrs.axis, keep: 1 });
}
function softmaxTorch(fn: string): OpDef["torch"] {
  return ([x], attrs, [shape], _shape, ctx) =>
    call(fn, [x!], ctx, `dim=${attrs.axis === undefined ? -1 : axisOf(shape!, attrs)!}`);
}

function softmaxLatex(name: string) {
  return ([x]: readonly Latex[], attrs: Attrs, [shape]: readonly Shape[]): Latex => ({
    text: `${name}${attrs.axis === undefined ? "" : `_{${axisLetter(shape!, axisOf(shape!, attrs)!)}}`}\\left(${x!.text}\\right)`,
    prec: PREC.atom,
  });
}

/** Softmax (or its log) over the last axis or `attrs.axis`, stable: the line's maximum is subtracted first. */
export function emitSoftmax(
  ctx: Parameters<OpDef["emit"]>[0],
  input: number,
  out: string,
  log: boolean,
  attrs: Attrs = {},
): string {
  const x = ctx.ref(input);
  const [m, s, j, lse] = [ctx.fresh("m"), ctx.fresh("s"), ctx.fresh("j"), ctx.fresh("lse")];
  const line = (at: (j: string) => string, n: string) =>
    `let ${m} = -Infinity; for (let ${j} = 0; ${j} < ${n}; ${j}++) if (${x}[${at(j)}] > ${m}) ${m} = ${x}[${at(j)}];
let ${s} = 0; for (let ${j} = 0; ${j} < ${n}; ${j}++) ${s} += Math.exp(${x}[${at(j)}] - ${m});
const ${lse} = ${m} + Math.log(${s});
for (let ${j} = 0; ${j} < ${n}; ${j}++) ${out}[${at(j)}] = ${log ? `${x}[${at(j)}] - ${lse}` : `Math.exp(${x}[${at(j)}] - ${lse})`};`;
  const shape = ctx.shapeOf(input);
  if (attrs.axis !== undefined) return emitLines(ctx, shape, axisOf(shape, attrs)!, line);
  return emitRows(ctx, shape, (r, n) => line((k) => `${r} + ${k}`, n));
}
