import type { GraphBuilder } from "../ir/builder.js";
import { unifyDims } from "../ir/shapes.js";
import { problem } from "../diagnostics/shapes.js";
import type { Attrs, NodeId, Shape } from "../ir/types.js";
import { tensor, type Tensor } from "../ir/tensor.js";
import type { EmitContext } from "./lowering.js";
import { emitDot, emitGemmCall, emitMatMat, emitMatVec, emitOuter, type GemmSpec } from "./kernels.js";
import { group, PREC, type Latex, type OpDef, type Python, type ShapeResult } from "../ir/op.js";
import { transposeLast } from "./batched.js";
import { atom, call, infix, py } from "./python.js";

const flag = (attrs: Attrs, name: string) => attrs[name] === true;
// A factor of a product: a negation or a sum gets brackets (W^T (−δ), not W^T −δ).
const tr = (l: Latex, t: boolean) => (t ? `{${group(l, PREC.atom)}}^{\\top}` : group(l, PREC.power));

/** Logical [rows, cols] of a stored matrix under an optional transpose. */
const view = (s: Shape, t: boolean): Shape => (t ? [s[1]!, s[0]!] : s);

function matmulShape([a, b]: readonly Shape[], attrs: Attrs): ShapeResult {
  const ta = flag(attrs, "transA");
  const tb = flag(attrs, "transB");
  if (a!.length > 2 || b!.length > 2 || a!.length === 0 || b!.length === 0) {
    return {
      error: problem("matmulRank", { a: a!, b: b! }),
    };
  }
  const va = a!.length === 2 ? view(a!, ta) : a!;
  const vb = b!.length === 2 ? view(b!, tb) : b!;
  const inner = va[va.length - 1];
  const innerB = vb[0];
  if (inner === undefined || innerB === undefined || !unifyDims(inner, innerB))
    return { error: problem("innerDims") };
  return { shape: [...va.slice(0, -1), ...vb.slice(1)] };
}

function at(t: Tensor, i: number, j: number, transposed: boolean): number {
  const cols = t.shape[1]!;
  return transposed ? t.data[j * cols + i]! : t.data[i * cols + j]!;
}

function evaluateMatmul([a, b]: readonly Tensor[], attrs: Attrs, shape: readonly number[]): Tensor {
  const ta = flag(attrs, "transA");
  const tb = flag(attrs, "transB");
  // Treat vectors as a row (left) or a column (right) so one loop covers every case.
  const A =
    a!.shape.length === 1
      ? {
          get: (_i: number, p: number) => a!.data[p]!,
          rows: 1,
          inner: a!.shape[0]!,
        }
      : {
          get: (i: number, p: number) => at(a!, i, p, ta),
          rows: ta ? a!.shape[1]! : a!.shape[0]!,
          inner: ta ? a!.shape[0]! : a!.shape[1]!,
        };
  const B =
    b!.shape.length === 1
      ? { get: (p: number) => b!.data[p]!, cols: 1 }
      : {
          get: (p: number, j: number) => at(b!, p, j, tb),
          cols: tb ? b!.shape[0]! : b!.shape[1]!,
        };
  const out = tensor(shape);
  for (let i = 0; i < A.rows; i++) {
    for (let j = 0; j < B.cols; j++) {
      let s = 0;
      for (let p = 0; p < A.inner; p++) s += A.get(i, p) * B.get(p, j);
      out.data[i * B.cols + j] = s;
    }
  }
  return out;
}

function matmulVjp(
  b: GraphBuilder,
  args: readonly NodeId[],
  attrs: Attrs,
  g: NodeId,
  needed: readonly boolean[],
) {
  const [A, B] = args as [NodeId, NodeId];
  const ta = flag(attrs, "transA");
  const tb = flag(attrs, "transB");
  const ra = b.shape(A).length;
  const rb = b.shape(B).length;
  const mm = (x: NodeId, y: NodeId, transA = false, transB = false) =>
    b.op("matmul", [x, y], { transA, transB });
  let dA: (() => NodeId) | undefined;
  let dB: (() => NodeId) | undefined;
  if (ra === 2 && rb === 2) {
    dA = () => (ta ? mm(B, g, tb, true) : mm(g, B, false, !tb));
    dB = () => (tb ? mm(g, A, true, ta) : mm(A, g, !ta, false));
  } else if (ra === 2 && rb === 1) {
    dA = () => (ta ? b.op("outer", [B, g]) : b.op("outer", [g, B]));
    dB = () => mm(A, g, !ta);
  } else if (ra === 1 && rb === 2) {
    dA = () => mm(B, g, tb);
    dB = () => (tb ? b.op("outer", [g, A]) : b.op("outer", [A, g]));
  } else {
    dA = () => b.op("mul", [g, B]);
    dB = () => b.op("mul", [g, A]);
  }
  return [needed[0] ? dA() : null, needed[1] ? dB() : null];
}

function emitMatmul(ctx: EmitContext, node: { id: NodeId; args: readonly NodeId[]; attrs: Attrs }): string {
  const [A, B] = node.args as [NodeId, NodeId];
  const sa = ctx.shapeOf(A);
  const sb = ctx.shapeOf(B);
  const ta = flag(node.attrs, "transA");
  const tb = flag(node.attrs, "transB");
  const gemm = gemmSpec(ctx, A, B, ta, tb);
  const call = gemm && emitGemmCall(ctx.addresses?.([node.id, ...gemm.operands]), gemm.spec);
  if (call !== undefined) return call;
  const out = ctx.ref(node.id);
  if (sa.length === 2 && sb.length === 2) {
    const [m, k] = view(sa, ta);
    const n = view(sb, tb)[1]!;
    return emitMatMat(ctx, {
      out,
      a: ctx.ref(A),
      b: ctx.ref(B),
      m: ctx.dim(m!),
      n: ctx.dim(n),
      k: ctx.dim(k!),
      ta,
      tb,
    });
  }
  if (sa.length === 2) {
    const [m, k] = view(sa, ta);
    return emitMatVec(ctx, {
      out,
      a: ctx.ref(A),
      x: ctx.ref(B),
      m: ctx.dim(m!),
      k: ctx.dim(k!),
      ta,
    });
  }
  if (sb.length === 2) {
    // x·op(B) is op(B)ᵀ·x.
    const [k, n] = view(sb, tb);
    return emitMatVec(ctx, {
      out,
      a: ctx.ref(B),
      x: ctx.ref(A),
      m: ctx.dim(n!),
      k: ctx.dim(k!),
      ta: !tb,
    });
  }
  return emitDot(ctx, out, ctx.ref(A), ctx.ref(B), ctx.dim(sa[0]!));
}

/**
 * The product as the WebAssembly kernel's C = A B, with the operands in the order it reads
 * them: op(A) op(B) for two matrices; a matrix times a vector is a one-column product (A x,
 * dot products along A's rows) or, with A transposed, a one-row one (xᵀ A, rows of A added);
 * a vector times a matrix a one-row one. A vector times a vector (a dot) has none.
 */
function gemmSpec(
  ctx: EmitContext,
  A: NodeId,
  B: NodeId,
  ta: boolean,
  tb: boolean,
): { spec: GemmSpec; operands: [NodeId, NodeId] } | undefined {
  const sa = ctx.shapeOf(A);
  const sb = ctx.shapeOf(B);
  const d = (x: Shape[number]) => ctx.dim(x);
  // A stored [m, k] (or [k, m] read transposed); B stored [k, n] (or [n, k]).
  const stridesA = (m: string, k: string) => (ta ? { sai: "1", sap: m } : { sai: k, sap: "1" });
  const stridesB = (k: string, n: string) => (tb ? { sbp: "1", sbj: k } : { sbp: n, sbj: "1" });
  if (sa.length === 2 && sb.length === 2) {
    const [m, k] = view(sa, ta).map(d) as [string, string];
    const n = d(view(sb, tb)[1]!);
    return { spec: { m, n, k, ...stridesA(m, k), ...stridesB(k, n) }, operands: [A, B] };
  }
  if (sa.length === 2 && sb.length === 1) {
    const [m, k] = view(sa, ta).map(d) as [string, string];
    // A x: m dot products; Aᵀ x with A stored [k, m] is xᵀ A, the rows of A added.
    if (!ta) return { spec: { m, n: "1", k, sai: k, sap: "1", sbp: "1", sbj: k }, operands: [A, B] };
    return { spec: { m: "1", n: m, k, sai: k, sap: "1", sbp: m, sbj: "1" }, operands: [B, A] };
  }
  if (sa.length === 1 && sb.length === 2) {
    const [k, n] = view(sb, tb).map(d) as [string, string];
    return { spec: { m: "1", n, k, sai: k, sap: "1", ...stridesB(k, n) }, operands: [A, B] };
  }
  return undefined;
}

/** a bᵀ written into (or added to) `target`. */
function emitOuterOp(
  ctx: EmitContext,
  node: { id: NodeId; args: readonly NodeId[]; shape: readonly (string | number)[] },
  target: string,
  assign: "=" | "+=",
): string {
  const [m, n] = node.shape.map((d) => ctx.dim(d)) as [string, string];
  // K = 1: C[i, j] (+)= a[i] b[j]. Into the node's own array, or added to `target`, a
  // workspace array (in the kernels' memory with the WebAssembly target).
  const addresses = ctx.addresses?.(assign === "=" ? [node.id, ...node.args] : node.args);
  const call = emitGemmCall(
    addresses && (assign === "=" ? addresses : [`${target}.byteOffset`, ...addresses]),
    { m, n, k: "1", sai: "1", sap: "1", sbp: n, sbj: "1" },
    assign === "+=",
  );
  if (call !== undefined) return call;
  const [a, b] = node.args.map((x) => ctx.ref(x));
  return emitOuter(ctx, a!, b!, target, m, n, assign);
}

export const linalgOps: readonly OpDef[] = [
  {
    name: "matmul",
    shape: matmulShape,
    simplify: (b, [x, y], attrs) => {
      // Stacks of matrices multiply matrix by matrix (attention's Q K^T per head).
      if (b.shape(x!).length >= 3 || b.shape(y!).length >= 3) return b.op("bmatmul", [x!, y!]);
      // A transpose feeding a product becomes a flag: no copy, and the kernel reads it in place.
      for (const [i, key] of [
        [0, "transA"],
        [1, "transB"],
      ] as const) {
        const n = b.node([x, y][i]!);
        if (n.kind === "op" && n.op === "transpose" && n.shape.length === 2) {
          const args = i === 0 ? [n.args[0]!, y!] : [x!, n.args[0]!];
          return b.op("matmul", args, { ...attrs, [key]: !flag(attrs, key) });
        }
      }
      return undefined;
    },
    vjp: (b, node, g, needed) => matmulVjp(b, node.args, node.attrs, g, needed),
    rule: (i) =>
      i === 0
        ? "\\frac{\\partial L}{\\partial A} = \\frac{\\partial L}{\\partial (AB)}\\,B^{\\top}"
        : "\\frac{\\partial L}{\\partial B} = A^{\\top}\\,\\frac{\\partial L}{\\partial (AB)}",
    evaluate: evaluateMatmul,
    emit: emitMatmul,
    latex: ([a, b], attrs) => ({
      text: `${tr(a!, flag(attrs, "transA"))} ${b!.numeric ? "\\cdot " : ""}${tr(b!, flag(attrs, "transB"))}`,
      prec: PREC.product,
    }),
    // Python's @ is torch.matmul: a vector on the left is a row, on the right a column, as here.
    torch: ([a, b], attrs) => {
      const t = (x: Python, transposed: boolean) => (transposed ? atom(`${py(x, PREC.atom)}.T`) : x);
      return infix(t(a!, flag(attrs, "transA")), "@", t(b!, flag(attrs, "transB")), PREC.product);
    },
  },
  {
    name: "outer",
    shape: ([a, b]) =>
      a!.length === 1 && b!.length === 1 ? { shape: [a![0]!, b![0]!] } : { error: problem("outerVectors") },
    vjp: (b, node, g, needed) => [
      needed[0] ? b.op("matmul", [g, node.args[1]!], { transA: false, transB: false }) : null,
      needed[1] ? b.op("matmul", [g, node.args[0]!], { transA: true, transB: false }) : null,
    ],
    rule: () =>
      "\\frac{\\partial (a b^{\\top})}{\\partial a} \\text{ and } \\frac{\\partial (a b^{\\top})}{\\partial b}",
    evaluate: ([a, b], _attrs, shape) => {
      const out = tensor(shape);
      const n = b!.data.length;
      for (let i = 0; i < a!.data.length; i++)
        for (let j = 0; j < n; j++) out.data[i * n + j] = a!.data[i]! * b!.data[j]!;
      return out;
    },
    emit: (ctx, node) => emitOuterOp(ctx, node, ctx.ref(node.id), "="),
    accumulate: (ctx, node, target) => emitOuterOp(ctx, node, target, "+="),
    // Σ_t a_t b_tᵀ = Aᵀ B for A, B the operands stacked over the steps: one product with K = steps.
    sumOverSteps: (ctx, node, target, [a, b], steps) => {
      const [m, n] = node.shape.map((d) => ctx.dim(d)) as [string, string];
      return emitGemmCall(
        [target, a!, b!].map((x) => `${x}.byteOffset`),
        { m, n, k: steps, sai: "1", sap: m, sbp: n, sbj: "1" },
        true,
      );
    },
    latex: ([a, b]) => ({
      text: `${group(a!, PREC.product)} {${group(b!, PREC.atom)}}^{\\top}`,
      prec: PREC.product,
    }),
    torch: ([a, b], _attrs, _shapes, _shape, ctx) => call("torch.outer", [a!, b!], ctx),
  },
  {
    name: "transpose",
    // A stack of matrices ([B, m, n], [N, heads, m, n]) is transposed matrix by matrix.
    shape: ([a]) => ({ shape: a!.length < 2 ? a! : [...a!.slice(0, -2), a!.at(-1)!, a!.at(-2)!] }),
    simplify: (b, [x]) => {
      const n = b.node(x!);
      if (n.shape.length < 2) return x;
      if (n.shape.length >= 3) return transposeLast(b, x!);
      return n.kind === "op" && n.op === "transpose" ? n.args[0] : undefined;
    },
    vjp: (b, _node, g) => [b.op("transpose", [g])],
    rule: () =>
      "\\frac{\\partial L}{\\partial A} = \\left(\\frac{\\partial L}{\\partial A^{\\top}}\\right)^{\\top}",
    evaluate: ([a], _attrs, shape) => {
      const out = tensor(shape);
      const [r, c] = a!.shape as [number, number];
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[j * r + i] = a!.data[i * c + j]!;
      return out;
    },
    emit: (ctx, node) => {
      const [r, c] = ctx.shapeOf(node.args[0]!).map((d) => ctx.dim(d));
      const i = ctx.fresh("i");
      const j = ctx.fresh("j");
      return `for (let ${i} = 0; ${i} < ${r}; ${i}++) for (let ${j} = 0; ${j} < ${c}; ${j}++) ${ctx.ref(node.id)}[${j} * ${r} + ${i}] = ${ctx.ref(node.args[0]!)}[${i} * ${c} + ${j}];`;
    },
    latex: ([a]) => ({
      text: `{${group(a!, PREC.atom)}}^{\\top}`,
      prec: PREC.power,
    }),
    torch: ([a]) => atom(`${py(a!, PREC.atom)}.transpose(-2, -1)`),
  },
];
