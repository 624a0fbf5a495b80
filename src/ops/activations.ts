import { atom as pyAtom, call as pyCall } from "./python.js";
import type { GraphBuilder } from "../ir/builder.js";
import type { Attrs, NodeId } from "../ir/types.js";
import type { Latex, OpDef } from "../ir/op.js";
import { composite } from "./composite.js";

/**
 * Activations and elementwise losses defined by their expansions into primitives: each is
 * written once, as the textbook defines it, and its evaluator, code and derivative follow.
 */
const op = (b: GraphBuilder, name: string, ...args: NodeId[]) => b.op(name, args);
const num = (b: GraphBuilder, value: number) => b.scalar(value);
const attr = (attrs: Attrs, name: string) => Number(attrs[name]);
const call = (name: string, x: Latex) => `\\operatorname{${name}}\\left(${x.text}\\right)`;
const greater = (b: GraphBuilder, x: NodeId, y: NodeId) => b.op("compare", [x, y], { relation: ">" });

export const activationOps: readonly OpDef[] = [
  composite({
    name: "softplus",
    // Above `threshold` torch returns x itself; at 40, log(1 + e^x) already rounds to x in float64.
    torch: ([x], _attrs, _shapes, _shape, ctx) => pyCall("F.softplus", [x!], ctx, "threshold=40"),
    params: [{ name: "x" }],
    // log(1 + e^x) = max(x, 0) + log(1 + e^{−|x|}): finite for every x.
    expand: (b, [x]) =>
      op(b, "add", op(b, "max", x!, num(b, 0)), op(b, "log1p", op(b, "exp", op(b, "neg", op(b, "abs", x!))))),
    latex: ([x]) => call("softplus", x!),
    vjp: (b, n, g) => [op(b, "mul", g, op(b, "sigmoid", n.args[0]!))],
    rule: () => "\\operatorname{softplus}'(a) = \\sigma(a)",
  }),
  composite({
    name: "leaky_relu",
    torch: ([x], attrs, _shapes, _shape, ctx) =>
      pyCall(
        "F.leaky_relu",
        [x!],
        ctx,
        ctx.num(attrs.alpha === undefined ? 0.01 : attr(attrs, "alpha")).text,
      ),
    params: [{ name: "x" }, { name: "alpha", attr: true, default: 0.01 }],
    expand: (b, [x], attrs) =>
      b.op("where", [greater(b, x!, num(b, 0)), x!, op(b, "mul", num(b, attr(attrs, "alpha")), x!)]),
    latex: ([x], attrs) => `\\operatorname{LReLU}_{${attr(attrs, "alpha")}}\\left(${x!.text}\\right)`,
    rule: () => "\\operatorname{LReLU}_\\alpha'(a) = 1 \\text{ if } a > 0 \\text{ else } \\alpha",
    domain: () => "awayFromZero",
  }),
  composite({
    name: "elu",
    torch: ([x], attrs, _shapes, _shape, ctx) =>
      pyCall("F.elu", [x!], ctx, ctx.num(attrs.alpha === undefined ? 1 : attr(attrs, "alpha")).text),
    params: [{ name: "x" }, { name: "alpha", attr: true, default: 1 }],
    // The exponential of min(x, 0): the branch not taken never overflows, nor does its derivative.
    expand: (b, [x], attrs) =>
      b.op("where", [
        greater(b, x!, num(b, 0)),
        x!,
        op(
          b,
          "mul",
          num(b, attr(attrs, "alpha")),
          op(b, "sub", op(b, "exp", op(b, "min", x!, num(b, 0))), num(b, 1)),
        ),
      ]),
    latex: ([x], attrs) =>
      attr(attrs, "alpha") === 1
        ? call("ELU", x!)
        : `\\operatorname{ELU}_{${attr(attrs, "alpha")}}\\left(${x!.text}\\right)`,
    rule: () => "\\operatorname{ELU}_\\alpha'(a) = 1 \\text{ if } a > 0 \\text{ else } \\alpha e^{a}",
    domain: () => "awayFromZero",
  }),
  composite({
    name: "gelu",
    torch: ([x], _attrs, _shapes, _shape, ctx) => pyCall("F.gelu", [x!], ctx),
    params: [{ name: "x" }],
    // x Φ(x), Φ the standard normal distribution function: Φ(x) = (1 + erf(x/√2))/2.
    expand: (b, [x]) =>
      op(
        b,
        "mul",
        x!,
        op(
          b,
          "mul",
          num(b, 0.5),
          op(b, "add", num(b, 1), op(b, "erf", op(b, "mul", x!, num(b, Math.SQRT1_2)))),
        ),
      ),
    latex: ([x]) => call("GELU", x!),
    rule: () => "\\operatorname{GELU}'(a) = \\Phi(a) + a\\,\\varphi(a)",
  }),
  composite({
    name: "silu",
    torch: ([x], _attrs, _shapes, _shape, ctx) => pyCall("F.silu", [x!], ctx),
    params: [{ name: "x" }],
    expand: (b, [x]) => op(b, "mul", x!, op(b, "sigmoid", x!)),
    latex: ([x]) => call("SiLU", x!),
    rule: () => "\\operatorname{SiLU}'(a) = \\sigma(a)\\,(1 + a\\,(1 - \\sigma(a)))",
  }),
  composite({
    name: "mish",
    torch: ([x], _attrs, _shapes, _shape, ctx) => pyCall("F.mish", [x!], ctx),
    params: [{ name: "x" }],
    expand: (b, [x]) => op(b, "mul", x!, op(b, "tanh", op(b, "softplus", x!))),
    latex: ([x]) => call("mish", x!),
    rule: () =>
      "\\operatorname{mish}'(a) = \\tanh(\\operatorname{sp}(a)) + a\\,\\sigma(a)\\,(1 - \\tanh^2(\\operatorname{sp}(a)))",
  }),
  composite({
    name: "clamp",
    torch: ([x, low, high], _attrs, _shapes, _shape, ctx) => pyCall("torch.clamp", [x!, low!, high!], ctx),
    params: [{ name: "x" }, { name: "low" }, { name: "high" }],
    expand: (b, [x, low, high]) => op(b, "min", op(b, "max", x!, low!), high!),
    latex: ([x, low, high]) => `\\operatorname{clamp}\\left(${x!.text}, ${low!.text}, ${high!.text}\\right)`,
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial \\operatorname{clamp}(a, l, h)}{\\partial a} = [l \\le a \\le h]"
        : "[a < l] \\text{ or } [a > h]",
  }),
  composite({
    name: "huber",
    torch: ([a], attrs, _shapes, _shape, ctx) => {
      const x = ctx.once(ctx.tensor(a!));
      const delta = ctx.num(attrs.delta === undefined ? 1 : attr(attrs, "delta")).text;
      return pyAtom(`F.huber_loss(${x.text}, torch.zeros_like(${x.text}), reduction="none", delta=${delta})`);
    },
    params: [{ name: "a" }, { name: "delta", attr: true, default: 1 }],
    // ½a² within δ of 0, δ(|a| − ½δ) beyond: quadratic near 0, linear in the tails.
    expand: (b, [a], attrs) => {
      const delta = attr(attrs, "delta");
      const size = op(b, "abs", a!);
      return b.op("where", [
        b.op("compare", [size, num(b, delta)], { relation: "<=" }),
        op(b, "mul", num(b, 0.5), op(b, "pow", a!, num(b, 2))),
        op(b, "mul", num(b, delta), op(b, "sub", size, num(b, 0.5 * delta))),
      ]);
    },
    latex: ([a], attrs) => `H_{${attr(attrs, "delta")}}\\left(${a!.text}\\right)`,
    rule: () =>
      "H_\\delta'(a) = a \\text{ if } |a| \\le \\delta \\text{ else } \\delta\\,\\operatorname{sign}(a)",
    domain: () => "awayFromZero",
  }),
];
