import type { ChainTerm, DerivationStep, Node, NodeId } from "../ir/types.js";

/** Activations whose argument a lecture calls the pre-activation (z^l, a_t, net). */
const ACTIVATIONS = new Set([
  "tanh",
  "sigmoid",
  "relu",
  "softplus",
  "leaky_relu",
  "softmax",
  "exp",
  "heaviside",
]);

export interface Auxiliary {
  readonly node: NodeId;
  readonly symbol: string;
  /** The value it feeds as pre-activation, when it is one. */
  readonly preactivationOf?: NodeId;
}

/**
 * What the derivation calls each value, and which values get a δ of their own.
 *
 * A value whose δ is exactly its one consumer's δ (the consumer passes the gradient on
 * unchanged: a + b, a sum's parts) shares that δ and gets no step: the loss's parts, W x in
 * W x + b. An unnamed value gets a name only when the derivation needs one — its δ is used
 * at least twice — and then the name a lecture would give it: the pre-activation of h_t is
 * a_t. Every other unnamed value is folded into the chain rule of the values around it.
 */
export class Notation {
  /** Forward values' symbols: the model's names and the names the derivation adds. */
  readonly symbols: Map<NodeId, string>;
  /** Per shown value: the name its δ goes by (a value sharing its δ with a named one takes that name). */
  readonly deltaNames = new Map<NodeId, string>();
  readonly auxiliaries: Auxiliary[] = [];
  /** Per value with a δ: the value that represents its δ (itself, or the consumer it shares it with). */
  private readonly representative = new Map<NodeId, NodeId>();
  private readonly steps = new Map<NodeId, DerivationStep>();
  /** Values with a δ step of their own, in trace order (from the loss backwards). */
  readonly shown: NodeId[] = [];
  /** `shown` as a set: asked of every value's every term. */
  private readonly shownSet = new Set<NodeId>();
  /** The activations by the value they read (h_t = tanh(a_t) under a_t), in the trace's order. */
  private activationsOf: Map<NodeId, NodeId[]> | undefined;

  constructor(
    readonly nodes: readonly Node[],
    readonly trace: readonly DerivationStep[],
    symbols: ReadonlyMap<NodeId, string>,
    /** Base letters the model already uses, so that a new name never collides with one. */
    usedLetters: ReadonlySet<string>,
    /** Values that never get a step of their own (leaves: params, a step's inputs). */
    leaf: (id: NodeId) => boolean,
  ) {
    this.symbols = new Map(symbols);
    for (const step of trace) this.steps.set(step.node, step);
    for (const step of trace) {
      const [only] = step.terms;
      const passes =
        step.terms.length === 1 &&
        only!.kind === "use" &&
        this.steps.get(only.consumer)?.result === only.value &&
        this.representative.has(only.consumer);
      this.representative.set(step.node, passes ? this.representative.get(only.consumer)! : step.node);
    }
    // A group's name is its member nearest the loss that the model names.
    const groupName = new Map<NodeId, string>();
    for (const step of trace) {
      const head = this.representative.get(step.node)!;
      const symbol = this.symbols.get(step.node);
      // A param or a step's input shares its δ with what adds it (b_h in W x + b_h) but does not name it.
      if (symbol !== undefined && !leaf(step.node) && !groupName.has(head)) groupName.set(head, symbol);
    }
    const uses = new Map<NodeId, number>();
    for (const step of trace)
      for (const t of step.terms)
        if (t.kind === "use") {
          const head = this.representative.get(t.consumer);
          if (head !== undefined) uses.set(head, (uses.get(head) ?? 0) + 1);
        }
    const letters = new Set(usedLetters);
    const taken = new Set(this.symbols.values());
    let counter = 0;
    // With several pre-activations (an LSTM's gates) each carries its activation's name: a_{f,t}, a_{i,t}.
    const needsName = (id: NodeId) =>
      this.representative.get(id) === id &&
      !leaf(id) &&
      !groupName.has(id) &&
      nodes[id]!.kind === "op" &&
      (uses.get(id) ?? 0) >= 2;
    const preactivations = trace.filter(
      (s) => needsName(s.node) && this.activationReading(s.node) !== undefined,
    ).length;
    for (const step of [...trace].reverse()) {
      const id = step.node;
      if (this.representative.get(id) !== id || leaf(id)) continue;
      const n = nodes[id]!;
      if (groupName.has(id)) {
        this.deltaNames.set(id, groupName.get(id)!);
        this.show(id);
        continue;
      }
      if (n.kind !== "op" || (uses.get(id) ?? 0) < 2) continue;
      const activation = this.activationReading(id);
      let symbol = activation
        ? preactivationSymbol(this.symbols.get(activation)!, letters, taken, preactivations > 1)
        : undefined;
      if (symbol === undefined) {
        const letter = freeLetter(letters, ["u", "v", "q", "r"]);
        do symbol = `${letter}_{${++counter}}`;
        while (taken.has(symbol));
      }
      taken.add(symbol);
      this.symbols.set(id, symbol);
      this.deltaNames.set(id, symbol);
      this.auxiliaries.push({
        node: id,
        symbol,
        ...(activation !== undefined ? { preactivationOf: activation } : {}),
      });
      this.show(id);
    }
    // `shown` was filled from the inputs towards the loss; the derivation runs the other way.
    const order = new Map(trace.map((s, i) => [s.node, i]));
    this.shown.sort((a, b) => order.get(a)! - order.get(b)!);
  }

  /** The named activation `id` is the argument of, if any (h_t for a_t in h_t = tanh(a_t)). */
  private activationReading(id: NodeId): NodeId | undefined {
    if (this.activationsOf === undefined) {
      this.activationsOf = new Map();
      for (const step of this.trace) {
        if (this.representative.get(step.node) !== step.node) continue;
        const n = this.nodes[step.node]!;
        if (n.kind !== "op" || !ACTIVATIONS.has(n.op)) continue;
        if (!this.activationsOf.has(n.args[0]!)) this.activationsOf.set(n.args[0]!, []);
        this.activationsOf.get(n.args[0]!)!.push(step.node);
      }
    }
    return this.activationsOf.get(id)?.find((node) => this.symbols.has(node));
  }

  private show(id: NodeId): void {
    this.shown.push(id);
    this.shownSet.add(id);
  }

  /** Whether the derivation gives `id` a step of its own. */
  hasShown(id: NodeId): boolean {
    return this.shownSet.has(id);
  }

  step(id: NodeId): DerivationStep | undefined {
    return this.steps.get(id);
  }

  /** The value whose δ stands for `id`'s. */
  representativeOf(id: NodeId): NodeId {
    return this.representative.get(id) ?? id;
  }

  isShown(id: NodeId): boolean {
    return this.shownSet.has(this.representativeOf(id));
  }

  /**
   * The terms of `id`'s δ as the chain rule over shown values reads them: a term whose
   * consumer has no step of its own is replaced by that consumer's terms, recursively.
   * `locals` are the local derivatives along the way (undefined where one is not elementwise).
   */
  effectiveTerms(id: NodeId): EffectiveTerm[] {
    // In the order the model defines the consumers: in_o1 before in_o2.
    const order = (t: EffectiveTerm) =>
      t.term.kind === "use" || t.term.kind === "zero" ? t.term.consumer : Number.MAX_SAFE_INTEGER;
    return this.collectTerms(id).sort((a, b) => order(a) - order(b));
  }

  private collectTerms(id: NodeId): EffectiveTerm[] {
    const out: EffectiveTerm[] = [];
    for (const term of this.steps.get(id)?.terms ?? []) {
      if (term.kind === "zero") {
        // The path through a step function: through the value it feeds, carrying 0.
        out.push({ term, through: this.representativeOf(term.consumer), locals: undefined });
        continue;
      }
      if (term.kind !== "use") {
        out.push({ term, through: undefined, locals: undefined });
        continue;
      }
      const head = this.representativeOf(term.consumer);
      const locals = term.local === undefined ? undefined : [term.local];
      if (this.shownSet.has(head) || this.steps.get(head) === undefined)
        out.push({ term, through: head, locals });
      else
        for (const inner of this.collectTerms(head))
          out.push({
            ...inner,
            locals: locals && inner.locals ? [...inner.locals, ...locals] : undefined,
            term: { ...term, general: term.general, value: term.value },
            outer: inner.outer ?? inner.term,
          });
    }
    return out;
  }
}

export interface EffectiveTerm {
  /** The recorded term of the value itself (its direct consumer). */
  readonly term: ChainTerm;
  /** The shown value the chain goes through (undefined for a recurrence's or a seed's term). */
  readonly through: NodeId | undefined;
  /** ∂through/∂value as the product of these local derivatives (nearest the loss first). */
  readonly locals: readonly NodeId[] | undefined;
  /** For a term through unnamed values: the term at the shown end. */
  readonly outer?: ChainTerm;
}

/** Splits `x^{L}_{t}`-like symbols into a base and its decorations. */
function decorations(symbol: string): { base: string; rest: string } {
  const m = /^(\\[A-Za-z]+\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z])((?:[_^](?:\{[^{}]*\}|[A-Za-z0-9]))*)$/.exec(
    symbol,
  );
  return m ? { base: m[1]!, rest: m[2]! } : { base: symbol, rest: "" };
}

function freeLetter(used: Set<string>, candidates: readonly string[]): string {
  const letter = candidates.find((l) => !used.has(l)) ?? candidates[0]!;
  used.add(letter);
  return letter;
}

/**
 * The pre-activation of h_t is a_t, of x^L is z^L, of H_out is A_out: a letter the model
 * leaves free with the activation's decorations, or undefined when every such name is taken.
 */
function preactivationSymbol(
  of: string,
  used: ReadonlySet<string>,
  taken: ReadonlySet<string>,
  byName: boolean,
): string | undefined {
  const { base, rest } = decorations(of);
  const candidates = /^[A-Z]/.test(base) ? ["A", "Z", "S"] : ["a", "z", "s"];
  // f_{t} gives a_{f,t}; a plain name A gives Z_{A}.
  const symbol = (l: string) => (byName ? `${l}_{${of.replace(/_\{([^{}]*)\}$/, ",$1")}}` : `${l}${rest}`);
  return candidates.map(symbol).find((s, i) => !used.has(candidates[i]!) && !taken.has(s));
}

/** The first letters of the model's symbols: a new name must not read as one of them. */
export function baseLetters(symbols: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const s of symbols) out.add(decorations(s).base);
  return out;
}

/** The IR of a term's general form (the consumer's δ times the local derivative), or undefined for a path that carries 0. */
export function termNode(t: ChainTerm): NodeId | undefined {
  return t.kind === "use" ? t.general : t.kind === "zero" ? undefined : t.value;
}
