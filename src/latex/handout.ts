import type { Graph } from "../ir/types.js";
import type { Gradient } from "../autodiff/reverse.js";
export function renderHandout(_graph: Graph, _gradient: Gradient): string {
  return "";
}
