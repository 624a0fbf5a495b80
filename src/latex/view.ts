import type { Graph, NodeId } from "../ir/types.js";
import type { DerivationStep, Gradient } from "../autodiff/reverse.js";
import { latexName } from "./names.js";
import { ExpressionRenderer } from "./render.js";
import { RecurrenceView, withSubscript } from "./recurrence.js";
import { PREC, type Latex } from "../ops/def.js";
import type { Node, ScanAdjointNode } from "../ir/types.js";

/** A letter for intermediate values that no name of the model starts with (u, unless the model uses it). */
function freeLetter(graph: Graph): string {
  const used = new Set(
    graph.named.map((n) =>
      latexName(n.name, n.latex)
        .replace(/^\\[a-z]+\{/, "")
        .charAt(0),
    ),
  );
  return ["u", "v", "q", "r", "s", "e"].find((l) => !used.has(l)) ?? "u";
}

/**
 * What the handout calls each value, and which derivation steps it shows. An unnamed
 * intermediate whose adjoint is the very same IR node as a later value's (W x in W x + b)
 * shares that value's δ and gets no step of its own; the others are named u_1, u_2, …
 */
export class DerivationView {
  readonly symbols = new Map<NodeId, string>();
  /** Unnamed intermediates that get a name and a step, in forward order. */
  readonly auxiliaries: NodeId[] = [];
  readonly steps: DerivationStep[] = [];
  readonly lossName: string;
  /** Expressions over forward values. */
  readonly forward: ExpressionRenderer;
  /** Expressions over adjoints: an adjoint with its own step prints as its δ. */
  readonly backward: ExpressionRenderer;
  private readonly representative = new Map<NodeId, NodeId>();

  constructor(
    readonly graph: Graph,
    readonly gradient: Gradient,
  ) {
    const nodes = gradient.nodes;
    for (const n of graph.named)
      if (!this.symbols.has(n.node)) this.symbols.set(n.node, latexName(n.name, n.latex));
    // Values sharing one adjoint node are represented by the one nearest the loss.
    const byAdjoint = new Map<NodeId, NodeId>();
    for (const [forward, adjoint] of gradient.adjoints) {
      const previous = byAdjoint.get(adjoint);
      if (previous === undefined || forward > previous) byAdjoint.set(adjoint, forward);
    }
    for (const [forward, adjoint] of gradient.adjoints)
      this.representative.set(forward, byAdjoint.get(adjoint)!);
    const shown = (id: NodeId) => this.symbols.has(id) || this.representative.get(id) === id;
    // One step of a stacked sequence reads as that step: h_T, x_3.
    for (const n of nodes) {
      if (n.kind !== "op" || n.op !== "take" || this.symbols.has(n.id)) continue;
      const of = this.symbols.get(n.args[0]!);
      if (of !== undefined) this.symbols.set(n.id, withSubscript(of, String(n.attrs.step)));
    }
    const letter = freeLetter(graph);
    let aux = 0;
    for (const step of [...gradient.trace].reverse()) {
      if (nodes[step.node]!.kind === "op" && !this.symbols.has(step.node) && shown(step.node)) {
        this.symbols.set(step.node, `${letter}_{${++aux}}`);
        this.auxiliaries.push(step.node);
      }
    }
    for (const step of gradient.trace) if (this.symbols.has(step.node)) this.steps.push(step);
    this.lossName = this.symbols.get(graph.loss)!;
    for (const n of nodes) {
      if (n.kind !== "scan") continue;
      const adjoint = nodes.find(
        (a): a is ScanAdjointNode => a.kind === "scan_adjoint" && a.forward === n.id,
      );
      this.recurrences.push(
        new RecurrenceView(
          n,
          adjoint,
          graph,
          nodes,
          (id) => this.symbol(id),
          this.lossName,
          letter,
          (id) => this.forward.reference(id),
        ),
      );
    }
    const delta = (of: NodeId) => this.delta(of);
    const other = (n: Node) => this.projection(n);
    this.forward = new ExpressionRenderer(nodes, this.symbols, delta, other);
    const adjointSymbols = new Map(this.symbols);
    for (const [adjoint, forward] of byAdjoint) {
      // A trivial δ_L = 1 and adjoints that are forward values themselves print as what they are.
      if (forward !== graph.loss && nodes[adjoint]!.kind === "op" && !this.symbols.has(adjoint)) {
        adjointSymbols.set(adjoint, this.delta(forward));
      }
    }
    this.adjointSymbols = adjointSymbols;
    this.backward = new ExpressionRenderer(nodes, adjointSymbols, delta, other);
  }

  readonly recurrences: RecurrenceView[] = [];

  recurrenceOf(scan: NodeId): RecurrenceView | undefined {
    return this.recurrences.find((r) => r.scan.id === scan || r.adjoint?.id === scan);
  }

  /** LaTeX for the values of a scan: stacked states and outputs, sums over the steps, initial values' adjoints. */
  private projection(n: Node): Latex | undefined {
    if (n.kind !== "project") return undefined;
    const r = this.recurrenceOf(n.scan);
    if (!r) return undefined;
    const t = r.index;
    switch (n.what) {
      case "state":
        return {
          text: latexName(r.scan.states[n.index]!.name),
          prec: PREC.atom,
        };
      case "output":
        return r.forwardRenderer().latex(r.scan.outputs[n.index]!);
      case "summed": {
        const body = r.backwardRenderer().latex(r.adjoint!.summed[n.index]!);
        return {
          text: `\\sum_{${t}=1}^{${r.scan.length}} ${body.prec < PREC.product ? `\\left(${body.text}\\right)` : body.text}`,
          prec: PREC.product,
        };
      }
      case "stacked":
        return {
          text: `\\left[${r.backwardRenderer().reference(r.adjoint!.stacked[n.index]!)}\\right]_{${t}=1}^{${r.scan.length}}`,
          prec: PREC.atom,
        };
      case "init": {
        const s = r.scan.states[n.index]!;
        return {
          text: `\\delta_{${withSubscript(latexName(s.name), String(n.position - s.lags + 1))}}`,
          prec: PREC.atom,
        };
      }
    }
  }

  private readonly adjointSymbols: Map<NodeId, string>;

  /**
   * The backward renderer for one step: the adjoints of the step's consumers print as those
   * consumers' δ, as in the chain rule just written, even where a later value shares them.
   */
  backwardFor(step: DerivationStep): ExpressionRenderer {
    const symbols = new Map(this.adjointSymbols);
    // The value being derived is written out, not named by its own δ.
    if (!this.symbols.has(step.result)) symbols.delete(step.result);
    for (const t of step.terms) {
      const adjoint = this.gradient.adjoints.get(t.consumer);
      if (adjoint !== undefined && symbols.has(adjoint) && !this.symbols.has(adjoint))
        symbols.set(adjoint, this.delta(t.consumer));
    }
    return new ExpressionRenderer(
      this.gradient.nodes,
      symbols,
      (of) => this.delta(of),
      (n) => this.projection(n),
    );
  }

  symbol(id: NodeId): string {
    return this.symbols.get(id) ?? `\\left(${this.forward.definition(id)}\\right)`;
  }

  /** δ of a value: its own, or that of the value it shares its adjoint with. */
  delta(of: NodeId): string {
    const named = this.symbols.has(of) ? of : (this.representative.get(of) ?? of);
    return `\\delta_{${this.symbols.get(named) ?? "?"}}`;
  }
}
