import type { NodeId, NamedValue } from "../ir/types.js";
import { Evaluator } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import { ExpressionRenderer } from "./render.js";
import { PREC } from "../ir/op.js";
import { applyUpdate, OptimizerRun, plainDescent, STATE_WORDS, updateRule } from "../train/update.js";
import type { RuleLine } from "../train/update.js";
import type { TrainSettings } from "../ir/types.js";
import type { Block, EquationRow, Inline, Table } from "./document.js";
import { math, para, prose, text } from "./document.js";
import { constantLatex, type HandoutContext } from "./context.js";
import { formatNumber, operandNumber, tensorLatex } from "./numbers.js";
import { partial } from "./derivation.js";
import { breakRows, estimateWidth, ROW_WIDTH_EM, TEXT_WIDTH_EM } from "./width.js";
import type { RecurrenceContext } from "./recurrence.js";
import { forwardIllustration } from "./images.js";
import { isFlippedProjection } from "../ir/reversed.js";
import { newtonStates } from "../train/newton.js";
import { withSubscript } from "./recurrence.js";
import type { HessianProduct } from "../autodiff/hessian.js";

/** The value of a given name: a const's from the IR, the rest from the example. */
function givenValue(ctx: HandoutContext, n: NamedValue): Tensor | undefined {
  const node = ctx.gradient.nodes[n.node]!;
  if (node.kind === "const") return { shape: node.shape as number[], data: node.value };
  // A const filling a run-time shape (ones: [N] = 1) takes its size from the example.
  if (n.kind === "const") return ctx.worked?.value(n.node);
  return ctx.values.get(n.name);
}

/** Every given number, constants included: what a reader needs to redo the example. */
export function givenValues(ctx: HandoutContext): Block[] {
  const rows: EquationRow[] = [];
  for (const n of ctx.graph.named) {
    if (n.kind !== "input" && n.kind !== "target" && n.kind !== "param" && n.kind !== "const") continue;
    const v = givenValue(ctx, n);
    if (!v) continue;
    rows.push({ lhs: ctx.symbol(n.node) ?? n.name, rhs: tensorLatex(v, ctx.digits) });
  }
  return rows.length === 0 ? [] : [{ kind: "equations", rows: packRows(rows) }];
}

/** Short rows side by side (x = 1.5, y = 0.5, …) so that a list of scalars does not fill a page. */
function packRows(rows: readonly EquationRow[]): EquationRow[] {
  const out: EquationRow[] = [];
  let pending: EquationRow | undefined;
  for (const r of rows) {
    const short = estimateWidth(`${r.lhs}=${r.rhs}`) < 9;
    if (pending && short && estimateWidth(`${pending.rhs}, ${r.lhs} = ${r.rhs}`) < TEXT_WIDTH_EM - 8) {
      pending = { ...pending, rhs: `${pending.rhs}, \\quad ${r.lhs} = ${r.rhs}` };
      continue;
    }
    if (pending) out.push(pending);
    pending = short ? r : undefined;
    if (!short) out.push(r);
  }
  if (pending) out.push(pending);
  return out;
}

/** Equations of the model outside recurrences, in the order they are computed, with the names the derivation adds. */
export function forwardOrder(ctx: HandoutContext): NodeId[] {
  const equations = ctx.graph.named
    .filter((n) => n.kind === "equation" || n.kind === "loss")
    .map((n) => n.node);
  const aux = ctx.notation.auxiliaries.map((a) => a.node);
  return [...new Set([...equations, ...aux])]
    .filter((id) => ctx.gradient.nodes[id]!.kind === "op" && !isFlippedProjection(ctx.gradient.nodes, id))
    .sort((a, b) => a - b);
}

/** The forward pass as a sequence of equations and recurrences, in the order they are computed. */
export type ForwardItem =
  | { readonly kind: "equations"; readonly ids: NodeId[] }
  | { readonly kind: "recurrence"; readonly r: RecurrenceContext };

export function forwardItems(ctx: HandoutContext): ForwardItem[] {
  const entries: { id: NodeId; r?: RecurrenceContext }[] = [
    ...forwardOrder(ctx).map((id) => ({ id })),
    ...ctx.recurrences.map((r) => ({ id: r.scan.id, r })),
  ].sort((a, b) => a.id - b.id);
  const out: ForwardItem[] = [];
  for (const e of entries) {
    const last = out[out.length - 1];
    if (e.r) out.push({ kind: "recurrence", r: e.r });
    else if (last?.kind === "equations") last.ids.push(e.id);
    else out.push({ kind: "equations", ids: [e.id] });
  }
  return out;
}

/** The forward pass with the numbers: v = definition = the numbers substituted = value. */
export function forwardNumbers(
  ctx: HandoutContext,
  ev: Evaluator,
  /** What to print right after the given values are computed (a lecture's slip about them). */
  after: (ids: readonly NodeId[]) => Block[] = () => [],
): Block[] {
  const f = ctx.forward();
  const num = ctx.numeric(ev);
  const blocks: Block[] = [];
  for (const item of forwardItems(ctx)) {
    if (item.kind === "recurrence") {
      blocks.push(...item.r.forwardTable(ev), ...after(item.r.readNodes()));
      continue;
    }
    let rows: EquationRow[] = [];
    for (const id of item.ids) {
      const lhs = ctx.symbol(id)!;
      const line: string[] = [ctx.definition(id, f)];
      if (ctx.isScalar(id)) line.push(num.definition(id));
      line.push(tensorLatex(ev.value(id), ctx.digits));
      const distinct = line.filter((x, i) => line.indexOf(x) === i);
      // An image operation is shown as the lecture shows it, between its definition and its value.
      const illustration = forwardIllustration(ctx, id, ev);
      if (illustration.length > 0) {
        rows.push({ lhs, rhs: distinct[0]! });
        blocks.push({ kind: "equations", rows: breakRows(rows) }, ...illustration);
        rows = distinct.slice(1).map((rhs, i) => ({ lhs: i === 0 ? lhs : "", rhs }));
        continue;
      }
      distinct.forEach((rhs, i) => rows.push({ lhs: i === 0 ? lhs : "", rhs }));
      const notes = after([id]);
      if (notes.length > 0) {
        blocks.push({ kind: "equations", rows: breakRows(rows) }, ...notes);
        rows = [];
      }
    }
    if (rows.length > 0) blocks.push({ kind: "equations", rows: breakRows(rows) });
  }
  return blocks;
}

/**
 * Gradient descent as the module's step function computes it (the same update rule, as IR):
 * the rule, the first step with its numbers, and — for several steps — a table whose row k
 * holds the parameters after step k and the output and loss they give.
 */
export function descent(ctx: HandoutContext, ev: Evaluator | undefined): Block[] {
  if (ctx.graph.train?.optimizer === "newton" && ctx.gradient.hessian)
    return newton(ctx, ctx.gradient.hessian, ev);
  if (!plainDescent(ctx.graph.train)) return optimizerDescent(ctx, ev);
  const rule = updateRule();
  const lr = ctx.graph.train?.lr ?? 0.1;
  const steps = ctx.graph.train?.steps ?? 1;
  const L = ctx.lossSymbol;
  // The learning rate is written as the lecture's const when the model gives it by name (τ, λ, α).
  const lrConst = ctx.graph.named.find((n) => n.kind === "const" && n.name === ctx.graph.train?.lrName);
  const ETA = lrConst ? ctx.symbol(lrConst.node)! : "\\eta";
  const ruleLatex = (theta: string, gradient: string, eta: string) =>
    new ExpressionRenderer(rule.nodes, {
      symbol: (id) =>
        id === rule.theta
          ? { text: theta, prec: PREC.atom }
          : id === rule.gradient
            ? {
                text: gradient,
                prec: PREC.atom,
                numeric: /^[\d(\\]/.test(gradient) && !gradient.startsWith("\\frac"),
              }
            : id === rule.lr
              ? { text: eta, prec: PREC.atom, numeric: /^\d/.test(eta) }
              : undefined,
      adjoint: () => ({ text: "?", prec: PREC.atom }),
      constant: (value, shape) => constantLatex(value, shape, ctx.digits),
    }).definition(rule.next);
  const blocks: Block[] = [
    para(
      ...prose(
        `Every parameter moves against its gradient with learning rate $${ETA} = ${formatNumber(lr)}$, all at once (every gradient is computed before any parameter changes):`,
      ),
    ),
    {
      kind: "equations",
      rows: [{ lhs: "\\theta", rel: "\\leftarrow", rhs: ruleLatex("\\theta", partial(L, "\\theta"), ETA) }],
    },
  ];
  if (!ev) return blocks;
  const params = ctx.params;
  let values = new Map(ctx.values);
  let current = ev;
  const gradientOf = (e: Evaluator, p: NamedValue): Tensor => {
    const g = ctx.gradient.params.get(p.name);
    const v = values.get(p.name)!;
    return g === null || g === undefined
      ? { shape: v.shape, data: new Float64Array(v.data.length) }
      : e.value(g);
  };
  const history: Map<string, Tensor>[] = [values];
  let moved = false;
  const losses: number[] = [current.value(ctx.graph.loss).data[0]!];
  const outputs = tableOutputs(ctx);
  const outputHistory: number[][] = [outputs.map((o) => current.value(o).data[0]!)];
  for (let k = 1; k <= steps; k++) {
    const grads = params.map((p) => gradientOf(current, p));
    const next = new Map(values);
    params.forEach((p, i) => next.set(p.name, applyUpdate(rule, values.get(p.name)!, grads[i]!, lr)));
    if (k === 1) {
      const rows: EquationRow[] = params.map((p, i) => {
        const old = values.get(p.name)!;
        const updated = next.get(p.name)!;
        const symbol = ctx.symbol(p.node)!;
        const scalar = old.data.length === 1;
        // A step too small to show at the usual digits gets the digits that show it (0.6 → 0.59999995).
        let digits = ctx.digits;
        while (
          scalar &&
          digits < 12 &&
          updated.data[0] !== old.data[0] &&
          formatNumber(updated.data[0]!, digits) === formatNumber(old.data[0]!, digits)
        )
          digits++;
        // A small tensor's update gets its numbers too, when the line fits.
        const substituted = `${ruleLatex(tensorLatex(old, ctx.digits), tensorLatex(grads[i]!, ctx.digits), formatNumber(lr))} = ${tensorLatex(updated, ctx.digits)}`;
        const numbers = scalar
          ? `${ruleLatex(operandNumber(old.data[0]!, ctx.digits), operandNumber(grads[i]!.data[0]!, ctx.digits), formatNumber(lr))} = ${formatNumber(updated.data[0]!, digits)}`
          : old.data.length <= 4 && estimateWidth(substituted) + estimateWidth(symbol) * 3 < ROW_WIDTH_EM
            ? substituted
            : tensorLatex(updated, ctx.digits);
        return {
          lhs: symbol,
          rel: "\\leftarrow",
          rhs: `${ruleLatex(symbol, partial(L, symbol), ETA)} = ${numbers}`,
        };
      });
      blocks.push(para(text("The first step:")), { kind: "equations", rows: breakRows(rows) });
    }
    if (params.some((p) => next.get(p.name)!.data.some((v, j) => v !== values.get(p.name)!.data[j])))
      moved = true;
    values = next;
    current = new Evaluator(ctx.gradient.nodes, values);
    history.push(values);
    losses.push(current.value(ctx.graph.loss).data[0]!);
    outputHistory.push(outputs.map((o) => current.value(o).data[0]!));
  }
  if (steps > 1) blocks.push(...iterationTable(ctx, history, outputs, outputHistory, losses));
  blocks.push(closingLoss(ctx, steps, losses, moved));
  return blocks;
}

/** The sentence after the steps: the loss they reach, or that nothing moved. */
function closingLoss(ctx: HandoutContext, steps: number, losses: readonly number[], moved: boolean): Block {
  const L = ctx.lossSymbol;
  return para(
    ...prose(
      !moved
        ? `Every gradient is 0 here, so the ${steps === 1 ? "step changes" : "steps change"} nothing: the loss stays $${L} = ${formatNumber(losses[0]!, ctx.digits)}$.`
        : lossAfter(ctx, steps, losses),
    ),
  );
}

/** How the handout names each optimiser, after PyTorch's class that computes the same. */
export function optimizerTitle(train: TrainSettings | undefined): string {
  switch (train?.optimizer) {
    case undefined:
    case "sgd":
      return "Gradient descent";
    case "newton":
      return "Newton's method";
    case "momentum":
      return "Gradient descent with momentum";
    case "nesterov":
      return "Gradient descent with Nesterov momentum";
    case "rmsprop":
      return "RMSProp";
    case "adam":
      return "Adam";
    case "adamw":
      return "AdamW";
  }
}

const OPTIMIZER_WORDS: Readonly<Record<string, string>> = {
  sgd: "plain gradient descent (torch.optim.SGD)",
  momentum:
    "gradient descent with momentum (torch.optim.SGD with momentum $= \\beta$): a velocity $v$ sums the gradients, each earlier one weighted down by $\\beta$ per step, and the parameter moves along it",
  nesterov:
    "gradient descent with Nesterov momentum (torch.optim.SGD with nesterov): as momentum, but the step looks ahead, along the gradient plus $\\beta$ times the new velocity",
  rmsprop:
    "RMSProp (torch.optim.RMSprop, whose alpha is $\\rho$): each entry's step is divided by the root of a running average $s$ of its squared gradients",
  adam: "Adam (torch.optim.Adam): running averages of the gradient ($m$) and of its square ($s$), each corrected for starting at 0 ($\\hat{m}$, $\\hat{s}$; $t$ counts the steps from 1), give each entry its own step",
  adamw:
    "AdamW (torch.optim.AdamW): Adam with the weight decay applied to the parameter itself, $\\theta (1 - \\eta\\lambda)$, before Adam's step",
};

/**
 * A first-order optimiser with state, clipping or a schedule, as the module's optimizerStep
 * computes it (the same rule, as IR): the rule line by line, the first step with its numbers,
 * and the iteration table.
 */
function optimizerDescent(ctx: HandoutContext, ev: Evaluator | undefined): Block[] {
  const train = ctx.graph.train!;
  const steps = train.steps;
  const L = ctx.lossSymbol;
  const run = new OptimizerRun(train);
  const rule = run.rule;
  const lrConst = ctx.graph.named.find((n) => n.kind === "const" && n.name === train.lrName);
  const ETA = lrConst ? ctx.symbol(lrConst.node)! : "\\eta";
  const ETA_T = train.schedule ? `${ETA}_t` : ETA;
  type Sym = { text: string; numeric?: boolean };
  const lineLatex = (line: RuleLine, symbols: ReadonlyMap<NodeId, Sym>) =>
    new ExpressionRenderer(rule.nodes, {
      symbol: (id) => {
        const s = symbols.get(id);
        return s ? { text: s.text, prec: PREC.atom, ...(s.numeric ? { numeric: true } : {}) } : undefined;
      },
      adjoint: () => ({ text: "?", prec: PREC.atom }),
      constant: (value, shape) => constantLatex(value, shape, ctx.digits),
    }).definition(line.node);
  const rel = (l: RuleLine) => (l.kind === "derived" ? "=" : "\\leftarrow");
  // The general rule: every symbol as the lecture writes it.
  const general = new Map<NodeId, Sym>([
    [rule.theta, { text: "\\theta" }],
    [rule.gradient, { text: "g" }],
    [rule.lr, { text: ETA_T }],
    [rule.step, { text: "t" }],
    ...rule.hyper.map((h): [NodeId, Sym] => [h.node, { text: h.latex }]),
  ]);
  for (const l of rule.lines) {
    if (l.input !== undefined) general.set(l.input, { text: l.latex });
    if (l.kind !== "theta") general.set(l.node, { text: l.latex });
  }
  const settings = [
    `$${ETA} = ${formatNumber(train.lr)}$`,
    ...rule.hyper.map((h) => `$${h.latex} = ${formatNumber(h.value)}$`),
  ];
  const states = rule.lines.filter((l) => l.kind === "state");
  const blocks: Block[] = [
    para(
      ...prose(
        `The parameters are trained with ${OPTIMIZER_WORDS[rule.optimizer]}. For every entry $\\theta$ of every parameter, with its gradient $g = ${partial(L, "\\theta")}$${train.clip !== undefined ? " (clipped, below)" : ""}${states.length > 0 ? `, and ${states.map((l) => `$${l.latex}$ (${STATE_WORDS[l.key!] ?? l.key}, 0 before the first step)`).join(" and ")}` : ""}, each step computes, in this order (every gradient is computed before any parameter changes):`,
      ),
    ),
    {
      kind: "equations",
      rows: rule.lines.map((l) => ({
        lhs: l.latex,
        rel: rel(l),
        rhs: lineLatex(l, new Map([...general].filter(([id]) => id !== l.node))),
      })),
    },
    para(...prose(`with ${settings.join(", ")}.`)),
  ];
  if (train.schedule) {
    const { decay, every } = train.schedule;
    blocks.push(
      para(
        ...prose(
          `The learning rate of step $t$ is $${ETA}_t = ${ETA} \\gamma^{\\lfloor (t-1)/k \\rfloor}$ with $\\gamma = ${formatNumber(decay)}$ and $k = ${every}$: it is multiplied by $\\gamma$ after every ${every === 1 ? "step" : `${every} steps`} (torch.optim.lr_scheduler.StepLR).`,
        ),
      ),
    );
  }
  if (train.clip !== undefined)
    blocks.push(
      para(
        ...prose(
          `Before each step the gradients are clipped together (torch.nn.utils.clip_grad_norm_): with $\\lVert g \\rVert$ the norm of all gradients of all parameters as one vector, each gradient is multiplied by $\\kappa = \\min\\left(1, \\frac{C}{\\lVert g \\rVert + 10^{-6}}\\right)$, $C = ${formatNumber(train.clip)}$.`,
        ),
      ),
    );
  if (!ev) return blocks;
  const params = ctx.params;
  let values = new Map(ctx.values);
  let current = ev;
  const history: Map<string, Tensor>[] = [values];
  let moved = false;
  const losses: number[] = [current.value(ctx.graph.loss).data[0]!];
  const outputs = tableOutputs(ctx);
  const outputHistory: number[][] = [outputs.map((o) => current.value(o).data[0]!)];
  const rates: number[] = [];
  for (let k = 1; k <= steps; k++) {
    const grads = new Map<string, Tensor>();
    for (const p of params) {
      const g = ctx.gradient.params.get(p.name);
      const v = values.get(p.name)!;
      grads.set(
        p.name,
        g === null || g === undefined
          ? { shape: v.shape, data: new Float64Array(v.data.length) }
          : current.value(g),
      );
    }
    const before = new Map([...run.state].map(([k, v]) => [k, new Map(v)]));
    const step = run.step(values, grads);
    rates.push(step.lr);
    if (k === 1) blocks.push(...firstStep(ctx, step, values, grads, before));
    if (params.some((p) => step.values.get(p.name)!.data.some((v, j) => v !== values.get(p.name)!.data[j])))
      moved = true;
    values = step.values;
    current = new Evaluator(ctx.gradient.nodes, values);
    history.push(values);
    losses.push(current.value(ctx.graph.loss).data[0]!);
    outputHistory.push(outputs.map((o) => current.value(o).data[0]!));
  }
  if (steps > 1)
    blocks.push(
      ...iterationTable(
        ctx,
        history,
        outputs,
        outputHistory,
        losses,
        train.schedule ? { header: `${ETA}_k`, values: rates } : undefined,
      ),
    );
  blocks.push(closingLoss(ctx, steps, losses, moved));
  return blocks;

  /** The first step's numbers: the clipping, then each small parameter's lines. */
  function firstStep(
    ctx: HandoutContext,
    step: ReturnType<OptimizerRun["step"]>,
    values: ReadonlyMap<string, Tensor>,
    grads: ReadonlyMap<string, Tensor>,
    before: ReadonlyMap<string, ReadonlyMap<string, Tensor>>,
  ): Block[] {
    const out: Block[] = [];
    const rows: EquationRow[] = [];
    if (step.norm !== undefined)
      rows.push(
        { lhs: "\\lVert g \\rVert", rhs: formatNumber(step.norm, ctx.digits) },
        {
          lhs: "\\kappa",
          rhs: `\\min\\left(1, \\frac{${formatNumber(train.clip!)}}{${formatNumber(step.norm, ctx.digits)} + 10^{-6}}\\right) = ${formatNumber(step.factor!, ctx.digits)}`,
        },
      );
    if (train.schedule) rows.push({ lhs: `${ETA}_1`, rhs: formatNumber(step.lr) });
    const large: string[] = [];
    for (const p of ctx.params) {
      const symbol = ctx.symbol(p.node)!;
      const old = values.get(p.name)!;
      if (old.data.length > TABLE_ENTRIES) {
        large.push(symbol);
        continue;
      }
      const scalar = old.data.length === 1;
      const sub = (s: string) => `${s}_{${symbol}}`;
      const num = (t: Tensor): Sym =>
        scalar
          ? { text: operandNumber(t.data[0]!, ctx.digits), numeric: true }
          : { text: tensorLatex(t, ctx.digits) };
      const g = grads.get(p.name)!;
      const seen = step.gradients.get(p.name)!;
      rows.push({
        lhs: sub("g"),
        rhs: `${step.factor !== undefined ? `\\kappa\\,` : ""}${partial(L, symbol)} = ${step.factor !== undefined ? `${formatNumber(step.factor, ctx.digits)} \\cdot ${num(g).text} = ` : ""}${scalar ? formatNumber(seen.data[0]!, ctx.digits) : tensorLatex(seen, ctx.digits)}`,
      });
      const named = new Map<NodeId, Sym>([
        [rule.theta, { text: symbol }],
        [rule.gradient, { text: sub("g") }],
        [rule.lr, { text: train.schedule ? `${ETA}_1` : ETA }],
        [rule.step, { text: "1", numeric: true }],
        ...rule.hyper.map((h): [NodeId, Sym] => [h.node, { text: h.latex }]),
      ]);
      const numbers = new Map<NodeId, Sym>([
        [rule.theta, num(old)],
        [rule.gradient, num(seen)],
        [rule.lr, { text: formatNumber(step.lr), numeric: true }],
        [rule.step, { text: "1", numeric: true }],
        ...rule.hyper.map((h): [NodeId, Sym] => [h.node, { text: formatNumber(h.value), numeric: true }]),
      ]);
      const lines = step.lines.get(p.name)!;
      rule.lines.forEach((l, j) => {
        const lhs = l.kind === "theta" ? symbol : sub(l.latex);
        if (l.input !== undefined) {
          named.set(l.input, { text: sub(l.latex) });
          const prior = before.get(p.name)?.get(l.key!) ?? {
            shape: old.shape,
            data: new Float64Array(old.data.length),
          };
          numbers.set(l.input, num(prior));
        }
        const value = lines[j]!;
        const substituted = lineLatex(l, numbers);
        const fits = estimateWidth(substituted) < ROW_WIDTH_EM;
        rows.push({
          lhs,
          rel: rel(l),
          rhs: `${lineLatex(l, named)} = ${fits && scalar ? `${substituted} = ` : ""}${scalar ? formatNumber(value.data[0]!, ctx.digits) : tensorLatex(value, ctx.digits)}`,
        });
        if (l.kind !== "theta") {
          named.set(l.node, { text: lhs });
          numbers.set(l.node, num(value));
        }
      });
    }
    out.push(para(text("The first step:")), { kind: "equations", rows: breakRows(rows) });
    if (large.length > 0)
      out.push(
        para(
          text("The larger parameters ("),
          ...large.flatMap((s, i) => [...(i > 0 ? [text(", ")] : []), math(s)]),
          text(") take the same step entry by entry."),
        ),
      );
    return out;
  }
}

/** Scalar values of the model worth following over the iterations: its scalar equations other than the loss. */
function tableOutputs(ctx: HandoutContext): NodeId[] {
  return ctx.graph.named
    .filter(
      (n) =>
        n.kind === "equation" && n.declaredShape.length === 0 && ctx.gradient.nodes[n.node]!.kind === "op",
    )
    .map((n) => n.node)
    .slice(-2);
}

/** A param's entries as table columns: every entry of a small tensor, none of a large one. */
const TABLE_ENTRIES = 4;

function iterationTable(
  ctx: HandoutContext,
  history: readonly Map<string, Tensor>[],
  outputs: readonly NodeId[],
  outputHistory: readonly number[][],
  losses: readonly number[],
  /** With a schedule: the learning rate each step took, a column whose row k is step k's. */
  rates?: { readonly header: string; readonly values: readonly number[] },
): Block[] {
  const columns: { header: string; values: number[] }[] = [];
  if (rates) columns.push({ header: rates.header, values: [Number.NaN, ...rates.values] });
  const large: string[] = [];
  for (const p of ctx.params) {
    const first = history[0]!.get(p.name)!;
    const symbol = ctx.symbol(p.node)!;
    if (first.data.length > TABLE_ENTRIES) {
      large.push(symbol);
      continue;
    }
    for (let i = 0; i < first.data.length; i++)
      columns.push({
        header: first.data.length === 1 ? symbol : `(${symbol})_{${i + 1}}`,
        values: history.map((h) => h.get(p.name)!.data[i]!),
      });
  }
  outputs.forEach((o, j) =>
    columns.push({ header: ctx.symbol(o)!, values: outputHistory.map((h) => h[j]!) }),
  );
  columns.push({ header: ctx.lossSymbol, values: [...losses] });
  const intro: Inline[] = prose(
    `Row $k$ holds ${rates ? `the learning rate $${rates.header}$ of step $k$, ` : ""}the parameters after step $k$ (row 0: the start) and the values and the loss they give.`,
  );
  if (large.length > 0)
    intro.push(
      text(` The larger parameters (`),
      ...large.flatMap((s, i) => [...(i > 0 ? [text(", ")] : []), math(s)]),
      text(") are left out of the table."),
    );
  // As many columns per table as fit the page; the rest continue in a second table.
  const perTable = Math.max(2, Math.floor((TEXT_WIDTH_EM - 3) / 6));
  const tables: Table[] = [];
  for (let start = 0; start < columns.length; start += perTable) {
    const chunk = columns.slice(start, start + perTable);
    tables.push({
      kind: "table",
      columns: ["r", ...chunk.map(() => "r" as const)],
      header: [[math("k")], ...chunk.map((c) => [math(c.header)])],
      rows: history.map((_, k) => [
        [math(String(k))],
        ...chunk.map((c) =>
          Number.isNaN(c.values[k]!) ? [] : [math(formatNumber(c.values[k]!, ctx.digits))],
        ),
      ]),
    });
  }
  return [para(...intro), ...tables];
}

/**
 * Newton's method as the intro lecture writes it, W ← W − λ H⁻¹ ∇L: the Hessian over every
 * param entry, the first step with its numbers (H, ∇L, the step H⁻¹ ∇L), and the loss over
 * the steps. The numbers come from the same Hessian-vector products the module computes.
 */
function newton(ctx: HandoutContext, hvp: HessianProduct, ev: Evaluator | undefined): Block[] {
  const lr = ctx.graph.train?.lr ?? 1;
  const steps = ctx.graph.train?.steps ?? 1;
  const L = ctx.lossSymbol;
  const lrConst = ctx.graph.named.find((n) => n.kind === "const" && n.name === ctx.graph.train?.lrName);
  const LAMBDA = lrConst ? ctx.symbol(lrConst.node)! : "\\lambda";
  // w_1, w_2 for a vector's entries, W_{12} for a matrix's: as the lecture numbers them.
  const entries = ctx.params.flatMap((p) => {
    const shape = ctx.gradient.nodes[p.node]!.shape.map(Number);
    const size = shape.reduce((a, d) => a * d, 1);
    const symbol = ctx.symbol(p.node)!;
    return Array.from({ length: size }, (_, i) =>
      size === 1
        ? symbol
        : shape.length === 2
          ? withSubscript(symbol, `${Math.floor(i / shape[1]!) + 1}${(i % shape[1]!) + 1}`)
          : withSubscript(symbol, String(i + 1)),
    );
  });
  const theta = entries.length <= 6 ? `(${entries.join(", ")})` : "";
  const blocks: Block[] = [
    para(
      ...prose(
        `Newton's method moves every parameter at once by the inverse of the Hessian $H$ — the matrix of second derivatives of $${L}$ — times the gradient, with step size $${LAMBDA} = ${formatNumber(lr)}$:`,
      ),
    ),
    {
      kind: "equations",
      rows: [
        {
          lhs: "\\theta",
          rel: "\\leftarrow",
          rhs: `\\theta - ${LAMBDA}\\, H^{-1} \\nabla ${L}, \\qquad H_{ij} = \\frac{\\partial^2 ${L}}{\\partial \\theta_i\\, \\partial \\theta_j}`,
        },
      ],
    },
    para(
      ...prose(
        `Here $\\theta${theta ? ` = ${theta}` : ""}$ lists every parameter entry${theta ? "" : " (each parameter's entries in row-major order, the parameters in the order the model declares them)"}. Each column of $H$ is a Hessian-vector product, $H e_j = \\nabla (\\nabla ${L} \\cdot e_j)$: one more reverse pass, over the gradient.`,
      ),
    ),
  ];
  if (!ev) return blocks;
  const states = newtonStates(hvp, ctx.gradient.params, ctx.gradient.nodes, ctx.values, lr, steps);
  const first = states[1]!.step!;
  const n = entries.length;
  const vector = (data: Float64Array) => tensorLatex({ shape: [n], data }, ctx.digits);
  const rows: EquationRow[] = [
    { lhs: "H", rhs: tensorLatex({ shape: [n, n], data: first.hessian }, ctx.digits) },
    { lhs: `\\nabla ${L}`, rhs: vector(first.gradient) },
  ];
  if (first.step) {
    rows.push({ lhs: `H^{-1} \\nabla ${L}`, rhs: vector(first.step) });
    const next = new Float64Array(n);
    let offset = 0;
    for (const p of ctx.params) {
      const v = states[1]!.values.get(p.name)!;
      next.set(v.data, offset);
      offset += v.data.length;
    }
    rows.push({ lhs: `\\theta - ${LAMBDA}\\, H^{-1} \\nabla ${L}`, rhs: vector(next) });
  }
  blocks.push(para(text("The first step, at the starting values:")), { kind: "equations", rows });
  if (!first.step) {
    blocks.push(
      para(
        ...prose(
          "$H$ is singular here: $H^{-1}$ does not exist and Newton's method cannot take a step from these values.",
        ),
      ),
    );
    return blocks;
  }
  const losses = states.map((s) => s.evaluator.value(ctx.graph.loss).data[0]!);
  const outputs = tableOutputs(ctx);
  const outputHistory = states.map((s) => outputs.map((o) => s.evaluator.value(o).data[0]!));
  const singular = states.findIndex((s, k) => k > 0 && s.step?.step === undefined);
  if (steps > 1)
    blocks.push(
      ...iterationTable(
        ctx,
        states.map((s) => s.values),
        outputs,
        outputHistory,
        losses,
      ),
    );
  blocks.push(
    para(
      ...prose(
        singular > 0
          ? `At step ${singular} $H$ is singular and the steps stop there.`
          : lossAfter(ctx, steps, losses),
      ),
    ),
  );
  return blocks;
}

/** "After 3 steps the loss is L = 0.5527 (it was 0.6931)." */
function lossAfter(ctx: HandoutContext, steps: number, losses: readonly number[]): string {
  const digits = Math.max(ctx.digits, 5);
  return `After ${steps === 1 ? "the step" : `${steps} steps`} the loss is $${ctx.lossSymbol} = ${formatNumber(losses[losses.length - 1]!, digits)}$ (it was $${formatNumber(losses[0]!, digits)}$).`;
}
