import type { Graph, NodeId } from "../ir/types.js";
import { directionName, type HessianProduct } from "../autodiff/hessian.js";
import { nablaSolve } from "../train/newton.js";
import {
  clipFactor,
  STATE_WORDS,
  stateKeys,
  stepRate,
  updateRule,
  type UpdateRule,
} from "../train/update.js";
import { getOp } from "../ir/registry.js";
import type { EmitContext } from "../ops/lowering.js";
import { jsNumber } from "./emitter.js";
import { CodePlan } from "./plan.js";
import { key, prop, type Layout } from "./named.js";

/*
 * The module's training functions beyond plain gradient descent: an optimiser's state and
 * step, from the update rule the handout prints (train/update.ts), and Newton's method.
 */

/** The update rule's next value of one entry as a JS expression over `p[i]`, `g[i]` and `lr`. */
export function updateExpression(rule: UpdateRule, names: ReadonlyMap<NodeId, string> = new Map()): string {
  return ruleExpression(rule, rule.next, names);
}

/** A node of an update rule as a JavaScript expression, with the given names for its inputs and lines. */
function ruleExpression(rule: UpdateRule, root: NodeId, names: ReadonlyMap<NodeId, string>): string {
  const hyper = new Map(rule.hyper.map((h) => [h.node, jsNumber(h.value)]));
  const js = (id: NodeId): string => {
    const n = rule.nodes[id]!;
    const named = names.get(id) ?? hyper.get(id);
    if (named !== undefined) return named;
    if (id === rule.theta) return "p[i]";
    if (id === rule.gradient) return "g[i]";
    if (id === rule.lr) return "lr";
    if (id === rule.step) return "t";
    if (n.kind === "const") return jsNumber(n.value[0]!);
    if (n.kind !== "op") throw new Error(`an update rule holds a ${n.kind} node`);
    const ctx = { num: jsNumber } as unknown as EmitContext;
    return `(${getOp(n.op).elementwise!(n.args.map(js), n.attrs, ctx)})`;
  };
  return js(root);
}

/** Whether a rule reads a node (Adam's bias correction reads the step number). */
function reads(rule: UpdateRule, id: NodeId): boolean {
  return rule.nodes.some((n) => n.kind === "op" && n.args.includes(id));
}

/**
 * The optimiser in the module, for any `train` setting but plain gradient descent: a state
 * allocated once (the step count, the gradients' arrays and the optimiser's per-entry state),
 * a step that clips, schedules and applies the update rule in place, allocation-free, and
 * trainStep over them.
 */
export function optimizerFunctions(
  graph: Graph,
  layout: Layout,
  dimsParam: string,
  T: (annotation: string) => string,
  exported: (name: string) => string,
): string {
  const train = graph.train!;
  const rule = updateRule(train);
  const keys = stateKeys(rule);
  const params = layout.params;
  const names = new Map<NodeId, string>([
    [rule.gradient, train.clip !== undefined ? "gi" : "g[i]"],
    [rule.lr, "eta"],
  ]);
  for (const l of rule.lines) if (l.input !== undefined) names.set(l.input, `S${keys.indexOf(l.key!)}[i]`);
  const body: string[] = [];
  rule.lines.forEach((l, j) => {
    if (l.kind === "theta") return;
    body.push(`const x${j} = ${ruleExpression(rule, l.node, names)};`);
    if (l.kind === "state") body.push(`S${keys.indexOf(l.key!)}[i] = x${j};`);
    names.set(l.node, `x${j}`);
  });
  body.push(`p[i] = ${ruleExpression(rule, rule.next, names)};`);
  const words = (k: string) => STATE_WORDS[k] ?? k;
  const schedule = train.schedule
    ? `stepRate(lr, ${jsNumber(train.schedule.decay)}, ${train.schedule.every}, t)`
    : "lr";
  // The handout's own functions (train/update.ts), so the module and the worked steps agree.
  const helpers = [
    ...(train.schedule
      ? [
          `const stepRate${T(": (lr: number, decay: number, every: number, t: number) => number")} = ${stepRate.toString()};`,
        ]
      : []),
    ...(train.clip !== undefined
      ? [`const clipFactor${T(": (norm: number, clip: number) => number")} = ${clipFactor.toString()};`]
      : []),
  ];
  const clip =
    train.clip === undefined
      ? []
      : [
          `let norm = 0;`,
          ...params.map(
            (p) =>
              `{ const g = array(gradients, ${key(p.name)}, "gradients"); for (let i = 0; i < g.length; i++) norm += g[i] * g[i]; }`,
          ),
          `const c = clipFactor(Math.sqrt(norm), ${jsNumber(train.clip)});`,
        ];
  const perParam = params.map((p) => {
    const arrays = keys.map((k, i) => `, S${i} = array(state.${k}, ${key(p.name)}, "state.${k}")`).join("");
    const lengths = ["g", ...keys.map((_, i) => `S${i}`)]
      .map(
        (a) =>
          `if (${a}.length !== p.length) throw new Error(${key(`nabla: ${a === "g" ? "gradients" : `state.${keys[Number(a.slice(1))]}`}.${p.name} has the wrong length for params.${p.name}`)});`,
      )
      .join(" ");
    return `{ const p = array(params, ${key(p.name)}, "params"), g = array(gradients, ${key(p.name)}, "gradients")${arrays}; ${lengths}
    for (let i = 0; i < p.length; i++) { ${train.clip !== undefined ? "const gi = g[i] * c; " : ""}${body.join(" ")} } }`;
  });
  const described = [
    train.clip !== undefined ? `the gradients clipped to norm ${jsNumber(train.clip)} together` : "",
    train.schedule
      ? `the learning rate times ${jsNumber(train.schedule.decay)} after every ${train.schedule.every} step${train.schedule.every === 1 ? "" : "s"}`
      : "",
  ].filter((s) => s !== "");
  const stateType = `{ step: number; gradients: Gradients;${keys.map((k) => ` ${k}: Gradients;`).join("")} }`;
  return `${helpers.join("\n")}
/** ${rule.optimizer}'s state: the steps taken, the gradients' arrays${keys.map((k) => `, ${k} (${words(k)})`).join("")}; one array per param each. */
${T(`export type OptimizerState = ${stateType};`)}
/** A fresh optimiser state for these params: every array allocated once, zeroed. */
${exported("createOptimizerState")}function createOptimizerState(params${T(": Params")})${T(": OptimizerState")} {
  object(params, "params");
  return { step: 0, gradients: zeroGradients(params)${keys.map((k) => `, ${k}: zeroGradients(params)`).join("")} };
}
/** One step of ${rule.optimizer} in place${described.length > 0 ? `, with ${described.join(" and ")}` : ""}: allocates nothing. */
${exported("optimizerStep")}function optimizerStep(params${T(": Params")}, gradients${T(": Gradients")}, state${T(": OptimizerState")}, lr${T(": number")} = defaultLearningRate)${T(": void")} {
  object(params, "params");
  object(gradients, "gradients");
  object(state, "state");
  ${keys.map((k) => `object(state.${k}, "state.${k}");`).join("\n")}
  if (typeof lr !== "number" || !Number.isFinite(lr)) throw new Error("nabla: lr must be a finite number");
  ${reads(rule, rule.step) || train.schedule ? "const t = (state.step += 1);" : "state.step += 1;"}
  const eta = ${schedule};
  ${clip.join("\n")}
  ${perParam.join("\n")}
}
/** Each params object's optimiser state, for trainStep called without one. */
const optimizerStates = new WeakMap${T("<Params, OptimizerState>")}();
function stateFor(params${T(": Params")})${T(": OptimizerState")} {
  let state = optimizerStates.get(params);
  if (state === undefined) optimizerStates.set(params, (state = createOptimizerState(params)));
  return state;
}
/** Computes the gradient into the state's arrays and takes one step of ${rule.optimizer}; returns the loss before the step. Without a state, the params' own (kept from call to call). */
${exported("trainStep")}function trainStep(params${T(": Params")}, inputs${T(": Inputs")}, lr${T(": number")} = defaultLearningRate, ${dimsParam}, state${T(": OptimizerState")} = stateFor(params))${T(": number")} {
  const { loss } = gradient(params, inputs, state.gradients, dims);
  optimizerStep(params, state.gradients, state, lr);
  return loss;
}`;
}

/**
 * Newton's method in the module: the Hessian-vector product (one more reverse sweep, over
 * the gradient), the Hessian from it column by column, and a step that solves H d = ∇L.
 */
export function newtonFunctions(
  graph: Graph,
  hessian: HessianProduct,
  plan: CodePlan,
  layout: Layout,
  head: string,
  dimsParam: string,
  T: (annotation: string) => string,
  /** `export ` before a declaration the module exports (nothing in the script form), recording its name. */
  exported: (name: string) => string,
): string {
  const emitter = plan.emitter;
  const writes = () =>
    layout.params
      .map((p) => {
        const v = hessian.product.get(p.name);
        return v === null || v === undefined
          ? `${prop("out", p.name)}.fill(0);`
          : `${prop("out", p.name)}.set(${emitter.ref(v)});`;
      })
      .join("\n");
  const code = plan.emitFunction(
    [...hessian.product.values()].filter((g): g is NodeId => g !== null),
    new Map(),
    writes,
  );
  const directions = layout.params
    .map((p) => `${key(directionName(p.name))}: array(direction, ${key(p.name)}, "direction")`)
    .join(", ");
  const sizes = layout.params.map((p) => `array(params, ${key(p.name)}, "params").length`).join(" + ");
  const order = layout.params.map((p) => key(p.name)).join(", ");
  return `/** The Hessian of the loss times a direction (one array per param, like the params): H v, by reverse mode over the gradient. */
${exported("hessianVectorProduct")}function hessianVectorProduct(params${T(": Params")}, data${T(": Inputs")}, direction${T(": Params")}, out${T(": Gradients")} = zeroGradients(params), ${dimsParam})${T(": Gradients")} {
  object(direction, "direction");
  const inputs = Object.assign({}, data, { ${directions} });
  ${head}
  checkOut(out, params, data);
  ${layout.params.map((p) => `check(${prop("direction", p.name)}, ${prop("params", p.name)}.length, ${key(`direction.${p.name}`)});`).join("\n")}
  ${code.prologue}
  ${code.body}
  ${code.epilogue}
  return out;
}
/** The order of the entries the Hessian is over: each param's entries, row-major, in this order. */
${exported("hessianOrder")}const hessianOrder = [${order}]${T(" as const")};
/** The Hessian over every param entry (n × n, row-major), column by column from Hessian-vector products. */
${exported("hessian")}function hessian(params${T(": Params")}, inputs${T(": Inputs")}, ${dimsParam})${T(": Float64Array")} {
  object(params, "params");
  const n = ${sizes};
  const h = new Float64Array(n * n);
  const direction = zeroGradients(params);
  const column = zeroGradients(params);
  for (let i = 0; i < n; i++) {
    let offset = 0;
    for (const name of hessianOrder) { const d = direction[name]; d.fill(0); if (i >= offset && i < offset + d.length) d[i - offset] = 1; offset += d.length; }
    hessianVectorProduct(params, inputs, direction, column, dims);
    offset = 0;
    for (const name of hessianOrder) { const c = column[name]; for (let k = 0; k < c.length; k++) h[(offset + k) * n + i] = c[k]; offset += c.length; }
  }
  return h;
}
const nablaSolve${T(": (a: Float64Array, b: Float64Array) => Float64Array | undefined")} = ${nablaSolve.toString()};
/** One step of Newton's method in place, W ← W − lr · H⁻¹ ∇L; returns the loss before the step. Throws when the Hessian is singular. */
${exported("newtonStep")}function newtonStep(params${T(": Params")}, inputs${T(": Inputs")}, lr${T(": number")} = defaultLearningRate, ${dimsParam})${T(": number")} {
  if (typeof lr !== "number" || !Number.isFinite(lr)) throw new Error("nabla: lr must be a finite number");
  const { loss, gradients } = gradient(params, inputs, undefined, dims);
  const h = hessian(params, inputs, dims);
  const g = new Float64Array(Math.sqrt(h.length));
  let offset = 0;
  for (const name of hessianOrder) { g.set(gradients[name], offset); offset += gradients[name].length; }
  const d = nablaSolve(h, g);
  if (d === undefined) throw new Error("nabla: the Hessian is singular at these params: Newton's method cannot take a step (try sgd, or other starting values)");
  offset = 0;
  for (const name of hessianOrder) { const p = params[name]; for (let k = 0; k < p.length; k++) p[k] -= lr * d[offset + k]; offset += p.length; }
  return loss;
}`;
}
