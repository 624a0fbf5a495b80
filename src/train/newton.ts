import { Evaluator } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import type { Node, NodeId } from "../ir/types.js";
import { directionName, type HessianProduct } from "../autodiff/hessian.js";

/**
 * Newton's method, W ← W − λ H⁻¹ ∇L, as the intro lecture writes it: the Hessian H of the
 * loss over every param entry (in the order of the params, each row-major) is built column
 * by column from Hessian-vector products, and H d = ∇L is solved for the step d.
 */

/**
 * Solves A x = b for an n × n matrix A (row-major) by Gaussian elimination with partial
 * pivoting; undefined when A is singular (a pivot is zero or negligible against A's
 * largest entry). Written once: the reference evaluator calls it and the generated module
 * carries its source.
 */
export function nablaSolve(a: Float64Array, b: Float64Array): Float64Array | undefined {
  const n = b.length;
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  let scale = 0;
  for (let i = 0; i < m.length; i++) scale = Math.max(scale, Math.abs(m[i]));
  const tiny = scale * n * 1e-14;
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[pivot * n + c])) pivot = r;
    if (!(Math.abs(m[pivot * n + c]) > tiny)) return undefined;
    if (pivot !== c) {
      for (let k = 0; k < n; k++) {
        const t = m[c * n + k];
        m[c * n + k] = m[pivot * n + k];
        m[pivot * n + k] = t;
      }
      const t = x[c];
      x[c] = x[pivot];
      x[pivot] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= m[r * n + k] * x[k];
    x[r] = s / m[r * n + r];
  }
  return x;
}

export interface NewtonStep {
  /** The Hessian over every param entry, row-major. */
  readonly hessian: Float64Array;
  /** ∇L over every param entry. */
  readonly gradient: Float64Array;
  /** d = H⁻¹ ∇L; undefined when H is singular. */
  readonly step: Float64Array | undefined;
  /** The params after the step (unchanged when H is singular). */
  readonly next: Map<string, Tensor>;
}

/** The params' names and sizes, in the order their entries are numbered. */
export function paramEntries(nodes: readonly Node[]): { name: string; size: number; shape: number[] }[] {
  return nodes
    .filter((n): n is Extract<Node, { kind: "param" }> => n.kind === "param")
    .map((p) => ({
      name: p.name,
      shape: p.shape as number[],
      size: (p.shape as number[]).reduce((a, d) => a * d, 1),
    }));
}

/** One Newton step from `values` (params and data), by the reference evaluator. */
export function newtonStep(
  hvp: HessianProduct,
  gradients: ReadonlyMap<string, NodeId | null>,
  values: ReadonlyMap<string, Tensor>,
  lr: number,
): NewtonStep {
  const entries = paramEntries(hvp.nodes);
  const n = entries.reduce((a, e) => a + e.size, 0);
  const hessian = new Float64Array(n * n);
  const column = (i: number) => {
    const withDirection = new Map(values);
    let offset = 0;
    for (const e of entries) {
      const d = new Float64Array(e.size);
      if (i >= offset && i < offset + e.size) d[i - offset] = 1;
      withDirection.set(directionName(e.name), { shape: e.shape, data: d });
      offset += e.size;
    }
    const ev = new Evaluator(hvp.nodes, withDirection);
    offset = 0;
    for (const e of entries) {
      const p = hvp.product.get(e.name);
      const v = p === null || p === undefined ? new Float64Array(e.size) : ev.value(p).data;
      for (let k = 0; k < e.size; k++) hessian[(offset + k) * n + i] = v[k]!;
      offset += e.size;
    }
  };
  for (let i = 0; i < n; i++) column(i);
  const ev = new Evaluator(hvp.nodes, values);
  const gradient = new Float64Array(n);
  let offset = 0;
  for (const e of entries) {
    const g = gradients.get(e.name);
    if (g !== null && g !== undefined) gradient.set(ev.value(g).data, offset);
    offset += e.size;
  }
  const step = nablaSolve(hessian, gradient);
  const next = new Map(values);
  offset = 0;
  for (const e of entries) {
    const old = values.get(e.name)!;
    const data = Float64Array.from(old.data, (v, k) => (step ? v - lr * step[offset + k]! : v));
    next.set(e.name, { shape: old.shape, data });
    offset += e.size;
  }
  return { hessian, gradient, step, next };
}

/** The params before the first Newton step and after each of `steps`, with the evaluator at each. */
export function newtonStates(
  hvp: HessianProduct,
  gradients: ReadonlyMap<string, NodeId | null>,
  nodes: readonly Node[],
  start: ReadonlyMap<string, Tensor>,
  lr: number,
  steps: number,
): { values: Map<string, Tensor>; evaluator: Evaluator; step?: NewtonStep }[] {
  let values = new Map(start);
  const out: { values: Map<string, Tensor>; evaluator: Evaluator; step?: NewtonStep }[] = [
    { values, evaluator: new Evaluator(nodes, values) },
  ];
  for (let k = 1; k <= steps; k++) {
    const step = newtonStep(hvp, gradients, values, lr);
    values = step.next;
    out.push({ values, evaluator: new Evaluator(nodes, values), step });
  }
  return out;
}
