import type { Node, NodeId } from "../ir/types.js";
import type { Tensor } from "../ir/tensor.js";
import type { Evaluator } from "../ir/evaluate.js";
import type { ExpressionRenderer } from "./render.js";
import { PREC } from "../ir/op.js";
import type { Block, EquationRow, Inline } from "./document.js";
import { math, para, prose, text } from "./document.js";
import type { HandoutContext } from "./context.js";
import { termNode, type EffectiveTerm, type Notation } from "./notation.js";
import { operandNumber, tensorLatex } from "./numbers.js";
import { breakRows, estimateWidth, ROW_WIDTH_EM, sumParts } from "./width.js";

/** A term with its sign made explicit, so that a + b and b + a compare equal. */
const signed = (t: string) => (t.startsWith("-") || t.startsWith("+") ? t.replace(/^\+\s*/, "") : t);

export const partial = (of: string, by: string) => `\\frac{\\partial ${of}}{\\partial ${by}}`;

/** Where a δ is derived: the model's own graph, or one step of a recurrence. */
export interface DerivationScope {
  readonly lossSymbol: string;
  readonly notation: Notation;
  readonly digits: number;
  /** Worked values, when the step's numbers are printed beside it. */
  readonly worked: Evaluator | undefined;
  symbol(id: NodeId): string | undefined;
  delta(id: NodeId): string;
  /** The name the δ derived at `id` goes by. */
  deltaName(id: NodeId): string;
  isLoss(id: NodeId): boolean;
  isScalar(id: NodeId): boolean;
  backward(expanding?: NodeId): ExpressionRenderer;
  numeric(ev: Evaluator, deltas?: boolean, expanding?: NodeId): ExpressionRenderer;
  /** The IR node of an id (for the numbers of a product). */
  nodeOf(id: NodeId): Node | undefined;
}

/** Joins terms into a sum, writing a + (−b) as a − b. */
export function sum(terms: readonly string[]): string {
  return terms
    .map((t, i) => (i === 0 ? t : t.startsWith("-") ? `- ${t.slice(1).trimStart()}` : `+ ${t}`))
    .join(" ");
}

/** Appends `rhs` unless it repeats the previous line. */
function pushDistinct(rows: EquationRow[], lhs: string, rhs: string | undefined): void {
  if (rhs === undefined || rhs === "") return;
  const last = rows[rows.length - 1];
  if (last && last.rhs === rhs) return;
  rows.push({ lhs: rows.length === 0 ? lhs : "", rhs });
}

/** The chain rule for one term: ∂L/∂c · ∂c/∂v, or ∂L/∂v alone when c is the loss. */
function chainFactor(ctx: DerivationScope, t: EffectiveTerm, v: string): string {
  const L = ctx.lossSymbol;
  if (t.through === undefined) return partial(L, v);
  if (ctx.isLoss(t.through)) return partial(L, v);
  const c = ctx.deltaName(t.through);
  return `${partial(L, c)}\\,${partial(c, v)}`;
}

/** The general form of a term: δ of the consumer times its local derivative (or a recurrence's sum). */
function generalOf(ctx: DerivationScope, id: NodeId, t: EffectiveTerm): string {
  const r = ctx.backward(id);
  const node = termNode(t.term);
  // A path through a step function: written out, and 0.
  if (node === undefined)
    return `\\underbrace{${ctx.delta(t.through!)}\\, ${partial(ctx.deltaName(t.through!), ctx.deltaName(id))}}_{=\\,0}`;
  return r.reference(node);
}

/**
 * The derivation of one δ as a lecture writes it: the chain rule over the values that use
 * it, the local derivatives substituted, simplified, and — with worked values — the numbers.
 */
export function deltaStep(ctx: DerivationScope, id: NodeId): Block[] {
  const v = ctx.deltaName(id);
  const step = ctx.notation.step(id)!;
  const terms = ctx.notation.effectiveTerms(id);
  const lhs = `${ctx.delta(id)} = ${partial(ctx.lossSymbol, v)}`;
  const rows: EquationRow[] = [];
  const chain = sum(terms.map((t) => chainFactor(ctx, t, v)));
  if (chain !== partial(ctx.lossSymbol, v)) pushDistinct(rows, lhs, chain);
  const general = sum(terms.map((t) => generalOf(ctx, id, t)));
  pushDistinct(rows, lhs, general);
  // The simplified form, unless it only reorders the terms just written.
  // The δ as it is finally computed: a value of the model stays its name (δ_ŷ = z, not z's equation).
  const r = ctx.backward(id);
  const asValue = r.latex(step.result);
  const simplified = asValue.prec === PREC.atom ? asValue.text : r.definition(step.result);
  const sameTerms = (a: string, b: string) =>
    sumParts(a).map(signed).sort().join("|") === sumParts(b).map(signed).sort().join("|");
  if (!sameTerms(simplified, general)) pushDistinct(rows, lhs, simplified);
  rows.push(...numbers(ctx, id, step.result, terms, rows.length === 0 ? lhs : ""));
  const blocks: Block[] = [];
  if (terms.filter((t) => t.through !== undefined).length > 1) {
    const users = [...new Set(terms.map((t) => t.through).filter((t) => t !== undefined))].map((t) =>
      ctx.deltaName(t!),
    );
    blocks.push(para(...usedBy(v, users)));
  }
  blocks.push({ kind: "equations", rows: breakRows(rows) });
  return blocks;
}

function usedBy(v: string, users: readonly string[]): Inline[] {
  const list = users
    .map((u, i) => [...(i === 0 ? [] : [text(i === users.length - 1 ? " and " : ", ")]), math(u)])
    .flat();
  return [math(v), text(" is used by "), ...list, text(", so its δ is the sum of what each sends back:")];
}

/** With worked values: the substituted numbers (scalars) and the value. */
function numbers(
  ctx: DerivationScope,
  id: NodeId,
  result: NodeId,
  terms: readonly EffectiveTerm[],
  lhs: string,
): EquationRow[] {
  const ev = ctx.worked;
  if (!ev) return [];
  const rows: EquationRow[] = [];
  if (ctx.isScalar(id) && terms.every((t) => t.term.kind === "use")) {
    const r = ctx.numeric(ev, true, id);
    const substituted = sum(
      terms.map((t) => (termNode(t.term) === undefined ? "0" : r.reference(termNode(t.term)!))),
    );
    rows.push({ lhs, rhs: substituted });
  } else if (terms.length === 1 && terms[0]!.term.kind === "use") {
    // A product that gives one number is written out: W_hzᵀ δ_z = 0.1 · 0.2412 + 0.2 · 0.247 + …
    const dot = dotProduct(ctx.nodeOf(terms[0]!.term.value), ev, ctx.digits);
    if (dot) rows.push({ lhs, rhs: dot });
  }
  const value = tensorLatex(ev.value(result), ctx.digits);
  if (rows[rows.length - 1]?.rhs !== value) rows.push({ lhs: rows.length === 0 ? lhs : "", rhs: value });
  return rows;
}

/** The longest chain of values written out link by link. */
const MAX_CHAIN_LINKS = 8;

/**
 * A single chain of values from a param to the loss (w₅ → in_o1 → out_o1 → loss): the
 * lecture's ∂L/∂out_o1 · ∂out_o1/∂in_o1 · ∂in_o1/∂w₅, ending at the first value used twice.
 */
function path(
  ctx: HandoutContext,
  id: NodeId,
): { nodes: NodeId[]; locals: NodeId[] | undefined } | undefined {
  const nodes: NodeId[] = [];
  const locals: NodeId[] = [];
  let complete = true;
  let current = id;
  for (;;) {
    // A chain longer than a lecture writes out is left to the δs: written for every layer of a
    // deep network, the chains would grow with the square of its depth.
    if (nodes.length > MAX_CHAIN_LINKS) return undefined;
    const terms = ctx.notation.effectiveTerms(current);
    if (terms.length !== 1 || terms[0]!.through === undefined || terms[0]!.through === ctx.graph.loss) break;
    const t = terms[0]!;
    // ∂(next)/∂(current): only the factors below the top of the chain, whose δ stands for the rest.
    if (t.locals) locals.unshift(...t.locals);
    else complete = false;
    nodes.push(t.through!);
    current = t.through!;
  }
  if (nodes.length < 2) return undefined;
  return { nodes, locals: complete ? locals : undefined };
}

/** The most terms a gradient's closed form may have to be tried on a row (wider ones never fit one). */
const CLOSED_FORM_TERMS = 200;

/** ∂L/∂p: the chain rule (along the single path where there is one), the δ form, the closed form, the numbers. */
export function paramStep(ctx: HandoutContext, id: NodeId): Block[] {
  const p = ctx.symbol(id)!;
  const L = ctx.lossSymbol;
  const lhs = partial(L, p);
  const result = ctx.gradient.params.get(ctx.graph.named.find((n) => n.node === id)!.name);
  if (result === null || result === undefined)
    return [para(...prose(`The loss does not depend on $${p}$: `), math(`${lhs} = 0`), text("."))];
  const terms = ctx.notation.effectiveTerms(id);
  const rows: EquationRow[] = [];
  const chain = path(ctx, id);
  if (chain) {
    const names = [...chain.nodes].reverse().map((n) => ctx.deltaName(n));
    const factors = [partial(L, names[0]!), ...names.map((n, i) => partial(n, names[i + 1] ?? p))];
    pushDistinct(rows, lhs, factors.join("\\,"));
  } else {
    const chainLine = sum(terms.map((t) => chainFactor(ctx, t, p)));
    if (chainLine !== lhs) pushDistinct(rows, lhs, chainLine);
  }
  const general = sum(terms.map((t) => generalOf(ctx, id, t)));
  pushDistinct(rows, lhs, general);
  const ev = ctx.worked;
  const scalar = ctx.isScalar(id);
  const closed = terms.some((t) => t.term.kind !== "use")
    ? undefined
    : ctx.forward().definitionWithin(result, CLOSED_FORM_TERMS);
  const fits = closed !== undefined && estimateWidth(`${lhs} = ${closed}`) <= ROW_WIDTH_EM;
  // Factor by factor, as a lecture multiplies them out: δ of the top of the chain, then each local derivative.
  const top = chain?.nodes[chain.nodes.length - 1];
  // Factor by factor only when every value on the chain is a number: for tensors the factors are Jacobians.
  const allScalar = chain !== undefined && chain.nodes.every((n) => ctx.isScalar(n));
  const factors =
    chain?.locals && scalar && allScalar && top !== undefined
      ? chain.locals.filter(
          (l) => ctx.gradient.nodes[l]!.kind !== "const" || (ev?.value(l).data[0] ?? 0) !== 1,
        )
      : undefined;
  if (factors && top !== undefined) {
    const f = ctx.forward();
    pushDistinct(rows, lhs, [ctx.delta(top), ...factors.map((l) => group(f.latex(l)))].join(" \\cdot "));
  }
  if (fits) pushDistinct(rows, lhs, closed);
  if (ev) {
    if (factors && top !== undefined) {
      const values = [ev.value(ctx.notation.step(top)!.result), ...factors.map((l) => ev.value(l))];
      pushDistinct(rows, lhs, values.map((x) => operandNumber(x.data[0]!, ctx.digits)).join(" \\cdot "));
    } else if (scalar && fits) pushDistinct(rows, lhs, ctx.numeric(ev, false).definition(result));
    pushDistinct(rows, lhs, tensorLatex(ev.value(result), ctx.digits));
  }
  return [{ kind: "equations", rows: breakRows(rows) }];
}

function group(l: { text: string; prec: number }): string {
  return l.prec < 2 ? `\\left(${l.text}\\right)` : l.text;
}

/** A matrix product with one entry as the sum of its products, when it has at most six. */
function dotProduct(node: Node | undefined, ev: Evaluator, digits: number): string | undefined {
  if (node?.kind !== "op" || node.op !== "matmul") return undefined;
  const [a, b] = node.args.map((x) => ev.value(x)) as [Tensor, Tensor];
  const out = ev.value(node.id);
  if (out.data.length !== 1) return undefined;
  const k = a.data.length;
  if (k !== b.data.length || k < 2 || k > 6) return undefined;
  // With one output entry, op(A) is a row and op(B) a column: their entries in storage order.
  return Array.from(
    { length: k },
    (_, i) => `${operandNumber(a.data[i]!, digits)} \\cdot ${operandNumber(b.data[i]!, digits)}`,
  ).join(" + ");
}
