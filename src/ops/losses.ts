import { sameShape } from "../ir/shapes.js";
import type { GraphBuilder } from "../ir/builder.js";
import type { NodeId } from "../ir/types.js";
import { tensor, type Tensor } from "../ir/tensor.js";
import { emitRows } from "./lowering.js";
import { requireSameShape, softmaxRows } from "./common.js";
import { rowSum } from "./reduce.js";
import { group, PREC, type Latex, type OpDef, type Python, type TorchContext } from "../ir/op.js";
import { atom, call, infix, negate, power } from "./python.js";

/** −Σ y ⊙ log p, with the log's argument written by `log`. */
const negSum = (y: Python, log: Python, ctx: TorchContext): Python =>
  negate(call("torch.sum", [infix(y, "*", log, PREC.product)], ctx));

const scalar = (v: number): Tensor => tensor([], Float64Array.of(v));
const pair =
  (name: string) =>
  ([a, b]: readonly Latex[]): Latex => ({
    text: `\\operatorname{${name}}\\left(${a!.text}, ${b!.text}\\right)`,
    prec: PREC.atom,
  });

/** The op that produced `id`, when it is `name`. */
/** The argument of `id` when `id` is op `name` over its default axis (the fused rules' case). */
function producedBy(b: GraphBuilder, id: NodeId, name: string): NodeId | undefined {
  const n = b.node(id);
  return n.kind === "op" && n.op === name && n.attrs.axis === undefined ? n.args[0] : undefined;
}

function sumLoop(
  ctx: Parameters<OpDef["emit"]>[0],
  n: string,
  term: (i: string) => string,
  out: string,
): string {
  const [s, i] = [ctx.fresh("s"), ctx.fresh("i")];
  return `{ let ${s} = 0; for (let ${i} = 0; ${i} < ${n}; ${i}++) ${s} += ${term(i)}; ${out}[0] = ${s}; }`;
}

const stableSoftplus = (z: string) =>
  `(${z} > 0 ? ${z} + Math.log1p(Math.exp(-(${z}))) : Math.log1p(Math.exp(${z})))`;
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

export const lossOps: readonly OpDef[] = [
  {
    name: "mse",
    surface: { params: [{ name: "yhat" }, { name: "y" }] },
    shape: (args) => requireSameShape(args, "mse"),
    vjp: (b, node, g, needed) => {
      const [p, y] = node.args as [NodeId, NodeId];
      const scaled = b.op("div", [b.op("mul", [b.scalar(2), g]), b.op("count", [p])]);
      const diff = b.op("sub", [p, y]);
      return [
        needed[0] ? b.op("mul", [scaled, diff]) : null,
        needed[1] ? b.op("neg", [b.op("mul", [scaled, diff])]) : null,
      ];
    },
    rule: () =>
      "\\frac{\\partial \\operatorname{MSE}(\\hat y, y)}{\\partial \\hat y} = \\frac{2}{n}(\\hat y - y)",
    evaluate: ([p, y]) => scalar(p!.data.reduce((s, v, i) => s + (v - y!.data[i]!) ** 2, 0) / p!.data.length),
    emit: (ctx, node) => {
      const [p, y] = node.args.map((a) => ctx.ref(a));
      const n = ctx.size(node.args.length ? ctx.shapeOf(node.args[0]!) : []);
      const [s, i, d] = [ctx.fresh("s"), ctx.fresh("i"), ctx.fresh("d")];
      return `{ let ${s} = 0; for (let ${i} = 0; ${i} < ${n}; ${i}++) { const ${d} = ${p}[${i}] - ${y}[${i}]; ${s} += ${d} * ${d}; } ${ctx.ref(node.id)}[0] = ${s} / (${n}); }`;
    },
    latex: pair("MSE"),
    torch: ([p, y], _attrs, _shapes, _shape, ctx) =>
      call("torch.mean", [power(infix(p!, "-", y!, PREC.sum), ctx.num(2))], ctx),
  },
  {
    name: "cross_entropy",
    surface: { params: [{ name: "p" }, { name: "y" }] },
    shape: (args) => requireSameShape(args, "cross_entropy"),
    // Fused rule: cross-entropy of a softmax is computed from the logits (log-sum-exp) and differentiates to ŷ − y.
    simplify: (b, [p, y]) => {
      // Class labels (one per row of p) read as the rows of the identity: CE(p, e_y).
      const ps = b.shape(p!);
      const k = ps[ps.length - 1];
      if (
        typeof k === "number" &&
        ps.length === b.shape(y!).length + 1 &&
        sameShape(ps.slice(0, -1), b.shape(y!))
      )
        return b.op("cross_entropy", [p!, b.op("onehot", [y!], { classes: k })]);
      const z = producedBy(b, p!, "softmax");
      return z === undefined ? undefined : b.op("softmax_cross_entropy", [z, y!, p!]);
    },
    vjp: (b, node, g, needed) => {
      const [p, y] = node.args as [NodeId, NodeId];
      return [
        needed[0] ? b.op("neg", [b.op("div", [b.op("mul", [g, y]), p])]) : null,
        needed[1] ? b.op("neg", [b.op("mul", [g, b.op("log", [p])])]) : null,
      ];
    },
    rule: () => "\\frac{\\partial \\operatorname{CE}(p, y)}{\\partial p} = -\\frac{y}{p}",
    evaluate: ([p, y]) => scalar(-p!.data.reduce((s, v, i) => s + y!.data[i]! * Math.log(v), 0)),
    emit: (ctx, node) => {
      const [p, y] = node.args.map((a) => ctx.ref(a));
      return sumLoop(
        ctx,
        ctx.size(node.args.length ? ctx.shapeOf(node.args[0]!) : []),
        (i) => `-${y}[${i}] * Math.log(${p}[${i}])`,
        ctx.ref(node.id),
      );
    },
    latex: pair("CE"),
    torch: ([p, y], _attrs, _shapes, _shape, ctx) => negSum(y!, call("torch.log", [p!], ctx), ctx),
    domain: (i) => (i === 0 ? "probability" : "any"),
  },
  {
    name: "softmax_cross_entropy",
    // args: logits z, target y, and the softmax p = softmax(z) the model already computes.
    shape: ([z, y]) => requireSameShape([z!, y!], "cross_entropy"),
    vjp: (b, node, g, needed) => {
      const [z, y, p] = node.args as [NodeId, NodeId, NodeId];
      return [
        needed[0] ? b.op("mul", [g, b.op("softmax_xent_grad", [p, y])]) : null,
        needed[1] ? b.op("neg", [b.op("mul", [g, b.op("log_softmax", [z])])]) : null,
        null,
      ];
    },
    nonDifferentiable: [2],
    rule: (i) =>
      i === 0
        ? "\\text{softmax with cross-entropy: } \\frac{\\partial L}{\\partial z} = \\hat y - y \\text{ (rows of } y \\text{ sum to 1)}"
        : "\\frac{\\partial \\operatorname{CE}}{\\partial y} = -\\log \\hat y",
    evaluate: ([z, y]) => {
      const logp = softmaxRows(z!, true);
      return scalar(-logp.data.reduce((s, v, i) => s + y!.data[i]! * v, 0));
    },
    emit: (ctx, node) => {
      const [z, y] = node.args.map((a) => ctx.ref(a));
      const [s, m, e, j, lse] = [
        ctx.fresh("s"),
        ctx.fresh("m"),
        ctx.fresh("e"),
        ctx.fresh("j"),
        ctx.fresh("lse"),
      ];
      return `let ${s} = 0;
${emitRows(
  ctx,
  ctx.shapeOf(node.args[0]!),
  (
    r,
    n,
  ) => `let ${m} = -Infinity; for (let ${j} = 0; ${j} < ${n}; ${j}++) if (${z}[${r} + ${j}] > ${m}) ${m} = ${z}[${r} + ${j}];
let ${e} = 0; for (let ${j} = 0; ${j} < ${n}; ${j}++) ${e} += Math.exp(${z}[${r} + ${j}] - ${m});
const ${lse} = ${m} + Math.log(${e});
for (let ${j} = 0; ${j} < ${n}; ${j}++) ${s} -= ${y}[${r} + ${j}] * (${z}[${r} + ${j}] - ${lse});`,
)}
${ctx.ref(node.id)}[0] = ${s};`;
    },
    // The softmax the model computes (the third operand) is not read: log_softmax is stable.
    torch: ([z, y], _attrs, _shapes, _shape, ctx) =>
      negSum(y!, call("torch.log_softmax", [z!], ctx, "dim=-1"), ctx),
    latex: ([, y, p]) => ({
      text: `\\operatorname{CE}\\left(${p!.text}, ${y!.text}\\right)`,
      prec: PREC.atom,
    }),
    domain: () => "any",
  },
  {
    name: "softmax_xent_grad",
    // p ⊙ Σ_j y_j − y: exactly ŷ − y when each row of y sums to one, and right otherwise too.
    shape: ([p]) => ({ shape: p! }),
    vjp: (b, node, g, needed) => {
      const [p, y] = node.args as [NodeId, NodeId];
      return [
        needed[0] ? b.op("mul", [g, rowSum(b, y)]) : null,
        needed[1] ? b.op("sub", [rowSum(b, b.op("mul", [g, p])), g]) : null,
      ];
    },
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial (p \\textstyle\\sum_j y_j - y)}{\\partial p} = \\sum_j y_j"
        : "\\frac{\\partial (p \\textstyle\\sum_j y_j - y)}{\\partial y_k} = p - \\delta_{\\cdot k}",
    evaluate: ([p, y]) => {
      const out = tensor(p!.shape);
      const n = p!.shape.length === 0 ? 1 : p!.shape[p!.shape.length - 1]!;
      for (let r = 0; r < p!.data.length; r += n) {
        let t = 0;
        for (let j = 0; j < n; j++) t += y!.data[r + j]!;
        for (let j = 0; j < n; j++) out.data[r + j] = p!.data[r + j]! * t - y!.data[r + j]!;
      }
      return out;
    },
    emit: (ctx, node) => {
      const [p, y] = node.args.map((a) => ctx.ref(a));
      const out = ctx.ref(node.id);
      const [t, j] = [ctx.fresh("t"), ctx.fresh("j")];
      return emitRows(
        ctx,
        node.shape,
        (r, n) => `let ${t} = 0; for (let ${j} = 0; ${j} < ${n}; ${j}++) ${t} += ${y}[${r} + ${j}];
for (let ${j} = 0; ${j} < ${n}; ${j}++) ${out}[${r} + ${j}] = ${p}[${r} + ${j}] * ${t} - ${y}[${r} + ${j}];`,
      );
    },
    latex: ([p, y]) => ({ text: `${p!.text} - ${y!.text}`, prec: PREC.sum }),
    // ŷ − y is what lectures write, and it is what is computed when each row of y sums to
    // one; for other targets the handout writes what is computed.
    writtenForm: {
      holds: ([, y]) => y !== undefined && rowsSumToOne(y),
      general: ([p, y]) => ({
        text: `${group(p!, PREC.product)} \\odot \\textstyle\\sum_j ${group(y!, PREC.power)} - ${group(y!, PREC.product)}`,
        prec: PREC.sum,
      }),
    },
  },
  {
    name: "bce",
    surface: { params: [{ name: "p" }, { name: "y" }] },
    shape: (args) => requireSameShape(args, "bce"),
    // Fused rule: BCE of a sigmoid is computed from the logits (softplus) and differentiates to σ(z) − y.
    simplify: (b, [p, y]) => {
      const z = producedBy(b, p!, "sigmoid");
      return z === undefined ? undefined : b.op("sigmoid_bce", [z, y!, p!]);
    },
    vjp: (b, node, g, needed) => {
      const [p, y] = node.args as [NodeId, NodeId];
      const one = b.scalar(1);
      return [
        needed[0]
          ? b.op("mul", [g, b.op("div", [b.op("sub", [p, y]), b.op("mul", [p, b.op("sub", [one, p])])])])
          : null,
        needed[1] ? b.op("mul", [g, b.op("log", [b.op("div", [b.op("sub", [one, p]), p])])]) : null,
      ];
    },
    rule: () => "\\frac{\\partial \\operatorname{BCE}(p, y)}{\\partial p} = \\frac{p - y}{p(1 - p)}",
    evaluate: ([p, y]) =>
      scalar(
        -p!.data.reduce((s, v, i) => s + y!.data[i]! * Math.log(v) + (1 - y!.data[i]!) * Math.log(1 - v), 0),
      ),
    emit: (ctx, node) => {
      const [p, y] = node.args.map((a) => ctx.ref(a));
      return sumLoop(
        ctx,
        ctx.size(ctx.shapeOf(node.args[0]!)),
        (i) => `-(${y}[${i}] * Math.log(${p}[${i}]) + (1 - ${y}[${i}]) * Math.log(1 - ${p}[${i}]))`,
        ctx.ref(node.id),
      );
    },
    latex: pair("BCE"),
    torch: ([p, y], _attrs, _shapes, _shape, ctx) => {
      const [q, t] = [ctx.once(ctx.tensor(p!)), ctx.once(y!)];
      const one = ctx.num(1);
      const logs = infix(
        infix(t, "*", call("torch.log", [q], ctx), PREC.product),
        "+",
        infix(
          infix(one, "-", t, PREC.sum),
          "*",
          call("torch.log", [infix(one, "-", q, PREC.sum)], ctx),
          PREC.product,
        ),
        PREC.sum,
      );
      return negate(call("torch.sum", [logs], ctx));
    },
    domain: (i) => (i === 0 ? "probability" : "any"),
  },
  {
    name: "sigmoid_bce",
    // args: logits z, target y, and p = σ(z). BCE(σ(z), y) = softplus(z) − y z, finite for any z.
    shape: ([z, y]) => requireSameShape([z!, y!], "bce"),
    vjp: (b, node, g, needed) => {
      const [z, y, p] = node.args as [NodeId, NodeId, NodeId];
      return [
        needed[0] ? b.op("mul", [g, b.op("sub", [p, y])]) : null,
        needed[1] ? b.op("neg", [b.op("mul", [g, z])]) : null,
        null,
      ];
    },
    nonDifferentiable: [2],
    rule: (i) =>
      i === 0
        ? "\\text{sigmoid with BCE: } \\frac{\\partial L}{\\partial z} = \\sigma(z) - y"
        : "\\frac{\\partial \\operatorname{BCE}}{\\partial y} = -z",
    evaluate: ([z, y]) => scalar(z!.data.reduce((s, v, i) => s + softplus(v) - y!.data[i]! * v, 0)),
    emit: (ctx, node) => {
      const [z, y] = node.args.map((a) => ctx.ref(a));
      return sumLoop(
        ctx,
        ctx.size(ctx.shapeOf(node.args[0]!)),
        (i) => `${stableSoftplus(`${z}[${i}]`)} - ${y}[${i}] * ${z}[${i}]`,
        ctx.ref(node.id),
      );
    },
    // softplus(z) − y z; the sigmoid the model computes (the third operand) is not read.
    torch: ([z, y], _attrs, _shapes, _shape, ctx) => {
      const logits = ctx.once(ctx.tensor(z!));
      const softplus = atom(`F.softplus(${logits.text}, threshold=40)`);
      return call("torch.sum", [infix(softplus, "-", infix(y!, "*", logits, PREC.product), PREC.sum)], ctx);
    },
    latex: ([, y, p]) => ({
      text: `\\operatorname{BCE}\\left(${p!.text}, ${y!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
];

/** Whether each row (along the last axis) of a tensor sums to one: one-hot or soft labels. */
function rowsSumToOne(y: Tensor): boolean {
  const n = y.shape.length === 0 ? 1 : y.shape[y.shape.length - 1]!;
  for (let r = 0; r < y.data.length; r += n) {
    let s = 0;
    for (let j = 0; j < n; j++) s += y.data[r + j]!;
    if (Math.abs(s - 1) > 1e-9) return false;
  }
  return true;
}
