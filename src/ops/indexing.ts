import type { Dim, NodeId } from "../ir/types.js";
import { problem } from "../diagnostics/shapes.js";
import { sizeOf, tensor, type Tensor } from "../ir/tensor.js";
import { PREC, type EmitContext, type OpDef } from "../ir/op.js";
import { atom, py } from "./python.js";

/**
 * Integer data as indices: `E[ids]` gathers rows of a table, `scatter_add` sends rows back
 * (each of the two is the other's vector-Jacobian product), and `onehot(y, K)` turns class
 * labels into the rows of the identity that a cross-entropy reads. Indices count from 0, as
 * datasets and PyTorch do; the generated code checks each against its range and throws an
 * Error naming the data when one is outside it.
 */
const rowSize = <D>(shape: readonly D[]): D[] => shape.slice(1);

/**
 * With `flat`, a gather reads single entries of the whole table (its offsets in memory, as
 * max-pooling's argmax gives them) and a scatter_add builds a tensor of shape `shape`. Flat
 * indices are never data, only computed by the module (in range by making), so they are not
 * checked at run time.
 */
const isFlat = (attrs: { readonly flat?: unknown }) => attrs.flat === true;
const entrySize = <D>(table: readonly D[], flat: boolean): D[] => (flat ? [] : rowSize(table));

/** Throws the evaluator's error for an index outside 0..bound − 1. */
function checkedIndex(value: number, bound: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= bound)
    throw new Error(`${what}: index ${value} is outside 0..${bound - 1}`);
  return value;
}

/** Code reading index `at` of `ids` into local `j`, checked against `bound`. */
function indexCode(ctx: EmitContext, ids: NodeId, at: string, bound: string, j: string): string {
  const name = JSON.stringify(`nabla: ${ctx.describe(ids)} holds `);
  return `const ${j} = ${ctx.ref(ids)}[${at}]; if (!(${j} >= 0 && ${j} < ${bound} && ${j} === Math.floor(${j}))) throw new Error(${name} + ${j} + " at entry " + ${at} + ", outside 0.." + (${bound} - 1));`;
}

export const indexingOps: readonly OpDef[] = [
  {
    name: "gather",
    surface: { params: [{ name: "table" }, { name: "ids", integer: true }] },
    shape: ([table, ids], attrs) =>
      table!.length === 0
        ? { error: problem("tableRows", { table: table! }) }
        : { shape: [...ids!, ...entrySize(table!, isFlat(attrs))] },
    vjp: (b, node, g) => [
      isFlat(node.attrs)
        ? b.op("scatter_add", [g, node.args[1]!], { flat: true, shape: b.shape(node.args[0]!) })
        : b.op("scatter_add", [g, node.args[1]!], { rows: b.shape(node.args[0]!)[0]! }),
    ],
    rule: () => "\\frac{\\partial E_{y}}{\\partial E_{v}} = [y = v]",
    evaluate: ([table, ids], attrs, shape) => {
      const flat = isFlat(attrs);
      const rows = flat ? table!.data.length : table!.shape[0]!;
      const size = sizeOf(entrySize(table!.shape, flat));
      const out = tensor(shape);
      ids!.data.forEach((id, i) => {
        const r = checkedIndex(id, rows, "gather");
        out.data.set(table!.data.subarray(r * size, (r + 1) * size), i * size);
      });
      return out;
    },
    emit: (ctx, node) => {
      const [table, ids] = node.args as [NodeId, NodeId];
      const tableShape = ctx.shapeOf(table);
      const flat = isFlat(node.attrs);
      const [i, j, k] = [ctx.fresh("i"), ctx.fresh("j"), ctx.fresh("k")];
      if (flat)
        return `for (let ${i} = 0; ${i} < ${ctx.size(node.shape)}; ${i}++) ${ctx.ref(node.id)}[${i}] = ${ctx.ref(table)}[${ctx.ref(ids)}[${i}]];`;
      const size = ctx.size(rowSize(tableShape));
      return `for (let ${i} = 0; ${i} < ${ctx.size(ctx.shapeOf(ids))}; ${i}++) { ${indexCode(ctx, ids, i, ctx.dim(tableShape[0]!), j)} for (let ${k} = 0; ${k} < ${size}; ${k}++) ${ctx.ref(node.id)}[${i} * ${size} + ${k}] = ${ctx.ref(table)}[${j} * ${size} + ${k}]; }`;
    },
    latex: ([table, ids]) => ({ text: `{${table!.text}}_{${ids!.text}}`, prec: PREC.atom }),
    // The ids are integer data: the export passes them as torch.long, which indexing wants.
    torch: ([table, ids], attrs) =>
      atom(`${py(table!, PREC.atom)}${isFlat(attrs) ? ".reshape(-1)" : ""}[${ids!.text}]`),
    nonDifferentiable: [1],
    indexBound: (shapes, node) => (isFlat(node.attrs) ? undefined : shapes[0]![0]!),
  },
  {
    name: "scatter_add",
    shape: ([g, ids], attrs) =>
      isFlat(attrs)
        ? { shape: attrs.shape as readonly Dim[] }
        : { shape: [attrs.rows as Dim, ...g!.slice(ids!.length)] },
    vjp: (b, node, g) => [b.op("gather", [g, node.args[1]!], isFlat(node.attrs) ? { flat: true } : {})],
    rule: () => "\\frac{\\partial}{\\partial \\delta_i} \\sum_{i : y_i = v} \\delta_i = [y_i = v]",
    evaluate: ([g, ids], attrs, shape) => {
      const flat = isFlat(attrs);
      const size = flat ? 1 : sizeOf(shape.slice(1));
      const out = tensor(shape);
      ids!.data.forEach((id, i) => {
        const r = checkedIndex(id, flat ? out.data.length : shape[0]!, "scatter_add");
        for (let k = 0; k < size; k++) out.data[r * size + k]! += g!.data[i * size + k]!;
      });
      return out;
    },
    emit: (ctx, node) => {
      const [g, ids] = node.args as [NodeId, NodeId];
      const [i, j, k] = [ctx.fresh("i"), ctx.fresh("j"), ctx.fresh("k")];
      const out = ctx.ref(node.id);
      if (isFlat(node.attrs))
        return `${out}.fill(0, 0, ${ctx.size(node.shape)});\nfor (let ${i} = 0; ${i} < ${ctx.size(ctx.shapeOf(ids))}; ${i}++) ${out}[${ctx.ref(ids)}[${i}]] += ${ctx.ref(g)}[${i}];`;
      const size = ctx.size(node.shape.slice(1));
      return `${out}.fill(0, 0, ${ctx.size(node.shape)});\nfor (let ${i} = 0; ${i} < ${ctx.size(ctx.shapeOf(ids))}; ${i}++) { ${indexCode(ctx, ids, i, ctx.dim(node.shape[0]!), j)} for (let ${k} = 0; ${k} < ${size}; ${k}++) ${out}[${j} * ${size} + ${k}] += ${ctx.ref(g)}[${i} * ${size} + ${k}]; }`;
    },
    latex: ([g, ids]) => ({
      text: `\\operatorname{scatter}_{${ids!.text}}\\left(${g!.text}\\right)`,
      prec: PREC.atom,
    }),
    nonDifferentiable: [1],
    indexBound: (_shapes, node) => (isFlat(node.attrs) ? undefined : (node.attrs.rows as Dim)),
  },
  {
    name: "onehot",
    surface: {
      params: [
        { name: "y", integer: true },
        { name: "classes", attr: true },
      ],
    },
    shape: ([y], attrs) =>
      Number.isInteger(attrs.classes) && Number(attrs.classes) > 0
        ? { shape: [...y!, Number(attrs.classes)] }
        : { error: problem("onehotClasses") },
    vjp: () => [null],
    rule: () => "\\text{class labels are data: no derivative}",
    evaluate: ([y], attrs, shape): Tensor => {
      const k = Number(attrs.classes);
      const out = tensor(shape);
      y!.data.forEach((id, i) => (out.data[i * k + checkedIndex(id, k, "onehot")] = 1));
      return out;
    },
    emit: (ctx, node) => {
      const y = node.args[0]!;
      const k = Number(node.attrs.classes);
      const [i, j] = [ctx.fresh("i"), ctx.fresh("j")];
      const out = ctx.ref(node.id);
      return `${out}.fill(0, 0, ${ctx.size(node.shape)});\nfor (let ${i} = 0; ${i} < ${ctx.size(ctx.shapeOf(y))}; ${i}++) { ${indexCode(ctx, y, i, String(k), j)} ${out}[${i} * ${k} + ${j}] = 1; }`;
    },
    latex: ([y]) => ({ text: `\\mathbf{e}_{${y!.text}}`, prec: PREC.atom }),
    torch: ([y], attrs, _shapes, _shape, ctx) =>
      atom(`F.one_hot(${y!.text}, ${Number(attrs.classes)}).to(${ctx.dtype})`),
    nonDifferentiable: [0],
    indexBound: (_shapes, node) => Number(node.attrs.classes),
  },
];
