import type { Node, NodeId } from "./types.js";

/**
 * A recurrence that runs backwards (g_t = f(g_<t+1>)) is computed over flipped sequences:
 * its stacked values are flip(project) and its slices read flip(x). The handout writes the
 * model's steps, so it reads through these flips: the projection is the stacked value, x_t
 * is x's step t.
 */
const isFlip = (n: Node | undefined): n is Extract<Node, { kind: "op" }> =>
  n?.kind === "op" && n.op === "flip";

/** `id` with one flip taken off: flip(x) is read as x. */
export function unflip(nodes: readonly Node[], id: NodeId): NodeId {
  const n = nodes[id];
  return isFlip(n) ? n.args[0]! : id;
}

/** Whether `id` is a backward recurrence's stacked value, flip(project). */
export function isFlippedProjection(nodes: readonly Node[], id: NodeId): boolean {
  const n = nodes[id];
  return isFlip(n) && nodes[n.args[0]!]?.kind === "project";
}

/** The flip that puts a backward recurrence's projection back in the model's order of steps. */
export function flipOver(nodes: readonly Node[], id: NodeId): NodeId | undefined {
  return nodes.find((n) => isFlip(n) && n.args[0] === id)?.id;
}
