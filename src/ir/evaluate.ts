import type { Graph, Node, NodeId, ScanAdjointNode, ScanNode } from "./types.js";
import { assertNever } from "./types.js";
import { getOp } from "./registry.js";
import { resolveShape } from "./shapes.js";
import { sizeOf, tensor, type Tensor } from "./tensor.js";

interface ScanResult {
  readonly states: Tensor[];
  readonly outputs: Tensor[];
  /** The body's evaluator at each step: the backward pass reads its values (residuals). */
  readonly steps: Evaluator[];
}

interface AdjointResult {
  /** The backward body's evaluator at each step t (indexed by t, not by visit order). */
  readonly steps: Evaluator[];
  readonly stacked: Tensor[];
  readonly summed: Tensor[];
  /** Per state, the adjoints of its initial values, oldest first. */
  readonly init: Tensor[][];
}

const row = (t: Tensor, i: number): Tensor => {
  const shape = t.shape.slice(1);
  const size = sizeOf(shape);
  return tensor(shape, t.data.slice(i * size, (i + 1) * size));
};
const stack = (rows: readonly Tensor[], shape: readonly number[]): Tensor => {
  const out = tensor([rows.length, ...shape]);
  rows.forEach((r, i) => out.data.set(r.data, i * r.data.length));
  return out;
};
const filled = (shape: readonly number[], from: Tensor): Tensor =>
  from.data.length === sizeOf(shape)
    ? tensor(shape, Float64Array.from(from.data))
    : tensor(shape, new Float64Array(sizeOf(shape)).fill(from.data[0]!));
const addInto = (into: Tensor, x: Tensor) => {
  for (let i = 0; i < into.data.length; i++) into.data[i]! += x.data[i]!;
};

/** Steps of a recurrence the reference evaluator runs at most: it keeps every step's values. */
export const MAX_EVALUATED_STEPS = 10_000;
/** Entries of one value the reference evaluator computes at most for a worked example. */
export const MAX_EVALUATED_ENTRIES = 2 ** 16;

/** Why a model gets no worked numbers (and its lecture block no check). */
export type Unworked =
  | { readonly kind: "missing"; readonly names: readonly string[] }
  | { readonly kind: "steps"; readonly steps: number }
  | { readonly kind: "entries"; readonly entries: number };

/**
 * Why the reference evaluator does not work through a model's example, or undefined when it
 * does: a value the example leaves out, a recurrence too long to keep every step of, or a
 * value too large to print. Everything that computes worked numbers asks here first.
 */
export function unworked(graph: Graph, nodes: readonly Node[]): Unworked | undefined {
  const names = graph.named
    .filter((n) => n.kind === "input" || n.kind === "target" || n.kind === "param")
    .filter((n) => !graph.example.has(n.name))
    .map((n) => n.name);
  if (names.length > 0) return { kind: "missing", names };
  const dims = new Evaluator(nodes, graph.example).dims;
  const size = (d: string | number) => (typeof d === "number" ? d : (dims.get(d) ?? 1));
  let steps = 0;
  let entries = 0;
  for (const n of nodes) {
    if (n.kind === "scan") steps = Math.max(steps, size(n.length));
    entries = Math.max(
      entries,
      n.shape.reduce<number>((a, d) => a * size(d), 1),
    );
  }
  if (steps > MAX_EVALUATED_STEPS) return { kind: "steps", steps };
  if (entries > MAX_EVALUATED_ENTRIES) return { kind: "entries", entries };
  return undefined;
}

/** Operands nested deeper than this are evaluated bottom-up, not by recursion. */
const DEEP = 200;

/**
 * The reference evaluator: runs the IR with each op's `evaluate` rule, scans step by step.
 * Tests check the generated code against it, and the handout takes its worked numbers from it.
 */
export class Evaluator {
  private readonly memo = new Map<NodeId, Tensor>();
  private readonly scans = new Map<NodeId, ScanResult>();
  private readonly adjoints = new Map<NodeId, AdjointResult>();
  readonly dims: Map<string, number>;

  constructor(
    private readonly nodes: readonly Node[],
    private readonly values: ReadonlyMap<string, Tensor>,
    /** For a scan body: the values of its inputs at the current step. */
    private readonly bodyInput?: (n: Node) => Tensor,
    dims?: Map<string, number>,
  ) {
    this.dims = dims ?? new Map();
    if (dims) return;
    for (const n of nodes) {
      if (n.kind !== "input" && n.kind !== "param") continue;
      const v = values.get(n.name);
      if (!v) continue;
      n.shape.forEach((d, i) => {
        if (typeof d === "string" && !this.dims.has(d)) this.dims.set(d, v.shape[i]!);
      });
    }
  }

  /** Evaluates as if `id` had this value (a lecture's own number, another step's value). */
  assume(id: NodeId, value: Tensor): this {
    this.memo.set(id, value);
    return this;
  }

  value(id: NodeId): Tensor {
    const cached = this.memo.get(id);
    if (cached) return cached;
    const n = this.nodes[id]!;
    let result: Tensor;
    switch (n.kind) {
      case "input":
      case "param": {
        const v = this.values.get(n.name);
        if (!v) throw new Error(`no value for ${n.kind} '${n.name}'`);
        const shape = resolveShape(n.shape, this.dims);
        if (sizeOf(shape) !== v.data.length)
          throw new Error(
            `value of '${n.name}' has ${v.data.length} elements, expected shape [${shape.join(", ")}]`,
          );
        result = tensor(shape, v.data);
        break;
      }
      case "const":
        result = tensor(n.shape as number[], n.value);
        break;
      case "adjoint":
        throw new Error("an adjoint symbol has no value");
      case "op": {
        if (++this.depth > DEEP) this.evaluateOperands(n);
        let args: Tensor[];
        try {
          args = n.args.map((a) => this.value(a));
        } finally {
          this.depth--;
        }
        result = getOp(n.op).evaluate(args, n.attrs, resolveShape(n.shape, this.dims), this.dims);
        break;
      }
      case "carry":
      case "slice":
      case "outer":
      case "residual":
      case "state_adjoint":
        if (!this.bodyInput) throw new Error(`${n.kind} outside a scan body`);
        result = this.bodyInput(n);
        break;
      case "scan":
      case "scan_adjoint":
        result = tensor([]);
        break;
      case "project":
        result = this.projection(n);
        break;
      default:
        return assertNever(n);
    }
    this.memo.set(id, result);
    return result;
  }

  /** How deep in operands value() is: past DEEP, it evaluates them from the bottom up. */
  private depth = 0;

  /**
   * The ops an op reads, and theirs, evaluated from the first node up (a node's operands come
   * before it): a chain of thousands of equations would overflow the stack one call per link.
   */
  private evaluateOperands(op: Extract<Node, { kind: "op" }>): void {
    const pending: NodeId[] = [];
    const seen = new Set<NodeId>();
    const stack = [...op.args];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id) || this.memo.has(id)) continue;
      seen.add(id);
      const n = this.nodes[id]!;
      if (n.kind !== "op") continue;
      pending.push(id);
      stack.push(...n.args);
    }
    if (pending.length < 2) return;
    for (const id of pending.sort((a, b) => a - b)) this.value(id);
  }

  /** The forward body's evaluator at each step of a scan. */
  scanSteps(scan: NodeId): readonly Evaluator[] {
    return this.scan(this.nodes[scan] as ScanNode).steps;
  }

  /** The backward body's evaluator at each step t of a scan's adjoint. */
  adjointSteps(adjoint: NodeId): readonly Evaluator[] {
    return this.scanAdjoint(this.nodes[adjoint] as ScanAdjointNode).steps;
  }

  private projection(p: Extract<Node, { kind: "project" }>): Tensor {
    const owner = this.nodes[p.scan]!;
    if (owner.kind === "scan") {
      const r = this.scan(owner);
      return p.what === "state" ? r.states[p.index]! : r.outputs[p.index]!;
    }
    if (owner.kind !== "scan_adjoint") throw new Error("a projection of something that is not a scan");
    const r = this.scanAdjoint(owner);
    if (p.what === "stacked") return r.stacked[p.index]!;
    if (p.what === "summed") return r.summed[p.index]!;
    return r.init[p.index]![p.position]!;
  }

  private scan(s: ScanNode): ScanResult {
    const cached = this.scans.get(s.id);
    if (cached) return cached;
    const length = resolveShape([s.length], this.dims)[0]!;
    const shapes = s.states.map((st) => resolveShape(st.shape, this.dims));
    const history = s.states.map((st, k) => st.init.map((i) => filled(shapes[k]!, this.value(i))));
    const outputs: Tensor[][] = s.outputs.map(() => []);
    const steps: Evaluator[] = [];
    for (let t = 0; t < length; t++) {
      const body = new Evaluator(
        s.body,
        this.values,
        (n) => {
          if (n.kind === "carry") return history[n.state]![s.states[n.state]!.lags + t - n.lag]!;
          if (n.kind === "slice") return row(this.value(n.source), t);
          if (n.kind === "outer") return this.value(n.source);
          throw new Error(`${n.kind} in a forward scan body`);
        },
        this.dims,
      );
      s.states.forEach((st, k) => history[k]!.push(body.value(st.next)));
      s.outputs.forEach((o, k) => outputs[k]!.push(body.value(o)));
      steps.push(body);
    }
    const result: ScanResult = {
      states: s.states.map((st, k) => stack(history[k]!.slice(st.lags), shapes[k]!)),
      outputs: s.outputs.map((o, k) => stack(outputs[k]!, resolveShape(s.body[o]!.shape, this.dims))),
      steps,
    };
    this.scans.set(s.id, result);
    return result;
  }

  private scanAdjoint(a: ScanAdjointNode): AdjointResult {
    const cached = this.adjoints.get(a.id);
    if (cached) return cached;
    const forwardNode = this.nodes[a.forward] as ScanNode;
    const forward = this.scan(forwardNode);
    const length = forward.steps.length;
    const shapes = forwardNode.states.map((st) => resolveShape(st.shape, this.dims));
    // Per state, the total adjoint of every position: the initial values, then the steps.
    const totals = forwardNode.states.map((st, k) => {
      const external = a.stateAdjoints[k];
      const ext = external === null || external === undefined ? undefined : this.value(external);
      return Array.from({ length: st.lags + length }, (_, p) =>
        ext && p >= st.lags ? row(ext, p - st.lags) : tensor(shapes[k]!),
      );
    });
    const stacked: Tensor[][] = a.stacked.map(() => new Array<Tensor>(length));
    const summed = a.summed.map((n) => tensor(resolveShape(a.body[n]!.shape, this.dims)));
    const steps = new Array<Evaluator>(length);
    for (let t = length - 1; t >= 0; t--) {
      const body = new Evaluator(
        a.body,
        this.values,
        (n) => {
          if (n.kind === "residual") return forward.steps[t]!.value(n.node);
          if (n.kind === "state_adjoint") return totals[n.state]![forwardNode.states[n.state]!.lags + t]!;
          if (n.kind === "slice") return row(this.value(n.source), t);
          if (n.kind === "outer") return this.value(n.source);
          throw new Error(`${n.kind} in a reverse scan body`);
        },
        this.dims,
      );
      for (const c of a.carries) {
        const into = totals[c.state]![forwardNode.states[c.state]!.lags + t - c.lag]!;
        totals[c.state]![forwardNode.states[c.state]!.lags + t - c.lag] = tensor(
          into.shape,
          Float64Array.from(into.data),
        );
        addInto(totals[c.state]![forwardNode.states[c.state]!.lags + t - c.lag]!, body.value(c.node));
      }
      steps[t] = body;
      a.stacked.forEach((n, j) => (stacked[j]![t] = body.value(n)));
      a.summed.forEach((n, j) => addInto(summed[j]!, body.value(n)));
    }
    const result: AdjointResult = {
      steps,
      stacked: a.stacked.map((n, j) => stack(stacked[j]!, resolveShape(a.body[n]!.shape, this.dims))),
      summed,
      init: forwardNode.states.map((st, k) => totals[k]!.slice(0, st.lags)),
    };
    this.adjoints.set(a.id, result);
    return result;
  }
}
