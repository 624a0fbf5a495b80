import type { Node, NodeId, Shape } from "../ir/types.js";
import { assertNever } from "../ir/types.js";
import { getOp } from "../ops/registry.js";
import { PREC, type Latex } from "../ops/def.js";
import type { Tensor } from "../ir/tensor.js";

/**
 * Renders IR as LaTeX. `symbols` names the nodes that print as a symbol rather than as
 * their expression: named values, auxiliary u_k, and adjoints (δ_v).
 */
export class ExpressionRenderer {
  constructor(
    private readonly nodes: readonly Node[],
    private readonly symbols: ReadonlyMap<NodeId, string>,
    private readonly adjointSymbol: (of: NodeId) => string,
    /** LaTeX for what is not an op: projections of scans, a body's inputs without a symbol. */
    private readonly other?: (n: Node) => Latex | undefined,
  ) {}

  /** `id` with its precedence, as it appears inside other expressions. */
  latex(id: NodeId): Latex {
    return this.render(id, undefined);
  }

  /** The expression of `id`, with every other named node as its symbol. */
  definition(id: NodeId): string {
    return this.render(id, id).text;
  }

  /** `id` as it appears inside other expressions. */
  reference(id: NodeId): string {
    return this.render(id, undefined).text;
  }

  private render(id: NodeId, expand: NodeId | undefined): Latex {
    const symbol = this.symbols.get(id);
    if (symbol !== undefined && id !== expand) return { text: symbol, prec: PREC.atom };
    const n = this.nodes[id]!;
    switch (n.kind) {
      case "input":
      case "param":
        return { text: symbol ?? n.name, prec: PREC.atom };
      case "const":
        return constantLatex(n.value, n.shape);
      case "adjoint":
        return { text: this.adjointSymbol(n.of), prec: PREC.atom };
      case "op": {
        const def = getOp(n.op);
        const args = n.args.map((a) => this.render(a, undefined));
        return def.latex(
          args,
          n.attrs,
          n.args.map((a) => this.nodes[a]!.shape),
        );
      }
      case "scan":
      case "scan_adjoint":
      case "project":
      case "carry":
      case "slice":
      case "outer":
      case "residual":
      case "state_adjoint": {
        const latex = this.other?.(n);
        if (!latex) throw new Error(`no LaTeX for a ${n.kind} node`);
        return latex;
      }
      default:
        return assertNever(n);
    }
  }
}

function constantLatex(value: Float64Array, shape: Shape): Latex {
  const v = value[0]!;
  if (value.every((x) => x === v)) {
    const text = formatNumber(v);
    if (shape.length === 0) return { text, prec: v < 0 ? PREC.unary : PREC.atom };
    return { text: `${text}\\,\\mathbf{1}`, prec: PREC.product };
  }
  return {
    text: tensorLatex({ shape: shape as number[], data: value }),
    prec: PREC.atom,
  };
}

/** A number as lecture notes print it: four significant digits, no trailing zeros. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "\\mathrm{NaN}";
  if (!Number.isFinite(v)) return v > 0 ? "\\infty" : "-\\infty";
  if (v === 0) return "0";
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e5) {
    const fixed = Number(v.toPrecision(4));
    return String(fixed);
  }
  const [mantissa, exponent] = v.toExponential(3).split("e");
  return `${Number(mantissa)} \\times 10^{${Number(exponent)}}`;
}

const MAX_ENTRIES = 400;

/** A scalar, a column vector or a matrix; higher ranks print as a list of matrices (one per leading index). */
export function tensorLatex(t: Tensor): string {
  if (t.shape.length === 0) return formatNumber(t.data[0]!);
  if (t.data.length > MAX_ENTRIES)
    return `\\text{(a } ${t.shape.join(" \\times ")} \\text{ tensor, not printed)}`;
  if (t.shape.length === 1)
    return `\\begin{bmatrix} ${Array.from(t.data, formatNumber).join(" \\\\ ")} \\end{bmatrix}`;
  const [rows, cols] = t.shape.slice(-2) as [number, number];
  const matrix = (offset: number) => {
    const lines: string[] = [];
    for (let r = 0; r < rows; r++)
      lines.push(
        Array.from(t.data.subarray(offset + r * cols, offset + (r + 1) * cols), formatNumber).join(" & "),
      );
    return `\\begin{bmatrix} ${lines.join(" \\\\ ")} \\end{bmatrix}`;
  };
  if (t.shape.length === 2) return matrix(0);
  const parts: string[] = [];
  for (let o = 0; o < t.data.length; o += rows * cols) parts.push(matrix(o));
  return `\\left(${parts.join(",\\; ")}\\right)`;
}

/** Shapes as sets: ℝ^{N×D}, ℝ for scalars. */
export function spaceLatex(shape: readonly (string | number)[]): string {
  return shape.length === 0 ? "\\mathbb{R}" : `\\mathbb{R}^{${shape.join(" \\times ")}}`;
}
