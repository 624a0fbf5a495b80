import type { NodeId, Shape } from "../ir/types.js";
import type { EmitContext } from "../ir/op.js";

export type { EmitContext };

/** The product of dims as a JS expression, folding literals. */
export function product(ctx: EmitContext, dims: Shape): string {
  let literal = 1;
  const symbolic: string[] = [];
  for (const d of dims) {
    if (typeof d === "number") literal *= d;
    else symbolic.push(ctx.dim(d));
  }
  if (symbolic.length === 0) return String(literal);
  return (literal === 1 ? symbolic : [String(literal), ...symbolic]).join(" * ");
}

function isSameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const isOne = (shape: Shape) => shape.every((d) => d === 1);

/**
 * A loop writing `out[i] = f(args[i]...)` over the node's shape, with NumPy broadcasting:
 * operands of the full shape are read at the flat index, scalars are hoisted, and
 * anything else is indexed through per-axis strides (zero on broadcast axes).
 */
export function emitElementwise(
  ctx: EmitContext,
  out: NodeId,
  outShape: Shape,
  args: readonly NodeId[],
  body: (values: string[]) => string,
): string {
  const outRef = ctx.ref(out);
  const pre: string[] = [];
  const direct = args.every(
    (a) => (isSameShape(ctx.shapeOf(a), outShape) || isOne(ctx.shapeOf(a))) && !ctx.needsAxes(a),
  );
  if (direct) {
    const i = ctx.fresh("i");
    const values = args.map((a) => {
      if (isSameShape(ctx.shapeOf(a), outShape) && !isOne(outShape)) return ctx.element(a, i);
      const s = ctx.scalar(a);
      if (ctx.isLiteral(a)) return s;
      const local = ctx.fresh("s");
      pre.push(`const ${local} = ${s};`);
      return local;
    });
    const n = ctx.size(outShape);
    if (n === "1")
      return `${pre.join("\n")}\n${outRef}[0] = ${body(values.map((v) => v.replaceAll(`[${i}]`, "[0]")))};`;
    return `${pre.join("\n")}
for (let ${i} = 0; ${i} < ${n}; ${i}++) { ${outRef}[${i}] = ${body(values)}; }`;
  }
  const rank = outShape.length;
  const idx = outShape.map(() => ctx.fresh("i"));
  const flat = ctx.fresh("o");
  const inner = idx[rank - 1]!;
  // Operands of the full shape are read at the running output index; a broadcast operand
  // that does not vary along the innermost axis (a bias per row or per filter) is read once
  // per inner loop.
  const hoisted: string[] = [];
  const values = args.map((a) => {
    const shape = ctx.shapeOf(a);
    if (isSameShape(shape, outShape) && !ctx.needsAxes(a)) return ctx.element(a, flat);
    const value = ctx.element(a, broadcastOffset(ctx, shape, outShape, idx), idx);
    // Its offset holds the inner index unless its last axis is broadcast along the output's.
    const alongInner = shape.length > 0 && !(shape[shape.length - 1] === 1 && outShape[rank - 1] !== 1);
    if (ctx.needsAxes(a) || alongInner) return value;
    const local = ctx.fresh("h");
    hoisted.push(`const ${local} = ${value};`);
    return local;
  });
  let code = `for (let ${inner} = 0; ${inner} < ${ctx.dim(outShape[rank - 1]!)}; ${inner}++, ${flat}++) { ${outRef}[${flat}] = ${body(values)}; }`;
  if (hoisted.length > 0) code = `${hoisted.join(" ")} ${code}`;
  for (let axis = rank - 2; axis >= 0; axis--) {
    code = `for (let ${idx[axis]} = 0; ${idx[axis]} < ${ctx.dim(outShape[axis]!)}; ${idx[axis]}++) { ${code} }`;
  }
  return `let ${flat} = 0;\n${code}`;
}

/**
 * The flat offset into an array of `shape` broadcast to `full`, for loop indices `idx` over
 * `full`: axes where `shape` is 1 (or missing) contribute nothing.
 */
export function broadcastOffset(ctx: EmitContext, shape: Shape, full: Shape, idx: readonly string[]): string {
  const terms: string[] = [];
  let stride: Shape[number][] = [];
  for (let k = shape.length - 1; k >= 0; k--) {
    const axis = full.length - shape.length + k;
    if (!(shape[k] === 1 && full[axis] !== 1)) {
      const s = product(ctx, stride);
      terms.push(s === "1" ? idx[axis]! : `${idx[axis]} * ${s}`);
    }
    stride = [shape[k]!, ...stride];
  }
  return terms.length ? terms.join(" + ") : "0";
}

/** `out` (of a smaller, broadcast-compatible shape) receives the sum of `input` over broadcast axes. */
export function emitSumTo(ctx: EmitContext, out: NodeId, outShape: Shape, input: NodeId): string {
  const inShape = ctx.shapeOf(input);
  const rank = inShape.length;
  const idx = inShape.map(() => ctx.fresh("i"));
  const flat = ctx.fresh("f");
  const outRef = ctx.ref(out);
  const target = `${outRef}[${broadcastOffset(ctx, outShape, inShape, idx)}]`;
  const last = rank - 1;
  // When the innermost axis is summed away, its sum runs in a local and is added once.
  const innerReduced =
    rank > 0 && (outShape.length < rank - last || outShape[outShape.length - 1] === 1) && inShape[last] !== 1;
  let code: string;
  if (innerReduced) {
    const acc = ctx.fresh("s");
    code = `let ${acc} = 0; for (let ${idx[last]} = 0; ${idx[last]} < ${ctx.dim(inShape[last]!)}; ${idx[last]}++) ${acc} += ${ctx.ref(input)}[${flat}++]; ${outRef}[${broadcastOffset(ctx, outShape, inShape, [...idx.slice(0, last), "0"])}] += ${acc};`;
  } else {
    code = `${target} += ${ctx.ref(input)}[${flat}++];`;
  }
  for (let axis = (innerReduced ? last : rank) - 1; axis >= 0; axis--) {
    code = `for (let ${idx[axis]} = 0; ${idx[axis]} < ${ctx.dim(inShape[axis]!)}; ${idx[axis]}++) { ${code} }`;
  }
  return `${outRef}.fill(0, 0, ${ctx.size(outShape)});\nlet ${flat} = 0;\n${code}`;
}

/** Runs `body(rowStart)` for each row of the last axis; `n` is the row length expression. */
/**
 * Loops over the lines of `shape` along `axis` (not the last): `body` gets a function giving
 * the offset of a line's entry j, and the axis's length.
 */
export function emitLines(
  ctx: EmitContext,
  shape: Shape,
  axis: number,
  body: (at: (j: string) => string, n: string) => string,
): string {
  const [o, i, base] = [ctx.fresh("o"), ctx.fresh("i"), ctx.fresh("base")];
  const n = ctx.dim(shape[axis]!);
  const inner = ctx.size(shape.slice(axis + 1));
  const outer = ctx.size(shape.slice(0, axis));
  return `for (let ${o} = 0; ${o} < ${outer}; ${o}++) for (let ${i} = 0; ${i} < ${inner}; ${i}++) { const ${base} = ${o} * ${n} * ${inner} + ${i}; ${body((j) => `${base} + ${j} * ${inner}`, n)} }`;
}

export function emitRows(ctx: EmitContext, shape: Shape, body: (row: string, n: string) => string): string {
  const n = shape.length === 0 ? "1" : ctx.dim(shape[shape.length - 1]!);
  const r = ctx.fresh("r");
  return `for (let ${r} = 0; ${r} < ${ctx.size(shape)}; ${r} += ${n}) { ${body(r, n)} }`;
}
