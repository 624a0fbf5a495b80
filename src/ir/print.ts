import type { Graph, Node, NodeId } from "./types.js";
import { assertNever, formatShape } from "./types.js";
import type { Gradient } from "../autodiff/reverse.js";

function describe(n: Node): string {
  switch (n.kind) {
    case "input":
      return `${n.role} ${n.name}`;
    case "param":
      return `param ${n.name}`;
    case "const":
      return `const ${n.value.length <= 8 ? `[${Array.from(n.value).join(", ")}]` : `<${n.value.length} values>`}`;
    case "adjoint":
      return `adjoint(%${n.of})`;
    case "op": {
      const attrs = Object.entries(n.attrs)
        .filter(([, v]) => v !== false)
        .map(([k, v]) =>
          v === true
            ? k
            : `${k}=${Array.isArray(v) ? formatShape(v) : String(v)}`,
        );
      return `${n.op}(${n.args.map((a) => `%${a}`).join(", ")})${attrs.length ? ` {${attrs.join(", ")}}` : ""}`;
    }
    default:
      return assertNever(n);
  }
}

/** A text dump of the IR: the forward graph, then the gradient nodes the params' gradients use. */
export function printIr(graph: Graph, gradient: Gradient): string {
  const names = new Map<NodeId, string>();
  for (const n of graph.named)
    if (!names.has(n.node)) names.set(n.node, n.name);
  const used = new Set<NodeId>();
  const stack = [
    graph.loss,
    ...graph.named.map((n) => n.node),
    ...[...gradient.params.values()].filter((g): g is NodeId => g !== null),
  ];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (used.has(id)) continue;
    used.add(id);
    const n = gradient.nodes[id]!;
    if (n.kind === "op") stack.push(...n.args);
  }
  const lines = [
    `model ${graph.modelName}`,
    `dims ${[...graph.dims].map(([k, v]) => `${k}=${v ?? "?"}`).join(" ") || "-"}`,
    "forward:",
  ];
  const line = (n: Node) =>
    `  %${n.id} = ${describe(n)} : ${formatShape(n.shape)}${names.has(n.id) ? `  # ${names.get(n.id)}` : ""}`;
  for (const n of gradient.nodes.slice(0, gradient.forwardCount))
    if (used.has(n.id)) lines.push(line(n));
  lines.push("gradient:");
  for (const n of gradient.nodes.slice(gradient.forwardCount))
    if (used.has(n.id)) lines.push(line(n));
  lines.push(`loss: %${graph.loss}`);
  for (const [name, g] of gradient.params)
    lines.push(
      `d${graph.named.find((n) => n.node === graph.loss)?.name ?? "L"}/d${name}: ${g === null ? "0" : `%${g}`}`,
    );
  return `${lines.join("\n")}\n`;
}
