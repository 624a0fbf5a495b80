import type { Node, NodeId, ScanAdjointNode, ScanNode } from "../ir/types.js";
import type { Evaluator } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import { ExpressionRenderer } from "./render.js";
import { dimLatex, latexName } from "../syntax/latexName.js";
import { PREC, type Latex } from "../ir/op.js";
import type { Block, EquationRow } from "./document.js";
import { para, prose } from "./document.js";
import { Notation, termNode } from "./notation.js";
import { constantLatex, deltaOf, type HandoutContext } from "./context.js";
import { deltaStep, partial, sum, type DerivationScope } from "./derivation.js";
import { breakRows } from "./width.js";
import { formatNumber, numberLatex } from "./numbers.js";
import { stepTable, type StepRow } from "./tables.js";
import { flipOver, unflip } from "../ir/reversed.js";

/** `W_{xh}` with subscript t is W_{xh,t}; `\hat{y}` is \hat{y}_{t}. */
export function withSubscript(latex: string, sub: string): string {
  const m = /^(.*)_\{([^{}]*)\}$/.exec(latex);
  if (m) return `${m[1]}_{${m[2]},${sub}}`;
  if (/^([A-Za-z]|\\[A-Za-z]+(\{[^{}]*\})?)$/.test(latex)) return `${latex}_{${sub}}`;
  return `{${latex}}_{${sub}}`;
}

/**
 * One recurrence as the handout writes it: its equations for a step t, and — when it has an
 * adjoint — backpropagation through time as a backward recurrence, in general form for any
 * number of steps, with the per-step numbers in a table.
 */
export class RecurrenceContext implements DerivationScope {
  readonly adjoint: ScanAdjointNode | undefined;
  readonly index: string;
  readonly length: string;
  readonly notation: Notation;
  readonly lossSymbol: string;
  readonly digits: number;
  readonly worked = undefined;
  /** The steps run from the last to the first (the states read later steps). */
  readonly reverse: boolean;
  /** The number of steps of the worked example, for numbering a backward recurrence's steps. */
  private workedSteps: number | undefined;
  /** Body values the model names (states and per-step equations), by body id. */
  private readonly names = new Map<NodeId, string>();
  /** Unnamed body values the derivation names: the letter, and for a pre-activation the value it feeds. */
  private readonly auxiliaries = new Map<
    NodeId,
    { letter: string; of?: NodeId; counter?: number; byName?: boolean }
  >();

  constructor(
    private readonly ctx: HandoutContext,
    readonly scan: ScanNode,
    usedLetters: ReadonlySet<string>,
  ) {
    const nodes = ctx.gradient.nodes;
    this.adjoint = nodes.find(
      (a): a is ScanAdjointNode => a.kind === "scan_adjoint" && a.forward === scan.id,
    );
    this.index = dimLatex(scan.index);
    this.length = typeof scan.length === "number" ? String(scan.length) : dimLatex(scan.length);
    this.reverse = scan.reverse === true;
    this.lossSymbol = ctx.lossSymbol;
    this.digits = ctx.digits;
    const latexOf = (name: string) => ctx.graph.named.find((n) => n.name === name)?.latex;
    scan.states.forEach((s) => this.names.set(s.next, latexName(s.name, latexOf(s.name))));
    for (const n of ctx.graph.named) {
      const p = nodes[unflip(nodes, n.node)];
      if (p?.kind === "project" && p.scan === scan.id && p.what === "output")
        this.names.set(scan.outputs[p.index]!, latexName(n.name, n.latex));
    }
    const initial = new Map<NodeId, string>();
    for (const n of scan.body) {
      const s = this.symbolAt(n.id, 0);
      if (s !== undefined) initial.set(n.id, s);
    }
    this.notation = new Notation(scan.body, this.adjoint?.trace ?? [], initial, usedLetters, (id) => {
      const k = scan.body[id]!.kind;
      return k === "carry" || k === "slice" || k === "outer";
    });
    let counter = 0;
    for (const a of this.notation.auxiliaries) {
      const letter = /^(\\[A-Za-z]+|[A-Za-z])/.exec(a.symbol)![1]!;
      this.auxiliaries.set(
        a.node,
        a.preactivationOf !== undefined
          ? {
              letter,
              of: a.preactivationOf,
              byName: a.symbol.startsWith(`${letter}_{`) && a.symbol.includes(","),
            }
          : { letter, counter: ++counter },
      );
    }
  }

  /**
   * Step t + shift in the order the recurrence runs — t − shift for one that runs backwards —
   * or, with `base`, the step numbered base + shift in that order (h_2 rather than h_{t-1}).
   */
  stepText(shift: number, base?: number): string {
    if (base !== undefined) {
      const p = base + shift;
      if (!this.reverse) return String(p);
      const steps = this.workedSteps ?? (/^\d+$/.test(this.length) ? Number(this.length) : undefined);
      return steps !== undefined ? String(steps + 1 - p) : `${this.length}+${1 - p}`;
    }
    const offset = this.reverse ? -shift : shift;
    return offset === 0 ? this.index : offset > 0 ? `${this.index}+${offset}` : `${this.index}-${-offset}`;
  }

  /** The step an initial value stands for: 1 − lags + p going forwards, T + lags − p going backwards. */
  initialStep(lags: number, p: number): string {
    if (!this.reverse) return String(p - lags + 1);
    return /^\d+$/.test(this.length) ? String(Number(this.length) + lags - p) : `${this.length}+${lags - p}`;
  }

  /** The steps in the model's order (a backward recurrence computes them last first). */
  private inModelOrder<T>(values: readonly T[]): T[] {
    return this.reverse ? [...values].reverse() : [...values];
  }

  /** The symbol of a forward body value at step t + shift (undefined for an unnamed intermediate). */
  symbolAt(id: NodeId, shift: number, base?: number): string | undefined {
    const n = this.scan.body[id]!;
    const at = this.stepText(shift, base);
    if (n.kind === "carry")
      return withSubscript(latexName(this.scan.states[n.state]!.name), this.stepText(shift - n.lag, base));
    if (n.kind === "slice") {
      // A sequence read k steps back (teacher forcing): y_{t-1}.
      const delay = this.ctx.gradient.nodes[n.source];
      if (delay?.kind === "op" && delay.op === "delay")
        return withSubscript(
          this.outerSymbol(delay.args[0]!),
          this.stepText(shift - Number(delay.attrs.k), base),
        );
      return withSubscript(this.outerSymbol(n.source), at);
    }
    if (n.kind === "outer") return this.outerSymbol(n.source);
    const name = this.names.get(id);
    if (name !== undefined) return withSubscript(name, at);
    const aux = this.auxiliaries?.get(id);
    if (!aux) return undefined;
    if (aux.of !== undefined) {
      // a_{f,t} names the gate it feeds; a_t replaces the activation's letter.
      if (aux.byName) return withSubscript(`${aux.letter}_{${this.names.get(aux.of) ?? "?"}}`, at);
      const of = this.symbolAt(aux.of, shift, base)!;
      return of.replace(/^(\\[A-Za-z]+\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z])/, aux.letter);
    }
    return `${aux.letter}^{(${aux.counter})}_{${at}}`;
  }

  /**
   * The name a row of the recurrence's equations defines. A bare copy (c_t = x_t) is the node
   * it copies, whose symbol is the original's: its row is named after the copy.
   */
  nameAt(id: NodeId, shift: number, base?: number): string {
    const n = this.scan.body[id]!;
    const name = this.names.get(id);
    if (name !== undefined && (n.kind === "slice" || n.kind === "carry" || n.kind === "outer"))
      return withSubscript(name, this.stepText(shift, base));
    return this.symbolAt(id, shift, base)!;
  }

  /** What a copy reads, as a definition: the original's symbol. */
  private copied(n: Node, shift: number, base?: number): Latex | undefined {
    if (n.kind !== "slice" && n.kind !== "carry" && n.kind !== "outer") return undefined;
    const s = this.symbolAt(n.id, shift, base);
    return s === undefined ? undefined : { text: s, prec: PREC.atom };
  }

  private outerSymbol(source: NodeId): string {
    const read = unflip(this.ctx.gradient.nodes, source);
    return this.ctx.symbol(read) ?? this.ctx.forward().reference(read);
  }

  symbol(id: NodeId): string | undefined {
    return this.symbolAt(id, 0);
  }

  deltaName(id: NodeId): string {
    return this.symbolAt(id, 0) ?? this.namedMember(id, 0) ?? "?";
  }

  delta(id: NodeId, shift = 0): string {
    const head = this.notation.representativeOf(id);
    const named = this.symbolAt(head, shift) ?? this.namedMember(head, shift);
    return deltaOf(named ?? this.symbolAt(id, shift) ?? "?");
  }

  /** The model's name for a shared δ: the named member of the values sharing it, nearest the loss. */
  private namedMember(head: NodeId, shift: number): string | undefined {
    for (const s of this.adjoint?.trace ?? [])
      if (this.notation.representativeOf(s.node) === head) {
        const name = this.symbolAt(s.node, shift);
        if (name !== undefined) return name;
      }
    return undefined;
  }

  nodeOf(id: NodeId): Node | undefined {
    return this.adjoint?.body[id];
  }

  isLoss(): boolean {
    return false;
  }

  isScalar(id: NodeId): boolean {
    return this.scan.body[id]!.shape.length === 0;
  }

  forward(shift = 0, base?: number): ExpressionRenderer {
    return new ExpressionRenderer(this.scan.body, {
      symbol: (id) => {
        const s = this.symbolAt(id, shift, base);
        return s === undefined ? undefined : { text: s, prec: PREC.atom };
      },
      adjoint: () => ({ text: "?", prec: PREC.atom }),
      constant: (value, shape) => constantLatex(value, shape, this.digits),
      other: (n) => this.copied(n, shift, base),
      operandValues: (n) => n.args.map((a) => this.givenSteps(this.scan.body, a)),
    });
  }

  /** A body value over every step at the example, when the model gives it (a sequence, an outer value). */
  private givenSteps(body: readonly Node[], id: NodeId): Tensor | undefined {
    const n = body[id]!;
    if (n.kind === "slice" || n.kind === "outer") return this.ctx.workedValue(n.source);
    if (n.kind === "residual") return this.givenSteps(this.scan.body, n.node);
    return undefined;
  }

  /** Adjoint expressions at step t + shift: forward values by their symbols, δs by theirs. */
  backward(expanding?: NodeId, shift = 0): ExpressionRenderer {
    const adjoint = this.adjoint!;
    const forward = this.forward(shift);
    const results = new Map<NodeId, string>();
    for (const id of this.notation.shown) {
      const r = this.notation.step(id)!.result;
      if (adjoint.body[r]!.kind !== "const" && !results.has(r) && id !== expanding)
        results.set(r, this.delta(id, shift));
    }
    return new ExpressionRenderer(adjoint.body, {
      symbol: (id) => {
        const s = results.get(id);
        return s === undefined ? undefined : { text: s, prec: PREC.atom };
      },
      adjoint: (of) => this.composedDelta(of, shift),
      constant: (value, shape) => constantLatex(value, shape, this.digits),
      other: (n) => this.bodyLatex(n, shift, forward),
      operandValues: (n) => n.args.map((a) => this.givenSteps(adjoint.body, a)),
    });
  }

  numeric(): ExpressionRenderer {
    throw new Error("a recurrence's numbers are tabulated per step");
  }

  private bodyLatex(n: Node, shift: number, forward: ExpressionRenderer): Latex | undefined {
    if (n.kind === "residual") {
      const s = this.symbolAt(n.node, shift);
      return s !== undefined ? { text: s, prec: PREC.atom } : forward.latex(n.node);
    }
    if (n.kind === "state_adjoint")
      return { text: this.delta(this.scan.states[n.state]!.next, shift), prec: PREC.atom };
    if (n.kind === "slice") return { text: this.direct(n.source, shift), prec: PREC.atom };
    if (n.kind === "outer") return { text: this.outerSymbol(n.source), prec: PREC.atom };
    return undefined;
  }

  /** What the equations after the recurrence send a per-step value directly at step t. */
  private direct(outerAdjoint: NodeId, shift: number): string {
    const owner = this.ctx.gradient.adjoints;
    // A backward recurrence receives its stacked δ flipped into its own order.
    const sent = unflip(this.ctx.gradient.nodes, outerAdjoint);
    for (const [forward, adjoint] of owner)
      if (adjoint === sent || adjoint === outerAdjoint) {
        const s = this.ctx.symbol(forward);
        if (s !== undefined) return `\\delta^{\\mathrm{out}}_{${withSubscript(s, this.stepText(shift))}}`;
      }
    return `\\left(${this.ctx.backward().reference(outerAdjoint)}\\right)_{${this.stepText(shift)}}`;
  }

  composedDelta(of: NodeId, shift: number): Latex {
    const head = this.notation.representativeOf(of);
    const step = this.notation.step(head);
    if (step && this.adjoint!.body[step.result]!.kind === "const")
      return constantLatex(
        (this.adjoint!.body[step.result] as Extract<Node, { kind: "const" }>).value,
        [],
        this.digits,
      );
    if (this.notation.hasShown(head) || !step) return { text: this.delta(head, shift), prec: PREC.atom };
    const r = this.backward(undefined, shift);
    const parts = step.terms.flatMap((t) => (termNode(t) === undefined ? [] : [r.latex(termNode(t)!)]));
    return parts.length === 1 ? parts[0]! : { text: parts.map((p) => p.text).join(" + "), prec: PREC.sum };
  }

  /** LaTeX for a projection of this recurrence in outer expressions. */
  outerLatex(n: Node): Latex | undefined {
    if (n.kind !== "project") return undefined;
    const t = this.index;
    switch (n.what) {
      case "state":
        return { text: latexName(this.scan.states[n.index]!.name), prec: PREC.atom };
      case "output":
        return this.forward().latex(this.scan.outputs[n.index]!);
      case "summed": {
        const body = this.leafDelta(this.adjoint!.summed[n.index]!, 0);
        return {
          text: `\\sum_{${t}=1}^{${this.length}} ${body.prec < PREC.product ? `\\left(${body.text}\\right)` : body.text}`,
          prec: PREC.product,
        };
      }
      case "stacked":
        return {
          text: `\\left[${this.leafDelta(this.adjoint!.stacked[n.index]!, 0).text}\\right]_{${t}=1}^{${this.length}}`,
          prec: PREC.atom,
        };
      case "init": {
        const s = this.scan.states[n.index]!;
        return {
          text: deltaOf(withSubscript(latexName(s.name), this.initialStep(s.lags, n.position))),
          prec: PREC.atom,
        };
      }
    }
  }

  /** A leaf's δ (what is carried back, summed or stacked) as its terms' general forms. */
  private leafDelta(resultNode: NodeId, shift: number): Latex {
    const leaf = this.adjoint!.trace.find((s) => s.result === resultNode)?.node;
    const r = this.backward(undefined, shift);
    if (leaf === undefined) return r.latex(resultNode);
    const terms = this.notation.effectiveTerms(leaf);
    const parts = terms.flatMap((t) =>
      termNode(t.term) === undefined ? [] : [r.reference(termNode(t.term)!)],
    );
    return parts.length === 1
      ? r.latex(termNode(terms[0]!.term) ?? resultNode)
      : { text: sum(parts), prec: PREC.sum };
  }

  /** `h_t = tanh(a_t)` for every named value of a step, and the names the derivation adds. */
  equationRows(): EquationRow[] {
    const f = this.forward();
    const ids = [
      ...new Set([...this.scan.states.map((s) => s.next), ...this.names.keys(), ...this.auxiliaries.keys()]),
    ].sort((a, b) => a - b);
    return ids.map((id) => ({ lhs: this.nameAt(id, 0), rhs: f.definition(id) }));
  }

  initialRows(): EquationRow[] {
    const states = this.scan.states.flatMap((st) =>
      st.init.map((init, p) => ({
        lhs: withSubscript(latexName(st.name), this.initialStep(st.lags, p)),
        rhs: this.ctx.forward().reference(init),
      })),
    );
    // A sequence read steps back (teacher forcing) starts from its given values too: y_0 = 0.
    const nodes = this.ctx.gradient.nodes;
    const sequences = this.scan.body.flatMap((n) => {
      const delay = n.kind === "slice" ? nodes[n.source] : undefined;
      if (delay?.kind !== "op" || delay.op !== "delay") return [];
      const [x, ...inits] = delay.args;
      return inits.map((init, p) => ({
        lhs: withSubscript(this.outerSymbol(x!), this.initialStep(inits.length, p)),
        rhs: this.ctx.forward().reference(init),
      }));
    });
    return [...states, ...sequences];
  }

  /** Backpropagation through time: the states' δ, the chain rule within a step, the sums over the steps. */
  derivation(): Block[] {
    const adjoint = this.adjoint;
    if (!adjoint) return [];
    const t = this.index;
    const blocks: Block[] = [];
    if (this.scan.states.length > 0)
      blocks.push(
        para(
          ...prose(
            this.reverse
              ? `The recurrence ran backwards, so its δs run forwards, $${t} = 1, \\dots, ${this.length}$: the δ of a state collects what the equations after the recurrence send it directly (written $\\delta^{\\mathrm{out}}$) and what step $${t}-1$, computed from it, sends back through it; a step before the first sends nothing.`
              : `Going backwards, $${t} = ${this.length}, \\dots, 1$, the δ of a state collects what the equations after the recurrence send it directly (written $\\delta^{\\mathrm{out}}$) and what step $${t}+1$ sends back through it; a step after the last sends nothing.`,
          ),
        ),
      );
    const rows: EquationRow[] = [];
    this.scan.states.forEach((s, k) => {
      const parts: string[] = [];
      const outer = adjoint.stateAdjoints[k];
      if (outer !== null && outer !== undefined) parts.push(this.direct(outer, 0));
      for (const c of adjoint.carries.filter((c) => c.state === k))
        parts.push(this.leafDelta(c.node, c.lag).text);
      const own = this.notation.step(s.next);
      for (const term of own?.terms ?? [])
        if (term.kind === "use") parts.push(this.backward(s.next).reference(term.general));
      rows.push({
        lhs: `${this.delta(s.next)} = ${partial(this.lossSymbol, this.symbolAt(s.next, 0)!)}`,
        rhs: parts.length > 0 ? sum(parts) : "0",
      });
    });
    if (rows.length > 0) blocks.push({ kind: "equations", rows: breakRows(rows) });
    blocks.push(...this.directParts());
    const inner = this.notation.shown.filter((id) => !this.scan.states.some((s) => s.next === id));
    if (inner.length > 0) {
      blocks.push(
        para(
          ...prose(
            rows.length > 0
              ? `Within step $${t}$, by the chain rule:`
              : `At each step $${t}$, by the chain rule:`,
          ),
        ),
      );
      for (const id of inner) blocks.push(...deltaStep(this, id));
    }
    const finals: EquationRow[] = [];
    adjoint.summedSources.forEach((source, j) => {
      const p = this.outerSymbol(source);
      const body = this.leafDelta(adjoint.summed[j]!, 0);
      finals.push({
        lhs: partial(this.lossSymbol, p),
        rhs: `\\sum_{${t}=1}^{${this.length}} ${partial(this.lossSymbol, p)}^{(${t})} = \\sum_{${t}=1}^{${this.length}} ${body.prec < PREC.product ? `\\left(${body.text}\\right)` : body.text}`,
      });
    });
    adjoint.stackedSources.forEach((source, j) => {
      finals.push({
        lhs: partial(this.lossSymbol, withSubscript(this.outerSymbol(source), t)),
        rhs: this.leafDelta(adjoint.stacked[j]!, 0).text,
      });
    });
    if (finals.length > 0) {
      blocks.push(
        para(
          ...prose(
            `A parameter read at every step collects one contribution per step, $${partial(this.lossSymbol, "W")}^{(${t})}$, and its gradient is their sum:`,
          ),
        ),
        { kind: "equations", rows: breakRows(finals) },
      );
    }
    return blocks;
  }

  /** What δ^out is for each state: which equations after the recurrence read which steps. */
  private directParts(): Block[] {
    const out: Block[] = [];
    const t = this.index;
    this.scan.states.forEach((s, k) => {
      const outer = this.adjoint!.stateAdjoints[k];
      if (outer === null || outer === undefined) return;
      const stacked = this.ctx.gradient.nodes.find(
        (n) => n.kind === "project" && n.scan === this.scan.id && n.what === "state" && n.index === k,
      );
      if (!stacked) return;
      const symbol = withSubscript(latexName(s.name), t);
      const steps: string[] = [];
      let everyStep = false;
      const read = flipOver(this.ctx.gradient.nodes, stacked.id) ?? stacked.id;
      for (const term of this.ctx.notation.effectiveTerms(read)) {
        const consumer = term.term.kind === "use" ? this.ctx.gradient.nodes[term.term.consumer] : undefined;
        if (consumer?.kind === "op" && consumer.op === "take")
          steps.push(`$${this.ctx.delta(consumer.id)}$ at $${t} = ${String(consumer.attrs.step)}$`);
        else everyStep = true;
      }
      if (everyStep || steps.length === 0)
        out.push(
          para(
            ...prose(
              `Here $\\delta^{\\mathrm{out}}_{${symbol}}$ is row $${t}$ of what the equations after the recurrence send the sequence of all $${symbol}$.`,
            ),
          ),
        );
      else
        out.push(
          para(
            ...prose(
              `Here $\\delta^{\\mathrm{out}}_{${symbol}}$ is ${steps.join(", ")}, and 0 at every other step: only ${steps.length === 1 ? "that step is" : "those steps are"} read after the recurrence, so every other step's δ comes only from the step ${this.reverse ? "before" : "after"} it.`,
            ),
          ),
        );
    });
    return out;
  }

  /** Every node reading one step of this recurrence's values, the model's (h_T) and a lecture block's (h_1). */
  readNodes(): NodeId[] {
    const nodes = this.ctx.gradient.nodes;
    return nodes
      .filter((n) => n.kind === "op" && n.op === "take")
      .filter((n) => {
        const p = nodes[unflip(nodes, (n as Extract<Node, { kind: "op" }>).args[0]!)];
        return p?.kind === "project" && p.scan === this.scan.id;
      })
      .map((n) => n.id);
  }

  /** Outer nodes that read one step of this recurrence (h_T): where the lecture's ∂L/∂h_3 belongs. */
  stepNodes(): NodeId[] {
    const nodes = this.ctx.gradient.nodes;
    return nodes
      .filter(
        (n) => n.kind === "op" && n.op === "take" && nodes[unflip(nodes, n.args[0]!)]?.kind === "project",
      )
      .filter(
        (n) =>
          (
            nodes[unflip(nodes, (n as Extract<Node, { kind: "op" }>).args[0]!)] as Extract<
              Node,
              { kind: "project" }
            >
          ).scan === this.scan.id,
      )
      .map((n) => n.id);
  }

  /**
   * The forward steps with their numbers. A small recurrence is written out step by step as
   * the lecture does (a_1 = W_xh x_1 + W_hh h_0 = 0.5 + 0.2 · 0 = 0.5); a larger one is a table.
   */
  forwardTable(ev: Evaluator): Block[] {
    const steps = ev.scanSteps(this.scan.id);
    this.workedSteps = steps.length;
    const ids = [...new Set([...this.names.keys(), ...this.auxiliaries.keys()])].sort((a, b) => a - b);
    const small = steps.length <= 6 && ids.every((id) => steps[0]!.value(id).data.length === 1);
    if (!small) {
      const rows: StepRow[] = ids.map((id) => ({
        label: this.nameAt(id, 0),
        values: this.inModelOrder(steps.map((s) => s.value(id))),
      }));
      return [
        para(
          ...prose(
            this.reverse
              ? `The steps of the recurrence over $${this.index}$ (computed from the last, shown in order):`
              : `The steps of the recurrence over $${this.index}$:`,
          ),
        ),
        ...stepTable(this.index, rows, this.digits),
      ];
    }
    const rows: EquationRow[] = [];
    steps.forEach((step, t) => {
      const symbolic = this.forward(0, t + 1);
      const numeric = new ExpressionRenderer(this.scan.body, {
        symbol: (id) => {
          const n = this.scan.body[id]!;
          if (this.symbolAt(id, 0) === undefined || n.kind === "const") return undefined;
          const v = step.value(id);
          if (v.data.length !== 1) return { text: this.symbolAt(id, 0, t + 1)!, prec: PREC.atom };
          return numberLatex(v.data[0]!, this.digits);
        },
        adjoint: () => ({ text: "?", prec: PREC.atom }),
        constant: (value, shape) => constantLatex(value, shape, this.digits),
        operandValues: (n) => n.args.map((a) => this.givenSteps(this.scan.body, a)),
        other: (n) => {
          const v = step.value(n.id);
          return v.data.length === 1 ? numberLatex(v.data[0]!, this.digits) : this.copied(n, 0, t + 1);
        },
      });
      for (const id of ids) {
        const value = formatNumber(step.value(id).data[0]!, this.digits);
        const lines = [symbolic.definition(id), numeric.definition(id), value].filter(
          (x, i, all) => all.indexOf(x) === i,
        );
        rows.push({ lhs: this.nameAt(id, 0, t + 1), rhs: lines.join(" = ") });
      }
    });
    return [
      para(
        ...prose(
          this.reverse
            ? `Step by step, from the last step back, $${this.index} = ${steps.length}, \\dots, 1$:`
            : `Step by step, for $${this.index} = 1, \\dots, ${steps.length}$:`,
        ),
      ),
      { kind: "equations", rows: breakRows(rows) },
    ];
  }

  /** The worked numbers of every step: the forward values, then (computed backwards) the δs and contributions. */
  table(ev: Evaluator): Block[] {
    const forwardSteps = ev.scanSteps(this.scan.id);
    const backwardSteps = this.adjoint ? ev.adjointSteps(this.adjoint.id) : [];
    const rows: StepRow[] = [];
    const adjoint = this.adjoint;
    if (adjoint) {
      this.scan.states.forEach((s, k) => {
        const outer = adjoint.stateAdjoints[k];
        if (outer !== null && outer !== undefined) {
          const all = ev.value(outer);
          rows.push({
            label: this.direct(outer, 0),
            values: this.inModelOrder(forwardSteps.map((_, i) => row(all, i))),
            group: true,
          });
        }
        const head = this.notation.step(s.next);
        if (head)
          rows.push({
            label: this.delta(s.next),
            values: this.inModelOrder(backwardSteps.map((b) => b.value(head.result))),
          });
      });
      for (const id of this.notation.shown.filter((id) => !this.scan.states.some((s) => s.next === id))) {
        // The local derivative beside the δ it multiplies: 1 − h_t² shows a saturated tanh.
        const terms = this.notation.effectiveTerms(id);
        const only = terms[0];
        if (terms.length === 1 && only!.through !== undefined && only!.locals?.length === 1) {
          const local = only!.locals[0]!;
          rows.push({
            label: `\\partial ${this.symbolAt(only!.through, 0) ?? "?"}/\\partial ${this.deltaName(id)}`,
            values: this.inModelOrder(backwardSteps.map((b) => b.value(local))),
          });
        }
        rows.push({
          label: this.delta(id),
          values: this.inModelOrder(backwardSteps.map((b) => b.value(this.notation.step(id)!.result))),
        });
      }
      // A contribution that is a δ already in the table (a bias's is its pre-activation's) is not repeated.
      const shownResults = new Set(this.notation.shown.map((id) => this.notation.step(id)!.result));
      let first = true;
      adjoint.summedSources.forEach((source, j) => {
        if (shownResults.has(adjoint.summed[j]!)) return;
        rows.push({
          label: `\\partial ${this.lossSymbol}/\\partial ${this.outerSymbol(source)}^{(${this.index})}`,
          values: this.inModelOrder(backwardSteps.map((b) => b.value(adjoint.summed[j]!))),
          group: first,
        });
        first = false;
      });
    }
    return stepTable(this.index, rows, this.digits);
  }
}

const row = (t: Tensor, i: number): Tensor => {
  const shape = t.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: t.data.slice(i * size, (i + 1) * size) };
};
