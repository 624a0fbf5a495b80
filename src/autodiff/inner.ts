import type { GraphBuilder } from "../ir/builder.js";
import type { InnerGradient, NodeId } from "../ir/types.js";
import { dependingOn, feeding } from "../ir/types.js";
import { sweep } from "./reverse.js";

/**
 * A gradient inside the model, `grad(f, x)`: the same reverse sweep as the loss's, run
 * while the model is lowered over the nodes built so far, its adjoints added as ordinary
 * forward IR. The loss's own gradient then differentiates through them (reverse over
 * reverse), which is how a gradient penalty trains. Lowering receives this function
 * rather than importing it, so the IR does not depend on the differentiator.
 */
export const innerGradient: InnerGradient = (b: GraphBuilder, of: NodeId, wrt: NodeId) => {
  const count = b.nodes.length;
  const dependsOnWrt = dependingOn(b.nodes, (n) => n.id === wrt);
  const reaches = feeding(b.nodes, of);
  const relevant = (id: NodeId) => dependsOnWrt[id]! && reaches[id]!;
  const kinds = new Set(b.nodes.filter((n) => relevant(n.id)).map((n) => n.kind));
  if (kinds.has("scan") || kinds.has("project"))
    return { unsupported: "a gradient inside the model through a recurrence is not supported yet" };
  if (!relevant(of)) return null;
  const { adjoints } = sweep(
    b.nodes.slice(),
    count,
    b,
    relevant,
    [{ node: of, value: b.scalar(1) }],
    undefined,
    {
      trace: false,
    },
  );
  const node = adjoints.get(wrt);
  return node === undefined ? null : { node, adjoints };
};
