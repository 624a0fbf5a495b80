import { GraphBuilder } from "../ir/builder.js";
import type { ChainTerm, DerivationStep, Graph, Node, NodeId, ScanNode } from "../ir/types.js";
import { dependingOn, feeding } from "../ir/types.js";
import { getOp } from "../ir/registry.js";
import { differentiateScan } from "./scan.js";
import type { HessianProduct } from "./hessian.js";

export type { ChainTerm, DerivationStep } from "../ir/types.js";

export interface Gradient {
  /** Forward nodes followed by the gradient's nodes: one graph, one source of truth. */
  readonly nodes: readonly Node[];
  readonly forwardCount: number;
  /** ∂L/∂param for every param, null where the loss does not depend on it (a symbolic zero). */
  readonly params: ReadonlyMap<string, NodeId | null>;
  readonly adjoints: ReadonlyMap<NodeId, NodeId>;
  /** In the order the derivation proceeds: from the loss back to the params. */
  readonly trace: readonly DerivationStep[];
  /** The Hessian-vector product, when the model trains by Newton's method. */
  readonly hessian?: HessianProduct;
}

export interface SweepResult {
  readonly adjoints: Map<NodeId, NodeId>;
  readonly trace: DerivationStep[];
}

/** Where an adjoint starts: the loss's 1, or what a recurrence's surroundings send into its body. */
export interface Seed {
  readonly node: NodeId;
  readonly value: NodeId;
  /** Absent for the loss, whose δ is 1 by definition. */
  readonly term?: ChainTerm;
}

export type Contribute = (to: NodeId, term: Exclude<ChainTerm, { kind: "zero" }>) => void;

/**
 * Reverse accumulation over `nodes` (the first `count` of them, in reverse order): each op's
 * `vjp` builds its adjoint contributions as new IR in `b`; contributions from several
 * consumers add up; the builder simplifies and shares common subexpressions as they are
 * built. Every contribution is recorded as a chain-rule term. `special` handles what is not
 * an op (a scan, in the outer graph).
 */
export function sweep(
  nodes: readonly Node[],
  count: number,
  b: GraphBuilder,
  relevant: (id: NodeId) => boolean,
  seeds: readonly Seed[],
  special?: (node: Node, adjoints: Map<NodeId, NodeId>, contribute: Contribute) => void,
  /** Without a trace (a gradient inside the model), only the adjoints are built. */
  options: { trace: boolean } = { trace: true },
): SweepResult {
  const adjoints = new Map<NodeId, NodeId>();
  const terms = new Map<NodeId, ChainTerm[]>();
  const trace: DerivationStep[] = [];
  const add = (to: NodeId, value: NodeId, term?: ChainTerm) => {
    const previous = adjoints.get(to);
    adjoints.set(to, previous === undefined ? value : b.op("add", [previous, value]));
    if (term) terms.set(to, [...(terms.get(to) ?? []), term]);
  };
  for (const s of seeds) add(s.node, s.value, s.term);
  const contribute: Contribute = (to, term) => add(to, term.value, term);
  for (let id = count - 1; id >= 0; id--) {
    const node = nodes[id]!;
    if (node.kind === "scan") {
      special?.(node, adjoints, contribute);
      continue;
    }
    const adjoint = adjoints.get(id);
    if (adjoint === undefined) continue;
    trace.push({ node: id, terms: terms.get(id) ?? [], result: adjoint });
    if (node.kind !== "op") continue;
    const def = getOp(node.op);
    const needed = node.args.map((a, k) => relevant(a) && !(def.nonDifferentiable ?? []).includes(k));
    // A path through a step function carries nothing; the derivation still shows it, as 0.
    for (const k of def.zeroDerivative ?? [])
      if (relevant(node.args[k]!))
        terms.set(node.args[k]!, [
          ...(terms.get(node.args[k]!) ?? []),
          { kind: "zero", consumer: id, argIndex: k, rule: def.rule(k, node.attrs) },
        ]);
    if (!needed.some(Boolean)) continue;
    b.currentSpan = node.span;
    const contributions = def.vjp(b, node, adjoint, needed);
    if (!options.trace) {
      node.args.forEach((arg, k) => {
        const value = contributions[k];
        if (needed[k] && value !== null && value !== undefined) add(arg, value);
      });
      continue;
    }
    // The general form names the consumer's δ, unless that δ is a constant (the loss's 1, and
    // what passes it on unchanged), which reads better as the number it is.
    const general = def.vjp(
      b,
      node,
      b.node(adjoint).kind === "const" ? adjoint : b.adjointSymbol(id),
      needed,
    );
    const local = localDerivatives(b, node, needed);
    node.args.forEach((arg, argIndex) => {
      const value = contributions[argIndex];
      if (!needed[argIndex] || value === null || value === undefined) return;
      contribute(arg, {
        kind: "use",
        consumer: id,
        argIndex,
        rule: def.rule(argIndex, node.attrs),
        general: general[argIndex]!,
        value,
        ...(local[argIndex] !== undefined ? { local: local[argIndex] } : {}),
      });
    });
  }
  return { adjoints, trace };
}

/**
 * ∂node/∂arg for elementwise ops: the vector-Jacobian product with a seed of 1 is the
 * derivative itself (the diagonal of the Jacobian), which the handout prints factor by factor.
 */
function localDerivatives(b: GraphBuilder, node: Extract<Node, { kind: "op" }>, needed: readonly boolean[]) {
  const def = getOp(node.op);
  const scalar = node.shape.length === 0 && node.args.every((a) => b.shape(a).length === 0);
  if (!def.elementwise && !scalar) return [];
  // A seed of ones shaped like the node; only for small, fixed shapes (they are for reading).
  const shape = node.shape;
  if (!shape.every((d) => typeof d === "number")) return [];
  const size = (shape as number[]).reduce((a, d) => a * d, 1);
  if (size > 64) return [];
  const ones = shape.length === 0 ? b.scalar(1) : b.constant(new Float64Array(size).fill(1), shape);
  return def.vjp(b, node, ones, needed).map((l) => l ?? undefined);
}

/**
 * Reverse mode over the IR: the gradient of the loss with respect to every param, built as
 * more IR, with the derivation trace the handout prints. Only values between a param and
 * the loss get adjoints. A scan's adjoint is a scan run backwards (scan.ts).
 */
export function differentiate(graph: Graph): Gradient {
  const b = new GraphBuilder(graph.nodes);
  const forwardCount = graph.nodes.length;
  const dependsOnParam = dependingOn(graph.nodes, (n) => n.kind === "param");
  const reachesLoss = feeding(graph.nodes, graph.loss);
  const relevant = (id: NodeId) => dependsOnParam[id]! && reachesLoss[id]!;
  const seeds: Seed[] = relevant(graph.loss) ? [{ node: graph.loss, value: b.scalar(1) }] : [];

  const { adjoints, trace } = sweep(
    graph.nodes,
    forwardCount,
    b,
    relevant,
    seeds,
    (node, adjoints, contribute) => {
      if (!relevant(node.id)) return;
      differentiateScan(b, node as ScanNode, graph.nodes, adjoints, relevant, contribute);
    },
  );

  const params = new Map<string, NodeId | null>();
  for (const n of graph.nodes) if (n.kind === "param") params.set(n.name, adjoints.get(n.id) ?? null);
  return { nodes: b.nodes, forwardCount, params, adjoints, trace };
}
