import { GraphBuilder } from "../ir/builder.js";
import { Evaluator } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import type { Node, NodeId, TrainSettings } from "../ir/types.js";
import type { Span } from "../diagnostics/span.js";

const NOWHERE: Span = { start: 0, end: 0, line: 1, column: 1 };

/**
 * An optimiser's update of one parameter entry as IR over scalars: the parameter θ, its
 * gradient g and the learning rate η give θ's next value. The generated module's step
 * function is this IR compiled to a loop, the handout prints it and runs it on the worked
 * example: one rule, so the two can never disagree.
 */
export interface UpdateRule {
  readonly optimizer: TrainSettings["optimizer"];
  readonly nodes: readonly Node[];
  readonly theta: NodeId;
  readonly gradient: NodeId;
  readonly lr: NodeId;
  readonly next: NodeId;
}

/** Plain gradient descent: θ ← θ − η g. */
export function updateRule(optimizer: TrainSettings["optimizer"] = "sgd"): UpdateRule {
  const b = new GraphBuilder();
  const theta = b.param("theta", [], NOWHERE);
  const gradient = b.input("gradient", "input", [], NOWHERE);
  const lr = b.input("lr", "input", [], NOWHERE);
  const next = b.op("sub", [theta, b.op("mul", [lr, gradient])], {}, NOWHERE);
  return { optimizer, nodes: b.nodes, theta, gradient, lr, next };
}

/** The rule applied to every entry of a parameter: what the worked example's iterations run. */
export function applyUpdate(rule: UpdateRule, theta: Tensor, gradient: Tensor, lr: number): Tensor {
  const out = new Float64Array(theta.data.length);
  for (let i = 0; i < out.length; i++) {
    const ev = new Evaluator(
      rule.nodes,
      new Map([
        ["theta", { shape: [], data: Float64Array.of(theta.data[i]!) }],
        ["gradient", { shape: [], data: Float64Array.of(gradient.data[i]!) }],
        ["lr", { shape: [], data: Float64Array.of(lr) }],
      ]),
    );
    out[i] = ev.value(rule.next).data[0]!;
  }
  return { shape: theta.shape, data: out };
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
  rule: UpdateRule = updateRule(),
): { values: Map<string, Tensor>; evaluator: Evaluator }[] {
  let values = new Map(start);
  let evaluator = new Evaluator(nodes, values);
  const out = [{ values, evaluator }];
  for (let k = 1; k <= steps; k++) {
    const next = new Map(values);
    for (const [name, g] of params) {
      const theta = values.get(name)!;
      const gradient =
        g === null ? { shape: theta.shape, data: new Float64Array(theta.data.length) } : evaluator.value(g);
      next.set(name, applyUpdate(rule, theta, gradient, lr));
    }
    values = next;
    evaluator = new Evaluator(nodes, values);
    out.push({ values, evaluator });
  }
  return out;
}
