import type { Diagram } from "../handout/document.js";

const FILL: Record<Diagram["nodes"][number]["role"], string> = {
  input: "black!4",
  const: "black!4",
  param: "blue!8",
  value: "white",
  loss: "red!8",
};

/** A computation graph as TikZ: the builder placed the nodes, this only draws them. */
export function tikzDiagram(d: Diagram): string {
  const id = (s: string) => `n${s.replace(/[^A-Za-z0-9]/g, "")}`;
  const nodes = d.nodes.map(
    (n) =>
      `\\node[draw, rounded corners=2pt, fill=${FILL[n.role]}, inner sep=3pt, minimum height=0.6cm${n.role === "param" ? ", thick" : ""}] (${id(n.id)}) at (${n.x.toFixed(2)}, ${(-n.y).toFixed(2)}) {$${n.label}$};`,
  );
  const edges = d.edges.map(
    (e) => `\\draw[->, >=stealth${e.carried ? ", dashed" : ""}] (${id(e.from)}) -- (${id(e.to)});`,
  );
  return `\\begin{tikzpicture}\n${[...nodes, ...edges].join("\n")}\n\\end{tikzpicture}`;
}
