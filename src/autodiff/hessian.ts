import { GraphBuilder } from "../ir/builder.js";
import type { Graph, Node, NodeId } from "../ir/types.js";
import { dependingOn, feeding } from "../ir/types.js";
import type { Gradient } from "./reverse.js";
import { sweep } from "./reverse.js";

/**
 * Second derivatives by reverse mode over the gradient: the Hessian-vector product
 * H v = ∇_θ (∇_θ L · v) is one more reverse sweep, over the gradient's own IR, of the scalar
 * ∇_θ L · v with v a direction per param (input nodes named "direction:<param>"). The
 * Hessian is H's columns, H e_i; Newton's method solves H d = ∇L with them.
 */
export interface HessianProduct {
  /** The gradient's nodes followed by the product's. */
  readonly nodes: readonly Node[];
  /** The direction's input node per param. */
  readonly direction: ReadonlyMap<string, NodeId>;
  /** (H v) per param; null where it is zero. */
  readonly product: ReadonlyMap<string, NodeId | null>;
}

export const directionName = (param: string) => `direction:${param}`;

/** The Hessian-vector product of the loss, or why it cannot be taken (a recurrence's scans). */
export function hessianVectorProduct(
  graph: Graph,
  gradient: Gradient,
): HessianProduct | { unsupported: string } {
  if (gradient.nodes.some((n) => n.kind === "scan" || n.kind === "scan_adjoint"))
    return { unsupported: "second derivatives through a recurrence are not supported yet" };
  const b = new GraphBuilder(gradient.nodes);
  const params = graph.nodes.filter((n): n is Extract<Node, { kind: "param" }> => n.kind === "param");
  const direction = new Map<string, NodeId>();
  let dot: NodeId | undefined;
  for (const p of params) {
    const g = gradient.params.get(p.name);
    const v = b.input(directionName(p.name), "input", p.shape, p.span);
    direction.set(p.name, v);
    if (g === null || g === undefined) continue;
    const term = b.op("sum", [b.op("mul", [g, v])]);
    dot = dot === undefined ? term : b.op("add", [dot, term]);
  }
  const product = new Map<string, NodeId | null>();
  if (dot === undefined) {
    for (const p of params) product.set(p.name, null);
    return { nodes: b.nodes, direction, product };
  }
  const count = b.nodes.length;
  const dependsOnParam = dependingOn(b.nodes, (n) => n.kind === "param");
  const reaches = feeding(b.nodes, dot);
  const { adjoints } = sweep(b.nodes.slice(), count, b, (id) => dependsOnParam[id]! && reaches[id]!, [
    { node: dot, value: b.scalar(1) },
  ]);
  for (const p of params) product.set(p.name, adjoints.get(p.id) ?? null);
  return { nodes: b.nodes, direction, product };
}
