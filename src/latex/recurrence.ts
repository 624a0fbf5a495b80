import type { BodyStep, Graph, Node, NodeId, ScanAdjointNode, ScanNode } from "../ir/types.js";
import { PREC, type Latex } from "../ops/def.js";
import { latexName } from "./names.js";
import { ExpressionRenderer } from "./render.js";

/** `W_{xh}` with subscript t is W_{xh,t}; `\hat{y}` is \hat{y}_{t}. */
export function withSubscript(latex: string, sub: string): string {
  const m = /^(.*)_\{([^{}]*)\}$/.exec(latex);
  if (m) return `${m[1]}_{${m[2]},${sub}}`;
  if (/^([A-Za-z]|\\[A-Za-z]+(\{[^{}]*\})?)$/.test(latex)) return `${latex}_{${sub}}`;
  return `{${latex}}_{${sub}}`;
}

/** Terms joined by +, writing a + (−b) as a − b. */
export function sumTerms(terms: readonly string[]): string {
  return terms.map((t, i) => (i === 0 ? t : t.startsWith("-") ? `- ${t.slice(1)}` : `+ ${t}`)).join(" ");
}

const stepText = (index: string, shift: number) =>
  shift === 0 ? index : shift > 0 ? `${index}+${shift}` : `${index}-${-shift}`;

/**
 * How the handout writes one recurrence: its equations per step (h_t, h_{t-1}, x_t), and —
 * when it has an adjoint — the backward recurrence: what each state's δ receives from the
 * next step, the chain rule inside a step, and the sums over the steps.
 */
export class RecurrenceView {
  /** Unnamed body values the derivation refers to, named u^{(k)}. */
  readonly auxiliaries = new Map<NodeId, string>();
  readonly index: string;
  private readonly names = new Map<NodeId, string>();
  private readonly shownSteps: BodyStep[] = [];
  /** For a value without a step of its own: the shown value whose adjoint it shares. */
  private readonly representative = new Map<NodeId, NodeId>();

  constructor(
    readonly scan: ScanNode,
    readonly adjoint: ScanAdjointNode | undefined,
    graph: Graph,
    outerNodes: readonly Node[],
    private readonly outerSymbol: (id: NodeId) => string,
    private readonly lossName: string,
    /** The letter naming intermediate values, one the model does not use. */
    letter = "u",
    /** An outer adjoint as the outer derivation writes it. */
    private readonly outerAdjoint: (id: NodeId) => string = () => "?",
  ) {
    this.index = scan.index;
    scan.states.forEach((s) =>
      this.names.set(s.next, latexName(s.name, graph.named.find((n) => n.name === s.name)?.latex)),
    );
    for (const n of graph.named) {
      const p = outerNodes[n.node];
      if (p?.kind === "project" && p.scan === scan.id && p.what === "output")
        this.names.set(scan.outputs[p.index]!, latexName(n.name, n.latex));
    }
    if (adjoint) {
      let k = 0;
      const byResult = new Map<NodeId, NodeId>();
      for (const step of adjoint.trace) {
        const previous = byResult.get(step.result);
        if (previous === undefined || step.node > previous) byResult.set(step.result, step.node);
      }
      for (const step of adjoint.trace) this.representative.set(step.node, byResult.get(step.result)!);
      for (const step of [...adjoint.trace].reverse()) {
        const n = scan.body[step.node]!;
        if (n.kind === "op" && !this.names.has(step.node) && byResult.get(step.result) === step.node)
          this.auxiliaries.set(step.node, `${letter}^{(${++k})}`);
      }
      for (const step of adjoint.trace)
        if (
          scan.body[step.node]!.kind === "op" &&
          (this.names.has(step.node) || this.auxiliaries.has(step.node))
        )
          this.shownSteps.push(step);
    }
  }

  /** The symbol of a forward body value at step t + shift, or undefined for an unnamed intermediate. */
  symbol(id: NodeId, shift = 0): string | undefined {
    const n = this.scan.body[id]!;
    const at = stepText(this.index, shift);
    if (n.kind === "carry")
      return withSubscript(latexName(this.scan.states[n.state]!.name), stepText(this.index, shift - n.lag));
    if (n.kind === "slice") return withSubscript(this.outerSymbol(n.source), at);
    if (n.kind === "outer") return this.outerSymbol(n.source);
    const name = this.names.get(id) ?? this.auxiliaries.get(id);
    return name === undefined ? undefined : withSubscript(name, at);
  }

  private symbols(shift: number): Map<NodeId, string> {
    const out = new Map<NodeId, string>();
    this.scan.body.forEach((n) => {
      const s = this.symbol(n.id, shift);
      if (s !== undefined) out.set(n.id, s);
    });
    return out;
  }

  delta(id: NodeId, shift = 0): string {
    const shared = this.representative.get(id);
    const name = this.symbol(id, shift) ?? (shared !== undefined ? this.symbol(shared, shift) : undefined);
    return `\\delta_{${name ?? "?"}}`;
  }

  forwardRenderer(shift = 0): ExpressionRenderer {
    return new ExpressionRenderer(this.scan.body, this.symbols(shift), (of) => this.delta(of, shift));
  }

  /** Adjoint expressions at step t + shift: residuals print as forward values, adjoints as δs. */
  backwardRenderer(shift = 0): ExpressionRenderer {
    const adjoint = this.adjoint!;
    const forward = this.forwardRenderer(shift);
    const symbols = new Map<NodeId, string>();
    for (const step of this.shownSteps) symbols.set(step.result, this.delta(step.node, shift));
    const other = (n: Node): Latex | undefined => {
      if (n.kind === "residual") {
        const s = this.symbol(n.node, shift);
        return s !== undefined ? { text: s, prec: PREC.atom } : forward.latex(n.node);
      }
      if (n.kind === "state_adjoint")
        return {
          text: this.delta(this.scan.states[n.state]!.next, shift),
          prec: PREC.atom,
        };
      if (n.kind === "slice")
        return {
          text: `\\left(\\delta_{${this.outerSymbol(n.source)}}\\right)_{${stepText(this.index, shift)}}`,
          prec: PREC.atom,
        };
      if (n.kind === "outer") return { text: this.outerSymbol(n.source), prec: PREC.atom };
      return undefined;
    };
    return new ExpressionRenderer(adjoint.body, symbols, (of) => this.delta(of, shift), other);
  }

  /** What the loss sends a per-step value directly: row t of an outer adjoint. */
  private seedLatex(slice: NodeId): string {
    const n = this.adjoint!.body[slice]!;
    if (n.kind !== "slice") return "?";
    return `\\left(${this.outerAdjoint(n.source)}\\right)_{${this.index}}`;
  }

  /** `h_t = tanh(…)` for every named value of a step, and the u^{(k)} the derivation names. */
  equationRows(): string[] {
    const r = this.forwardRenderer();
    const ids = [
      ...new Set([...this.scan.states.map((s) => s.next), ...this.names.keys(), ...this.auxiliaries.keys()]),
    ].sort((a, b) => a - b);
    return ids.map((id) => `${this.symbol(id)} &= ${r.definition(id)}`);
  }

  /** The backward recurrence, as the lecture derives it, in general form for any number of steps. */
  derivation(external: (state: number) => NodeId | null): string {
    const adjoint = this.adjoint!;
    const t = this.index;
    const lines: string[] = [];
    const now = this.backwardRenderer(0);
    const rows: string[] = [];
    this.scan.states.forEach((s, k) => {
      const parts: string[] = [];
      if (external(k) !== null) parts.push(`\\left(\\delta_{${latexName(s.name)}}\\right)_{${t}}`);
      for (const c of adjoint.carries.filter((c) => c.state === k))
        parts.push(this.backwardRenderer(c.lag).reference(c.node));
      // Uses of the state within its own step (h_t = o_t ⊙ tanh(c_t) reads c_t).
      const own = adjoint.trace.find((step) => step.node === s.next);
      for (const term of own?.terms ?? []) parts.push(now.reference(term.general));
      rows.push(`${this.delta(s.next)} &= ${parts.length > 0 ? sumTerms(parts) : "0"}`);
    });
    lines.push(
      `Going backwards, $${t} = ${this.scan.length}, \\dots, 1$, each state's $\\delta$ collects what the loss sends it directly (from the equations outside the recurrence) and what the next step sends back through it; terms of steps after the last are zero:`,
      `\\begin{align*}\n${rows.join(" \\\\\n")}\n\\end{align*}`,
    );
    if (this.shownSteps.length > 0) {
      lines.push(`Within step $${t}$, by the chain rule:`);
      const inner: string[] = [];
      for (const step of this.shownSteps) {
        if (this.scan.states.some((s) => s.next === step.node)) continue;
        // A value the loss reads directly (a per-step output) also receives that seed.
        const result = this.adjoint!.body[step.result]!;
        const seed =
          result.kind === "slice"
            ? [step.result]
            : result.kind === "op" && result.op === "add"
              ? result.args.filter((a) => this.adjoint!.body[a]!.kind === "slice")
              : [];
        const general = sumTerms([
          ...seed.map((id) => this.seedLatex(id)),
          ...step.terms.map((term) => now.reference(term.general)),
        ]);
        const rules = [...new Set(step.terms.map((term) => term.rule))];
        inner.push(
          `${this.delta(step.node)} &= ${general || "0"} && \\text{(${rules.length > 0 ? `using $${rules.join("$, $")}$` : "direct"})}`,
        );
      }
      if (inner.length > 0) lines.push(`\\begin{align*}\n${inner.join(" \\\\\n")}\n\\end{align*}`);
    }
    const sums = adjoint.summed.map((n, j) => ({
      n,
      source: this.outerSources("outer")[j]!,
    }));
    const stacked = adjoint.stacked.map((n, j) => ({
      n,
      source: this.outerSources("slice")[j]!,
    }));
    const finals: string[] = [];
    for (const s of sums)
      finals.push(
        `\\frac{\\partial ${this.lossName}}{\\partial ${this.outerSymbol(s.source)}} &= \\sum_{${t}=1}^{${this.scan.length}} ${now.latex(s.n).prec < PREC.product ? `\\left(${now.reference(s.n)}\\right)` : now.reference(s.n)}`,
      );
    for (const s of stacked)
      finals.push(
        `\\frac{\\partial ${this.lossName}}{\\partial ${withSubscript(this.outerSymbol(s.source), t)}} &= ${now.reference(s.n)}`,
      );
    if (finals.length > 0)
      lines.push(
        "The parameters read at every step collect one contribution per step; sequences get one gradient per step:",
        `\\begin{align*}\n${finals.join(" \\\\\n")}\n\\end{align*}`,
      );
    return lines.join("\n\n");
  }

  /** The outer sources of the forward body's slices or loop-invariant reads, in the adjoint's order. */
  private outerSources(kind: "slice" | "outer"): NodeId[] {
    const body = this.scan.body;
    return body
      .filter((n) => n.kind === kind && this.adjointHas(n.id))
      .map((n) => (n as Extract<Node, { kind: "slice" | "outer" }>).source);
  }

  private adjointHas(id: NodeId): boolean {
    return this.adjoint!.trace.some((s) => s.node === id);
  }
}
