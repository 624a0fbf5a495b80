import type { Graph, Node, NodeId } from "../ir/types.js";
import { assertNever, dependencies, formatShape } from "../ir/types.js";
import type { Gradient } from "./reverse.js";

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
        .map(([k, v]) => (v === true ? k : `${k}=${Array.isArray(v) ? formatShape(v) : String(v)}`));
      return `${n.op}(${n.args.map((a) => `%${a}`).join(", ")})${attrs.length ? ` {${attrs.join(", ")}}` : ""}`;
    }
    case "scan":
      return `scan ${n.index} in 1..${n.length} states [${n.states.map((s) => `${s.name}: next %${s.next}, lags ${s.lags}, init ${s.init.map((i) => `%${i}`).join(" ")}`).join("; ")}] outputs [${n.outputs.map((o) => `%${o}`).join(", ")}]`;
    case "scan_adjoint":
      return `scan_adjoint of %${n.forward} reversed; carries [${n.carries.map((c) => `${c.state}@-${c.lag}: %${c.node}`).join(", ")}] stacked [${n.stacked.map((s) => `%${s}`).join(", ")}] summed [${n.summed.map((s) => `%${s}`).join(", ")}]`;
    case "project":
      return `project %${n.scan} ${n.what} ${n.index}${n.what === "init" ? ` position ${n.position}` : ""}`;
    case "carry":
      return `carry state ${n.state} lag ${n.lag}`;
    case "slice":
      return `slice %${n.source}`;
    case "outer":
      return `outer %${n.source}`;
    case "residual":
      return `residual %${n.node}`;
    case "state_adjoint":
      return `state_adjoint ${n.state}`;
    default:
      return assertNever(n);
  }
}

const line = (n: Node, names: ReadonlyMap<NodeId, string>, indent: string) =>
  `${indent}%${n.id} = ${describe(n)} : ${formatShape(n.shape)}${names.has(n.id) ? `  # ${names.get(n.id)}` : ""}`;

/** A scan's body, indented under it. */
function bodyLines(n: Node): string[] {
  if (n.kind !== "scan" && n.kind !== "scan_adjoint") return [];
  return n.body.map((b) => line(b, new Map(), "      "));
}

/** A text dump of the IR: the forward graph, then the gradient nodes the params' gradients use. */
export function printIr(graph: Graph, gradient: Gradient): string {
  const names = new Map<NodeId, string>();
  for (const n of graph.named) if (!names.has(n.node)) names.set(n.node, n.name);
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
    stack.push(...dependencies(gradient.nodes[id]!));
  }
  const lines = [
    `model ${graph.modelName}`,
    `dims ${[...graph.dims].map(([k, v]) => `${k}=${v ?? "?"}`).join(" ") || "-"}`,
    "forward:",
  ];
  const emit = (n: Node) => lines.push(line(n, names, "  "), ...bodyLines(n));
  for (const n of gradient.nodes.slice(0, gradient.forwardCount)) if (used.has(n.id)) emit(n);
  lines.push("gradient:");
  for (const n of gradient.nodes.slice(gradient.forwardCount)) if (used.has(n.id)) emit(n);
  lines.push(`loss: %${graph.loss}`);
  for (const [name, g] of gradient.params)
    lines.push(
      `d${graph.named.find((n) => n.node === graph.loss)?.name ?? "L"}/d${name}: ${g === null ? "0" : `%${g}`}`,
    );
  return `${lines.join("\n")}\n`;
}
