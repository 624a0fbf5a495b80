import type { Gradient } from "../autodiff/reverse.js";
import type { Graph, NamedValue, NodeId } from "../ir/types.js";
import { unflip } from "../ir/reversed.js";
import { HandoutContext } from "../handout/context.js";
import { deltaStep, paramStep } from "../handout/derivation.js";
import type { RecurrenceContext } from "../handout/recurrence.js";
import type { Block, EquationRow, Inline } from "../handout/document.js";

/** What a hover says about a name's gradient. */
export type DerivativeOf =
  /** The derivation's lines for ∂L/∂name (δ of a value, the gradient of a param), as LaTeX. */
  | {
      readonly kind: "derived";
      readonly latex: string;
      /** What a symbol in those lines stands for (a recurrence's δ^out), as text with $…$ maths. */
      readonly notes: readonly string[];
    }
  /** The loss does not depend on the value: its δ is a symbolic zero. */
  | { readonly kind: "zero" }
  /** Data and constants are given, not differentiated. */
  | { readonly kind: "given" };

/**
 * The gradient of each name as the handout derives it: the same HandoutContext and the same
 * steps (deltaStep, paramStep, a recurrence's derivation), so a hover shows the handout's lines
 * for that name, worked numbers included, and nothing is derived again here. The context is
 * built on the first hover of a document version, not on every edit.
 */
export class Derivatives {
  private context: HandoutContext | undefined;
  private readonly cache = new Map<string, DerivativeOf | undefined>();

  constructor(
    private readonly graph: Graph,
    private readonly gradient: Gradient,
  ) {}

  of(name: string): DerivativeOf | undefined {
    if (!this.cache.has(name)) this.cache.set(name, this.derive(name));
    return this.cache.get(name);
  }

  private derive(name: string): DerivativeOf | undefined {
    const named = this.graph.named.find((n) => n.name === name);
    if (!named) return undefined;
    if (named.kind === "input" || named.kind === "target" || named.kind === "const") return { kind: "given" };
    this.context ??= new HandoutContext(this.graph, this.gradient);
    const ctx = this.context;
    if (named.kind === "param") {
      if (this.gradient.params.get(name) === null) return { kind: "zero" };
      return derived(equationRows(paramStep(ctx, named.node)));
    }
    for (const r of ctx.recurrences) {
      const body = bodyNode(ctx, r, named);
      if (body === undefined) continue;
      const blocks = r.derivation();
      const rows = rowsFor(blocks, r.delta(body));
      return derived(rows, explaining(blocks, rows));
    }
    if (ctx.notation.step(named.node) === undefined) return { kind: "zero" };
    const head = ctx.notation.representativeOf(named.node);
    if (!ctx.notation.isShown(head)) return undefined;
    return derived(equationRows(deltaStep(ctx, head)));
  }
}

function derived(rows: readonly EquationRow[], notes: readonly string[] = []): DerivativeOf | undefined {
  const shown = rows.filter((r) => r.rhs !== "");
  if (shown.length === 0) return undefined;
  const lines = shown.map((r) => `${r.lhs} &${r.rel ?? "="} ${r.rhs}`);
  return { kind: "derived", latex: `\\begin{aligned}\n${lines.join(" \\\\\n")}\n\\end{aligned}`, notes };
}

/** The derivation's paragraphs saying what a symbol of these rows is ("Here δ^out_{h_t} is …"). */
function explaining(blocks: readonly Block[], rows: readonly EquationRow[]): string[] {
  const text = rows.map((r) => r.rhs).join(" ");
  return blocks
    .filter((b) => b.kind === "paragraph")
    .filter((b) => {
      const [first, symbol] = b.content;
      return (
        first &&
        "text" in first &&
        first.text === "Here " &&
        symbol &&
        "math" in symbol &&
        text.includes(symbol.math)
      );
    })
    .map((b) => inlineText(b.content));
}

function inlineText(parts: readonly Inline[]): string {
  return parts
    .map((p) =>
      "text" in p ? p.text : "math" in p ? `$${p.math}$` : inlineText("strong" in p ? p.strong : p.emph),
    )
    .join("");
}

function equationRows(blocks: readonly Block[]): EquationRow[] {
  return blocks.flatMap((b) => (b.kind === "equations" ? b.rows : []));
}

/** The rows deriving one δ in a recurrence's derivation: the row `δ = …` and its continuation lines. */
function rowsFor(blocks: readonly Block[], delta: string): EquationRow[] {
  const rows = equationRows(blocks);
  const start = rows.findIndex((r) => r.lhs.startsWith(`${delta} =`));
  if (start < 0) return [];
  let end = start + 1;
  while (end < rows.length && rows[end]!.lhs === "") end++;
  return rows.slice(start, end);
}

/** The body node of a recurrence computing a named value at each step (a state's next value, an output). */
function bodyNode(ctx: HandoutContext, r: RecurrenceContext, named: NamedValue): NodeId | undefined {
  const p = ctx.gradient.nodes[unflip(ctx.gradient.nodes, named.node)];
  if (p?.kind !== "project" || p.scan !== r.scan.id) return undefined;
  if (p.what === "state") return r.scan.states[p.index]?.next;
  if (p.what === "output") return r.scan.outputs[p.index];
  return undefined;
}
