import { GraphBuilder } from "../ir/builder.js";
import type { Graph, Node, NodeId, ScanNode } from "../ir/types.js";
import { dependencies } from "../ir/types.js";
import { getOp } from "../ops/registry.js";
import { differentiateScan } from "./scan.js";

/** One use of a value, as the chain rule sees it: the consumer, the arg, and the contribution. */
export interface ChainTerm {
  readonly consumer: NodeId;
  readonly argIndex: number;
  /** The op's rule for this arg, in LaTeX: the local derivative the step uses. */
  readonly rule: string;
  /** The contribution with the consumer's adjoint as a symbol: the general form of the step. */
  readonly general: NodeId;
}

/** The derivation of one adjoint: ∂L/∂v = Σ over consumers, then substituted and simplified. */
export interface DerivationStep {
  readonly node: NodeId;
  readonly terms: readonly ChainTerm[];
  /** The simplified adjoint as IR; what the generated code computes. */
  readonly result: NodeId;
}

export interface Gradient {
  /** Forward nodes followed by the gradient's nodes: one graph, one source of truth. */
  readonly nodes: readonly Node[];
  readonly forwardCount: number;
  /** ∂L/∂param for every param, null where the loss does not depend on it (a symbolic zero). */
  readonly params: ReadonlyMap<string, NodeId | null>;
  readonly adjoints: ReadonlyMap<NodeId, NodeId>;
  /** In the order the derivation proceeds: from the loss back to the params. */
  readonly trace: readonly DerivationStep[];
}

export interface SweepResult {
  readonly adjoints: Map<NodeId, NodeId>;
  readonly trace: DerivationStep[];
}

/**
 * Reverse accumulation over `nodes` (the first `count` of them, in reverse order): each op's
 * `vjp` builds its adjoint contributions as new IR in `b`; contributions from several
 * consumers add up; the builder simplifies and shares common subexpressions as they are
 * built. `special` handles what is not an op (a scan, in the outer graph).
 */
export function sweep(
  nodes: readonly Node[],
  count: number,
  b: GraphBuilder,
  relevant: (id: NodeId) => boolean,
  seeds: ReadonlyMap<NodeId, NodeId>,
  special?: (
    node: Node,
    adjoints: Map<NodeId, NodeId>,
    contribute: (to: NodeId, c: NodeId, term?: ChainTerm) => void,
  ) => void,
): SweepResult {
  const adjoints = new Map(seeds);
  const terms = new Map<NodeId, ChainTerm[]>();
  const trace: DerivationStep[] = [];
  const contribute = (to: NodeId, c: NodeId, term?: ChainTerm) => {
    const previous = adjoints.get(to);
    adjoints.set(to, previous === undefined ? c : b.op("add", [previous, c]));
    if (term) terms.set(to, [...(terms.get(to) ?? []), term]);
  };
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
    const needed = node.args.map((a, i) => relevant(a) && !(def.nonDifferentiable ?? []).includes(i));
    if (!needed.some(Boolean)) continue;
    b.currentSpan = node.span;
    const contributions = def.vjp(b, node, adjoint, needed);
    const general = def.vjp(b, node, b.adjointSymbol(id), needed);
    node.args.forEach((arg, i) => {
      const c = contributions[i];
      if (!needed[i] || c === null || c === undefined) return;
      contribute(arg, c, {
        consumer: id,
        argIndex: i,
        rule: def.rule(i),
        general: general[i]!,
      });
    });
  }
  return { adjoints, trace };
}

/**
 * Reverse mode over the IR: the gradient of the loss with respect to every param, built as
 * more IR, with the derivation trace the handout prints. Only values between a param and
 * the loss get adjoints. A scan's adjoint is a scan run backwards (scan.ts).
 */
export function differentiate(graph: Graph): Gradient {
  const b = new GraphBuilder(graph.nodes);
  const forwardCount = graph.nodes.length;
  const dependsOnParam = new Array<boolean>(forwardCount).fill(false);
  for (const n of graph.nodes)
    dependsOnParam[n.id] = n.kind === "param" || dependencies(n).some((a) => dependsOnParam[a]);
  const reachesLoss = new Array<boolean>(forwardCount).fill(false);
  reachesLoss[graph.loss] = true;
  for (let id = forwardCount - 1; id >= 0; id--) {
    if (reachesLoss[id]) for (const a of dependencies(graph.nodes[id]!)) reachesLoss[a] = true;
  }
  const relevant = (id: NodeId) => dependsOnParam[id]! && reachesLoss[id]!;
  const seeds = new Map<NodeId, NodeId>();
  if (relevant(graph.loss)) seeds.set(graph.loss, b.scalar(1));

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
