import { GraphBuilder } from "../ir/builder.js";
import type { Graph, Node, NodeId } from "../ir/types.js";
import { assertNever } from "../ir/types.js";
import { getOp } from "../ops/registry.js";

/** One use of a forward value, as the chain rule sees it: the consumer, the arg, and the contribution. */
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

/**
 * Reverse mode over the IR. Each op's `vjp` builds its adjoint contributions as new IR;
 * contributions from several consumers add up; the builder simplifies and shares
 * common subexpressions as they are built. Only nodes between a param and the loss
 * get adjoints.
 */
export function differentiate(graph: Graph): Gradient {
  const b = new GraphBuilder(graph.nodes);
  const forwardCount = graph.nodes.length;
  const dependsOnParam = new Array<boolean>(forwardCount).fill(false);
  for (const n of graph.nodes)
    dependsOnParam[n.id] =
      n.kind === "param" ||
      (n.kind === "op" && n.args.some((a) => dependsOnParam[a]));
  const reachesLoss = new Array<boolean>(forwardCount).fill(false);
  reachesLoss[graph.loss] = true;
  for (let id = forwardCount - 1; id >= 0; id--) {
    const n = graph.nodes[id]!;
    if (reachesLoss[id] && n.kind === "op")
      for (const a of n.args) reachesLoss[a] = true;
  }
  const relevant = (id: NodeId) => dependsOnParam[id]! && reachesLoss[id]!;

  const adjoints = new Map<NodeId, NodeId>();
  const terms = new Map<NodeId, ChainTerm[]>();
  const trace: DerivationStep[] = [];
  if (relevant(graph.loss)) adjoints.set(graph.loss, b.scalar(1));

  for (let id = forwardCount - 1; id >= 0; id--) {
    const node = graph.nodes[id]!;
    const adjoint = adjoints.get(id);
    if (adjoint === undefined) continue;
    trace.push({ node: id, terms: terms.get(id) ?? [], result: adjoint });
    switch (node.kind) {
      case "input":
      case "param":
      case "const":
      case "adjoint":
        continue;
      case "op":
        break;
      default:
        assertNever(node);
    }
    const def = getOp(node.op);
    const needed = node.args.map(
      (a, i) => relevant(a) && !(def.nonDifferentiable ?? []).includes(i),
    );
    if (!needed.some(Boolean)) continue;
    b.currentSpan = node.span;
    const contributions = def.vjp(b, node, adjoint, needed);
    const general = def.vjp(b, node, b.adjointSymbol(id), needed);
    node.args.forEach((arg, i) => {
      const c = contributions[i];
      if (!needed[i] || c === null || c === undefined) return;
      const previous = adjoints.get(arg);
      adjoints.set(
        arg,
        previous === undefined ? c : b.op("add", [previous, c]),
      );
      const list = terms.get(arg) ?? [];
      list.push({
        consumer: id,
        argIndex: i,
        rule: def.rule(i),
        general: general[i]!,
      });
      terms.set(arg, list);
    });
  }

  const params = new Map<string, NodeId | null>();
  for (const n of graph.nodes)
    if (n.kind === "param") params.set(n.name, adjoints.get(n.id) ?? null);
  return { nodes: b.nodes, forwardCount, params, adjoints, trace };
}
