import type { Node, NodeId } from "../ir/types.js";
import type { Diagram, DiagramEdge, DiagramNode } from "./document.js";
import { prose } from "./document.js";
import type { HandoutContext } from "./context.js";
import type { RecurrenceContext } from "./recurrence.js";
import { withSubscript } from "./recurrence.js";
import { isFlippedProjection, unflip } from "../ir/reversed.js";
import { estimateWidth } from "./width.js";
import { latexName } from "../syntax/latexName.js";

/** Pictures stay within the text width (17 cm) and a third of a page. */
const MAX_WIDTH = 16;
const MAX_NODES = 32;
const ROW = 1.05;

interface Vertex {
  readonly id: string;
  readonly label: string;
  readonly role: DiagramNode["role"];
}

/**
 * Places a directed acyclic graph left to right: a node's column is its longest path from
 * the sources, a source sits just before the first node that reads it, and each column is
 * ordered by the mean row of its predecessors (two sweeps), as layered drawings do.
 */
function layout(
  vertices: readonly Vertex[],
  edges: readonly DiagramEdge[],
): Omit<Diagram, "kind" | "caption"> | undefined {
  const preds = new Map<string, string[]>(vertices.map((v) => [v.id, []]));
  const succs = new Map<string, string[]>(vertices.map((v) => [v.id, []]));
  for (const e of edges) {
    if (e.carried) continue;
    preds.get(e.to)!.push(e.from);
    succs.get(e.from)!.push(e.to);
  }
  const column = new Map<string, number>();
  const depth = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    const d = Math.max(-1, ...preds.get(id)!.map(depth)) + 1;
    column.set(id, d);
    return d;
  };
  vertices.forEach((v) => depth(v.id));
  for (const v of vertices)
    if (preds.get(v.id)!.length === 0 && succs.get(v.id)!.length > 0)
      column.set(v.id, Math.max(0, Math.min(...succs.get(v.id)!.map((s) => column.get(s)!)) - 1));
  const columns: string[][] = [];
  for (const v of vertices) (columns[column.get(v.id)!] ??= []).push(v.id);
  const rowOf = new Map<string, number>();
  columns.forEach((c) => c.forEach((id, i) => rowOf.set(id, i)));
  for (let sweep = 0; sweep < 2; sweep++)
    for (const c of columns) {
      if (!c) continue;
      const mean = (id: string) => {
        const p = [...preds.get(id)!, ...succs.get(id)!]
          .map((x) => rowOf.get(x)!)
          .filter((x) => x !== undefined);
        return p.length === 0 ? rowOf.get(id)! : p.reduce((a, b) => a + b, 0) / p.length;
      };
      c.sort((a, b) => mean(a) - mean(b));
      c.forEach((id, i) => rowOf.set(id, i));
    }
  const label = new Map(vertices.map((v) => [v.id, v]));
  const widths = columns.map((c) =>
    Math.max(1, ...(c ?? []).map((id) => estimateWidth(label.get(id)!.label) * 0.4 + 0.6)),
  );
  const tallest = Math.max(...columns.map((c) => c?.length ?? 0));
  const x: number[] = [];
  let at = 0;
  widths.forEach((w, i) => {
    x[i] = at + w / 2;
    at += w + 0.9;
  });
  const width = at - 0.9;
  if (width > MAX_WIDTH || tallest * ROW > 9) return undefined;
  const nodes: DiagramNode[] = vertices.map((v) => {
    const c = column.get(v.id)!;
    const n = columns[c]!.length;
    return {
      id: v.id,
      label: v.label,
      role: v.role,
      x: x[c]!,
      y: (rowOf.get(v.id)! + (tallest - n) / 2) * ROW,
    };
  });
  return { width, height: (tallest - 1) * ROW, nodes, edges };
}

function roleOf(ctx: HandoutContext, id: NodeId): DiagramNode["role"] {
  if (id === ctx.graph.loss) return "loss";
  const named = ctx.graph.named.find((n) => n.node === id);
  if (named?.kind === "param") return "param";
  if (named?.kind === "input" || named?.kind === "target") return "input";
  if (named?.kind === "const") return "const";
  return "value";
}

/** The model's computation graph over its named values (and the few the derivation names). */
export function computationGraph(ctx: HandoutContext): Diagram | undefined {
  const nodes = ctx.gradient.nodes;
  const shown = new Set<NodeId>();
  for (const n of ctx.graph.named)
    if (nodes[n.node]!.kind !== "project" && !isFlippedProjection(nodes, n.node)) shown.add(n.node);
  for (const a of ctx.notation.auxiliaries) shown.add(a.node);
  if (shown.size > MAX_NODES || shown.size < 3) return undefined;
  // The values a value is computed from, looking through the unnamed steps in between.
  const sources = (id: NodeId, seen = new Set<NodeId>()): NodeId[] => {
    const n: Node = nodes[id]!;
    if (n.kind !== "op") return [];
    const out: NodeId[] = [];
    for (const a of n.args) {
      if (seen.has(a)) continue;
      seen.add(a);
      if (shown.has(a)) out.push(a);
      else out.push(...sources(a, seen));
    }
    return out;
  };
  const edges: DiagramEdge[] = [];
  for (const id of shown) for (const s of new Set(sources(id))) edges.push({ from: `n${s}`, to: `n${id}` });
  const used = new Set(edges.flatMap((e) => [e.from, e.to]));
  const vertices = [...shown]
    .filter((id) => used.has(`n${id}`))
    .sort((a, b) => a - b)
    .map((id) => ({ id: `n${id}`, label: ctx.symbol(id) ?? "?", role: roleOf(ctx, id) }));
  const placed = layout(vertices, edges);
  if (!placed) return undefined;
  return {
    kind: "diagram",
    ...placed,
    caption: prose(
      `The computation graph: an arrow runs from each value to the values computed from it; parameters are drawn with a thick frame, the loss $${ctx.lossSymbol}$ shaded. The backward pass runs along the same arrows in reverse.`,
    ),
  };
}

/**
 * A recurrence unrolled over its steps, as the RNN lecture draws it: the inputs x_t below,
 * the states h_t along a row (each carried to the next step), what reads the last step.
 */
export function unrolled(ctx: HandoutContext, r: RecurrenceContext): Diagram | undefined {
  // A loop that carries nothing between steps (a bidirectional RNN's outputs) has nothing to unroll.
  if (r.scan.states.length === 0) return undefined;
  const length = typeof r.scan.length === "number" ? r.scan.length : undefined;
  const steps =
    length !== undefined && length <= 5
      ? Array.from({ length }, (_, i) => String(i + 1))
      : ["1", "2", "\\dots", r.length];
  const vertices: Vertex[] = [];
  const edges: DiagramEdge[] = [];
  const stateNames = r.scan.states.map((s) =>
    latexName(s.name, ctx.graph.named.find((n) => n.name === s.name)?.latex),
  );
  const sequences = [
    ...new Set(r.scan.body.filter((n) => n.kind === "slice").map((n) => (n as { source: NodeId }).source)),
  ];
  // A backward recurrence is drawn in the model's order too: it starts right, after the last step.
  const inits = r.scan.states.map((s, k) => ({
    k,
    label: withSubscript(stateNames[k]!, r.initialStep(s.lags, 0)),
  }));
  for (const init of inits) vertices.push({ id: `s${init.k}_0`, label: init.label, role: "const" });
  (r.reverse ? [...steps].reverse() : steps).forEach((t, i) => {
    r.scan.states.forEach((_, k) => {
      vertices.push({ id: `s${k}_${i + 1}`, label: withSubscript(stateNames[k]!, t), role: "value" });
      edges.push({ from: `s${k}_${i}`, to: `s${k}_${i + 1}` });
    });
    sequences.forEach((source, j) => {
      const symbol = ctx.symbol(unflip(ctx.gradient.nodes, source)) ?? "x";
      vertices.push({ id: `x${j}_${i + 1}`, label: withSubscript(symbol, t), role: "input" });
      r.scan.states.forEach((_, k) => edges.push({ from: `x${j}_${i + 1}`, to: `s${k}_${i + 1}` }));
    });
  });
  // Coupled states (an LSTM's c_t and h_t) feed each other within a step.
  const readers = ctx.gradient.nodes.filter(
    (n) => n.kind === "op" && n.op === "take" && ctx.gradient.nodes[n.args[0]!]?.kind === "project",
  );
  const last = steps.length;
  for (const n of r.reverse ? [] : readers) {
    const p = ctx.gradient.nodes[(n as { args: readonly NodeId[] }).args[0]!] as Extract<
      Node,
      { kind: "project" }
    >;
    if (p.scan !== r.scan.id || p.what !== "state") continue;
    const after = ctx.graph.named
      .filter((v) => v.kind === "equation" || v.kind === "loss")
      .filter((v) => v.node > n.id);
    if (after.length === 0) continue;
    const first = after[0]!;
    vertices.push({
      id: `o${first.node}`,
      label: ctx.symbol(first.node) ?? "?",
      role: first.node === ctx.graph.loss ? "loss" : "value",
    });
    edges.push({ from: `s${p.index}_${last}`, to: `o${first.node}` });
    let previous = first;
    for (const v of after.slice(1)) {
      vertices.push({
        id: `o${v.node}`,
        label: ctx.symbol(v.node) ?? "?",
        role: v.node === ctx.graph.loss ? "loss" : "value",
      });
      edges.push({ from: `o${previous.node}`, to: `o${v.node}` });
      previous = v;
    }
    break;
  }
  if (vertices.length > MAX_NODES * 1.5) return undefined;
  // Steps left to right, states in a row, inputs under their step: a grid, not a layering.
  const columnOf = (id: string) =>
    id.startsWith("o")
      ? last + 1 + vertices.filter((v) => v.id.startsWith("o")).findIndex((v) => v.id === id)
      : r.reverse
        ? last + 1 - Number(id.split("_")[1])
        : Number(id.split("_")[1]);
  const rowOf = (id: string) =>
    id.startsWith("x")
      ? r.scan.states.length + Number(id.slice(1).split("_")[0])
      : id.startsWith("s")
        ? Number(id.slice(1).split("_")[0])
        : 0;
  const colWidth = Math.max(1.6, ...vertices.map((v) => estimateWidth(v.label) * 0.4 + 0.9));
  const width = (Math.max(...vertices.map((v) => columnOf(v.id))) + 0) * colWidth;
  if (width > MAX_WIDTH) return undefined;
  const nodes: DiagramNode[] = vertices.map((v) => ({
    id: v.id,
    label: v.label,
    role: v.role,
    x: columnOf(v.id) * colWidth,
    y: rowOf(v.id) * 1.3,
  }));
  return {
    kind: "diagram",
    width,
    height: Math.max(...nodes.map((n) => n.y)),
    nodes,
    edges,
    caption: prose(
      r.reverse
        ? `The recurrence unrolled over $${r.index} = ${r.length}, \\dots, 1$, backwards: every step computes its state from the one after it and the step's input, with the same parameters. Backpropagation through time runs these arrows in reverse, from the first step to the last.`
        : `The recurrence unrolled over $${r.index} = 1, \\dots, ${r.length}$: every step computes its state from the one before and the step's input, with the same parameters. Backpropagation through time runs these arrows in reverse.`,
    ),
  };
}
