import type { GraphBuilder } from "../ir/builder.js";
import { problem } from "../diagnostics/shapes.js";
import type { NodeId, Shape } from "../ir/types.js";
import { sameShape, unifyShapes } from "../ir/shapes.js";
import { forEachBroadcast, tensor, type Tensor } from "../ir/tensor.js";
import type { ShapeResult } from "../ir/op.js";

/** The adjoint of a broadcast: sum the upstream gradient back down to the operand's shape. */
export function reduceTo(b: GraphBuilder, adjoint: NodeId, shape: Shape): NodeId {
  if (sameShape(b.shape(adjoint), shape)) return adjoint;
  return b.op("sum_to", [adjoint], { shape });
}

/** Elementwise evaluation with NumPy broadcasting, for the reference evaluator. */
export function evalMap(
  args: readonly Tensor[],
  shape: readonly number[],
  f: (...values: number[]) => number,
): Tensor {
  const out = tensor(shape);
  // Most operands are the output's shape or one number: read them directly, without the index walk.
  const n = out.data.length;
  const step = args.map((a) =>
    sameDims(a.shape, shape) ? 1 : a.data.length === 1 && a.shape.length <= shape.length ? 0 : -1,
  );
  if (step.every((s) => s >= 0)) {
    const data = args.map((a) => a.data);
    if (args.length === 1) {
      const [x] = data as [Float64Array];
      const [sx] = step as [number];
      for (let i = 0; i < n; i++) out.data[i] = f(x[i * sx]!);
    } else if (args.length === 2) {
      const [x, y] = data as [Float64Array, Float64Array];
      const [sx, sy] = step as [number, number];
      for (let i = 0; i < n; i++) out.data[i] = f(x[i * sx]!, y[i * sy]!);
    } else {
      const values = new Array<number>(args.length);
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < args.length; a++) values[a] = data[a]![i * step[a]!]!;
        out.data[i] = f(...values);
      }
    }
    return out;
  }
  const shapes = args.map((a) => a.shape);
  const values = new Array<number>(args.length);
  forEachBroadcast(shape, shapes, (o, offsets) => {
    for (let a = 0; a < args.length; a++) values[a] = args[a]!.data[offsets[a]!]!;
    out.data[o] = f(...values);
  });
  return out;
}

const sameDims = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export const sameAsFirst = (args: readonly Shape[]): ShapeResult => ({
  shape: args[0]!,
});

export const scalarShape = (): ShapeResult => ({ shape: [] });

export function requireSameShape(args: readonly Shape[], what: string): ShapeResult {
  if (!unifyShapes(args[0]!, args[1]!)) {
    return {
      error: problem("sameShape", { what, a: args[0]!, b: args[1]! }),
    };
  }
  return { shape: [] };
}

/** Softmax over an axis of `x` (the last by default), computed stably (the line's maximum is subtracted). */
export function softmaxRows(x: Tensor, log: boolean, axis = x.shape.length - 1): Tensor {
  const out = tensor(x.shape);
  const n = x.shape.length === 0 ? 1 : x.shape[axis]!;
  // Each line along the axis: its entries lie `inner` apart, from `base`.
  const inner = x.shape.slice(axis + 1).reduce<number>((a, d) => a * d, 1);
  const lines: number[] = [];
  for (let o = 0; o < x.data.length; o += n * inner) for (let i = 0; i < inner; i++) lines.push(o + i);
  for (const base of lines) {
    const at = (j: number) => base + j * inner;
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x.data[at(j)]!);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(x.data[at(j)]! - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < n; j++) out.data[at(j)] = log ? x.data[at(j)]! - lse : Math.exp(x.data[at(j)]! - lse);
  }
  return out;
}
