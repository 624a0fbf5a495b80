import type { Graph, Node, NodeId, NamedValue } from "../ir/types.js";
import type { Gradient } from "../autodiff/reverse.js";
import type { Tensor } from "../ir/tensor.js";
import { Evaluator, unworked, type Unworked } from "../ir/evaluate.js";
import { ExpressionRenderer, type RenderContext } from "./render.js";
import { latexName } from "../syntax/latexName.js";
import { PREC, type Latex } from "../ir/op.js";
import { baseLetters, Notation, termNode } from "./notation.js";
import { DEFAULT_DIGITS, formatNumber, numberLatex, tensorLatex } from "./numbers.js";
import { RecurrenceContext, withSubscript } from "./recurrence.js";
import type { DerivationScope } from "./derivation.js";
import { isFlippedProjection, unflip } from "../ir/reversed.js";

/** Constants print as numbers; a uniform tensor as c·1. */
export function constantLatex(value: Float64Array, shape: Node["shape"], digits: number): Latex {
  const v = value[0]!;
  if (value.every((x) => x === v)) {
    const text = formatNumber(v, digits);
    if (shape.length === 0) return numberLatex(v, digits);
    // A tensor of ones is 𝟏, of another constant c·𝟏.
    return v === 1
      ? { text: "\\mathbf{1}", prec: PREC.atom }
      : { text: `${text}\\,\\mathbf{1}`, prec: PREC.product };
  }
  return { text: tensorLatex({ shape: shape as number[], data: value }, digits), prec: PREC.atom };
}

/** δ of a symbol: δ_{h_t}. */
export const deltaOf = (symbol: string) => `\\delta_{${symbol}}`;

/**
 * Everything the handout's sections share: the names of values (the model's and the few the
 * derivation adds), the derivation as autodiff recorded it, and the worked numbers from the
 * reference evaluator running the same IR the code is generated from.
 */
export class HandoutContext implements DerivationScope {
  readonly notation: Notation;
  readonly recurrences: RecurrenceContext[] = [];
  readonly lossSymbol: string;
  readonly params: readonly NamedValue[];
  /** Why there are no worked numbers, when there are none though the model has values to work with. */
  readonly unworked: Unworked | undefined;
  /** The reference evaluator at the example values, when the model has them all. */
  readonly worked: Evaluator | undefined;
  readonly values: ReadonlyMap<string, Tensor>;
  /** Result node → the δ it is, for adjoint expressions. */
  private readonly resultSymbols = new Map<NodeId, string>();
  /** The nodes that hold a shown value's δ. */
  private shownResults: Set<NodeId> | undefined;

  constructor(
    readonly graph: Graph,
    readonly gradient: Gradient,
    readonly digits = DEFAULT_DIGITS,
  ) {
    const nodes = gradient.nodes;
    const symbols = new Map<NodeId, string>();
    for (const n of graph.named) if (!symbols.has(n.node)) symbols.set(n.node, latexName(n.name, n.latex));
    // A backward recurrence's projection is its stacked value, in reverse: it has the value's name.
    for (const n of graph.named)
      if (isFlippedProjection(nodes, n.node)) symbols.set(unflip(nodes, n.node), latexName(n.name, n.latex));
    // One step of a stacked sequence reads as that step: h_T, x_3.
    for (const n of nodes) {
      if (n.kind !== "op" || n.op !== "take" || symbols.has(n.id)) continue;
      const of = symbols.get(n.args[0]!);
      if (of !== undefined) symbols.set(n.id, withSubscript(of, String(n.attrs.step)));
    }
    this.params = graph.named.filter((n) => n.kind === "param");
    const params = new Set(this.params.map((p) => p.node));
    const used = baseLetters(symbols.values());
    this.notation = new Notation(
      nodes,
      gradient.trace,
      symbols,
      used,
      (id) =>
        params.has(id) ||
        nodes[id]!.kind === "project" ||
        isFlippedProjection(nodes, id) ||
        nodes[id]!.kind === "input",
    );
    this.lossSymbol = this.notation.symbols.get(graph.loss)!;
    for (const id of this.notation.shown) {
      const result = this.notation.step(id)!.result;
      if (nodes[result]!.kind !== "const" && !this.resultSymbols.has(result))
        this.resultSymbols.set(result, this.delta(id));
    }
    const given = graph.named.filter((n) => n.kind === "input" || n.kind === "target" || n.kind === "param");
    this.values = graph.example;

    // No worked example for a recurrence too long or a value too large to print: the evaluator
    // would keep every step and every entry. The handout says so instead.
    this.unworked = given.length > 0 ? unworked(graph, nodes) : undefined;
    this.worked = given.length > 0 && !this.unworked ? new Evaluator(nodes, graph.example) : undefined;
    // Each recurrence names its unnamed values with letters the others have not taken: a
    // bidirectional RNN's two pre-activations are a_t and b_t, not a_t twice.
    const taken = new Set(used);
    for (const n of nodes)
      if (n.kind === "scan") {
        const r = new RecurrenceContext(this, n, taken);
        this.recurrences.push(r);
        for (const a of r.notation.auxiliaries) taken.add(/^(\\[A-Za-z]+|[A-Za-z])/.exec(a.symbol)![1]!);
      }
  }

  symbol(id: NodeId): string | undefined {
    return this.notation.symbols.get(id);
  }

  /** δ of a value as the derivation names it (that of the value it shares its δ with). */
  delta(id: NodeId): string {
    const head = this.notation.representativeOf(id);
    return deltaOf(this.notation.deltaNames.get(head) ?? this.notation.symbols.get(id) ?? "?");
  }

  /** The name of the value whose δ a step derives (a shared δ goes by its named member's name). */
  deltaName(id: NodeId): string {
    return this.notation.deltaNames.get(id) ?? this.symbol(id) ?? "?";
  }

  private renderContext(symbols: (id: NodeId) => Latex | undefined): RenderContext {
    return {
      symbol: symbols,
      adjoint: (of) => this.composedDelta(of),
      constant: (value, shape) => constantLatex(value, shape, this.digits),
      other: (n) => this.recurrenceOf(n)?.outerLatex(n),
      operandValues: (n) => n.args.map((a) => this.workedValue(a)),
    };
  }

  /** A value of the outer graph at the example, when the handout works with numbers. */
  workedValue(id: NodeId): Tensor | undefined {
    const n = this.gradient.nodes[id];
    return this.worked && n && n.kind !== "adjoint" ? this.worked.value(id) : undefined;
  }

  /**
   * `∂f/∂x` for a gradient the model takes itself (`grad(f, x)`), written before its
   * expansion so the equation says what it computes.
   */
  gradientTaken(id: NodeId): string | undefined {
    const g = this.graph.gradients?.find((g) => g.node === id);
    if (!g) return undefined;
    const f = this.forward();
    return `\\frac{\\partial ${f.reference(g.of)}}{\\partial ${f.reference(g.wrt)}}`;
  }

  /** A value's defining expression, after `∂f/∂x =` when it is a gradient the model takes. */
  definition(id: NodeId, f: ExpressionRenderer = this.forward()): string {
    const taken = this.gradientTaken(id);
    return taken === undefined ? f.definition(id) : `${taken} = ${f.definition(id)}`;
  }

  /** Expressions over the forward values: named values and the derivation's names print as symbols. */
  forward(): ExpressionRenderer {
    return new ExpressionRenderer(
      this.gradient.nodes,
      this.renderContext((id) => {
        const s = this.notation.symbols.get(id);
        return s === undefined ? undefined : { text: s, prec: PREC.atom };
      }),
    );
  }

  /** A lecture's formulas: forward values, and the quantities the lecture defines by their names (O_delta). */
  lectureFormulas(): ExpressionRenderer {
    const defined = new Map<NodeId, string>();
    for (const item of this.graph.lecture?.items ?? [])
      if (item.quantity.kind === "definition" && !defined.has(item.quantity.node))
        defined.set(item.quantity.node, item.latex ?? latexName(item.name));
    return new ExpressionRenderer(
      this.gradient.nodes,
      this.renderContext((id) => {
        const s = defined.get(id) ?? this.notation.symbols.get(id);
        return s === undefined ? undefined : { text: s, prec: PREC.atom };
      }),
    );
  }

  /**
   * Expressions over adjoints: a shown value's δ prints as δ_v. When deriving `step`, the δs
   * of its own consumers print as those consumers' δ, as the chain rule just written says.
   */
  backward(expanding?: NodeId): ExpressionRenderer {
    // Changes over the shared symbols, not a copy of them: asked once for every value.
    const local = new Map<NodeId, string | undefined>();
    if (expanding !== undefined) {
      local.set(this.notation.step(expanding)!.result, undefined);
      for (const { through } of this.notation.effectiveTerms(expanding)) {
        if (through === undefined) continue;
        const r = this.notation.step(through)?.result;
        if (r !== undefined && this.gradient.nodes[r]!.kind !== "const" && this.notation.hasShown(through))
          local.set(r, this.delta(through));
      }
    }
    return new ExpressionRenderer(
      this.gradient.nodes,
      this.renderContext((id) => {
        const s =
          this.notation.symbols.get(id) ?? (local.has(id) ? local.get(id) : this.resultSymbols.get(id));
        return s === undefined ? undefined : { text: s, prec: PREC.atom };
      }),
    );
  }

  /**
   * The same expressions with every symbol replaced by its worked value: the line a reader
   * checks with a calculator. Only for scalar expressions.
   */
  numeric(ev: Evaluator, deltas = true, expanding?: NodeId): ExpressionRenderer {
    const number = (id: NodeId): Latex => numberLatex(ev.value(id).data[0]!, this.digits);
    // The δ being derived is written out, not replaced by its own value.
    const expanded = expanding === undefined ? undefined : this.notation.step(expanding)!.result;
    const results = (this.shownResults ??= new Set(
      this.notation.shown.map((id) => this.notation.step(id)!.result),
    ));
    const resultOf = { has: (id: NodeId) => id !== expanded && results.has(id) };
    // A δ with no step of its own is written out, as the symbolic line wrote it, with numbers.
    const adjoint = (of: NodeId): Latex => {
      const head = this.notation.representativeOf(of);
      const step = this.notation.step(head);
      if (!step || this.notation.hasShown(head) || this.gradient.nodes[step.result]!.kind === "const")
        return number(step?.result ?? of);
      const parts = step.terms.flatMap((t) =>
        termNode(t) === undefined ? [] : [renderer.latex(termNode(t)!)],
      );
      return parts.length === 1 ? parts[0]! : { text: parts.map((p) => p.text).join(" + "), prec: PREC.sum };
    };
    const renderer: ExpressionRenderer = new ExpressionRenderer(this.gradient.nodes, {
      symbol: (id) => {
        const n = this.gradient.nodes[id]!;
        if (n.kind === "const") return undefined;
        const leaf =
          this.notation.symbols.has(id) ||
          (deltas && resultOf.has(id)) ||
          n.kind === "input" ||
          n.kind === "param";
        if (!leaf) return undefined;
        // Only scalars are substituted; a tensor keeps its name.
        if (n.shape.length > 0)
          return { text: this.notation.symbols.get(id) ?? this.delta(id), prec: PREC.atom };
        return number(id);
      },
      adjoint,
      constant: (value, shape) => constantLatex(value, shape, this.digits),
      other: (n) => this.recurrenceOf(n)?.outerLatex(n),
      operandValues: (n) => n.args.map((a) => this.workedValue(a)),
    });
    return renderer;
  }

  /**
   * δ of a value in a general form: its symbol when it has a step of its own, otherwise what
   * its chain rule gives (the sum of its terms' general forms), so that unnamed values vanish
   * into the expressions around them.
   */
  composedDelta(of: NodeId): Latex {
    const head = this.notation.representativeOf(of);
    const result = this.notation.step(head)?.result;
    if (result !== undefined && this.gradient.nodes[result]!.kind === "const")
      return constantLatex(
        (this.gradient.nodes[result] as Extract<Node, { kind: "const" }>).value,
        [],
        this.digits,
      );
    if (this.notation.hasShown(head) || this.notation.step(head) === undefined)
      return { text: this.delta(head), prec: PREC.atom };
    const r = this.backward();
    const parts = this.notation
      .step(head)!
      .terms.flatMap((t) => (termNode(t) === undefined ? [] : [r.latex(termNode(t)!)]));
    if (parts.length === 1) return parts[0]!;
    return { text: parts.map((p) => p.text).join(" + "), prec: PREC.sum };
  }

  recurrenceOf(n: Node): RecurrenceContext | undefined {
    if (isFlippedProjection(this.gradient.nodes, n.id))
      n = this.gradient.nodes[unflip(this.gradient.nodes, n.id)]!;
    if (n.kind !== "project") return undefined;
    return this.recurrences.find((r) => r.scan.id === n.scan || r.adjoint?.id === n.scan);
  }

  nodeOf(id: NodeId): Node | undefined {
    return this.gradient.nodes[id];
  }

  isLoss(id: NodeId): boolean {
    return id === this.graph.loss;
  }

  isScalar(id: NodeId): boolean {
    return this.gradient.nodes[id]!.shape.length === 0;
  }
}
