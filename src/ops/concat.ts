import type { Attrs, Dim, Shape } from "../ir/types.js";
import { unifyDims } from "../ir/shapes.js";
import { problem } from "../diagnostics/shapes.js";
import { tensor, type Tensor } from "../ir/tensor.js";
import type { EmitContext } from "./lowering.js";
import { PREC, type OpDef, type ShapeResult } from "../ir/op.js";
import { atom, call, py } from "./python.js";
import { axisOf } from "./reduce.js";

/**
 * Joining and cutting along an axis: `concat(h, x)` is the textbook's [h; x] (an LSTM's
 * W [h_{t-1}; x_t], multi-head attention's Concat(head_1, head_2)), `slice(x, from, to)`
 * takes entries from..to−1 of an axis. A slice's VJP pads δ with zeros back to the full
 * size (`pad`), a pad's is the slice: each is the other's transpose, and concat's VJP is
 * one slice per operand.
 */
/** The axis joined or cut: the last unless `axis` names another; undefined when it is not one of `shape`'s. */
const axisIn = (shape: Shape, attrs: Attrs) => axisOf(shape, { axis: attrs.axis ?? -1 });

function concatShape([a, b]: readonly Shape[], attrs: Attrs): ShapeResult {
  if (a!.length !== b!.length || a!.length === 0)
    return {
      error: problem("concatRank", { a: a!, b: b! }),
    };
  const axis = axisIn(a!, attrs);
  if (axis === undefined) return { error: problem("notAnAxis", { axis: attrs.axis, shape: a! }) };
  const [na, nb] = [a![axis], b![axis]];
  if (typeof na !== "number" || typeof nb !== "number")
    return {
      error: problem("concatFixed", { a: a!, b: b! }),
    };
  if (a!.some((d, i) => i !== axis && !unifyDims(d, b![i]!)))
    return {
      error: problem("concatOthers", { axis, a: a!, b: b! }),
    };
  return { shape: a!.map((d, i) => (i === axis ? na + nb : d)) };
}

/** Offsets of a tensor viewed as [outer, n, inner] around `axis`. */
function around(shape: readonly number[], axis: number) {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  return { outer, n: shape[axis]!, inner };
}

/** Copies `src` ([outer, n, inner]) into `dst` ([outer, m, inner]) at position `at` of the axis. */
function copyInto(src: Tensor, dst: Tensor, axis: number, at: number) {
  const s = around(src.shape, axis);
  const m = dst.shape[axis]!;
  for (let o = 0; o < s.outer; o++)
    dst.data.set(src.data.subarray(o * s.n * s.inner, (o + 1) * s.n * s.inner), (o * m + at) * s.inner);
}

/** Loops copying a block of `n` along the axis between two buffers of axis sizes `srcN` and `dstN`. */
function emitBlockCopy(
  ctx: EmitContext,
  shape: Shape,
  axis: number,
  n: number,
  from: { ref: string; size: number; at: number },
  to: { ref: string; size: number; at: number },
): string {
  const outer = ctx.size(shape.slice(0, axis));
  const inner = ctx.size(shape.slice(axis + 1));
  const [o, j] = [ctx.fresh("o"), ctx.fresh("j")];
  const block = `${n} * ${inner}`;
  return `for (let ${o} = 0; ${o} < ${outer}; ${o}++) for (let ${j} = 0; ${j} < ${block}; ${j}++) ${to.ref}[(${o} * ${to.size} + ${to.at}) * ${inner} + ${j}] = ${from.ref}[(${o} * ${from.size} + ${from.at}) * ${inner} + ${j}];`;
}

const sliceRange = (attrs: Attrs) => [Number(attrs.from), Number(attrs.to)] as const;

export const concatOps: readonly OpDef[] = [
  {
    name: "concat",
    surface: { params: [{ name: "a" }, { name: "b" }, { name: "axis", attr: true, default: -1 }] },
    shape: concatShape,
    vjp: (b, node, g, needed) => {
      const A = node.args[0]!;
      const axis = axisIn(node.shape, node.attrs)!;
      const na = b.shape(A)[axis] as number;
      const n = node.shape[axis] as number;
      return [
        needed[0] ? b.op("slice", [g], { axis, from: 0, to: na }) : null,
        needed[1] ? b.op("slice", [g], { axis, from: na, to: n }) : null,
      ];
    },
    rule: (i) =>
      i === 0 ? "\\text{the first part of the joined δ}" : "\\text{the second part of the joined δ}",
    evaluate: ([a, b], attrs, shape) => {
      const out = tensor(shape);
      const axis = axisIn(shape, attrs)!;
      copyInto(a!, out, axis, 0);
      copyInto(b!, out, axis, a!.shape[axis]!);
      return out;
    },
    emit: (ctx, node) => {
      const [A, B] = node.args as [number, number];
      const axis = axisIn(node.shape, node.attrs)!;
      const [na, n] = [ctx.shapeOf(A)[axis] as number, node.shape[axis] as number];
      const out = { ref: ctx.ref(node.id), size: n };
      return [
        emitBlockCopy(ctx, node.shape, axis, na, { ref: ctx.ref(A), size: na, at: 0 }, { ...out, at: 0 }),
        emitBlockCopy(
          ctx,
          node.shape,
          axis,
          n - na,
          { ref: ctx.ref(B), size: n - na, at: 0 },
          { ...out, at: na },
        ),
      ].join("\n");
    },
    // [h; x] for vectors (stacked), [A, B] side by side for a last axis, stacked otherwise.
    torch: ([a, b], attrs, [shape], _shape, ctx) =>
      atom(`torch.cat([${ctx.tensor(a!).text}, ${ctx.tensor(b!).text}], dim=${axisIn(shape!, attrs)!})`),
    latex: ([a, b], attrs, [shape]) => {
      const rank = shape!.length;
      const axis = axisIn(shape!, attrs);
      const sep = rank >= 2 && axis === rank - 1 ? " & " : " \\\\ ";
      return { text: `\\begin{bmatrix} ${a!.text}${sep}${b!.text} \\end{bmatrix}`, prec: PREC.atom };
    },
  },
  {
    name: "slice",
    surface: {
      params: [
        { name: "x" },
        { name: "from", attr: true },
        { name: "to", attr: true },
        { name: "axis", attr: true, default: -1 },
      ],
    },
    shape: ([x], attrs) => {
      const axis = axisIn(x!, attrs);
      if (axis === undefined) return { error: problem("notAnAxis", { axis: attrs.axis, shape: x! }) };
      const [from, to] = sliceRange(attrs);
      const n = x![axis];
      if (typeof n !== "number") return { error: problem("sliceFixed", { shape: x! }) };
      if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > n || from >= to)
        return {
          error: problem("sliceRange", { from, to, axis, shape: x!, size: n }),
        };
      return { shape: x!.map((d, i) => (i === axis ? to - from : d)) };
    },
    vjp: (b, node, g) => {
      const axis = axisIn(node.shape, node.attrs)!;
      return [b.op("pad", [g], { ...node.attrs, axis, size: b.shape(node.args[0]!)[axis] as Dim })];
    },
    rule: () => "\\text{the δ of the entries taken, and 0 for the others}",
    evaluate: ([x], attrs, shape) => {
      const out = tensor(shape);
      const axis = axisIn(shape, attrs)!;
      const s = around(x!.shape, axis);
      const [from, to] = sliceRange(attrs);
      for (let o = 0; o < s.outer; o++)
        out.data.set(
          x!.data.subarray((o * s.n + from) * s.inner, (o * s.n + to) * s.inner),
          o * (to - from) * s.inner,
        );
      return out;
    },
    emit: (ctx, node) => {
      const x = node.args[0]!;
      const axis = axisIn(node.shape, node.attrs)!;
      const [from, to] = sliceRange(node.attrs);
      const n = ctx.shapeOf(x)[axis] as number;
      return emitBlockCopy(
        ctx,
        node.shape,
        axis,
        to - from,
        { ref: ctx.ref(x), size: n, at: from },
        { ref: ctx.ref(node.id), size: to - from, at: 0 },
      );
    },
    torch: ([x], attrs, [shape]) => {
      const [from, to] = sliceRange(attrs);
      const axis = axisIn(shape!, attrs)!;
      return atom(`${py(x!, PREC.atom)}[${[...Array<string>(axis).fill(":"), `${from}:${to}`].join(", ")}]`);
    },
    latex: ([x], attrs, [shape]) => {
      const [from, to] = sliceRange(attrs);
      const axis = axisIn(shape!, attrs)!;
      const range = `${from + 1}:${to}`;
      // (δ_{v_{t+1}})_{1:2}, not a double subscript.
      const base =
        x!.prec >= PREC.atom && !x!.text.includes("_") ? `{${x!.text}}` : `\\left(${x!.text}\\right)`;
      return {
        text: `${base}_{${shape!.length === 1 ? range : `[${shape!.map((_, i) => (i === axis ? range : ":")).join(",")}]`}}`,
        prec: PREC.atom,
      };
    },
  },
  {
    name: "pad",
    shape: ([g], attrs) => {
      const axis = axisIn(g!, attrs)!;
      return { shape: g!.map((d, i) => (i === axis ? (attrs.size as Dim) : d)) };
    },
    vjp: (b, node, u) => [
      b.op("slice", [u], { axis: node.attrs.axis!, from: node.attrs.from!, to: node.attrs.to! }),
    ],
    rule: () => "\\text{only the padded entries' gradient is read}",
    evaluate: ([g], attrs, shape) => {
      const out = tensor(shape);
      const axis = axisIn(shape, attrs)!;
      copyInto(g!, out, axis, Number(attrs.from));
      return out;
    },
    emit: (ctx, node) => {
      const g = node.args[0]!;
      const axis = axisIn(node.shape, node.attrs)!;
      const [from, to] = sliceRange(node.attrs);
      const n = node.shape[axis] as number;
      return `${ctx.ref(node.id)}.fill(0);\n${emitBlockCopy(ctx, node.shape, axis, to - from, { ref: ctx.ref(g), size: to - from, at: 0 }, { ref: ctx.ref(node.id), size: n, at: from })}`;
    },
    // F.pad lists (before, after) per axis from the last axis backwards.
    torch: ([g], attrs, [shape], out, ctx) => {
      const [from, to] = sliceRange(attrs);
      const axis = axisIn(out, attrs)!;
      const pads = shape!.map((_, i) =>
        i === axis ? [String(from), `${ctx.dim(out[axis]!)} - ${to}`] : ["0", "0"],
      );
      return call("F.pad", [g!], ctx, `[${pads.slice(axis).reverse().flat().join(", ")}]`);
    },
    latex: ([g], attrs) => {
      const [from, to] = sliceRange(attrs);
      return { text: `\\iota_{${from + 1}:${to}}\\left(${g!.text}\\right)`, prec: PREC.atom };
    },
  },
];
