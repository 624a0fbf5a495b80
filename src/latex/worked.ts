import type { NodeId } from "../ir/types.js";
import { Evaluator } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import { formatNumber, tensorLatex } from "./render.js";
import type { DerivationView } from "./view.js";
import { align, forwardOrder } from "./handout.js";
import type { RecurrenceView } from "./recurrence.js";

/** Scalars (or tiny tensors) get a column per entry in the iteration table. */
const TABLE_ENTRIES = 4;

/**
 * The worked example as the lecture notes lay it out: the given numbers, every value of
 * the forward pass, every δ, the update, and an iteration table when several steps are asked.
 * The numbers come from the reference evaluator running the same IR the code is generated from.
 */
export function workedExample(view: DerivationView): string | undefined {
  const { graph, gradient } = view;
  const given = graph.named.filter((n) => n.kind === "input" || n.kind === "target" || n.kind === "param");
  if (given.length === 0 || given.some((n) => !graph.example.has(n.name))) return undefined;
  const lr = graph.train?.lr ?? 0.1;
  const steps = graph.train?.steps ?? 1;
  const params = graph.named.filter((n) => n.kind === "param");
  const values = new Map(graph.example);
  const show = (id: NodeId, t: Tensor) => `${view.symbol(id)} &= ${tensorLatex(t)}`;
  const gradientOf = (ev: Evaluator, name: string): Tensor => {
    const g = gradient.params.get(name);
    const current = values.get(name)!;
    return g === null || g === undefined
      ? { shape: current.shape, data: new Float64Array(current.data.length) }
      : ev.value(g);
  };

  let ev = new Evaluator(gradient.nodes, values);
  const lines = [
    "\\section{Worked example}",
    "\\paragraph{Given values}",
    align(given.map((n) => show(n.node, values.get(n.name)!))),
  ];
  for (const r of view.recurrences) lines.push(...recurrenceTable(view, r, ev));
  lines.push("\\paragraph{Forward pass}", align(forwardOrder(view).map((id) => show(id, ev.value(id)))));
  const deltas = view.steps.filter((s) => s.node !== graph.loss && !params.some((p) => p.node === s.node));
  if (deltas.length > 0)
    lines.push(
      "\\paragraph{Backward pass}",
      align(deltas.map((s) => `\\delta_{${view.symbol(s.node)}} &= ${tensorLatex(ev.value(s.result))}`)),
    );
  lines.push(
    "\\paragraph{Gradients}",
    align(
      params.map(
        (p) =>
          `\\frac{\\partial ${view.lossName}}{\\partial ${view.symbol(p.node)}} &= ${tensorLatex(gradientOf(ev, p.name))}`,
      ),
    ),
  );

  const tableParams = params.filter((p) => values.get(p.name)!.data.length <= TABLE_ENTRIES);
  const tableValues = graph.named
    .filter((n) => n.kind === "equation" && ev.value(n.node).data.length === 1)
    .slice(0, 3);
  const table: string[][] = [];
  for (let k = 1; k <= steps; k++) {
    const grads = params.map((p) => gradientOf(ev, p.name));
    table.push([
      String(k),
      ...tableParams.flatMap((p) => Array.from(values.get(p.name)!.data, formatNumber)),
      ...tableValues.map((n) => formatNumber(ev.value(n.node).data[0]!)),
      formatNumber(ev.value(graph.loss).data[0]!),
      ...tableParams.flatMap((p) => Array.from(grads[params.indexOf(p)]!.data, formatNumber)),
    ]);
    const updated = params.map((p, i) => {
      const old = values.get(p.name)!;
      return {
        shape: old.shape,
        data: old.data.map((v, j) => v - lr * grads[i]!.data[j]!),
      };
    });
    if (k === 1) {
      lines.push(
        `\\paragraph{Gradient descent} With learning rate $\\eta = ${formatNumber(lr)}$ every parameter moves against its gradient, $\\theta \\leftarrow \\theta - \\eta\\, \\partial ${view.lossName}/\\partial\\theta$:`,
        align(
          params.map(
            (p, i) =>
              `${view.symbol(p.node)} &\\leftarrow ${operand(values.get(p.name)!)} - ${formatNumber(lr)} \\cdot ${operand(grads[i]!)} = ${tensorLatex(updated[i]!)}`,
          ),
        ),
      );
    }
    params.forEach((p, i) => values.set(p.name, updated[i]!));
    ev = new Evaluator(gradient.nodes, values);
  }
  if (steps > 1 && tableParams.length > 0) {
    const header = [
      "k",
      ...tableParams.flatMap((p) => entryNames(view.symbol(p.node), values.get(p.name)!.data.length)),
      ...tableValues.map((n) => view.symbol(n.node)),
      view.lossName,
      ...tableParams.flatMap((p) =>
        entryNames(
          `\\partial ${view.lossName}/\\partial ${view.symbol(p.node)}`,
          values.get(p.name)!.data.length,
        ),
      ),
    ];
    lines.push(
      `\\paragraph{Iterations} Row $k$ shows the parameters at the start of step $k$, the values and the loss they give, and the gradient; the step then moves every parameter by $-\\eta$ times its gradient.`,
      `\\begin{center}\\small\n\\begin{tabular}{${"r".repeat(header.length)}}\n\\toprule\n${header.map((h) => `$${h}$`).join(" & ")} \\\\\n\\midrule\n${table.map((row) => row.map((c) => `$${c}$`).join(" & ")).join(" \\\\\n")} \\\\\n\\bottomrule\n\\end{tabular}\n\\end{center}`,
    );
  }
  lines.push(
    `After ${steps === 1 ? "the step" : `${steps} steps`} the loss is $${view.lossName} = ${formatNumber(ev.value(graph.loss).data[0]!)}$.`,
  );
  return lines.join("\n\n");
}

/** A tensor as an operand of a printed formula: a negative number gets parentheses. */
function operand(t: Tensor): string {
  const text = tensorLatex(t);
  return text.startsWith("-") ? `\\left(${text}\\right)` : text;
}

/** A small tensor in a table cell: a number, or a short row of numbers. */
function cell(t: Tensor): string | undefined {
  if (t.data.length === 1) return formatNumber(t.data[0]!);
  if (t.data.length > TABLE_ENTRIES) return undefined;
  return `(${Array.from(t.data, formatNumber).join(", ")})`;
}

/**
 * The steps of a recurrence, one row per step, as the RNN lecture tabulates them: the
 * values of the step, then (going backwards) each δ and the step's contributions to the
 * parameters it reads at every step.
 */
function recurrenceTable(view: DerivationView, r: RecurrenceView, ev: Evaluator): string[] {
  const forwardSteps = ev.scanSteps(r.scan.id);
  const backwardSteps = r.adjoint ? ev.adjointSteps(r.adjoint.id) : [];
  const columns: { header: string; at: (t: number) => Tensor }[] = [];
  const forwardIds = [
    ...new Set([
      ...r.scan.states.map((s) => s.next),
      ...r.auxiliaries.keys(),
      ...r.scan.body
        .filter(
          (n) =>
            n.kind !== "const" && r.symbol(n.id) !== undefined && n.kind !== "outer" && n.kind !== "carry",
        )
        .map((n) => n.id),
    ]),
  ].sort((a, b) => a - b);
  for (const id of forwardIds)
    columns.push({
      header: r.symbol(id, 0)!,
      at: (t) => forwardSteps[t]!.value(id),
    });
  if (r.adjoint) {
    const adjoint = r.adjoint;
    for (const step of adjoint.trace) {
      if (!r.auxiliaries.has(step.node) && !r.scan.states.some((s) => s.next === step.node)) continue;
      columns.push({
        header: r.delta(step.node),
        at: (t) => backwardSteps[t]!.value(step.result),
      });
    }
    const sources = r.scan.body.filter(
      (n) => n.kind === "outer" && adjoint.trace.some((s) => s.node === n.id),
    );
    adjoint.summed.forEach((node, j) => {
      const source = sources[j] as Extract<(typeof sources)[number], { kind: "outer" }>;
      columns.push({
        header: `\\text{step's } \\partial ${view.lossName}/\\partial ${view.symbol(source.source)}`,
        at: (t) => backwardSteps[t]!.value(node),
      });
    });
  }
  const length = forwardSteps.length;
  const shown = columns.filter((c) =>
    Array.from({ length }, (_, t) => cell(c.at(t))).every((x) => x !== undefined),
  );
  if (shown.length === 0 || length > 50) return [];
  const rows = Array.from({ length }, (_, t) => [String(t + 1), ...shown.map((c) => cell(c.at(t))!)]);
  const header = [r.index, ...shown.map((c) => c.header)];
  return [
    `\\paragraph{Steps of the recurrence over $${r.index}$} Forward values, then the backward pass (computed from the last step to the first):`,
    `\\begin{center}\\small\n\\begin{tabular}{${"r".repeat(header.length)}}\n\\toprule\n${header.map((h) => `$${h}$`).join(" & ")} \\\\\n\\midrule\n${rows.map((row) => row.map((c) => `$${c}$`).join(" & ")).join(" \\\\\n")} \\\\\n\\bottomrule\n\\end{tabular}\n\\end{center}`,
  ];
}

function entryNames(name: string, count: number): string[] {
  return count === 1 ? [name] : Array.from({ length: count }, (_, i) => `(${name})_{${i + 1}}`);
}
