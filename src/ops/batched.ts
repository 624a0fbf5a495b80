import type { GraphBuilder } from "../ir/builder.js";
import { unifyDims, unifyShapes } from "../ir/shapes.js";
import { problem } from "../diagnostics/shapes.js";
import type { Attrs, Dim, NodeId, Shape } from "../ir/types.js";
import { tensor } from "../ir/tensor.js";
import { group, PREC, type OpDef, type ShapeResult } from "../ir/op.js";
import { atom, infix, py } from "./python.js";

/**
 * Products over leading axes and reordered axes, as attention writes them: `Q * K^T` with
 * Q, K of shape [heads, T, d] is one matrix product per head ([heads, T, T]), and over a
 * batch of sequences [N, heads, T, d] one per sequence and head; a matrix operand ([d, d])
 * is shared by every matrix of the stack. `permute(x, [1, 0, 2])` reorders axes; `^T` of
 * a stack of matrices transposes each. The batched product's two VJPs are batched products
 * again (with transposes), summed over the batch for a shared matrix.
 */
const axesOf = (attrs: Attrs) => (attrs.axes as readonly number[]).map(Number);

function permuteShape([x]: readonly Shape[], attrs: Attrs): ShapeResult {
  const axes = axesOf(attrs);
  const ok =
    axes.length === x!.length &&
    axes.every((a) => Number.isInteger(a) && a >= 0 && a < x!.length) &&
    new Set(axes).size === axes.length;
  return ok ? { shape: axes.map((a) => x![a]!) } : { error: problem("permuteAxes", { shape: x!, axes }) };
}

/** Row-major strides of a shape of known sizes. */
const strides = (shape: readonly number[]) => {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
};

/** Swaps the last two axes: a stack of matrices transposed, matrix by matrix. */
export const transposeLast = (b: GraphBuilder, x: NodeId): NodeId => {
  const rank = b.shape(x).length;
  if (rank <= 2) return b.op("transpose", [x]);
  const axes = Array.from({ length: rank }, (_, i) =>
    i < rank - 2 ? i : i === rank - 2 ? rank - 1 : rank - 2,
  );
  return b.op("permute", [x], { axes });
};

/**
 * [batch…, m, k] · [batch…, k, n]: equal leading axes (heads, or batch × heads), or a rank-2
 * operand shared by every matrix of the other.
 */
function bmatmulShape([a, b]: readonly Shape[]): ShapeResult {
  if (a!.length < 2 || b!.length < 2 || Math.max(a!.length, b!.length) < 3)
    return { error: problem("stacks", { a: a!, b: b! }) };
  const batchA = a!.slice(0, -2);
  const batchB = b!.slice(0, -2);
  if (batchA.length > 0 && batchB.length > 0 && !unifyShapes(batchA, batchB))
    return {
      error: problem(batchA.length === 1 && batchB.length === 1 ? "stackCounts" : "stackAxes", {
        a: a!,
        b: b!,
      }),
    };
  const [m, k] = a!.slice(-2) as [Dim, Dim];
  const [k2, n] = b!.slice(-2) as [Dim, Dim];
  if (!unifyDims(k, k2)) return { error: problem("innerDims") };
  return { shape: [...(batchA.length > 0 ? batchA : batchB), m, n] };
}

/** The offsets of matrix `i` of the batch: 0 for a shared matrix. */
const batchStride = (shape: Shape, size: (s: Shape) => string) =>
  shape.length >= 3 ? size(shape.slice(-2)) : "0";

/** A shared matrix's gradient: the per-matrix gradients summed over every leading axis. */
function sumLeading(b: GraphBuilder, d: NodeId): NodeId {
  let out = d;
  while (b.shape(out).length > 2) out = b.op("sum", [out], { axis: 0 });
  return out;
}

export const batchedOps: readonly OpDef[] = [
  {
    name: "permute",
    surface: { params: [{ name: "x" }, { name: "axes", attr: true, list: "numbers" }] },
    shape: permuteShape,
    simplify: (b, [x], attrs) => {
      const axes = axesOf(attrs);
      // Two permutations in a row stay two: the inner one may be a value the model names (K in K^T).
      return axes.length === b.shape(x!).length && axes.every((a, i) => a === i) ? x : undefined;
    },
    vjp: (b, node, g) => {
      const axes = axesOf(node.attrs);
      const inverse = axes.map((_, i) => axes.indexOf(i));
      return [b.op("permute", [g], { axes: inverse })];
    },
    rule: () => "\\text{reordering axes only moves entries: the gradient is moved back}",
    evaluate: ([x], attrs, shape) => {
      const axes = axesOf(attrs);
      const out = tensor(shape);
      const inStrides = strides(x!.shape);
      const outShape = shape as number[];
      const index = new Array<number>(outShape.length).fill(0);
      for (let o = 0; o < out.data.length; o++) {
        let offset = 0;
        for (let k = 0; k < axes.length; k++) offset += index[k]! * inStrides[axes[k]!]!;
        out.data[o] = x!.data[offset]!;
        for (let k = outShape.length - 1; k >= 0; k--) {
          if (++index[k]! < outShape[k]!) break;
          index[k] = 0;
        }
      }
      return out;
    },
    emit: (ctx, node) => {
      const axes = axesOf(node.attrs);
      const from = ctx.shapeOf(node.args[0]!);
      const loops = node.shape.map(() => ctx.fresh("i"));
      const stride = (axis: number) => ctx.size(from.slice(axis + 1));
      const source = axes.map((a, k) => `${loops[k]} * ${stride(a)}`).join(" + ");
      const o = ctx.fresh("o");
      const open = node.shape
        .map((d, k) => `for (let ${loops[k]} = 0; ${loops[k]} < ${ctx.dim(d)}; ${loops[k]}++)`)
        .join(" ");
      return `{ let ${o} = 0; ${open} ${ctx.ref(node.id)}[${o}++] = ${ctx.ref(node.args[0]!)}[${source || "0"}]; }`;
    },
    torch: ([x], attrs) => atom(`${py(x!, PREC.atom)}.permute(${axesOf(attrs).join(", ")})`),
    latex: ([x], attrs, [from]) => {
      const axes = axesOf(attrs);
      const rank = from!.length;
      const lastSwapped = axes.every((a, i) =>
        i < rank - 2 ? a === i : a === (i === rank - 2 ? rank - 1 : rank - 2),
      );
      return lastSwapped
        ? { text: `{${group(x!, PREC.atom)}}^{\\top}`, prec: PREC.power }
        : {
            text: `\\operatorname{permute}_{(${axes.map((a) => a + 1).join(",")})}\\left(${x!.text}\\right)`,
            prec: PREC.atom,
          };
    },
  },
  {
    name: "bmatmul",
    shape: bmatmulShape,
    vjp: (b, node, g, needed) => {
      const [A, B] = node.args as [NodeId, NodeId];
      const shared = (x: NodeId, d: NodeId) => (b.shape(x).length === 2 ? sumLeading(b, d) : d);
      return [
        needed[0] ? shared(A, b.op("bmatmul", [g, transposeLast(b, B)])) : null,
        needed[1] ? shared(B, b.op("bmatmul", [transposeLast(b, A), g])) : null,
      ];
    },
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial L}{\\partial A_i} = \\frac{\\partial L}{\\partial (A_i B_i)}\\,B_i^{\\top} \\text{ for each matrix } i \\text{ of the stack}"
        : "\\frac{\\partial L}{\\partial B_i} = A_i^{\\top}\\,\\frac{\\partial L}{\\partial (A_i B_i)} \\text{ for each matrix } i \\text{ of the stack}",
    evaluate: ([a, b], _attrs, shape) => {
      const [m, n] = shape.slice(-2) as [number, number];
      const batch = shape.slice(0, -2).reduce((x, d) => x * d, 1);
      const k = a!.shape[a!.shape.length - 1]!;
      const [sa, sb] = [a!.shape.length >= 3 ? m * k : 0, b!.shape.length >= 3 ? k * n : 0];
      const out = tensor(shape);
      for (let i = 0; i < batch; i++)
        for (let r = 0; r < m; r++)
          for (let c = 0; c < n; c++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += a!.data[i * sa + r * k + p]! * b!.data[i * sb + p * n + c]!;
            out.data[(i * m + r) * n + c] = s;
          }
      return out;
    },
    emit: (ctx, node) => {
      const [A, B] = node.args as [NodeId, NodeId];
      const [sa, sb] = [ctx.shapeOf(A), ctx.shapeOf(B)];
      const [m, n] = node.shape.slice(-2).map((d) => ctx.dim(d)) as [string, string];
      const batch = ctx.size(node.shape.slice(0, -2));
      const k = ctx.dim(sa[sa.length - 1]!);
      const [i, r, c, p, s, a0, b0, o] = ["i", "r", "c", "p", "s", "a", "b", "o"].map((x) => ctx.fresh(x));
      const size = (shape: Shape) => ctx.size(shape);
      return `for (let ${i} = 0; ${i} < ${batch}; ${i}++) { const ${a0} = ${i} * ${batchStride(sa, size)}; const ${b0} = ${i} * ${batchStride(sb, size)}; const ${o} = ${i} * ${m} * ${n}; for (let ${r} = 0; ${r} < ${m}; ${r}++) for (let ${c} = 0; ${c} < ${n}; ${c}++) { let ${s} = 0; for (let ${p} = 0; ${p} < ${k}; ${p}++) ${s} += ${ctx.ref(A)}[${a0} + ${r} * ${k} + ${p}] * ${ctx.ref(B)}[${b0} + ${p} * ${n} + ${c}]; ${ctx.ref(node.id)}[${o} + ${r} * ${n} + ${c}] = ${s}; } }`;
    },
    latex: ([a, b]) => ({
      text: `${group(a!, PREC.power)} ${b!.numeric ? "\\cdot " : ""}${group(b!, PREC.power)}`,
      prec: PREC.product,
    }),
    // torch.matmul multiplies stacks matrix by matrix and shares a rank-2 operand, as here.
    torch: ([a, b]) => infix(a!, "@", b!, PREC.product),
  },
];
