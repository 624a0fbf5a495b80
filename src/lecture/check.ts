import type { Graph, LectureItem, Node, NodeId, ScanAdjointNode, ScanNode } from "../ir/types.js";
import type { Gradient } from "../autodiff/reverse.js";
import { Evaluator, unworked } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import { trainingStates } from "../train/update.js";
import { newtonStates } from "../train/newton.js";
import { isFlippedProjection, unflip } from "../ir/reversed.js";

/** Why a printed number differs from the correct one, as far as the checker can tell. */
export type Cause =
  | { readonly kind: "truncated" }
  | { readonly kind: "sign" }
  | { readonly kind: "factor"; readonly factor: number }
  /** The lecture's own value (or formula) has `wrote` where `meant` belongs (computed from its rounded `rounded`). */
  | {
      readonly kind: "operand";
      readonly wrote: string;
      readonly meant: string;
      readonly rounded?: readonly string[];
    }
  /** Recomputed from the lecture's own rounded numbers, the value is what it prints. */
  | { readonly kind: "rounded"; readonly from: readonly string[]; readonly truncated: boolean }
  /** The update uses the lecture's own (wrong) gradient. */
  | { readonly kind: "follows"; readonly from: string }
  /** The lecture prints 0 (or nothing flows) where the value is not zero. */
  | { readonly kind: "zero" }
  /** A few units in the last printed digit: intermediate values rounded along the way. */
  | { readonly kind: "last-digit" }
  /** The lecture prints fewer entries than the quantity has. */
  | {
      readonly kind: "missing";
      readonly printed: number;
      readonly total: number;
      readonly left: readonly number[];
    }
  /** The printed numbers are another quantity's: ∂L/∂h printed under the name ∂L/∂h'. */
  | { readonly kind: "other"; readonly label: string }
  /** Causes that hold for some entries only (1-based entry numbers, row-major). */
  | {
      readonly kind: "entries";
      readonly at: readonly number[];
      readonly cause: "truncated" | "last-digit" | "sign" | "unexplained";
    };

export interface EntryCheck {
  /** Index into the quantity's entries, row-major. */
  readonly index: number;
  readonly printed: number;
  readonly decimals: number;
  readonly correct: number;
  readonly ok: boolean;
}

export interface ItemCheck {
  readonly item: LectureItem;
  /** The correct value of the quantity (one entry when the item names one). */
  readonly correct: Tensor;
  /**
   * agrees: every printed number is the correct value rounded to its digits; negligible: the
   * lecture prints 0 for a value that is not 0 but far below its digits' resolution in
   * relative terms; differs: at least one number is wrong; formula-*: the lecture's formula
   * compared with the correct quantity; defined: a quantity the lecture defines.
   */
  readonly verdict: "agrees" | "negligible" | "differs" | "formula-agrees" | "formula-differs" | "defined";
  readonly entries: readonly EntryCheck[];
  readonly causes: readonly Cause[];
  /** For a formula: its value at the example. */
  readonly formulaValue?: Tensor;
}

export interface LectureReport {
  readonly source?: string;
  readonly items: readonly ItemCheck[];
  /** How many items are wrong (differs or formula-differs). */
  readonly wrong: number;
}

const agrees = (p: number, c: number, d: number) => Math.abs(p - c) <= 0.5 * 10 ** -d * (1 + 1e-9) + 1e-12;
/** A printed number against a value: a bare 0 claims the value is zero, any other number is rounded to its digits. */
const matches = (p: number, c: number, d: number) => (p === 0 && d === 0 ? c === 0 : agrees(p, c, d));
const truncate = (c: number, d: number) => Math.trunc(c * 10 ** d + Math.sign(c) * 1e-9) / 10 ** d;

/** The quantity's correct value at the state `ev` describes. */
function correctValue(item: LectureItem, graph: Graph, gradient: Gradient, ev: Evaluator): Tensor {
  const q = item.quantity;
  if (q.kind !== "gradient") return ev.value(q.node);
  const nodes = gradient.nodes;
  const param = graph.named.find((n) => n.node === q.of && n.kind === "param");
  if (param) {
    const g = gradient.params.get(param.name);
    return g === null || g === undefined ? zeros(nodes[q.of]!) : ev.value(g);
  }
  const step = stateStep(nodes, q.of);
  if (step) return ev.adjointSteps(step.adjoint.id)[step.t]!.value(step.result);
  const a = gradient.adjoints.get(q.of);
  return a === undefined ? zeros(nodes[q.of]!) : ev.value(a);
}

function zeros(n: Node): Tensor {
  const shape = n.shape.map((d) => (typeof d === "number" ? d : 1));
  return { shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) };
}

/**
 * A step of a recurrence's state read from outside it (h_3): its δ is the total the
 * backward recurrence computes at that step, not only what the loss sends it directly.
 */
function stateStep(nodes: readonly Node[], id: NodeId) {
  const take = nodes[id]!;
  if (take.kind !== "op" || take.op !== "take") return undefined;
  const project = nodes[unflip(nodes, take.args[0]!)]!;
  if (project.kind !== "project" || (project.what !== "state" && project.what !== "output")) return undefined;
  const scan = nodes[project.scan] as ScanNode;
  const adjoint = nodes.find((n): n is ScanAdjointNode => n.kind === "scan_adjoint" && n.forward === scan.id);
  if (!adjoint || typeof scan.length !== "number") return undefined;
  const k = Number(take.attrs.k);
  const step = take.attrs.from === "end" ? scan.length - 1 - k : k;
  // A backward recurrence computed step t as its (T − t)th.
  const t = scan.reverse ? scan.length - 1 - step : step;
  const body = project.what === "state" ? scan.states[project.index]!.next : scan.outputs[project.index]!;
  const result = adjoint.trace.find((s) => s.node === body)?.result;
  return result === undefined ? undefined : { adjoint, t, result };
}

function select(t: Tensor, entry: readonly number[] | undefined): Tensor {
  if (!entry) return t;
  let offset = 0;
  let stride = t.data.length;
  entry.forEach((e, i) => {
    stride /= t.shape[i] ?? 1;
    offset += (e - 1) * stride;
  });
  return { shape: t.shape.slice(entry.length), data: t.data.slice(offset, offset + stride) };
}

const equal = (a: Tensor, b: Tensor) =>
  a.data.length === b.data.length &&
  a.data.every((x, i) => Math.abs(x - b.data[i]!) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(b.data[i]!)));

/** Whether every printed number is some value rounded to its digits. */
function fits(item: LectureItem, value: Tensor): boolean {
  const p = item.printed!;
  const n = Math.min(p.values.length, value.data.length);
  for (let i = 0; i < n; i++) if (!matches(p.values[i]!, value.data[i]!, p.decimals[i]!)) return false;
  return n > 0;
}

/**
 * Which entry each printed number is (by position when all are printed; otherwise the
 * order-keeping choice of entries that the most printed numbers fit, up to a sign).
 */
function alignment(
  printed: readonly number[],
  decimals: readonly number[],
  correct: ArrayLike<number>,
): number[] {
  const n = Math.min(printed.length, correct.length);
  const identity = Array.from({ length: n }, (_, i) => i);
  if (printed.length >= correct.length || correct.length > 10) return identity;
  const score = (at: readonly number[]) =>
    at.reduce(
      (s, k, i) =>
        s +
        (matches(printed[i]!, correct[k]!, decimals[i]!)
          ? 2
          : matches(printed[i]!, -correct[k]!, decimals[i]!)
            ? 1
            : 0),
      0,
    );
  let best = identity;
  let bestScore = score(identity);
  const choose = (start: number, picked: number[]) => {
    if (picked.length === n) {
      const s = score(picked);
      if (s > bestScore) [best, bestScore] = [[...picked], s];
      return;
    }
    for (let k = start; k < correct.length; k++) choose(k + 1, [...picked, k]);
  };
  choose(0, []);
  return best;
}

/** A ratio as a lecture's slip would have it: 2, 1/2, 3, 1/3, … */
function simpleFactor(r: number): number | undefined {
  for (let k = 2; k <= 12; k++) {
    if (Math.abs(r - k) < 0.02 * k) return k;
    if (Math.abs(r - 1 / k) < 0.02 / k) return 1 / k;
  }
  return undefined;
}

/**
 * Checks what a lecture prints against the correct computation (the same IR the code and
 * the handout come from), entry by entry to the digits the lecture prints, and looks for the
 * slip behind each wrong value: truncation, a sign, a factor, a wrong operand, rounded
 * intermediates, an update made with the lecture's own wrong gradient.
 */
export function checkLecture(graph: Graph, gradient: Gradient): LectureReport | undefined {
  const lecture = graph.lecture;
  // The check runs the reference evaluator on the example: not without all its values, nor
  // over a recurrence or a value too large to work through (the handout says why).
  if (!lecture || unworked(graph, gradient.nodes)) return undefined;
  const maxAfter = Math.max(0, ...lecture.items.map((i) => i.after));
  const states =
    graph.train?.optimizer === "newton" && gradient.hessian
      ? newtonStates(
          gradient.hessian,
          gradient.params,
          gradient.nodes,
          graph.example,
          graph.train.lr,
          maxAfter,
        )
      : trainingStates(
          gradient.nodes,
          gradient.params,
          graph.example,
          graph.train?.lr ?? 0.1,
          maxAfter,
          graph.train,
        );
  const checks: ItemCheck[] = [];
  for (const item of lecture.items) {
    const ev = states[item.after]!.evaluator;
    const correct = select(correctValue(item, graph, gradient, ev), item.entry);
    if (item.formula && !item.printed) {
      if (item.quantity.kind === "definition" && item.formula.node === item.quantity.node) {
        checks.push({ item, correct, verdict: "defined", entries: [], causes: [] });
        continue;
      }
      const value = select(ev.value(item.formula.node), item.entry);
      if (equal(value, correct)) {
        checks.push({
          item,
          correct,
          verdict: "formula-agrees",
          entries: [],
          causes: [],
          formulaValue: value,
        });
        continue;
      }
      const causes: Cause[] = item.formula.variants
        .filter((v) => equal(select(ev.value(v.node), item.entry), correct))
        .slice(0, 1)
        .map((v) => ({ kind: "operand", wrote: v.wrote, meant: v.meant }));
      checks.push({ item, correct, verdict: "formula-differs", entries: [], causes, formulaValue: value });
      continue;
    }
    const p = item.printed!;
    // With entries left out, the printed numbers are matched to the entries they fit best.
    const at = alignment(p.values, p.decimals, correct.data);
    const entries: EntryCheck[] = at.map((index, i) => {
      const [printed, d] = [p.values[i]!, p.decimals[i]!];
      return {
        index,
        printed,
        decimals: d,
        correct: correct.data[index]!,
        ok: matches(printed, correct.data[index]!, d),
      };
    });
    const missing = correct.data.length > p.values.length;
    const wrong = entries.filter((e) => !e.ok);
    if (wrong.length === 0 && !missing) {
      checks.push({ item, correct, verdict: "agrees", entries, causes: [] });
      continue;
    }
    if (!missing && wrong.every((e) => e.printed === 0 && e.decimals === 0 && Math.abs(e.correct) < 5e-5)) {
      checks.push({ item, correct, verdict: "negligible", entries, causes: [] });
      continue;
    }
    const causes: Cause[] = [];
    if (missing) {
      const left = [...correct.data.keys()].filter((k) => !at.includes(k)).map((k) => k + 1);
      causes.push({ kind: "missing", printed: p.values.length, total: correct.data.length, left });
      const flipped = wrong.filter((e) => matches(e.printed, -e.correct, e.decimals)).map((e) => e.index + 1);
      if (flipped.length > 0 && flipped.length === wrong.length)
        causes.push({ kind: "entries", at: flipped, cause: "sign" });
    }
    if (wrong.length > 0 && !(missing && causes.length > 1))
      causes.push(...explain(item, wrong, entries, { graph, gradient, ev, checks, states }));
    checks.push({ item, correct, verdict: "differs", entries, causes });
  }
  return {
    ...(lecture.source !== undefined ? { source: lecture.source } : {}),
    items: checks,
    wrong: checks.filter((c) => c.verdict === "differs" || c.verdict === "formula-differs").length,
  };
}

interface Scope {
  readonly graph: Graph;
  readonly gradient: Gradient;
  readonly ev: Evaluator;
  readonly checks: readonly ItemCheck[];
  readonly states: readonly { values: Map<string, Tensor>; evaluator: Evaluator }[];
}

function explain(
  item: LectureItem,
  wrong: readonly EntryCheck[],
  entries: readonly EntryCheck[],
  s: Scope,
): Cause[] {
  const other = otherQuantity(item, s);
  if (other) return [other];
  if (wrong.every((e) => e.printed === 0 && e.correct !== 0)) {
    // A zero where gradient flows: a dropped factor, or the lecture's own earlier zero carried on.
    const dropped = operandSlip(item, s);
    if (dropped) return [dropped];
    const earlier = s.checks.find(
      (c) =>
        c.verdict === "differs" &&
        c.item.quantity.kind === "gradient" &&
        c.item.printed?.values.every((v) => v === 0),
    );
    return earlier && item.quantity.kind === "gradient"
      ? [{ kind: "follows", from: earlier.item.label }]
      : [{ kind: "zero" }];
  }
  if (wrong.every((e) => truncate(e.correct, e.decimals) === e.printed)) return [{ kind: "truncated" }];
  if (entries.every((e) => agrees(e.printed, -e.correct, e.decimals)) && wrong.some((e) => e.correct !== 0))
    return [{ kind: "sign" }];
  const largest = [...entries].sort((a, b) => Math.abs(b.correct) - Math.abs(a.correct))[0]!;
  const factor = largest.correct !== 0 ? simpleFactor(largest.printed / largest.correct) : undefined;
  const byFactor =
    factor !== undefined && entries.every((e) => agrees(e.printed, factor * e.correct, e.decimals));
  const operand = definitionSlip(item, s) ?? operandSlip(item, s);
  if (operand) return [operand];
  const follows = followsFromPrinted(item, s);
  if (follows) return [follows];
  const rounded = fromRoundedNumbers(item, s);
  if (rounded) return [rounded];
  if (byFactor) return [{ kind: "factor", factor: factor! }];
  const lastDigit = (e: EntryCheck) => Math.abs(e.printed - e.correct) <= 2 * 10 ** -e.decimals;
  if (wrong.every(lastDigit)) return [{ kind: "last-digit" }];
  if (entries.length === 1) return [];
  // No one slip explains every wrong entry: say what each one looks like.
  const groups: Cause[] = [];
  const by = (cause: "truncated" | "last-digit" | "unexplained", test: (e: EntryCheck) => boolean) => {
    const at = wrong
      .filter((e) => test(e) && !groups.some((g) => g.kind === "entries" && g.at.includes(e.index + 1)))
      .map((e) => e.index + 1);
    if (at.length > 0) groups.push({ kind: "entries", at, cause });
  };
  by("truncated", (e) => truncate(e.correct, e.decimals) === e.printed);
  by("last-digit", lastDigit);
  by("unexplained", () => true);
  return groups;
}

/** The printed numbers are those of another value of the model (a δ printed under the wrong name). */
function otherQuantity(item: LectureItem, s: Scope): Cause | undefined {
  // A single number, or a row of zeros, matches another quantity by coincidence too easily.
  const printed = item.printed!.values;
  if (item.quantity.kind !== "gradient" || printed.length < 2 || printed.every((v) => v === 0))
    return undefined;
  const own = item.quantity.of;
  for (const n of s.graph.named) {
    if (
      n.node === own ||
      s.gradient.nodes[n.node]!.kind === "project" ||
      isFlippedProjection(s.gradient.nodes, n.node)
    )
      continue;
    const a = n.kind === "param" ? s.gradient.params.get(n.name) : s.gradient.adjoints.get(n.node);
    if (a === undefined || a === null) continue;
    const value = select(s.ev.value(a), item.entry);
    if (
      value.data.length ===
        s.gradient.nodes[own]!.shape.reduce<number>((x, d) => x * (typeof d === "number" ? d : 1), 1) &&
      fits(item, value)
    )
      return { kind: "other", label: `d/d${n.name}` };
  }
  return undefined;
}

/** For a quantity the lecture defines: its own formula with one name changed gives the printed numbers. */
function definitionSlip(item: LectureItem, s: Scope): Cause | undefined {
  if (item.quantity.kind !== "definition") return undefined;
  const node = item.quantity.node;
  const definition = s.checks.find(
    (c) => c.verdict === "defined" && c.item.quantity.kind === "definition" && c.item.quantity.node === node,
  );
  const overrides = printedOverrides(item, s);
  for (const v of definition?.item.formula?.variants ?? []) {
    if (fits(item, select(s.ev.value(v.node), item.entry)))
      return { kind: "operand", wrote: v.meant, meant: v.wrote };
    // The same slip, computed from the lecture's own rounded numbers.
    const { value, used } = evaluateWith(v.node, overrides, s, item.after);
    if (used.length > 0 && fits(item, select(value, item.entry)))
      return { kind: "operand", wrote: v.meant, meant: v.wrote, rounded: used };
  }
  return undefined;
}

/** The printed numbers are the quantity computed with one value of the model swapped for another (h_1 for h_3). */
function operandSlip(item: LectureItem, s: Scope): Cause | undefined {
  const q = item.quantity;
  const root =
    q.kind === "gradient"
      ? (s.gradient.params.get(
          s.graph.named.find((n) => n.node === q.of && n.kind === "param")?.name ?? "",
        ) ?? s.gradient.adjoints.get(q.of))
      : q.node;
  if (root === undefined || root === null) return undefined;
  const nodes = s.gradient.nodes;
  const named = new Map<NodeId, string>();
  for (const n of s.graph.named) named.set(n.node, n.name);
  // Named values and steps of sequences that the quantity is computed from.
  const cone: NodeId[] = [];
  const seen = new Set<NodeId>();
  const walk = (id: NodeId) => {
    if (seen.has(id) || cone.length > 200) return;
    seen.add(id);
    const n = nodes[id]!;
    if (named.has(id) || (n.kind === "op" && n.op === "take")) cone.push(id);
    if (n.kind === "op") n.args.forEach(walk);
  };
  walk(root);
  const base = s.states[item.after]!.evaluator;
  for (const u of cone) {
    for (const alt of alternatives(u, s)) {
      const fresh = new Evaluator(nodes, s.states[item.after]!.values).assume(u, alt.value);
      // In a gradient the slip is in the backward formula: the forward values stay as they were.
      if (q.kind === "gradient")
        for (const id of seen) if (id !== u && id < s.gradient.forwardCount) fresh.assume(id, base.value(id));
      const value = select(fresh.value(root), item.entry);
      if (fits(item, value)) return { kind: "operand", wrote: alt.name, meant: labelOf(u, s) };
    }
  }
  return undefined;
}

function labelOf(id: NodeId, s: Scope): string {
  const n = s.gradient.nodes[id]!;
  const named = s.graph.named.find((v) => v.node === id);
  if (named) return named.name;
  if (n.kind === "op" && n.op === "take") {
    const of = s.graph.named.find((v) => v.node === n.args[0]);
    const scan =
      s.gradient.nodes[
        (s.gradient.nodes[unflip(s.gradient.nodes, n.args[0]!)] as Extract<Node, { kind: "project" }>).scan
      ];
    const length = scan?.kind === "scan" && typeof scan.length === "number" ? scan.length : undefined;
    const step =
      n.attrs.from === "end" && length !== undefined ? length - Number(n.attrs.k) : Number(n.attrs.k) + 1;
    return `${of?.name ?? "?"}_${step}`;
  }
  return "?";
}

/** Same-shaped values the lecture may have used instead: other steps of the sequence, other named values. */
function alternatives(u: NodeId, s: Scope): { name: string; value: Tensor }[] {
  const nodes = s.gradient.nodes;
  const ev = s.states[0]!.evaluator;
  const n = nodes[u]!;
  const out: { name: string; value: Tensor }[] = [];
  const own = ev.value(u);
  if (n.kind === "op" && n.op === "take") {
    const all = ev.value(n.args[0]!);
    const size = own.data.length;
    const of = s.graph.named.find((v) => v.node === n.args[0])?.name ?? "?";
    for (let t = 0; t * size < all.data.length; t++) {
      const value = { shape: own.shape, data: all.data.slice(t * size, (t + 1) * size) };
      if (!equal(value, own)) out.push({ name: `${of}_${t + 1}`, value });
    }
  }
  // The factor left out altogether: the quantity computed with u replaced by ones.
  const named = s.graph.named.find((v) => v.node === u);
  if (named && (named.kind === "param" || named.kind === "equation"))
    out.push({ name: "1", value: { shape: own.shape, data: new Float64Array(own.data.length).fill(1) } });
  for (const v of s.graph.named) {
    if (v.node === u || nodes[v.node]!.kind === "project" || isFlippedProjection(nodes, v.node)) continue;
    const value = ev.value(v.node);
    if (
      value.data.length === own.data.length &&
      value.shape.join() === own.shape.join() &&
      !equal(value, own)
    )
      out.push({ name: v.name, value });
  }
  return out;
}

/** An update printed from the lecture's own gradient: θ − η·(printed ∂L/∂θ). */
function followsFromPrinted(item: LectureItem, s: Scope): Cause | undefined {
  if (item.quantity.kind !== "value" || item.after === 0) return undefined;
  const param = s.graph.named.find(
    (n) => n.node === (item.quantity as { node: NodeId }).node && n.kind === "param",
  );
  if (!param) return undefined;
  const gradientCheck = s.checks.find(
    (c) =>
      c.item.quantity.kind === "gradient" &&
      c.item.quantity.of === param.node &&
      c.item.after === item.after - 1 &&
      c.item.printed &&
      !c.item.entry,
  );
  // The update from a printed gradient is plain gradient descent's; a Newton step needs the
  // Hessian too, and another optimiser its state.
  const train = s.graph.train;
  if (!gradientCheck || (train && (train.optimizer !== "sgd" || train.clip !== undefined || train.schedule)))
    return undefined;
  const before = s.states[item.after - 1]!.values.get(param.name)!;
  const lr = s.graph.train?.lr ?? 0.1;
  const printed = gradientCheck.item.printed!.values;
  const value = { shape: before.shape, data: before.data.map((v, i) => v - lr * (printed[i] ?? 0)) };
  return fits(item, select(value, item.entry))
    ? { kind: "follows", from: gradientCheck.item.label }
    : undefined;
}

/** The lecture's own printed values of the other values at the same step, as overrides. */
function printedOverrides(item: LectureItem, s: Scope): Map<NodeId, { label: string; value: Tensor }> {
  const out = new Map<NodeId, { label: string; value: Tensor }>();
  for (const c of s.checks) {
    if (
      c.item.after !== item.after ||
      !c.item.printed ||
      c.item.entry ||
      c.item.quantity.kind === "gradient" ||
      c.item === item
    )
      continue;
    const node = (c.item.quantity as { node: NodeId }).node;
    out.set(node, {
      label: c.item.label,
      value: { shape: c.correct.shape, data: Float64Array.from(c.item.printed.values) },
    });
  }
  return out;
}

/** Evaluates `root` with the overrides that it reaches first (an override hides what lies behind it). */
function evaluateWith(
  root: NodeId,
  overrides: ReadonlyMap<NodeId, { label: string; value: Tensor }>,
  s: Scope,
  after: number,
) {
  const used: string[] = [];
  const seen = new Set<NodeId>();
  const walk = (id: NodeId) => {
    if (seen.has(id)) return;
    seen.add(id);
    const o = overrides.get(id);
    if (o && id !== root) {
      used.push(o.label);
      return;
    }
    const n = s.gradient.nodes[id]!;
    if (n.kind === "op") n.args.forEach(walk);
  };
  walk(root);
  const ev = new Evaluator(s.gradient.nodes, s.states[after]!.values);
  for (const [id, o] of overrides) if (id !== root && used.includes(o.label)) ev.assume(id, o.value);
  return { value: ev.value(root), used };
}

/** The quantity recomputed from the lecture's own printed (rounded) values of the values it is made of. */
function fromRoundedNumbers(item: LectureItem, s: Scope): Cause | undefined {
  const q = item.quantity;
  if (q.kind === "gradient") return undefined;
  const { value: full, used } = evaluateWith(q.node, printedOverrides(item, s), s, item.after);
  if (used.length === 0) return undefined;
  const value = select(full, item.entry);
  if (fits(item, value)) return { kind: "rounded", from: used, truncated: false };
  const p = item.printed!;
  const truncated = p.values.every((v, i) => truncate(value.data[i] ?? NaN, p.decimals[i]!) === v);
  return truncated ? { kind: "rounded", from: used, truncated: true } : undefined;
}
