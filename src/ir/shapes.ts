import type { Dim, Shape } from "./types.js";

export const shapeSize = (shape: Shape): Dim[] => [...shape];

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy-style broadcasting of two shapes; undefined when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): Shape | undefined {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else return undefined;
  }
  return out;
}

/** The concrete shape once free dims are bound. */
export function resolveShape(shape: Shape, dims: ReadonlyMap<string, number>): number[] {
  return shape.map((d) => {
    if (typeof d === "number") return d;
    const v = dims.get(d);
    if (v === undefined) throw new Error(`dim ${d} is not bound`);
    return v;
  });
}
