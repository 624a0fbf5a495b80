/** A concrete tensor: row-major data with a fully known shape. Used by the reference evaluator. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function tensor(shape: readonly number[], data?: Float64Array): Tensor {
  return { shape, data: data ?? new Float64Array(sizeOf(shape)) };
}

/** Row-major strides of `shape` as seen from an output of rank `rank`, 0 where broadcast. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = outShape.length - shape.length + i;
    strides[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** Calls `visit(outIndex, argOffsets)` for every element of `outShape`. */
export function forEachBroadcast(
  outShape: readonly number[],
  argShapes: readonly (readonly number[])[],
  visit: (outIndex: number, offsets: number[]) => void,
): void {
  const strides = argShapes.map((s) => broadcastStrides(s, outShape));
  const total = sizeOf(outShape);
  const index = new Array<number>(outShape.length).fill(0);
  const offsets = new Array<number>(argShapes.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    for (let a = 0; a < argShapes.length; a++) {
      let off = 0;
      for (let d = 0; d < outShape.length; d++) off += index[d]! * strides[a]![d]!;
      offsets[a] = off;
    }
    visit(flat, offsets);
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++index[d]! < outShape[d]!) break;
      index[d] = 0;
    }
  }
}

/** Nested arrays (row-major) from flat data; a scalar becomes a number. */
export function toNested(shape: readonly number[], data: ArrayLike<number>): unknown {
  if (shape.length === 0) return data[0];
  const build = (axis: number, offset: number): unknown[] => {
    const n = shape[axis]!;
    const inner = sizeOf(shape.slice(axis + 1));
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      out.push(axis === shape.length - 1 ? data[offset + i] : build(axis + 1, offset + i * inner));
    }
    return out;
  };
  return build(0, 0);
}
