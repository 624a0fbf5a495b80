import type { NodeId } from "../ir/types.js";
import { problem } from "../diagnostics/shapes.js";
import { broadcastShapes } from "../ir/shapes.js";
import { PREC, type Latex, type OpDef, type ShapeResult } from "../ir/op.js";
import { evalMap, reduceTo } from "./common.js";
import { emitElementwise } from "./lowering.js";
import { atom, call, py } from "./python.js";
import type { Relation } from "../wasm/elementwise.js";

/** The relations a comparison may state, with their meaning, code and LaTeX. */
const RELATIONS: Record<
  string,
  { f: (a: number, b: number) => boolean; js: string; latex: string; py: string; wasm: Relation }
> = {
  ">": { f: (a, b) => a > b, js: ">", latex: ">", py: ">", wasm: "gt" },
  ">=": { f: (a, b) => a >= b, js: ">=", latex: "\\ge", py: ">=", wasm: "ge" },
  "<": { f: (a, b) => a < b, js: "<", latex: "<", py: "<", wasm: "lt" },
  "<=": { f: (a, b) => a <= b, js: "<=", latex: "\\le", py: "<=", wasm: "le" },
  "==": { f: (a, b) => a === b, js: "===", latex: "=", py: "==", wasm: "eq" },
  "!=": { f: (a, b) => a !== b, js: "!==", latex: "\\ne", py: "!=", wasm: "ne" },
};

const relationOf = (attrs: { readonly relation?: unknown }) => {
  const r = RELATIONS[String(attrs.relation)];
  if (!r) throw new Error(`no relation ${String(attrs.relation)}`);
  return r;
};

function broadcastAll(shapes: readonly (readonly (string | number)[])[]): ShapeResult {
  let shape: readonly (string | number)[] | undefined = [];
  for (const s of shapes) shape = shape && broadcastShapes(shape, s);
  return shape ? { shape } : { error: problem("broadcast", { shapes }) };
}

/**
 * Comparisons are 1 where the relation holds and 0 elsewhere (Iverson's [a > b]), with
 * derivative 0; `where(c, a, b)` picks a where c is not 0 and b elsewhere, and sends the
 * adjoint to the operand it picked.
 */
export const logicOps: readonly OpDef[] = [
  {
    name: "compare",
    shape: (shapes) => broadcastAll(shapes),
    vjp: () => [null, null],
    rule: () => "\\frac{\\partial [a > b]}{\\partial a} = \\frac{\\partial [a > b]}{\\partial b} = 0",
    evaluate: (args, attrs, shape) => {
      const r = relationOf(attrs);
      return evalMap(args, shape, (a, b) => (r.f(a, b) ? 1 : 0));
    },
    elementwise: ([a, b], attrs) => `+(${a} ${relationOf(attrs).js} ${b})`,
    // The relation's mask (the instruction is JavaScript's operator: NaN, ±0) selecting 1 or 0.
    wasm: (v, [a, b], attrs) => v.select(v[relationOf(attrs).wasm](a!, b!), v.constant(1), v.constant(0)),
    emit: (ctx, node) =>
      ctx.elementwiseCall?.(node.id) ??
      emitElementwise(
        ctx,
        node.id,
        node.shape,
        node.args,
        ([a, b]) => `+(${a} ${relationOf(node.attrs).js} ${b})`,
      ),
    latex: ([a, b], attrs): Latex => {
      const condition = `${a!.text} ${relationOf(attrs).latex} ${b!.text}`;
      return { text: `\\left[${condition}\\right]`, prec: PREC.atom, condition };
    },
    // Python's comparison operators bind more loosely than arithmetic: the bracket holds the relation.
    torch: ([a, b], attrs, _shapes, _shape, ctx) =>
      atom(`(${py(ctx.tensor(a!), PREC.sum)} ${relationOf(attrs).py} ${py(b!, PREC.sum)}).to(${ctx.dtype})`),
    nonDifferentiable: [0, 1],
    zeroDerivative: [0, 1],
  },
  {
    name: "where",
    surface: { params: [{ name: "condition" }, { name: "a" }, { name: "b" }] },
    shape: (shapes) => broadcastAll(shapes),
    vjp: (b, node, g, needed) => {
      const [c, x, y] = node.args as [NodeId, NodeId, NodeId];
      const zero = b.scalar(0);
      return [
        null,
        needed[1] ? reduceTo(b, b.op("where", [c, g, zero]), b.shape(x)) : null,
        needed[2] ? reduceTo(b, b.op("where", [c, zero, g]), b.shape(y)) : null,
      ];
    },
    rule: (i) =>
      i === 1
        ? "\\frac{\\partial \\operatorname{where}(c, a, b)}{\\partial a} = [c \\ne 0]"
        : "\\frac{\\partial \\operatorname{where}(c, a, b)}{\\partial b} = [c = 0]",
    evaluate: (args, _attrs, shape) => evalMap(args, shape, (c, a, b) => (c !== 0 ? a : b)),
    elementwise: ([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`,
    // c !== 0 is f64x2.ne: true for NaN, false for −0.
    wasm: (v, [c, a, b]) => v.select(v.ne(c!, v.constant(0)), a!, b!),
    emit: (ctx, node) =>
      ctx.elementwiseCall?.(node.id) ??
      emitElementwise(ctx, node.id, node.shape, node.args, ([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`),
    latex: ([c, a, b]) => ({
      text: `\\begin{cases} ${a!.text} & \\text{if } ${c!.condition ?? `${c!.text} \\ne 0`} \\\\ ${b!.text} & \\text{otherwise} \\end{cases}`,
      prec: PREC.atom,
    }),
    torch: ([c, a, b], _attrs, _shapes, _shape, ctx) =>
      call(
        "torch.where",
        [],
        ctx,
        `${py(ctx.tensor(c!), PREC.atom)} != 0`,
        ctx.tensor(a!).text,
        ctx.tensor(b!).text,
      ),
    nonDifferentiable: [0],
    zeroDerivative: [0],
  },
];
