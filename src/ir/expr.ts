import type { Argument, BinaryOperator, Expr, Relation, SubscriptedName } from "../syntax/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import { shapeDiagnostic } from "../diagnostics/shapes.js";
import { closestName } from "../syntax/names.js";
import { ShapeError, type GraphBuilder } from "./builder.js";
import type { AttrValue, Dim, NodeId } from "./types.js";
import { surfaceFunction, surfaceNames } from "./registry.js";
import { constantLiteral } from "./literals.js";

/** What expression lowering needs from its surroundings: where names and reductions resolve, and where nodes go. */
export interface ExprHost {
  readonly builder: GraphBuilder;
  report(d: Diagnostic): void;
  /** A name as it appears in an expression; null when an error was reported. */
  reference(name: SubscriptedName): NodeId | null;
  /** `sum_t(...)`/`mean_t(...)`, or undefined when the callee is not a reduction over an index. */
  reduction(call: Extract<Expr, { kind: "call" }>): NodeId | null | undefined;
  /** `grad(f, x)`; absent where a gradient cannot be taken (a lecture's formula). */
  gradient?(call: Extract<Expr, { kind: "call" }>): NodeId | null;
  /** Whether a value is integer data: an `int` input, or one step of one. */
  integer(id: NodeId): boolean;
  /** A dim as a shape entry: its size when fixed, its name when bound at run time; null when it is not a dim. */
  dimSize(name: string): Dim | null;
}

/** Lowers an expression into the host's builder; null when an error was reported for it or for something it uses. */
export function lowerExpr(host: ExprHost, e: Expr): NodeId | null {
  switch (e.kind) {
    case "number":
      return host.builder.scalar(e.value);
    case "tensor":
      return lowerTensor(host, e);
    case "name":
      return host.reference(e.name);
    case "negate": {
      const x = lowerExpr(host, e.operand);
      return x === null ? null : apply(host, "neg", [x], {}, e.span);
    }
    case "transpose": {
      const x = lowerExpr(host, e.operand);
      return x === null ? null : apply(host, "transpose", [x], {}, e.span);
    }
    case "binary": {
      const l = lowerExpr(host, e.left);
      const r = lowerExpr(host, e.right);
      if (l === null || r === null) return null;
      const b = host.builder;
      if (isRelation(e.operator))
        return apply(host, "compare", [l, r], { relation: e.operator }, e.span, e.operator);
      const scalarSide = b.shape(l).length === 0 || b.shape(r).length === 0;
      const op = {
        "+": "add",
        "-": "sub",
        ".*": "mul",
        "/": "div",
        "^": "pow",
        "*": scalarSide ? "mul" : "matmul",
      }[e.operator];
      return apply(host, op, [l, r], {}, e.span, e.operator);
    }
    case "call":
      return lowerCall(host, e);
  }
}

const exprName = (e: Expr) => (e.kind === "name" ? e.name.identifier : "ids");

const RELATIONS: ReadonlySet<string> = new Set([">", ">=", "<", "<=", "==", "!="]);
const isRelation = (operator: BinaryOperator): operator is Relation => RELATIONS.has(operator);

function lowerTensor(host: ExprHost, e: Extract<Expr, { kind: "tensor" }>): NodeId | null {
  const literal = constantLiteral(e);
  if (literal === "ragged") {
    host.report(D.raggedLiteral(e.span));
    return null;
  }
  if (literal === undefined) {
    host.report(D.exampleNotConstant(e.span));
    return null;
  }
  return host.builder.constant(Float64Array.from(literal.values), literal.shape, e.span);
}

function lowerCall(host: ExprHost, e: Extract<Expr, { kind: "call" }>): NodeId | null {
  const callee = e.callee;
  const name = callee.identifier;
  const reduced = host.reduction(e);
  if (reduced !== undefined) return reduced;
  if (name === "grad" && host.gradient) return host.gradient(e);
  const def = surfaceFunction(name);
  if (!def) {
    host.report(D.unknownFunction(callee.span, name, closestName(name, surfaceNames())));
    return null;
  }
  const params = def.surface!.params;
  const bound = bindArguments(host, name, params, e.args, e.span);
  if (!bound) return null;
  const operands: NodeId[] = [];
  const attrs: Record<string, AttrValue> = {};
  let failed = false;
  params.forEach((p, i) => {
    const arg = bound[i];
    if (p.list) {
      const list = arg ? listAttr(host, arg.value, p.list) : undefined;
      if (list === undefined) {
        host.report(
          D.badArguments(
            arg?.span ?? e.span,
            p.list === "numbers"
              ? `'${p.name}' of ${name} must be a list of whole numbers in brackets, e.g. [1, 0, 2]`
              : `'${p.name}' of ${name} must be a shape in brackets: sizes and dim names, e.g. [T, H, 4]`,
          ),
        );
        failed = true;
      } else attrs[p.name] = list;
      return;
    }
    if (p.attr) {
      if (!arg) {
        if (p.default !== undefined) attrs[p.name] = p.default;
        return;
      }
      if (p.pair && arg.value.kind === "tensor") {
        const pair = listAttr(host, arg.value, "numbers");
        if (pair?.length === 2) attrs[p.name] = pair;
        else {
          host.report(
            D.badArguments(arg.span, `'${p.name}' of ${name} is a number or a pair [h, w] of whole numbers`),
          );
          failed = true;
        }
        return;
      }
      const v = lowerExpr(host, arg.value);
      const c = v === null ? undefined : host.builder.constValue(v);
      if (v !== null && (c === undefined || host.builder.shape(v).length !== 0)) {
        host.report(D.badArguments(arg.span, `'${p.name}' of ${name} must be a constant number`));
      }
      if (c === undefined) failed = true;
      else attrs[p.name] = c;
      return;
    }
    // Indices into a table that failed say nothing more (h[t-1] with h a sequence: one error).
    if (p.integer && failed) return;
    const v = lowerExpr(host, arg!.value);
    if (v === null) failed = true;
    else if (p.integer && !host.integer(v)) {
      host.report(
        D.badArguments(
          arg!.span,
          `'${p.name}' of ${name} must be integer data: declare it as 'input ${exprName(arg!.value)}: [...] int'`,
        ),
      );
      failed = true;
    } else operands.push(v);
  });
  if (failed) return null;
  return apply(host, name, operands, attrs, e.span);
}

/** A bracketed list of whole numbers, or of sizes and dim names (a shape), written in the call. */
function listAttr(host: ExprHost, e: Expr, kind: "numbers" | "shape"): readonly Dim[] | undefined {
  if (e.kind !== "tensor") return undefined;
  const out: Dim[] = [];
  for (const x of e.elements) {
    if (
      x.kind === "number" &&
      Number.isInteger(x.value) &&
      (kind === "numbers" ? x.value >= 0 : x.value >= 1)
    )
      out.push(x.value);
    else if (
      kind === "shape" &&
      x.kind === "name" &&
      !x.name.subscript &&
      host.dimSize(x.name.identifier) !== null
    )
      out.push(host.dimSize(x.name.identifier)!);
    else return undefined;
  }
  return out.length > 0 ? out : undefined;
}

/** Matches positional and named arguments to an op's parameters; undefined after reporting a mismatch. */
export function bindArguments(
  host: Pick<ExprHost, "report">,
  fn: string,
  params: readonly { name: string; attr?: boolean }[],
  args: readonly Argument[],
  span: Span,
): (Argument | undefined)[] | undefined {
  const bound: (Argument | undefined)[] = params.map(() => undefined);
  let ok = true;
  args.forEach((a, i) => {
    const slot = a.name === undefined ? i : params.findIndex((p) => p.name === a.name);
    if (slot < 0 || slot >= params.length) {
      host.report(
        D.badArguments(
          a.span,
          a.name === undefined
            ? `${fn} takes at most ${params.length} argument${params.length === 1 ? "" : "s"}`
            : `${fn} has no argument named '${a.name}' (it takes ${params.map((p) => p.name).join(", ")})`,
        ),
      );
      ok = false;
    } else if (bound[slot]) {
      host.report(D.badArguments(a.span, `argument '${params[slot]!.name}' of ${fn} is given twice`));
      ok = false;
    } else bound[slot] = a;
  });
  const missing = params.filter((p, i) => !bound[i] && !p.attr);
  if (ok && missing.length > 0) {
    host.report(D.badArguments(span, `${fn} needs ${missing.map((p) => `'${p.name}'`).join(" and ")}`));
    ok = false;
  }
  return ok ? bound : undefined;
}

/** Builds an op, turning a shape rule's rejection into a located diagnostic. */
export function apply(
  host: Pick<ExprHost, "builder" | "report">,
  op: string,
  args: NodeId[],
  attrs: Record<string, AttrValue>,
  span: Span,
  operator = op,
): NodeId | null {
  const b = host.builder;
  b.currentSpan = span;
  try {
    return b.op(op, args, attrs, span);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    const site = { op, operator, operands: args.map((a) => b.shape(a)) };
    host.report({
      ...shapeDiagnostic(error.problem, site, span),
      fromShapeRule: true,
      shapeProblem: error.problem.name,
    });
    return null;
  }
}
