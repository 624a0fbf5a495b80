import { dimLatex } from "../syntax/latexName.js";
import type { Node, NodeId } from "../ir/types.js";
import { assertNever } from "../ir/types.js";
import { getOp } from "../ir/registry.js";
import { PREC, type Latex } from "../ir/op.js";
import type { Tensor } from "../ir/tensor.js";

/** What a rendering needs to know beyond the IR: which nodes print as a symbol, and what δs read as. */
export interface RenderContext {
  /** A node printed as a symbol (a name, δ, or a number) instead of its expression. */
  symbol(id: NodeId): Latex | undefined;
  /** An `adjoint` node: δ of the value it stands for (or what that δ is made of). */
  adjoint(of: NodeId): Latex;
  /** What is not an op: values of recurrences, a step's inputs. */
  other?(n: Node): Latex | undefined;
  /** A constant as LaTeX (numbers follow the handout's formatting). */
  constant(value: Float64Array, shape: Node["shape"]): Latex;
  /** The worked values of an op's operands, where known: whether its written form holds. */
  operandValues?(n: Extract<Node, { kind: "op" }>): readonly (Tensor | undefined)[];
}

/** Renders IR as LaTeX, parenthesising by precedence. */
export class ExpressionRenderer {
  constructor(
    private readonly nodes: readonly Node[],
    private readonly context: RenderContext,
  ) {}

  /** `id` with its precedence, as it appears inside other expressions. */
  latex(id: NodeId): Latex {
    return this.render(id, undefined);
  }

  /** The expression of `id`, with every other symbol-named node as its symbol. */
  definition(id: NodeId): string {
    return this.render(id, id).text;
  }

  /**
   * The expression of `id` when it has at most `limit` terms written out, else undefined. A
   * value used twice is written twice inside an expression, so an expression over a chain of
   * such values doubles at each step: it is counted before it is written.
   */
  definitionWithin(id: NodeId, limit: number): string | undefined {
    const sizes = new Map<NodeId, number>();
    const size = (at: NodeId): number => {
      if (at !== id && this.context.symbol(at) !== undefined) return 1;
      const known = sizes.get(at);
      if (known !== undefined) return known;
      const n = this.nodes[at]!;
      let total = 1;
      if (n.kind === "op") for (const a of n.args) total = Math.min(limit + 1, total + size(a));
      sizes.set(at, total);
      return total;
    };
    return size(id) <= limit ? this.definition(id) : undefined;
  }

  definitionLatex(id: NodeId): Latex {
    return this.render(id, id);
  }

  /** `id` as it appears inside other expressions. */
  reference(id: NodeId): string {
    return this.render(id, undefined).text;
  }

  private render(id: NodeId, expand: NodeId | undefined): Latex {
    if (id !== expand) {
      const symbol = this.context.symbol(id);
      if (symbol !== undefined) return symbol;
    }
    const n = this.nodes[id]!;
    switch (n.kind) {
      case "input":
      case "param":
        return { text: `\\mathrm{${n.name.replace(/_/g, "\\_")}}`, prec: PREC.atom };
      case "const":
        return this.context.constant(n.value, n.shape);
      case "adjoint":
        return this.context.adjoint(n.of);
      case "op": {
        const def = getOp(n.op);
        // A form that holds only for some operands is written when it holds for these.
        const holds = def.writtenForm?.holds(this.context.operandValues?.(n) ?? []) ?? true;
        return (holds ? def.latex : def.writtenForm!.general)(
          n.args.map((a) => this.render(a, undefined)),
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
        const latex = this.context.other?.(n);
        if (!latex) throw new Error(`no LaTeX for a ${n.kind} node`);
        return latex;
      }
      default:
        return assertNever(n);
    }
  }
}

/** Shapes as sets: ℝ^{N×D}, ℝ for scalars. */
export function spaceLatex(shape: readonly (string | number)[], set = "\\mathbb{R}"): string {
  return shape.length === 0 ? set : `${set}^{${shape.map(dimLatex).join(" \\times ")}}`;
}
