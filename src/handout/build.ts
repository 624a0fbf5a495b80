import { dimLatex, latexName } from "../syntax/latexName.js";
import { feeding, type GradientInModel, type Graph, type NamedValue, type NodeId } from "../ir/types.js";
import type { Gradient } from "../autodiff/reverse.js";
import { spaceLatex } from "./render.js";
import type { Block, Document, Inline } from "./document.js";
import { heading, math, para, prose, text } from "./document.js";
import { HandoutContext } from "./context.js";
import { deltaStep, paramStep, partial } from "./derivation.js";
import { glossary, opsUsed } from "./glossary.js";
import { baseLetters } from "./notation.js";
import { descent, forwardItems, forwardNumbers, givenValues, optimizerTitle } from "./worked.js";
import { breakRows } from "./width.js";
import { computationGraph, unrolled } from "./diagram.js";
import { kernelGradientIllustration, poolRoutingIllustration } from "./images.js";
import { withSubscript, type RecurrenceContext } from "./recurrence.js";
import { flipOver } from "../ir/reversed.js";
import type { ItemCheck, LectureReport } from "../lecture/check.js";
import { lectureSection, remarks, slipNote } from "./lecture.js";

const ROLE_TITLE = { input: "Inputs", target: "Targets", param: "Parameters", const: "Constants" } as const;

/**
 * The handout as a lecture derives it: the model and its notation, the forward pass (with the
 * numbers when the model carries an example), the backward pass one δ at a time from the loss
 * back to every parameter, backpropagation through time for a recurrence, and gradient
 * descent. It renders what the differentiator recorded; it never differentiates anything.
 */
export function buildHandout(graph: Graph, gradient: Gradient, lecture?: LectureReport): Document {
  const ctx = new HandoutContext(graph, gradient);
  const slips = (where: (c: ItemCheck) => boolean): Block[] =>
    (lecture?.items ?? [])
      .filter(
        (c) =>
          (c.verdict === "differs" || c.verdict === "formula-differs" || c.verdict === "negligible") &&
          where(c),
      )
      .map((c) => slipNote(ctx, c));
  const placed = new Set<ItemCheck>();
  const at = (where: (c: ItemCheck) => boolean) =>
    slips((c) => {
      if (placed.has(c) || !where(c)) return false;
      placed.add(c);
      return true;
    });
  const gradientOf = (ids: readonly NodeId[]) => (c: ItemCheck) =>
    c.item.after === 0 && c.item.quantity.kind === "gradient" && ids.includes(c.item.quantity.of);
  const blocks: Block[] = [...modelSection(ctx), ...remarks(ctx), ...notationSection(ctx)];
  blocks.push(...withoutNumbers(ctx));
  if (ctx.worked)
    blocks.push(
      heading(1, text("The forward pass, with numbers")),
      ...givenValues(ctx),
      ...forwardNumbers(ctx, ctx.worked, (ids) =>
        at(
          (c) =>
            c.item.after === 0 && c.item.quantity.kind !== "gradient" && ids.includes(c.item.quantity.node),
        ),
      ),
      ...at((c) => c.item.after === 0 && c.item.quantity.kind === "value"),
    );
  blocks.push(...backwardSection(ctx, (ids) => at(gradientOf(ids))));
  // The lecture's own quantities (the sheet's O_delta) belong to its backward pass: after ours.
  blocks.push(...at((c) => c.item.after === 0 && c.item.quantity.kind === "definition"));
  blocks.push(
    heading(1, text(optimizerTitle(ctx.graph.train))),
    ...descent(ctx, ctx.worked),
    ...at((c) => c.item.after > 0),
  );
  if (lecture) blocks.push(...lectureSection(ctx, lecture, placed));
  const source = graph.lecture?.source;
  return {
    title: `${graph.modelName}: deriving the gradients`,
    ...(source ? { subtitle: `after ${source}` } : {}),
    blocks: mergeNotes(blocks),
  };
}

/** Notes of one kind that follow each other read as one note with several paragraphs. */
function mergeNotes(blocks: readonly Block[]): Block[] {
  const out: Block[] = [];
  for (const b of blocks) {
    const last = out[out.length - 1];
    if (
      b.kind === "note" &&
      last?.kind === "note" &&
      last.tone === b.tone &&
      JSON.stringify(last.title) === JSON.stringify(b.title)
    )
      out[out.length - 1] = { ...last, body: [...last.body, ...b.body] };
    else out.push(b);
  }
  return out;
}

/** Why this handout has no worked numbers, when the model has values but they are not worked through. */
function withoutNumbers(ctx: HandoutContext): Block[] {
  const u = ctx.unworked;
  const { graph } = ctx;
  // A model that gives no values at all asks for no numbers: nothing needs saying.
  if (!u || (u.kind === "missing" && graph.example.size === 0 && !graph.lecture)) return [];
  const end = `, so this handout derives the gradients without numbers${graph.lecture ? " and does not check the lecture's" : ""}`;
  if (u.kind === "missing")
    return [
      para(
        text("The model gives no example value for "),
        ...u.names.flatMap((name, i) => {
          const named = graph.named.find((n) => n.name === name)!;
          return [...(i > 0 ? [text(", ")] : []), math(ctx.symbol(named.node) ?? latexName(name))];
        }),
        text(`${end}.`),
      ),
    ];
  const why =
    u.kind === "steps"
      ? `The recurrence runs over ${u.steps.toLocaleString("en")} steps: too many to work through here`
      : `The model's largest value has ${u.entries.toLocaleString("en")} entries: too many to print`;
  return [para(text(`${why}${end}. The generated module computes them.`))];
}

function modelSection(ctx: HandoutContext): Block[] {
  const { graph } = ctx;
  const blocks: Block[] = [heading(1, text("The model"))];
  const dims = [...graph.dims];
  if (dims.length > 0)
    blocks.push(
      para(
        text("Dimensions: "),
        ...dims.flatMap(([name, v], i) => [
          ...(i > 0 ? [text(", ")] : []),
          math(`${dimLatex(name)}${v === undefined ? "" : ` = ${v}`}`),
          ...(v === undefined ? [text(" (set by the data)")] : []),
        ]),
        text("."),
      ),
    );
  for (const role of ["input", "target", "param", "const"] as const) {
    const named = graph.named.filter((n) => n.kind === role);
    if (named.length === 0) continue;
    blocks.push(
      para(
        { strong: [text(`${ROLE_TITLE[role]}: `)] },
        ...named.flatMap((n, i) => [...(i > 0 ? [text(", ")] : []), math(declaration(ctx, n))]),
        text("."),
      ),
    );
  }
  const f = ctx.forward();
  const items = forwardItems(ctx);
  for (const item of items) {
    if (item.kind === "recurrence") {
      const r = item.r;
      const start = r.initialRows().map((row) => `$${row.lhs} = ${row.rhs}$`);
      blocks.push(
        para(
          ...prose(
            r.reverse
              ? `For $${r.index} = ${r.length}, \\dots, 1$, backwards from the last step${start.length > 0 ? `, starting from ${start.join(", ")}` : ""}:`
              : `For $${r.index} = 1, \\dots, ${r.length}$, in order${start.length > 0 ? `, starting from ${start.join(", ")}` : ""}:`,
          ),
        ),
      );
      blocks.push({ kind: "equations", rows: breakRows(r.equationRows()) });
    } else {
      if (items.length > 1) blocks.push(para(text(item === items[0] ? "First:" : "Then:")));
      else blocks.push(para(text("The equations, in the order they are computed:")));
      blocks.push({
        kind: "equations",
        rows: breakRows(item.ids.map((id) => ({ lhs: ctx.symbol(id)!, rhs: ctx.definition(id, f) }))),
      });
    }
  }
  blocks.push(para(...prose(`The loss is $${ctx.lossSymbol}$.`)));
  const pictures =
    ctx.recurrences.length > 0 ? ctx.recurrences.map((r) => unrolled(ctx, r)) : [computationGraph(ctx)];
  for (const p of pictures) if (p) blocks.push(p);
  return blocks;
}

/** `W ∈ ℝ^{H×D}`; one value per step of an index reads `x_t ∈ ℝ^{D}`. */
function declaration(ctx: HandoutContext, n: NamedValue): string {
  const symbol = ctx.symbol(n.node) ?? n.name;
  const node = ctx.graph.nodes[n.node]!;
  // Integer data (labels, token ids) are indices from 0, not real numbers.
  const set = node.kind === "input" && node.integer ? "\\{0, 1, \\dots\\}" : "\\mathbb{R}";
  if (n.index === undefined) return `${symbol} \\in ${spaceLatex(n.declaredShape, set)}`;
  return `${withSubscript(symbol, dimLatex(n.index))} \\in ${spaceLatex(n.declaredShape.slice(1), set)}`;
}

function notationSection(ctx: HandoutContext): Block[] {
  const blocks: Block[] = [heading(1, text("Notation"))];
  const L = ctx.lossSymbol;
  // The placeholder for "a value" is a letter the model does not use (a param may be v).
  const taken = baseLetters(ctx.notation.symbols.values());
  const v = ["v", "u", "q", "s", "a"].find((l) => !taken.has(l)) ?? "v";
  blocks.push(
    para(
      ...prose(
        `For a value $${v}$ of the model, $\\delta_${v} = ${partial(L, v)}$ is the gradient of the loss with respect to $${v}$ (the error of $${v}$); it has the shape of $${v}$. Going backwards from the loss, each $\\delta$ follows by the chain rule from the $\\delta$s of the values computed from it; a value used by several equations receives the sum of what each sends back.`,
      ),
    ),
  );
  for (const g of ctx.graph.gradients ?? []) blocks.push(gradientInModelNote(ctx, g));
  const aux = [
    ...ctx.notation.auxiliaries,
    ...ctx.recurrences.flatMap((r) => r.notation.auxiliaries.map((a) => ({ ...a, r }))),
  ];
  if (aux.length > 0) {
    const parts: Inline[] = [text("The derivation names ")];
    aux.forEach((a, i) => {
      if (i > 0) parts.push(text(i === aux.length - 1 ? " and " : ", "));
      const r = "r" in a ? (a.r as RecurrenceContext) : undefined;
      const definition = r ? r.forward().definition(a.node) : ctx.forward().definition(a.node);
      const of =
        a.preactivationOf !== undefined
          ? r
            ? r.symbol(a.preactivationOf)
            : ctx.symbol(a.preactivationOf)
          : undefined;
      parts.push(math(`${r ? r.symbol(a.node) : a.symbol} = ${definition}`));
      if (of) parts.push(text(" (the pre-activation of "), math(of), text(")"));
    });
    parts.push(text(", because more than one step of the derivation uses its δ."));
    blocks.push(para(...parts));
  }
  const tensors = ctx.gradient.nodes.slice(0, ctx.gradient.forwardCount).some((n) => n.shape.length > 0);
  const roots = ctx.graph.named.map((n) => n.node);
  const ops = opsUsed(ctx.gradient.nodes, roots).filter((op) => op !== "mul" || tensors);
  if (tensors && !ops.includes("mul")) ops.unshift("mul");
  blocks.push(...glossary(ops));
  return blocks;
}

/**
 * What a gradient the model takes itself is (G = ∂ΣD/∂X): a backward pass of its own, whose
 * δs the derivation may name (u = ∂ΣD/∂r); values that feed only it get no δ of the loss.
 */
function gradientInModelNote(ctx: HandoutContext, g: GradientInModel): Block {
  const f = ctx.forward();
  const [S, X] = [f.reference(g.of), f.reference(g.wrt)];
  const named = [...g.adjoints]
    .filter(
      ([value, delta]) =>
        delta !== g.node && ctx.symbol(delta) !== undefined && ctx.symbol(value) !== undefined,
    )
    .map(([value, delta]) => `$${ctx.symbol(delta)} = ${partial(S, ctx.symbol(value)!)}$`);
  const reachesLoss = feeding(ctx.graph.nodes, ctx.graph.loss);
  const feeds = feeding(ctx.graph.nodes, g.of);
  const unused = ctx.graph.named
    .filter((n) => (n.kind === "equation" || n.kind === "loss") && feeds[n.node] && !reachesLoss[n.node])
    .map((n) => ctx.symbol(n.node))
    .filter((symbol): symbol is string => symbol !== undefined);
  const sentences = [
    `$${ctx.symbol(g.node)} = ${ctx.gradientTaken(g.node)}$ is a gradient the model takes itself, by a backward pass of its own: the chain rule from $${S}$, where that pass starts with 1, back to $${X}$, written in the equations as the expression it comes to${named.length > 0 ? `; in it, ${named.join(", ")} ${named.length > 1 ? "are that pass's $\\delta$s" : "is that pass's $\\delta$"}` : ""}.`,
    ...unused.map(
      (u) =>
        `$${u}$ itself does not enter the loss, only its gradient does: $\\delta_{${u}} = 0$, and no $\\delta$ below runs through it.`,
    ),
    `The loss's $\\delta$s flow back through $${ctx.symbol(g.node)}$'s expression like through any other equation, so the gradients below hold second derivatives of the model.`,
  ];
  return para(...prose(sentences.join(" ")));
}

/** Items of the backward pass: a δ, a param's gradient, or a recurrence's backward pass. */
type Item =
  | { kind: "delta"; id: NodeId }
  | { kind: "param"; id: NodeId }
  | { kind: "recurrence"; r: RecurrenceContext };

/**
 * The order a lecture derives in: from the loss backwards, one value as soon as everything
 * it feeds is done, going deep before wide (δ^L, then ∂E/∂W^L and ∂E/∂b^L, then δ^{L−1}, …),
 * and among values ready together, the one the model defines first.
 */
function derivationOrder(ctx: HandoutContext): Item[] {
  const items = new Map<string, Item>();
  const deps = new Map<string, Set<string>>();
  const keyOf = (id: NodeId) => `n${id}`;
  const scanKey = (scan: NodeId) => `s${scan}`;
  const consumersOf = (id: NodeId): string[] => {
    const out: string[] = [];
    for (const t of ctx.notation.effectiveTerms(id)) {
      if (t.term.kind === "recurrence") out.push(scanKey(t.term.scan));
      else if (t.through !== undefined && t.through !== ctx.graph.loss && ctx.notation.hasShown(t.through))
        out.push(keyOf(t.through));
    }
    return out;
  };
  for (const id of ctx.notation.shown) {
    if (id === ctx.graph.loss) continue;
    items.set(keyOf(id), { kind: "delta", id });
    deps.set(keyOf(id), new Set(consumersOf(id)));
  }
  for (const p of ctx.params) {
    items.set(keyOf(p.node), { kind: "param", id: p.node });
    deps.set(keyOf(p.node), new Set(consumersOf(p.node)));
  }
  for (const r of ctx.recurrences) {
    if (!r.adjoint) continue;
    items.set(scanKey(r.scan.id), { kind: "recurrence", r });
    const d = new Set<string>();
    for (const n of ctx.gradient.nodes)
      if (n.kind === "project" && n.scan === r.scan.id)
        for (const read of [n.id, flipOver(ctx.gradient.nodes, n.id)])
          if (read !== undefined) for (const c of consumersOf(read)) d.add(c);
    deps.set(scanKey(r.scan.id), d);
  }
  for (const d of deps.values()) for (const k of [...d]) if (!items.has(k)) d.delete(k);
  const order: Item[] = [];
  const done = new Set<string>();
  const idOf = (k: string) => Number(k.slice(1));
  // What each item waits for, counted down as items are done: a model of thousands of
  // equations would otherwise be scanned whole after each one.
  const position = new Map([...items.keys()].map((k, i) => [k, i]));
  const waiting = new Map([...deps].map(([k, d]) => [k, d.size]));
  const dependents = new Map<string, string[]>();
  for (const [k, d] of deps)
    for (const on of d) {
      if (!dependents.has(on)) dependents.set(on, []);
      dependents.get(on)!.push(k);
    }
  const byId = (keys: string[]) =>
    keys.sort((a, b) => position.get(a)! - position.get(b)!).sort((a, b) => idOf(b) - idOf(a));
  const stacked = new Set([...items.keys()].filter((k) => waiting.get(k) === 0));
  const stack = byId([...stacked]);
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (done.has(k)) continue;
    done.add(k);
    order.push(items.get(k)!);
    const fresh: string[] = [];
    for (const d of dependents.get(k) ?? []) {
      waiting.set(d, waiting.get(d)! - 1);
      if (waiting.get(d) === 0 && !done.has(d) && !stacked.has(d)) fresh.push(d);
    }
    for (const f of byId(fresh)) {
      stacked.add(f);
      stack.push(f);
    }
  }
  return order;
}

/** The backward pass in derivation order; `slips` gives the lecture's wrong values for the gradients of these nodes. */
function backwardSection(ctx: HandoutContext, slips: (ids: readonly NodeId[]) => Block[]): Block[] {
  const blocks: Block[] = [heading(1, text("The backward pass"))];
  const membersOf = new Map<NodeId, NodeId[]>();
  for (const s of ctx.gradient.trace) {
    const head = ctx.notation.representativeOf(s.node);
    if (!membersOf.has(head)) membersOf.set(head, []);
    membersOf.get(head)!.push(s.node);
  }
  for (const item of derivationOrder(ctx)) {
    if (item.kind === "delta") {
      const members = membersOf.get(item.id) ?? [];
      const routing = ctx.worked ? members.flatMap((m) => poolRoutingIllustration(ctx, m, ctx.worked!)) : [];
      blocks.push(
        heading(2, text("The error of "), math(ctx.deltaName(item.id))),
        ...routing,
        ...deltaStep(ctx, item.id),
        ...slips(members),
      );
    } else if (item.kind === "param") {
      const regions = ctx.worked ? kernelGradientIllustration(ctx, item.id, ctx.worked) : [];
      blocks.push(
        heading(2, text("The gradient of "), math(ctx.symbol(item.id)!)),
        ...paramStep(ctx, item.id),
        ...regions,
        ...slips([item.id]),
      );
    } else {
      const r = item.r;
      // Without states nothing is carried between steps: each step's δs are its own.
      const title = r.scan.states.length > 0 ? "Backpropagation through time over " : "Each step of ";
      blocks.push(heading(2, text(title), math(r.index)), ...r.derivation());
      const order =
        r.scan.states.length === 0
          ? ""
          : r.reverse
            ? " (the δs are computed from the first step to the last)"
            : " (the δs are computed from the last step back to the first)";
      if (ctx.worked) blocks.push(para(text(`The numbers of every step${order}:`)), ...r.table(ctx.worked));
      blocks.push(...slips(r.stepNodes()));
    }
  }
  return blocks;
}
