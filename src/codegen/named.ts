import type { Graph, NamedValue, Node } from "../ir/types.js";

/*
 * How the module names and arranges the model's named values: the params, the data and the
 * equations in the order the model declares them, and the locals of the dims bound at run time.
 */

/** A name as a string literal: the module reads `params["W"]`, whatever the name is. */
export const key = (name: string) => JSON.stringify(name);

/** Nodes whose code writes their own array by name (not views of another), so it can be the caller's. */
export const writesByName = (n: Node) =>
  n.kind === "op" || (n.kind === "project" && (n.what === "stacked" || n.what === "summed"));
export const prop = (obj: string, name: string) => `${obj}[${key(name)}]`;

export interface Layout {
  readonly params: readonly NamedValue[];
  readonly data: readonly NamedValue[];
  readonly equations: readonly NamedValue[];
  readonly freeDims: readonly string[];
  readonly dimLocal: (d: string) => string;
}

export function layoutOf(graph: Graph): Layout {
  const freeDims = [...graph.dims].filter(([, v]) => v === undefined).map(([k]) => k);
  const index = new Map(freeDims.map((d, i) => [d, `d${i}`]));
  return {
    params: graph.named.filter((n) => n.kind === "param"),
    data: graph.named.filter((n) => n.kind === "input" || n.kind === "target"),
    equations: graph.named.filter((n) => n.kind === "equation" || n.kind === "loss"),
    freeDims,
    dimLocal: (d) => index.get(d) ?? "0",
  };
}
