import type { Dim, Shape } from "./types.js";

export const shapeSize = (shape: Shape): Dim[] => [...shape];

/**
 * Dims of unknown size, while the shapes of a recurrence's states are solved (ir/scan.ts):
 * a state whose initial value is a bare number gets a shape of fresh variables ("?0", "?1"),
 * its step equations are lowered once, and the shape rules bind each variable where they
 * meet it — a product's inner size, a sum's broadcast partner. Outside that, no variable
 * exists and every function here is plain comparison.
 */
export class DimUnifier {
  private readonly bound = new Map<string, Dim>();
  private next = 0;

  fresh(): string {
    return `?${this.next++}`;
  }

  resolve(d: Dim): Dim {
    while (isVariable(d) && this.bound.has(d)) d = this.bound.get(d)!;
    return d;
  }

  /** Makes two dims equal if they can be: a variable takes the other's value. */
  unify(a: Dim, b: Dim): boolean {
    const [x, y] = [this.resolve(a), this.resolve(b)];
    if (x === y) return true;
    if (isVariable(x)) this.bound.set(x, y);
    else if (isVariable(y)) this.bound.set(y, x);
    else return false;
    return true;
  }
}

/** Whether a dim is an unknown size of the solver (`?0`), not a size or a dim of the model. */
export const isVariable = (d: Dim): d is string => typeof d === "string" && d.startsWith("?");

let solving: DimUnifier | undefined;

/** Runs `f` with the unifier active: shape rules bind its variables. */
export function withUnifier<T>(u: DimUnifier, f: () => T): T {
  const saved = solving;
  solving = u;
  try {
    return f();
  } finally {
    solving = saved;
  }
}

const resolved = (d: Dim): Dim => (solving ? solving.resolve(d) : d);

/** Whether two shapes are the same (a question: it binds no variable). */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => resolved(d) === resolved(b[i]!));
}

/** A shape rule's requirement that two dims be equal: binds a variable while solving. */
export function unifyDims(a: Dim, b: Dim): boolean {
  return solving ? solving.unify(a, b) : a === b;
}

/** A shape rule's requirement that two shapes be equal: binds variables while solving. */
export function unifyShapes(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => unifyDims(d, b[i]!));
}

/**
 * NumPy-style broadcasting of two shapes; undefined when they do not broadcast. A variable
 * against a size other than 1 takes that size (the sizes are equal, not broadcast).
 */
export function broadcastShapes(a: Shape, b: Shape): Shape | undefined {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = resolved(a[a.length - rank + i] ?? 1);
    const y = resolved(b[b.length - rank + i] ?? 1);
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (unifyDims(x, y)) out.push(resolved(x));
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
