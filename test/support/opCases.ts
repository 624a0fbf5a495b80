import { GraphBuilder } from "../../src/ir/builder.js";
import { allOps, getOp } from "../../src/ops/registry.js";
import type { Attrs, Graph, NodeId, Shape } from "../../src/ir/types.js";
import type { Tensor } from "../../src/ir/tensor.js";

/**
 * How to exercise each op (shapes, attributes, operands), and a graph built around one case:
 * L = sum(op(args) .* R). The op tests check its derivative, its code and its PyTorch form on
 * these cases.
 */

const span = { start: 0, end: 1, line: 1, column: 1 };

/** How to exercise one op: operand shapes, attributes, and operands built from others (p = softmax(z)). */
export interface Case {
  readonly shapes: readonly Shape[];
  readonly attrs?: Attrs;
  /** Operand i computed from operand j by an op, instead of being a param. */
  readonly derived?: Readonly<Record<number, { op: string; from: number }>>;
  /** Operand i a constant (integer data: indices). */
  readonly fixed?: Readonly<Record<number, readonly number[]>>;
}

const M = [2, 3];
export const cases: Record<string, readonly Case[]> = {
  add: [{ shapes: [M, M] }, { shapes: [M, [3]] }, { shapes: [[], M] }, { shapes: [[2, 1], M] }],
  sub: [{ shapes: [M, M] }, { shapes: [[3], M] }],
  mul: [
    { shapes: [M, M] },
    { shapes: [M, []] },
    {
      shapes: [
        [2, 1],
        [1, 3],
      ],
    },
  ],
  div: [{ shapes: [M, M] }, { shapes: [M, [3]] }],
  max: [{ shapes: [M, M] }, { shapes: [M, []] }],
  gather: [
    { shapes: [[4, 3], [5]], fixed: { 1: [0, 3, 3, 1, 2] } },
    { shapes: [[4], [2, 2]], fixed: { 1: [1, 0, 3, 3] } },
    {
      shapes: [
        [2, 3],
        [2, 2],
      ],
      fixed: { 1: [5, 0, 3, 3] },
      attrs: { flat: true },
    },
  ],
  scatter_add: [
    { shapes: [[5, 3], [5]], fixed: { 1: [0, 3, 3, 1, 2] }, attrs: { rows: 4 } },
    {
      shapes: [
        [2, 2],
        [2, 2],
      ],
      fixed: { 1: [5, 0, 3, 3] },
      attrs: { flat: true, shape: [2, 3] },
    },
  ],
  onehot: [{ shapes: [[3]], fixed: { 0: [2, 0, 1] }, attrs: { classes: 3 } }],
  min: [{ shapes: [M, M] }, { shapes: [[3], M] }],
  compare: [
    { shapes: [M, M], attrs: { relation: ">" } },
    { shapes: [M, []], attrs: { relation: "<=" } },
  ],
  where: [{ shapes: [M, M, M], derived: { 0: { op: "heaviside", from: 1 } } }, { shapes: [M, [3], []] }],
  clamp: [{ shapes: [M, [], []] }],
  elu: [{ shapes: [M] }, { shapes: [M], attrs: { alpha: 0.5 } }],
  huber: [{ shapes: [M] }, { shapes: [M], attrs: { delta: 0.5 } }],
  pow: [{ shapes: [M, M] }, { shapes: [M, []] }],
  matmul: [
    {
      shapes: [
        [2, 3],
        [3, 4],
      ],
    },
    {
      shapes: [
        [3, 2],
        [3, 4],
      ],
      attrs: { transA: true, transB: false },
    },
    {
      shapes: [
        [2, 3],
        [4, 3],
      ],
      attrs: { transA: false, transB: true },
    },
    {
      shapes: [
        [3, 2],
        [4, 3],
      ],
      attrs: { transA: true, transB: true },
    },
    { shapes: [[5, 3], [3]] },
    { shapes: [[3, 5], [3]], attrs: { transA: true, transB: false } },
    { shapes: [[3], [3, 4]] },
    { shapes: [[3], [4, 3]], attrs: { transA: false, transB: true } },
    { shapes: [[3], [3]] },
    {
      shapes: [
        [6, 5],
        [5, 7],
      ],
    },
  ],
  outer: [{ shapes: [[2], [3]] }],
  transpose: [{ shapes: [M] }],
  sum: [{ shapes: [M] }],
  mean: [{ shapes: [M] }],
  count: [{ shapes: [M] }],
  sum_to: [
    { shapes: [M], attrs: { shape: [3] } },
    { shapes: [M], attrs: { shape: [2, 1] } },
  ],
  broadcast_to: [{ shapes: [[3]], attrs: { shape: M } }],
  softmax: [
    { shapes: [M] },
    { shapes: [[4]] },
    { shapes: [M], attrs: { axis: 0 } },
    { shapes: [[2, 3, 2]], attrs: { axis: 1 } },
  ],
  log_softmax: [{ shapes: [M] }, { shapes: [[2, 3, 2]], attrs: { axis: 0 } }],
  mse: [{ shapes: [M, M] }],
  cross_entropy: [{ shapes: [M, M] }],
  bce: [{ shapes: [M, M] }],
  softmax_cross_entropy: [{ shapes: [M, M, M], derived: { 2: { op: "softmax", from: 0 } } }],
  sigmoid_bce: [{ shapes: [M, M, M], derived: { 2: { op: "sigmoid", from: 0 } } }],
  softmax_xent_grad: [{ shapes: [M, M] }],
  leaky_relu: [{ shapes: [M], attrs: { alpha: 0.2 } }],
  take: [
    { shapes: [[4, 3]], attrs: { from: "end", k: 0, step: "T" } },
    { shapes: [[4, 3]], attrs: { from: "start", k: 1, step: "2" } },
  ],
  place: [{ shapes: [[3]], attrs: { from: "end", k: 1, length: 4, step: "T-1" } }],
  sum_steps: [{ shapes: [[4, 3]], attrs: { index: "t" } }],
  flip: [{ shapes: [[4, 3]] }, { shapes: [[3]] }],
  delay: [
    { shapes: [[4, 3], [3], [3]], attrs: { k: 2 } },
    { shapes: [[4, 3], []], attrs: { k: 1 } },
  ],
  concat: [
    { shapes: [[3], [2]], attrs: { axis: 0 } },
    {
      shapes: [
        [2, 3],
        [2, 1],
      ],
      attrs: { axis: -1 },
    },
    {
      shapes: [
        [1, 3],
        [2, 3],
      ],
      attrs: { axis: 0 },
    },
  ],
  slice: [
    { shapes: [[5]], attrs: { from: 1, to: 4, axis: -1 } },
    { shapes: [[3, 4]], attrs: { from: 0, to: 2, axis: 0 } },
  ],
  pad: [{ shapes: [[2, 2]], attrs: { from: 1, to: 3, axis: 1, size: 4 } }],
  permute: [
    { shapes: [[2, 3, 4]], attrs: { axes: [1, 0, 2] } },
    { shapes: [[2, 3, 4]], attrs: { axes: [2, 0, 1] } },
    { shapes: [[3, 2]], attrs: { axes: [1, 0] } },
  ],
  bmatmul: [
    {
      shapes: [
        [2, 3, 4],
        [2, 4, 2],
      ],
    },
    {
      shapes: [
        [2, 3, 4],
        [4, 2],
      ],
    },
    {
      shapes: [
        [3, 4],
        [2, 4, 2],
      ],
    },
  ],
  conv2d: [
    {
      shapes: [
        [5, 5],
        [3, 3],
      ],
      attrs: { stride: 1, padding: 0 },
    },
    {
      shapes: [
        [5, 5],
        [3, 3],
      ],
      attrs: { stride: 2, padding: 1 },
    },
    {
      shapes: [
        [2, 5, 5],
        [3, 2, 3, 3],
      ],
      attrs: { stride: 1, padding: 1 },
    },
    {
      shapes: [
        [2, 2, 4, 4],
        [3, 2, 2, 2],
      ],
      attrs: { stride: 2, padding: 0 },
    },
    // Strides and paddings per axis, as a 1-D convolution's 1-high image has them.
    {
      shapes: [
        [2, 1, 7],
        [3, 2, 1, 3],
      ],
      attrs: { stride: [1, 2], padding: [0, 1] },
    },
    // Its transposes, which its VJPs are: the input's place (a full convolution), the kernel's.
    {
      shapes: [
        [3, 3],
        [3, 3],
      ],
      attrs: { stride: 1, padding: 0, transpose: "x", shape: [5, 5] },
    },
    {
      shapes: [
        [3, 3, 3],
        [3, 2, 3, 3],
      ],
      attrs: { stride: 2, padding: 1, transpose: "x", shape: [2, 5, 5] },
    },
    {
      shapes: [
        [5, 5],
        [3, 3],
      ],
      attrs: { stride: 1, padding: 0, transpose: "k", shape: [3, 3] },
    },
    {
      shapes: [
        [2, 5, 5],
        [3, 3, 3],
      ],
      attrs: { stride: 2, padding: 1, transpose: "k", shape: [3, 2, 3, 3] },
    },
  ],
  // Rewritten as a conv2d of a 1-high image: the case checks the rewrite's derivative.
  conv1d: [
    {
      shapes: [
        [2, 6],
        [3, 2, 3],
      ],
      attrs: { stride: 2, padding: 1 },
    },
    { shapes: [[7], [3]], attrs: { stride: 1, padding: 0 } },
  ],
  maxpool: [
    { shapes: [[4, 4]], attrs: { size: 2, stride: 1 } },
    { shapes: [[2, 5, 5]], attrs: { size: 2, stride: 2 } },
    { shapes: [[4, 6]], attrs: { size: [2, 3], stride: [2, 1] } },
  ],
  pool_argmax: [{ shapes: [[4, 4]], attrs: { size: 2, stride: 1 } }],
  avgpool: [
    { shapes: [[4, 4]], attrs: { size: 2, stride: 2 } },
    { shapes: [[2, 3, 5]], attrs: { size: 3, stride: 1 } },
    { shapes: [[4, 6]], attrs: { size: [1, 3], stride: [1, 3] } },
    // Its transpose, which its VJP is: each window's value spread over the window.
    { shapes: [[2, 2]], attrs: { size: 2, stride: 2, transpose: "x", shape: [4, 4] } },
  ],
  flatten: [
    { shapes: [[2, 3, 4]], attrs: { from: 0 } },
    { shapes: [[2, 3, 4]], attrs: { from: 1 } },
  ],
  reshape: [{ shapes: [[6]], attrs: { shape: [2, 3] } }],
  dim_size: [{ shapes: [], attrs: { dim: "N", value: 3 } }],
  position: [{ shapes: [], attrs: { shape: [2, 3], axis: 1, name: "j" } }],
};
for (const def of allOps()) {
  if (
    !(def.name in cases) &&
    [
      "neg",
      "exp",
      "log",
      "sqrt",
      "abs",
      "sign",
      "tanh",
      "sigmoid",
      "relu",
      "softplus",
      "log_sigmoid",
      "log1p",
      "erf",
      "gelu",
      "silu",
      "softsign",
      "mish",
      "heaviside",
    ].includes(def.name)
  ) {
    cases[def.name] = [{ shapes: [M] }];
  }
}

function sample(rand: () => number, domain: string): number {
  const u = rand();
  switch (domain) {
    case "positive":
      return 0.3 + 2 * u;
    case "probability":
      return 0.1 + 0.8 * u;
    case "awayFromZero":
      return (u < 0.5 ? -1 : 1) * (0.2 + 1.5 * rand());
    default:
      return 4 * u - 2;
  }
}

/** L = sum(op(args) .* R) for a fixed random R, so every output entry weighs in differently. */
export function buildCase(opName: string, c: Case, rand: () => number) {
  const b = new GraphBuilder();
  const def = getOp(opName);
  const values = new Map<string, Tensor>();
  const args: NodeId[] = [];
  // Params first, then the operands derived from them (a where's condition from its value).
  c.shapes.forEach((shape, i) => {
    if (c.derived?.[i]) return;
    const fixed = c.fixed?.[i];
    if (fixed) {
      args[i] = b.constant(Float64Array.from(fixed), shape);
      return;
    }
    const name = `a${i}`;
    const size = shape.reduce<number>((x, y) => x * (y as number), 1);
    const domain = def.domain?.(i) ?? "any";
    values.set(name, {
      shape: shape as number[],
      data: Float64Array.from({ length: size }, () => sample(rand, domain)),
    });
    args[i] = b.param(name, shape, span);
  });
  for (const [i, derived] of Object.entries(c.derived ?? {}))
    args[Number(i)] = b.op(derived.op, [args[derived.from]!]);
  const out = b.op(opName, args, c.attrs ?? {});
  const outShape = b.shape(out) as number[];
  const weights = Float64Array.from({ length: outShape.reduce((x, y) => x * y, 1) }, () => 2 * rand() - 1);
  const loss = b.op("sum", [b.op("mul", [out, b.constant(weights, outShape)])]);
  const graph: Graph = {
    modelName: opName,
    nodes: b.nodes,
    named: [...values.keys()].map((name) => {
      const node = b.nodes.find((n) => n.kind === "param" && n.name === name)!;
      return {
        name,
        node: node.id,
        kind: "param",
        declaredShape: [...node.shape],
        span,
      };
    }),
    loss,
    dims: new Map(),
    example: values,
  };
  return { graph, values };
}
