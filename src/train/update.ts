import { GraphBuilder } from "../ir/builder.js";
import { Evaluator } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import type { Node, NodeId, TrainSettings } from "../ir/types.js";
import { OPTIMIZERS, type OptimizerName } from "../ir/optimisers.js";
import type { Span } from "../diagnostics/span.js";

const NOWHERE: Span = { start: 0, end: 0, line: 1, column: 1 };

/** One line of an update rule, in the order it is computed: a state's next value, a named step, or θ's. */
export interface RuleLine {
  /** `state`: a per-entry state (v, m, s) is overwritten; `derived`: a named intermediate (m̂, ŝ); `theta`: the param. */
  readonly kind: "state" | "derived" | "theta";
  /** How a lecture writes it. */
  readonly latex: string;
  readonly node: NodeId;
  /** For a state line: the state's input node (its value before the step) and its key in the module's state. */
  readonly input?: NodeId;
  readonly key?: string;
}

/**
 * An optimiser's update of one parameter entry as IR over scalars: the parameter θ, its
 * gradient g (clipped, when the model clips), the learning rate η (scheduled, when the
 * model schedules it), the step number t (from 1), the hyper-parameters and the entry's
 * state before the step (momentum's v, Adam's m and s) give θ's next value and the next
 * state. The generated module's step function is this IR compiled to a loop, the handout
 * prints it and runs it on the worked example: one rule, so the two can never disagree.
 */
export interface UpdateRule {
  readonly optimizer: OptimizerName;
  readonly nodes: readonly Node[];
  readonly theta: NodeId;
  readonly gradient: NodeId;
  readonly lr: NodeId;
  /** The step number t, 1 on the first step (Adam's bias correction). */
  readonly step: NodeId;
  /** The hyper-parameters' input nodes, with their names, LaTeX and values. */
  readonly hyper: readonly { name: string; latex: string; value: number; node: NodeId }[];
  /** Every line in order; the last is θ's. */
  readonly lines: readonly RuleLine[];
  readonly next: NodeId;
}

/** What each state of an optimiser is, in words, for the handout and the module's comments. */
export const STATE_WORDS: Readonly<Record<string, string>> = {
  velocity: "the velocity, a running sum of gradients",
  average: "a running average of the gradients",
  squareAverage: "a running average of the squared gradients",
};

/** The update rule of a model's `train` setting (plain gradient descent when it has none). */
export function updateRule(train?: Pick<TrainSettings, "optimizer" | "hyper">): UpdateRule {
  const optimizer: OptimizerName =
    train === undefined || train.optimizer === "newton" ? "sgd" : train.optimizer;
  const b = new GraphBuilder();
  const theta = b.param("theta", [], NOWHERE);
  const g = b.input("gradient", "input", [], NOWHERE);
  const lr = b.input("lr", "input", [], NOWHERE);
  const step = b.input("t", "input", [], NOWHERE);
  const hyper = OPTIMIZERS[optimizer].hyper.map((h) => ({
    name: h.name,
    latex: h.latex,
    value: train?.hyper?.[h.name] ?? h.value,
    node: b.input(`hyper_${h.name}`, "input", [], NOWHERE),
  }));
  const H = (name: string) => hyper.find((h) => h.name === name)!.node;
  const op = (name: string, ...args: NodeId[]) => b.op(name, args, {}, NOWHERE);
  const one = () => b.scalar(1);
  const lines: RuleLine[] = [];
  const state = (key: string, latex: string, next: (before: NodeId) => NodeId): NodeId => {
    const input = b.input(`state_${key}`, "input", [], NOWHERE);
    const node = next(input);
    lines.push({ kind: "state", latex, node, input, key });
    return node;
  };
  // β x + (1 − β) y: a running average.
  const average = (beta: NodeId, x: NodeId, y: NodeId) =>
    op("add", op("mul", beta, x), op("mul", op("sub", one(), beta), y));
  const square = (x: NodeId) => op("pow", x, b.scalar(2));
  let next: NodeId;
  switch (optimizer) {
    case "sgd":
      next = op("sub", theta, op("mul", lr, g));
      break;
    case "momentum":
    case "nesterov": {
      // torch.optim.SGD(momentum = β, dampening = 0): v ← β v + g (v = g on the first step, as v starts at 0).
      const v = state("velocity", "v", (v0) => op("add", op("mul", H("beta"), v0), g));
      const direction = optimizer === "nesterov" ? op("add", g, op("mul", H("beta"), v)) : v;
      next = op("sub", theta, op("mul", lr, direction));
      break;
    }
    case "rmsprop": {
      // torch.optim.RMSprop(alpha = ρ): s ← ρ s + (1 − ρ) g², θ ← θ − η g / (√s + ε).
      const s = state("squareAverage", "s", (s0) => average(H("rho"), s0, square(g)));
      next = op("sub", theta, op("mul", lr, op("div", g, op("add", op("sqrt", s), H("eps")))));
      break;
    }
    case "adam":
    case "adamw": {
      const m = state("average", "m", (m0) => average(H("beta1"), m0, g));
      const s = state("squareAverage", "s", (s0) => average(H("beta2"), s0, square(g)));
      const mHat = op("div", m, op("sub", one(), op("pow", H("beta1"), step)));
      lines.push({ kind: "derived", latex: "\\hat{m}", node: mHat });
      const sHat = op("div", s, op("sub", one(), op("pow", H("beta2"), step)));
      lines.push({ kind: "derived", latex: "\\hat{s}", node: sHat });
      const move = op("mul", lr, op("div", mHat, op("add", op("sqrt", sHat), H("eps"))));
      // AdamW decays the weight first, θ(1 − ηλ), then takes Adam's step (torch.optim.AdamW).
      const decayed =
        optimizer === "adamw" ? op("mul", theta, op("sub", one(), op("mul", lr, H("weight_decay")))) : theta;
      next = op("sub", decayed, move);
      break;
    }
  }
  lines.push({ kind: "theta", latex: "\\theta", node: next });
  return { optimizer, nodes: b.nodes, theta, gradient: g, lr, step, hyper, lines, next };
}

/** The keys of the state an optimiser keeps per param entry, in order. */
export const stateKeys = (rule: UpdateRule): string[] =>
  rule.lines.filter((l) => l.kind === "state").map((l) => l.key!);

/*
 * The schedule and the clipping are written once, here: the handout's worked steps call these,
 * and the generated module carries their source (as it does nablaSolve's).
 */

/** The learning rate of step t (from 1) under a step schedule: η γ^⌊(t − 1)/k⌋ (torch's StepLR). */
export function stepRate(lr: number, decay: number, every: number, t: number): number {
  return lr * Math.pow(decay, Math.floor((t - 1) / every));
}

/** The learning rate of step t: scheduled when the model schedules it, else η. */
export function scheduledRate(
  train: Pick<TrainSettings, "schedule"> | undefined,
  lr: number,
  t: number,
): number {
  const s = train?.schedule;
  return s ? stepRate(lr, s.decay, s.every, t) : lr;
}

/** The factor every gradient is multiplied by to clip their joint norm to `clip` (torch's clip_grad_norm_). */
export function clipFactor(norm: number, clip: number): number {
  return Math.min(1, clip / (norm + 1e-6));
}

/**
 * The rule applied to every entry of a parameter: θ's next value and the next state. The
 * gradient is the one the rule sees (clipped already), the learning rate the scheduled one.
 */
export function applyRule(
  rule: UpdateRule,
  theta: Tensor,
  gradient: Tensor,
  lr: number,
  t: number,
  state: ReadonlyMap<string, Tensor> = new Map(),
): { theta: Tensor; state: Map<string, Tensor>; lines: Tensor[] } {
  const n = theta.data.length;
  const entry = (data: Float64Array): Tensor => ({ shape: [n], data });
  const scalar = (x: number): Tensor => ({ shape: [], data: Float64Array.of(x) });
  const values = new Map<string, Tensor>([
    ["theta", entry(theta.data)],
    ["gradient", entry(gradient.data)],
    ["lr", scalar(lr)],
    ["t", scalar(t)],
    ...rule.hyper.map((h): [string, Tensor] => [`hyper_${h.name}`, scalar(h.value)]),
    ...stateKeys(rule).map((k): [string, Tensor] => [
      `state_${k}`,
      entry(state.get(k)?.data ?? new Float64Array(n)),
    ]),
  ]);
  const ev = new Evaluator(perEntry(rule), values, undefined, new Map([[ENTRIES, n]]));
  const lines = rule.lines.map((l) => {
    const data = ev.value(l.node).data;
    return data.length === n ? data : new Float64Array(n).fill(data[0]!);
  });
  const tensors = lines.map((data) => ({ shape: theta.shape, data }));
  const next = new Map<string, Tensor>();
  rule.lines.forEach((l, j) => l.kind === "state" && next.set(l.key!, tensors[j]!));
  return { theta: tensors[tensors.length - 1]!, state: next, lines: tensors };
}

const ENTRIES = "entries";

/**
 * The rule's nodes over all of a param's entries at once: θ, g, the state and what reads them
 * get one dim of the param's length, the rest stay scalars. Each entry is computed with the
 * same operations as the rule over scalars, one evaluation per param instead of per entry.
 */
function perEntry(rule: UpdateRule): readonly Node[] {
  const known = entryNodes.get(rule);
  if (known) return known;
  const varying = new Set<NodeId>([rule.theta, rule.gradient]);
  for (const l of rule.lines) if (l.input !== undefined) varying.add(l.input);
  const nodes = rule.nodes.map((node, id): Node => {
    const varies = varying.has(id) || (node.kind === "op" && node.args.some((a) => varying.has(a)));
    if (!varies) return node;
    varying.add(id);
    return { ...node, shape: [ENTRIES] } as Node;
  });
  entryNodes.set(rule, nodes);
  return nodes;
}
const entryNodes = new WeakMap<UpdateRule, readonly Node[]>();

/** Plain gradient descent's rule applied to every entry of a parameter. */
export function applyUpdate(rule: UpdateRule, theta: Tensor, gradient: Tensor, lr: number): Tensor {
  return applyRule(rule, theta, gradient, lr, 1).theta;
}

/** One step of the optimiser over all params, with what the handout shows of it. */
export interface OptimizerStep {
  readonly values: Map<string, Tensor>;
  /** The gradients the rule saw (clipped). */
  readonly gradients: Map<string, Tensor>;
  /** The gradient norm over all params and the clipping factor, when the model clips. */
  readonly norm?: number;
  readonly factor?: number;
  readonly lr: number;
  /** Every line's value per param (state lines, derived lines, θ). */
  readonly lines: Map<string, Tensor[]>;
}

/**
 * An optimiser running on a model's params: its state and step count, one step at a time
 * as the module's optimizerStep takes it (clip, schedule, the rule on every entry).
 */
export class OptimizerRun {
  t = 0;
  readonly state = new Map<string, Map<string, Tensor>>();
  readonly rule: UpdateRule;

  constructor(
    readonly train: TrainSettings | undefined,
    readonly lr: number = train?.lr ?? 0.1,
  ) {
    this.rule = updateRule(train);
  }

  step(values: ReadonlyMap<string, Tensor>, gradients: ReadonlyMap<string, Tensor>): OptimizerStep {
    this.t += 1;
    const lr = scheduledRate(this.train, this.lr, this.t);
    let seen = new Map(gradients);
    let norm: number | undefined;
    let factor: number | undefined;
    if (this.train?.clip !== undefined) {
      let sum = 0;
      for (const g of gradients.values()) for (const x of g.data) sum += x * x;
      norm = Math.sqrt(sum);
      const c = clipFactor(norm, this.train.clip);
      factor = c;
      seen = new Map([...gradients].map(([k, g]) => [k, { shape: g.shape, data: g.data.map((x) => x * c) }]));
    }
    const next = new Map(values);
    const lines = new Map<string, Tensor[]>();
    for (const [name, g] of seen) {
      const r = applyRule(this.rule, values.get(name)!, g, lr, this.t, this.state.get(name));
      next.set(name, r.theta);
      this.state.set(name, r.state);
      lines.set(name, r.lines);
    }
    return {
      values: next,
      gradients: seen,
      lr,
      lines,
      ...(norm !== undefined ? { norm, factor: factor! } : {}),
    };
  }
}

/**
 * The parameters before the first step and after each of `steps` steps of the update rule,
 * with the reference evaluator at each: row k of a lecture's iteration table.
 */
export function trainingStates(
  nodes: readonly Node[],
  params: ReadonlyMap<string, NodeId | null>,
  start: ReadonlyMap<string, Tensor>,
  lr: number,
  steps: number,
  train?: TrainSettings,
): { values: Map<string, Tensor>; evaluator: Evaluator }[] {
  let values = new Map(start);
  let evaluator = new Evaluator(nodes, values);
  const out = [{ values, evaluator }];
  const run = new OptimizerRun(train, lr);
  for (let k = 1; k <= steps; k++) {
    const gradients = new Map<string, Tensor>();
    for (const [name, g] of params) {
      const theta = values.get(name)!;
      gradients.set(
        name,
        g === null ? { shape: theta.shape, data: new Float64Array(theta.data.length) } : evaluator.value(g),
      );
    }
    values = run.step(values, gradients).values;
    evaluator = new Evaluator(nodes, values);
    out.push({ values, evaluator });
  }
  return out;
}

/** Whether a `train` setting is plain gradient descent (or Newton's method): no state, no clip, no schedule. */
export const plainDescent = (train: TrainSettings | undefined): boolean =>
  train === undefined ||
  ((train.optimizer === "sgd" || train.optimizer === "newton") &&
    train.clip === undefined &&
    train.schedule === undefined);
