import { GraphBuilder, ShapeError } from "../ir/builder.js";
import { problem } from "../diagnostics/shapes.js";
import { Evaluator } from "../ir/evaluate.js";
import type { Attrs, NodeId, OpNode, Shape } from "../ir/types.js";
import { getOp } from "../ir/registry.js";
import {
  PREC,
  type EmitContext,
  type Helper,
  type Latex,
  type OpDef,
  type ShapeResult,
  type SurfaceParam,
} from "../ir/op.js";
import { tensor, type Tensor } from "../ir/tensor.js";
import { emitElementwise } from "./lowering.js";

/**
 * An op defined by its expansion into others (GELU as x·Φ(x), ELU as a `where`): its shape
 * rule, reference evaluator, code and vector-Jacobian product all follow from that one
 * definition. It keeps its own name in the IR, so the handout writes GELU(z), not the
 * expansion; a custom VJP may replace the derived one where numerics or the lecture need it.
 */
export interface CompositeSpec {
  readonly name: string;
  /** Operands first, then compile-time attributes with their defaults. */
  readonly params: readonly SurfaceParam[];
  /** The definition: the op's value built from its operands with other ops. */
  readonly expand: (b: GraphBuilder, args: readonly NodeId[], attrs: Attrs) => NodeId;
  readonly latex: (args: readonly Latex[], attrs: Attrs) => string;
  readonly rule: (argIndex: number) => string;
  /** Replaces the derivative of the expansion (softplus′ = σ, written as the lecture writes it). */
  readonly vjp?: OpDef["vjp"];
  readonly domain?: OpDef["domain"];
  /** The op in PyTorch, where it has a function of its own (F.gelu). */
  readonly torch?: OpDef["torch"];
}

const SPAN = { start: 0, end: 0, line: 1, column: 1 };
const placeholder = (k: number) => `#${k}`;

/** The expansion over placeholder inputs of the given shapes, in a graph of its own. */
function expandAlone(spec: CompositeSpec, shapes: readonly Shape[], attrs: Attrs) {
  const b = new GraphBuilder();
  const args = shapes.map((s, k) => b.input(placeholder(k), "input", s, SPAN));
  return { b, args, out: spec.expand(b, args, withDefaults(spec, attrs)) };
}

function withDefaults(spec: CompositeSpec, attrs: Attrs): Attrs {
  const out: Record<string, Attrs[string]> = { ...attrs };
  for (const p of spec.params) if (p.attr && out[p.name] === undefined) out[p.name] = p.default ?? 0;
  return out;
}

/**
 * The one-element formula of an elementwise expansion, as JavaScript: each op's element rule
 * applied to its operands' formulas. Undefined when some op of the expansion is not elementwise.
 */
function elementFormula(
  spec: CompositeSpec,
  values: readonly string[],
  attrs: Attrs,
  ctx: EmitContext,
): string | undefined {
  const { b, args, out } = expandAlone(
    spec,
    values.map(() => []),
    attrs,
  );
  const memo = new Map<NodeId, string | undefined>();
  const formula = (id: NodeId): string | undefined => {
    if (memo.has(id)) return memo.get(id);
    const n = b.node(id);
    let text: string | undefined;
    const k = args.indexOf(id);
    if (k >= 0) text = values[k];
    else if (n.kind === "const" && n.value.length === 1) text = ctx.num(n.value[0]!);
    else if (n.kind === "op") {
      const def = getOp(n.op);
      const operands = n.args.map(formula);
      text =
        def.elementwise && operands.every((o) => o !== undefined)
          ? `(${def.elementwise(operands as string[], n.attrs, ctx)})`
          : undefined;
    }
    memo.set(id, text);
    return text;
  };
  return formula(out);
}

/** The ops an expansion uses, for the helpers the generated module must carry. */
function expansionOps(spec: CompositeSpec): OpNode[] {
  const { b } = expandAlone(
    spec,
    spec.params.filter((p) => !p.attr).map(() => []),
    {},
  );
  return b.nodes.filter((n): n is OpNode => n.kind === "op");
}

/**
 * Reverse mode over the expansion alone, built into `b` over the node's operands: the
 * adjoint `g` of its value, sent back through each op of the expansion to the operands.
 */
function expansionVjp(
  spec: CompositeSpec,
  b: GraphBuilder,
  node: OpNode,
  g: NodeId,
  needed: readonly boolean[],
): (NodeId | null)[] {
  const args = node.args;
  const out = spec.expand(b, args, withDefaults(spec, node.attrs));
  const first = Math.min(...args);
  const depends = new Map<NodeId, boolean>();
  const dependsOnArg = (id: NodeId): boolean => {
    if (args.includes(id)) return true;
    if (id < first) return false;
    const known = depends.get(id);
    if (known !== undefined) return known;
    const n = b.node(id);
    const result = n.kind === "op" && n.args.some(dependsOnArg);
    depends.set(id, result);
    return result;
  };
  const adjoints = new Map<NodeId, NodeId>([[out, g]]);
  const add = (to: NodeId, value: NodeId) => {
    const previous = adjoints.get(to);
    adjoints.set(to, previous === undefined ? value : b.op("add", [previous, value]));
  };
  for (let id = out; id >= first; id--) {
    const adjoint = adjoints.get(id);
    const n = b.node(id);
    if (adjoint === undefined || args.includes(id) || n.kind !== "op") continue;
    const def = getOp(n.op);
    const need = n.args.map((a, k) => dependsOnArg(a) && !(def.nonDifferentiable ?? []).includes(k));
    if (!need.some(Boolean)) continue;
    def.vjp(b, n, adjoint, need).forEach((c, k) => {
      if (need[k] && c !== null && c !== undefined) add(n.args[k]!, c);
    });
  }
  return args.map((a, k) => (needed[k] ? (adjoints.get(a) ?? null) : null));
}

/**
 * The op a composite defines. Composites are elementwise (every op of the expansion is), so
 * the generated code is one fused loop; what the expansion uses is looked up when first
 * needed, after every op is registered.
 */
export function composite(spec: CompositeSpec): OpDef {
  const operands = spec.params.filter((p) => !p.attr).length;
  let helpers: Record<string, Helper> | undefined;
  const evaluators = new Map<string, ReturnType<typeof expandAlone>>();
  const formula = (values: readonly string[], attrs: Attrs, ctx: EmitContext) => {
    const text = elementFormula(spec, values, attrs, ctx);
    if (text === undefined) throw new Error(`${spec.name}: its expansion is not elementwise`);
    return text;
  };
  return {
    name: spec.name,
    composite: true,
    surface: { params: spec.params },
    shape: (shapes, attrs): ShapeResult => {
      if (shapes.length !== operands)
        return { error: problem("operandCount", { name: spec.name, count: operands }) };
      try {
        const { b, out } = expandAlone(spec, shapes, attrs);
        return { shape: b.shape(out) };
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        return { error: error.problem };
      }
    },
    vjp: spec.vjp ?? ((b, node, g, needed) => expansionVjp(spec, b, node, g, needed)),
    rule: spec.rule,
    evaluate: (args: readonly Tensor[], attrs: Attrs): Tensor => {
      const key = JSON.stringify([args.map((a) => a.shape), attrs]);
      let built = evaluators.get(key);
      if (!built) {
        built = expandAlone(
          spec,
          args.map((a) => a.shape),
          attrs,
        );
        evaluators.set(key, built);
      }
      const values = new Map(args.map((a, k) => [placeholder(k), a]));
      const v = new Evaluator(built.b.nodes, values).value(built.out);
      return tensor(v.shape, v.data);
    },
    elementwise: formula,
    emit: (ctx: EmitContext, node: OpNode) =>
      emitElementwise(ctx, node.id, node.shape, node.args, (values) => formula(values, node.attrs, ctx)),
    latex: (args, attrs) => ({ text: spec.latex(args, withDefaults(spec, attrs)), prec: PREC.atom }),
    domain: spec.domain ?? (() => "any"),
    ...(spec.torch ? { torch: spec.torch } : {}),
    get helpers() {
      helpers ??= Object.assign({}, ...expansionOps(spec).map((n) => getOp(n.op).helpers ?? {})) as Record<
        string,
        Helper
      >;
      return helpers;
    },
  };
}
