import type { GraphBuilder } from "../ir/builder.js";
import { problem } from "../diagnostics/shapes.js";
import type { Attrs, NodeId, OpNode } from "../ir/types.js";
import { broadcastShapes, sameShape } from "../ir/shapes.js";
import { emitElementwise } from "./lowering.js";
import { evalMap, reduceTo, sameAsFirst } from "./common.js";
import {
  group,
  PREC,
  type Helper,
  type Latex,
  type OpDef,
  type Python,
  type TorchContext,
} from "../ir/op.js";
import { atom, call, infix, negate, power } from "./python.js";
import { nablaErf } from "./erf.js";
import type { Lanes, Value } from "../wasm/elementwise.js";

type Domain = ReturnType<NonNullable<OpDef["domain"]>>;

interface UnarySpec {
  readonly name: string;
  readonly surface?: boolean;
  /** Extra compile-time parameter, e.g. leaky_relu's alpha. */
  readonly attr?: { readonly name: string; readonly default: number };
  readonly f: (x: number, attr: number) => number;
  /** JS for the element value; `x` is an element read, `attr` the literal attribute. */
  readonly js: (x: string, attr: string) => string;
  /** The same value over WebAssembly's lanes (wasm/elementwise.ts), exactly `js`'s; none: the loop stays JavaScript. */
  readonly wasm?: (v: Lanes, x: Value, attr: number) => Value;
  readonly latex: (x: Latex, attr: number) => string;
  /** The local derivative times the adjoint, or null when the derivative is zero everywhere. */
  readonly vjp: ((b: GraphBuilder, node: OpNode, g: NodeId) => NodeId) | null;
  readonly rule: string;
  readonly domain?: Domain;
  readonly simplify?: (b: GraphBuilder, x: NodeId) => NodeId | undefined;
  readonly helpers?: Readonly<Record<string, Helper>>;
  /** The PyTorch function (`torch.tanh`), or the expression over the operand's text. */
  readonly torch: string | ((x: string) => string);
  /** Python's `math` function for a Python number operand (a size: sqrt(Dk)), keeping it a number. */
  readonly math?: string;
  /** Non-decreasing, exactly in floating point (OpDef.monotone). */
  readonly monotone?: boolean;
}

function unaryTorch(spec: UnarySpec, x: Python, ctx: TorchContext): Python {
  if (spec.name === "neg") return negate(x);
  if (x.number && spec.math) return { text: `${spec.math}(${x.text})`, prec: PREC.atom, number: true };
  return typeof spec.torch === "string" ? call(spec.torch, [x], ctx) : atom(spec.torch(ctx.tensor(x).text));
}

const fn = (name: string) => (x: Latex) => `${name}\\left(${x.text}\\right)`;

function unary(spec: UnarySpec): OpDef {
  const attrOf = (attrs: Attrs) => (spec.attr ? Number(attrs[spec.attr.name] ?? spec.attr.default) : 0);
  return {
    name: spec.name,
    ...(spec.surface === false
      ? {}
      : {
          surface: {
            params: [
              { name: "x" },
              ...(spec.attr
                ? [
                    {
                      name: spec.attr.name,
                      attr: true,
                      default: spec.attr.default,
                    },
                  ]
                : []),
            ],
          },
        }),
    shape: sameAsFirst,
    simplify:
      spec.name === "neg" ? simplifyNeg : spec.simplify ? (b, [x]) => spec.simplify!(b, x!) : undefined,
    vjp: (b, node, g) => [spec.vjp ? spec.vjp(b, node, g) : null],
    rule: () => spec.rule,
    evaluate: (args, attrs, shape) => {
      const a = attrOf(attrs);
      return evalMap(args, shape, (x) => spec.f(x, a));
    },
    elementwise: ([x], attrs, ctx) => spec.js(x!, ctx.num(attrOf(attrs))),
    ...(spec.wasm
      ? { wasm: (v: Lanes, [x]: readonly Value[], attrs: Attrs) => spec.wasm!(v, x!, attrOf(attrs)) }
      : {}),
    emit: (ctx, node) =>
      ctx.elementwiseCall?.(node.id) ??
      emitElementwise(ctx, node.id, node.shape, node.args, ([x]) => spec.js(x!, ctx.num(attrOf(node.attrs)))),
    latex: ([x], attrs) => ({
      text: spec.latex(x!, attrOf(attrs)),
      prec: spec.name === "neg" ? PREC.unary : PREC.atom,
    }),
    torch: ([x], _attrs, _shapes, _shape, ctx) => unaryTorch(spec, x!, ctx),
    domain: () => spec.domain ?? "any",
    ...(spec.vjp ? {} : { nonDifferentiable: [0], zeroDerivative: [0] }),
    ...(spec.helpers ? { helpers: spec.helpers } : {}),
    ...(spec.monotone ? { monotone: true } : {}),
  };
}

function simplifyNeg(b: GraphBuilder, [x]: readonly NodeId[]): NodeId | undefined {
  const n = b.node(x!);
  if (n.kind === "op" && n.op === "neg") return n.args[0];
  return undefined;
}

/**
 * A logarithm of what overflows or underflows at large inputs is computed in the form that
 * does not: log softmax(z) as log_softmax(z), log σ(z) as log_sigmoid(z) = −softplus(−z),
 * log(1 + e^z) as softplus(z), log e^z as z. The glossary says so where the model uses them.
 */
function stableLog(b: GraphBuilder, x: NodeId): NodeId | undefined {
  const n = b.node(x);
  if (n.kind !== "op") return undefined;
  const [a, c] = n.args;
  if (n.op === "softmax") return b.op("log_softmax", [a!], n.attrs);
  if (n.op === "sigmoid") return b.op("log_sigmoid", [a!]);
  if (n.op === "exp") return a;
  if (n.op === "add")
    for (const [k, e] of [
      [a!, c!],
      [c!, a!],
    ] as const) {
      const exp = b.node(e);
      if (b.constValue(k) === 1 && sameShape(b.shape(k), []) && exp.kind === "op" && exp.op === "exp")
        if (sameShape(exp.shape, n.shape)) return b.op("softplus", [exp.args[0]!]);
    }
  return undefined;
}

const mul = (b: GraphBuilder, x: NodeId, y: NodeId) => b.op("mul", [x, y]);
const one = (b: GraphBuilder) => b.scalar(1);

const unaryOps: OpDef[] = [
  unary({
    name: "neg",
    torch: "-",
    surface: false,
    f: (x) => -x,
    js: (x) => `-(${x})`,
    wasm: (v, x) => v.neg(x),
    latex: (x) => `-${group(x, PREC.power)}`,
    vjp: (b, _n, g) => b.op("neg", [g]),
    rule: "\\frac{\\partial (-a)}{\\partial a} = -1",
  }),
  unary({
    name: "exp",
    torch: "torch.exp",
    math: "math.exp",
    f: Math.exp,
    js: (x) => `Math.exp(${x})`,
    latex: (x) => `e^{${x.text}}`,
    vjp: (b, n, g) => mul(b, g, n.id),
    rule: "\\frac{\\partial e^{a}}{\\partial a} = e^{a}",
  }),
  unary({
    name: "log",
    torch: "torch.log",
    math: "math.log",
    f: Math.log,
    js: (x) => `Math.log(${x})`,
    latex: fn("\\log"),
    vjp: (b, n, g) => b.op("div", [g, n.args[0]!]),
    rule: "\\frac{\\partial \\log a}{\\partial a} = \\frac{1}{a}",
    domain: "positive",
    simplify: stableLog,
  }),
  unary({
    name: "log_sigmoid",
    torch: "F.logsigmoid",
    f: (x) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x))),
    js: (x) => `(${x} >= 0 ? -Math.log1p(Math.exp(-(${x}))) : ${x} - Math.log1p(Math.exp(${x})))`,
    latex: (x) => `\\log\\sigma\\left(${x.text}\\right)`,
    vjp: (b, n, g) => mul(b, g, b.op("sub", [one(b), b.op("sigmoid", [n.args[0]!])])),
    rule: "\\frac{\\partial \\log\\sigma(a)}{\\partial a} = 1 - \\sigma(a)",
  }),
  unary({
    name: "sqrt",
    torch: "torch.sqrt",
    math: "math.sqrt",
    f: Math.sqrt,
    js: (x) => `Math.sqrt(${x})`,
    wasm: (v, x) => v.sqrt(x),
    latex: (x) => `\\sqrt{${x.text}}`,
    vjp: (b, n, g) => b.op("div", [g, mul(b, b.scalar(2), n.id)]),
    rule: "\\frac{\\partial \\sqrt{a}}{\\partial a} = \\frac{1}{2\\sqrt{a}}",
    domain: "positive",
  }),
  unary({
    name: "log1p",
    torch: "torch.log1p",
    math: "math.log1p",
    f: Math.log1p,
    js: (x) => `Math.log1p(${x})`,
    latex: (x) => `\\log\\left(1 + ${x.text}\\right)`,
    vjp: (b, n, g) => b.op("div", [g, b.op("add", [one(b), n.args[0]!])]),
    rule: "\\frac{\\partial \\log(1 + a)}{\\partial a} = \\frac{1}{1 + a}",
    domain: "positive",
  }),
  unary({
    name: "erf",
    torch: "torch.erf",
    math: "math.erf",
    f: nablaErf,
    js: (x) => `nablaErf(${x})`,
    latex: fn("\\operatorname{erf}"),
    vjp: (b, n, g) =>
      mul(
        b,
        g,
        mul(
          b,
          b.scalar(2 / Math.sqrt(Math.PI)),
          b.op("exp", [b.op("neg", [b.op("pow", [n.args[0]!, b.scalar(2)])])]),
        ),
      ),
    rule: "\\frac{\\partial \\operatorname{erf} a}{\\partial a} = \\frac{2}{\\sqrt{\\pi}} e^{-a^2}",
    helpers: { nablaErf: { source: nablaErf.toString(), type: "(x: number) => number" } },
  }),
  unary({
    name: "abs",
    torch: "torch.abs",
    f: Math.abs,
    js: (x) => `Math.abs(${x})`,
    wasm: (v, x) => v.abs(x),
    latex: (x) => `\\left|${x.text}\\right|`,
    vjp: (b, n, g) => mul(b, g, b.op("sign", [n.args[0]!])),
    rule: "\\frac{\\partial |a|}{\\partial a} = \\operatorname{sign}(a)",
    domain: "awayFromZero",
  }),
  unary({
    name: "sign",
    torch: "torch.sign",
    surface: false,
    f: Math.sign,
    js: (x) => `Math.sign(${x})`,
    // 1 above 0, −1 below, x itself otherwise (±0, NaN).
    wasm: (v, x) =>
      v.select(v.gt(x, v.constant(0)), v.constant(1), v.select(v.lt(x, v.constant(0)), v.constant(-1), x)),
    latex: fn("\\operatorname{sign}"),
    vjp: null,
    rule: "\\operatorname{sign}'(a) = 0",
  }),
  unary({
    name: "tanh",
    torch: "torch.tanh",
    math: "math.tanh",
    f: Math.tanh,
    js: (x) => `Math.tanh(${x})`,
    latex: fn("\\tanh"),
    vjp: (b, n, g) => mul(b, g, b.op("sub", [one(b), b.op("pow", [n.id, b.scalar(2)])])),
    rule: "\\frac{\\partial \\tanh a}{\\partial a} = 1 - \\tanh^2 a",
  }),
  unary({
    name: "softsign",
    torch: "F.softsign",
    f: (x) => x / (1 + Math.abs(x)),
    js: (x) => `(${x}) / (1 + Math.abs(${x}))`,
    wasm: (v, x) => v.div(x, v.add(v.constant(1), v.abs(x))),
    latex: fn("\\operatorname{softsign}"),
    // d/dx = 1 / (1 + |x|)²
    vjp: (b, n, g) =>
      b.op("div", [g, b.op("pow", [b.op("add", [one(b), b.op("abs", [n.args[0]!])]), b.scalar(2)])]),
    rule: "\\operatorname{softsign}'(a) = \\frac{1}{(1 + |a|)^2}",
  }),
  unary({
    name: "sigmoid",
    torch: "torch.sigmoid",
    f: (x) => 1 / (1 + Math.exp(-x)),
    js: (x) => `1 / (1 + Math.exp(-(${x})))`,
    latex: fn("\\sigma"),
    vjp: (b, n, g) => mul(b, mul(b, g, n.id), b.op("sub", [one(b), n.id])),
    rule: "\\sigma'(a) = \\sigma(a)\\,(1 - \\sigma(a))",
  }),
  unary({
    name: "relu",
    torch: "torch.relu",
    f: (x) => (x > 0 ? x : 0),
    js: (x) => `Math.max(${x}, 0)`,
    wasm: (v, x) => v.max(x, v.constant(0)),
    latex: fn("\\operatorname{ReLU}"),
    // relu(z) > 0 exactly when z > 0: the mask reads the output, so z need not be kept.
    vjp: (b, n, g) => mul(b, g, b.op("heaviside", [n.id])),
    rule: "\\operatorname{ReLU}'(a) = H(a) = [a > 0]",
    domain: "awayFromZero",
    // max(z, 0) is exactly non-decreasing, and its derivative (read from the output) is 0
    // wherever z ≤ 0: a max-pool over it takes the maximum of z and applies ReLU once.
    monotone: true,
  }),
  unary({
    name: "heaviside",
    torch: (x) => `torch.sign(torch.relu(${x}))`,
    f: (x) => (x > 0 ? 1 : 0),
    // +(x > 0) compiles without a branch: a mask of ReLU's zeros is not predictable.
    js: (x) => `+(${x} > 0)`,
    wasm: (v, x) => v.select(v.gt(x, v.constant(0)), v.constant(1), v.constant(0)),
    latex: (x) => `H\\left(${x.text}\\right)`,
    vjp: null,
    rule: "H'(a) = 0 \\text{ (taken as zero everywhere)}",
    domain: "awayFromZero",
  }),
];

interface BinarySpec {
  readonly name: string;
  readonly f: (a: number, b: number) => number;
  readonly js: (a: string, b: string) => string;
  /**
   * The same value over WebAssembly's lanes (wasm/elementwise.ts), exactly `js`'s; `literal`
   * is b's value when the code inlines it (pow's exponent). Undefined: the loop stays JavaScript.
   */
  readonly wasm?: (v: Lanes, a: Value, b: Value, literal: number | undefined) => Value | undefined;
  readonly latex: (a: Latex, b: Latex, scalarOperand: boolean) => Latex;
  readonly vjp: (b: GraphBuilder, node: OpNode, g: NodeId, needed: readonly boolean[]) => (NodeId | null)[];
  readonly simplify?: (b: GraphBuilder, x: NodeId, y: NodeId) => NodeId | undefined;
  readonly rule: (argIndex: number) => string;
  readonly domain?: (argIndex: number) => Domain;
  /** Operand names, when users may call the op by name (max(a, b)). */
  readonly surface?: readonly string[];
  readonly torch: (a: Python, b: Python, ctx: TorchContext) => Python;
}

function binary(spec: BinarySpec): OpDef {
  return {
    name: spec.name,
    ...(spec.surface ? { surface: { params: spec.surface.map((name) => ({ name })) } } : {}),
    shape: ([a, b]) => {
      const shape = broadcastShapes(a!, b!);
      return shape ? { shape } : { error: problem("broadcast", { shapes: [a!, b!] }) };
    },
    simplify: (b, [x, y]) => spec.simplify?.(b, x!, y!),
    vjp: (b, node, g, needed) => {
      const [ga, gb] = spec.vjp(b, node, g, needed);
      return [
        needed[0] && ga !== null ? reduceTo(b, ga!, b.shape(node.args[0]!)) : null,
        needed[1] && gb !== null ? reduceTo(b, gb!, b.shape(node.args[1]!)) : null,
      ];
    },
    rule: spec.rule,
    evaluate: (args, _attrs, shape) => evalMap(args, shape, spec.f),
    elementwise: ([a, b]) => spec.js(a!, b!),
    ...(spec.wasm
      ? {
          wasm: (
            v: Lanes,
            [a, b]: readonly Value[],
            _attrs: Attrs,
            literal: (i: number) => number | undefined,
          ) => spec.wasm!(v, a!, b!, literal(1)),
        }
      : {}),
    emit: (ctx, node) =>
      ctx.elementwiseCall?.(node.id) ??
      emitElementwise(ctx, node.id, node.shape, node.args, ([a, b]) => spec.js(a!, b!)),
    latex: ([a, b], _attrs, shapes) =>
      spec.latex(
        a!,
        b!,
        shapes.some((s) => s.length === 0),
      ),
    torch: ([a, b], _attrs, _shapes, _shape, ctx) => spec.torch(a!, b!, ctx),
    domain: spec.domain ?? (() => "any"),
  };
}

/** `torch.where(a >= b, a, b)`: the operand the relation picks, and the gradient only to it. */
function pick(a: Python, relation: string, b: Python, ctx: TorchContext): Python {
  const [x, y] = [ctx.once(ctx.tensor(a)), ctx.once(ctx.tensor(b))];
  return atom(`torch.where(${x.text} ${relation} ${y.text}, ${x.text}, ${y.text})`);
}

/** `x` itself when an identity leaves it unchanged in value and shape. */
function keep(b: GraphBuilder, x: NodeId, other: NodeId): NodeId | undefined {
  const xs = b.shape(x);
  return broadcastShapes(xs, b.shape(other)) && sameShape(broadcastShapes(xs, b.shape(other))!, xs)
    ? x
    : undefined;
}

const binaryOps: OpDef[] = [
  binary({
    name: "add",
    torch: (a, b) => infix(a, "+", b, PREC.sum),
    f: (a, b) => a + b,
    js: (a, b) => `${a} + ${b}`,
    wasm: (v, a, b) => v.add(a, b),
    // a + (−b) reads a − b.
    latex: (a, b) => ({
      text:
        b.text.startsWith("-") && b.prec >= PREC.product
          ? `${a.text} - ${b.text.slice(1)}`
          : `${a.text} + ${group(b, PREC.sum + 0.5)}`,
      prec: PREC.sum,
    }),
    vjp: (_b, _n, g) => [g, g],
    simplify: (b, x, y) =>
      b.constValue(y) === 0 ? keep(b, x, y) : b.constValue(x) === 0 ? keep(b, y, x) : undefined,
    rule: () => "\\frac{\\partial (a + b)}{\\partial a} = \\frac{\\partial (a + b)}{\\partial b} = 1",
  }),
  binary({
    name: "sub",
    torch: (a, b) => infix(a, "-", b, PREC.sum),
    f: (a, b) => a - b,
    js: (a, b) => `${a} - (${b})`,
    wasm: (v, a, b) => v.sub(a, b),
    latex: (a, b) => ({
      text: `${a.text} - ${group(b, PREC.product)}`,
      prec: PREC.sum,
    }),
    vjp: (b, _n, g, needed) => [g, needed[1] ? b.op("neg", [g]) : null],
    simplify: (b, x, y) => {
      if (b.constValue(y) === 0) return keep(b, x, y);
      if (b.constValue(x) === 0 && sameShape(b.shape(y), broadcastShapes(b.shape(x), b.shape(y)) ?? []))
        return b.op("neg", [y]);
      return undefined;
    },
    rule: (i) =>
      i === 0 ? "\\frac{\\partial (a - b)}{\\partial a} = 1" : "\\frac{\\partial (a - b)}{\\partial b} = -1",
  }),
  binary({
    name: "mul",
    torch: (a, b) => infix(a, "*", b, PREC.product),
    f: (a, b) => a * b,
    js: (a, b) => `${a} * ${b}`,
    wasm: (v, a, b) => v.mul(a, b),
    // Juxtaposition for symbols (2 x, δ h); a number after a factor needs a dot: 0.74 \cdot 0.19.
    latex: (a, b, scalarOperand) => {
      // c·𝟏 ⊙ x is c x: a broadcast constant multiplies entry by entry anyway.
      const ones = (l: Latex) => l.text === "\\mathbf{1}" || l.text.endsWith("\\,\\mathbf{1}");
      const strip = (l: Latex): Latex =>
        l.text === "\\mathbf{1}"
          ? { text: "1", prec: PREC.atom, numeric: true }
          : { ...l, text: l.text.slice(0, -"\\,\\mathbf{1}".length) };
      if (!scalarOperand && ones(a) !== ones(b)) {
        const [c, x] = ones(a) ? [strip(a), b] : [strip(b), a];
        if (c.text === "1") return x;
        return { text: `${group(c, PREC.product)} \\, ${group(x, PREC.product + 0.5)}`, prec: PREC.product };
      }
      return {
        text: `${group(a, PREC.product)} ${scalarOperand ? (b.numeric ? "\\cdot" : "\\,") : "\\odot"} ${group(b, PREC.product + 0.5)}`,
        prec: PREC.product,
      };
    },
    vjp: (b, n, g, needed) => [
      needed[0] ? b.op("mul", [g, n.args[1]!]) : null,
      needed[1] ? b.op("mul", [g, n.args[0]!]) : null,
    ],
    simplify: (b, x, y) => {
      if (b.constValue(y) === 1) return keep(b, x, y);
      if (b.constValue(x) === 1) return keep(b, y, x);
      // A broadcast scalar times a tensor of its shape is the scalar times the tensor, and a
      // broadcast scalar times a scalar is the broadcast of their product: 1/(2N)·2 (O − Y), not 1/(2N)𝟏·2 ⊙ (O − Y).
      for (const [s, t] of [
        [x, y],
        [y, x],
      ] as const) {
        const n = b.node(s);
        if (n.kind !== "op" || n.op !== "broadcast_to" || b.shape(n.args[0]!).length !== 0) continue;
        if (sameShape(b.shape(t), n.shape)) return b.op("mul", s === x ? [n.args[0]!, t] : [t, n.args[0]!]);
        if (b.shape(t).length === 0)
          return b.op("broadcast_to", [b.op("mul", s === x ? [n.args[0]!, t] : [t, n.args[0]!])], n.attrs);
      }
      if (b.constValue(x) === -1 && keep(b, y, x) !== undefined) return b.op("neg", [y]);
      if (b.constValue(y) === -1 && keep(b, x, y) !== undefined) return b.op("neg", [x]);
      return undefined;
    },
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial (a \\odot b)}{\\partial a} = b"
        : "\\frac{\\partial (a \\odot b)}{\\partial b} = a",
  }),
  binary({
    name: "div",
    torch: (a, b) => infix(a, "/", b, PREC.product),
    f: (a, b) => a / b,
    js: (a, b) => `${a} / ${b}`,
    wasm: (v, a, b) => v.div(a, b),
    latex: (a, b) => ({
      text: `\\frac{${a.text}}{${b.text}}`,
      prec: PREC.atom,
    }),
    vjp: (b, n, g, needed) => [
      needed[0] ? b.op("div", [g, n.args[1]!]) : null,
      needed[1] ? b.op("neg", [b.op("div", [b.op("mul", [g, n.id]), n.args[1]!])]) : null,
    ],
    simplify: (b, x, y) => (b.constValue(y) === 1 ? keep(b, x, y) : undefined),
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial (a / b)}{\\partial a} = \\frac{1}{b}"
        : "\\frac{\\partial (a / b)}{\\partial b} = -\\frac{a}{b^2}",
    domain: (i) => (i === 1 ? "awayFromZero" : "any"),
  }),
  binary({
    name: "pow",
    torch: (a, b) => power(a, b),
    f: Math.pow,
    js: (a, b) =>
      b === "2" ? `${a} * ${a}` : b === "1" ? a : b === "0.5" ? `Math.sqrt(${a})` : `Math.pow(${a}, ${b})`,
    // As `js`: a literal exponent 2, 1 or ½ is a product, the operand, a square root; any other is Math.pow.
    wasm: (v, a, _b, p) => (p === 2 ? v.mul(a, a) : p === 1 ? a : p === 0.5 ? v.sqrt(a) : undefined),
    // A number's power starts with the number: after a factor it needs a dot, as the number would.
    latex: (a, b) => ({
      text: `{${group(a, PREC.atom)}}^{${b.text}}`,
      prec: PREC.power,
      ...(a.numeric ? { numeric: true } : {}),
    }),
    vjp: (b, n, g, needed) => {
      const [x, p] = n.args as [NodeId, NodeId];
      return [
        // a^0 is 1 everywhere, 0^0 included: its derivative is 0, not 0 · 0^{-1}.
        needed[0] && b.constValue(p) !== 0
          ? b.op("mul", [b.op("mul", [g, p]), b.op("pow", [x, b.op("sub", [p, b.scalar(1)])])])
          : null,
        needed[1] ? b.op("mul", [b.op("mul", [g, n.id]), b.op("log", [x])]) : null,
      ];
    },
    simplify: (b, x, y) => (b.constValue(y) === 1 ? keep(b, x, y) : undefined),
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial a^{p}}{\\partial a} = p\\,a^{p-1}"
        : "\\frac{\\partial a^{p}}{\\partial p} = a^{p}\\log a",
    domain: (i) => (i === 0 ? "positive" : "any"),
  }),
  binary({
    name: "max",
    // A tie sends the whole gradient to the first operand, as nabla's rule does (torch.maximum splits it).
    torch: (a, b, ctx) => pick(a, ">=", b, ctx),
    surface: ["a", "b"],
    f: Math.max,
    js: (a, b) => `Math.max(${a}, ${b})`,
    // f64x2.max is Math.max: NaN if either is, max(−0, +0) = +0 (pmax is not).
    wasm: (v, a, b) => v.max(a, b),
    latex: (a, b) => ({ text: `\\max\\left(${a.text}, ${b.text}\\right)`, prec: PREC.atom }),
    // As TensorFlow's maximum: a tie sends the whole adjoint to the first operand.
    vjp: (b, n, g, needed) => [
      needed[0] ? mul(b, g, b.op("compare", [n.args[0]!, n.args[1]!], { relation: ">=" })) : null,
      needed[1] ? mul(b, g, b.op("compare", [n.args[0]!, n.args[1]!], { relation: "<" })) : null,
    ],
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial \\max(a, b)}{\\partial a} = [a \\ge b]"
        : "\\frac{\\partial \\max(a, b)}{\\partial b} = [a < b]",
  }),
  binary({
    name: "min",
    torch: (a, b, ctx) => pick(a, "<=", b, ctx),
    surface: ["a", "b"],
    f: Math.min,
    js: (a, b) => `Math.min(${a}, ${b})`,
    wasm: (v, a, b) => v.min(a, b),
    latex: (a, b) => ({ text: `\\min\\left(${a.text}, ${b.text}\\right)`, prec: PREC.atom }),
    vjp: (b, n, g, needed) => [
      needed[0] ? mul(b, g, b.op("compare", [n.args[0]!, n.args[1]!], { relation: "<=" })) : null,
      needed[1] ? mul(b, g, b.op("compare", [n.args[0]!, n.args[1]!], { relation: ">" })) : null,
    ],
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial \\min(a, b)}{\\partial a} = [a \\le b]"
        : "\\frac{\\partial \\min(a, b)}{\\partial b} = [a > b]",
  }),
];

export const elementwiseOps: readonly OpDef[] = [...unaryOps, ...binaryOps];
