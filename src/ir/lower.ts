import type {
  Argument,
  DimRef,
  Expr,
  Program,
  Statement,
  SubscriptedName,
} from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import { closestName, resolveName } from "../syntax/names.js";
import { GraphBuilder, ShapeError } from "./builder.js";
import {
  formatShape,
  type Dim,
  type Graph,
  type NamedValue,
  type NodeId,
  type Shape,
  type TrainSettings,
} from "./types.js";
import {
  notYetSupportedFunctions,
  surfaceFunction,
  surfaceNames,
} from "../ops/registry.js";
import { checkLatexName } from "../latex/names.js";
import { lowerExample, lowerTrain } from "./values.js";
import type { Tensor } from "./tensor.js";

type Declaration = Extract<Statement, { kind: "declaration" }>;
type Equation = Extract<Statement, { kind: "equation" }>;

const SCALAR_SPAN_FALLBACK: Span = { start: 0, end: 1, line: 1, column: 1 };

/** AST → IR: names resolved, equations sorted by dependency, shapes inferred and checked. */
export class Lowering {
  private readonly b = new GraphBuilder();
  private readonly dims = new Map<string, number | undefined>();
  private readonly indices = new Set<string>();
  private readonly indexDims = new Set<string>();
  private readonly declarations = new Map<string, Declaration>();
  private readonly equations = new Map<string, Equation>();
  private readonly nodeOf = new Map<string, NodeId | null>();
  private readonly named: NamedValue[] = [];
  private readonly lowering = new Set<string>();
  private readonly firstLine = new Map<string, number>();

  constructor(
    private readonly program: Program,
    private readonly diagnostics: Diagnostic[],
  ) {}

  private report(d: Diagnostic): void {
    this.diagnostics.push(d);
  }

  run(): Graph | undefined {
    const statements = this.program.statements;
    let modelName = "Model";
    for (const s of statements) {
      if (s.kind === "model") modelName = s.name;
      if (s.kind === "dim") this.declareDim(s);
      if (s.kind === "index") this.declareIndex(s);
    }
    for (const s of statements) if (s.kind === "declaration") this.declare(s);
    let loss: Equation | undefined;
    for (const s of statements) {
      if (s.kind !== "equation") continue;
      if (!this.checkPlainName(s.target)) continue;
      const name = s.target.identifier;
      const declared = this.declarations.get(name);
      if (declared) {
        this.report(D.equationForDeclared(s.target.span, name, declared.role));
        continue;
      }
      if (!this.claim(name, s.target.span)) continue;
      this.equations.set(name, s);
      if (s.isLoss) {
        if (loss)
          this.report(D.multipleLosses(s.target.span, loss.target.identifier));
        else loss = s;
      }
    }
    for (const d of this.declarations.values())
      this.lowerName(d.name.identifier, d.name.span);
    for (const e of this.equations.values())
      this.lowerName(e.target.identifier, e.target.span);

    if (!loss) {
      const last = statements[statements.length - 1];
      this.report(D.missingLoss(last?.span ?? SCALAR_SPAN_FALLBACK));
    }
    const lossNode = loss ? this.nodeOf.get(loss.target.identifier) : undefined;
    if (
      loss &&
      lossNode !== undefined &&
      lossNode !== null &&
      this.b.shape(lossNode).length !== 0
    ) {
      this.report(
        D.lossNotScalar(loss.value.span, formatShape(this.b.shape(lossNode))),
      );
    }
    const example = lowerExample(
      statements,
      this.declarations,
      this.dims,
      this.diagnostics,
      this.paramInits(),
    );
    let train: TrainSettings | undefined;
    for (const s of statements)
      if (s.kind === "train") train = lowerTrain(s, this.diagnostics) ?? train;
    if (
      this.diagnostics.length > 0 ||
      lossNode === undefined ||
      lossNode === null
    )
      return undefined;
    return {
      modelName,
      nodes: this.b.nodes,
      named: this.named,
      loss: lossNode,
      dims: this.dims,
      example,
      ...(train ? { train } : {}),
    };
  }

  private claim(name: string, span: Span): boolean {
    const previous = this.firstLine.get(name);
    if (previous !== undefined) {
      this.report(D.duplicateDefinition(span, name, previous));
      return false;
    }
    this.firstLine.set(name, span.line);
    return true;
  }

  private declareDim(s: Extract<Statement, { kind: "dim" }>): void {
    if (!this.claim(s.name, s.span)) return;
    if (s.value !== undefined && (!Number.isInteger(s.value) || s.value < 1)) {
      this.report(
        D.invalidDim(
          s.span,
          `dim '${s.name}' must be a positive integer, got ${s.value}`,
        ),
      );
      return;
    }
    this.dims.set(s.name, s.value);
  }

  private declareIndex(s: Extract<Statement, { kind: "index" }>): void {
    if (!this.claim(s.name, s.span)) return;
    this.indices.add(s.name);
    if (s.upper.kind === "named") this.indexDims.add(s.upper.name);
  }

  /** Subscripted names belong to recurrences, which this release parses but does not compile yet. */
  private checkPlainName(name: SubscriptedName): boolean {
    const resolved = resolveName(name, this.indices, this.indexDims);
    if (resolved.kind === "plain") return true;
    this.report(
      D.notSupportedYet(
        name.span,
        `the subscripted name '${name.identifier}${name.subscript ? "_<…>" : ""}' (recurrences and indexed values)`,
      ),
    );
    return false;
  }

  private declare(s: Declaration): void {
    if (!this.checkPlainName(s.name)) return;
    if (!this.claim(s.name.identifier, s.name.span)) return;
    if (s.latex) {
      const problem = checkLatexName(s.latex.text);
      if (problem) this.report(D.unsafeLatex(s.latex.span, problem));
    }
    if (s.role === "const" && !s.init)
      this.report(D.missingValue(s.span, s.name.identifier));
    this.declarations.set(s.name.identifier, s);
  }

  private resolveShape(refs: readonly DimRef[]): Dim[] | undefined {
    const out: Dim[] = [];
    let ok = true;
    for (const r of refs) {
      if (r.kind === "literal") {
        if (!Number.isInteger(r.value) || r.value < 1) {
          this.report(
            D.invalidDim(
              r.span,
              `a dimension must be a positive integer, got ${r.value}`,
            ),
          );
          ok = false;
        }
        out.push(r.value);
      } else if (!this.dims.has(r.name)) {
        this.report(D.unknownDim(r.span, r.name));
        ok = false;
      } else {
        out.push(this.dims.get(r.name) ?? r.name);
      }
    }
    return ok ? out : undefined;
  }

  /** Initial values written in param declarations: the starting point of worked examples. */
  private paramInits(): Map<string, Tensor> {
    const inits = new Map<string, Tensor>();
    for (const [name, value] of this.constantInit) {
      const id = this.nodeOf.get(name);
      if (
        this.declarations.get(name)?.role !== "param" ||
        id === undefined ||
        id === null
      )
        continue;
      inits.set(name, { shape: this.b.shape(id) as number[], data: value });
    }
    return inits;
  }

  private readonly constantInit = new Map<string, Float64Array>();

  /** Lowers a declaration or equation on first use, so equations may appear in any order. */
  private lowerName(name: string, useSpan: Span): NodeId | null | undefined {
    if (this.nodeOf.has(name)) return this.nodeOf.get(name)!;
    const declaration = this.declarations.get(name);
    const equation = this.equations.get(name);
    if (!declaration && !equation) return undefined;
    if (this.lowering.has(name)) {
      this.report(D.cycle(useSpan, [...this.lowering, name]));
      this.nodeOf.set(name, null);
      return null;
    }
    this.lowering.add(name);
    const id = declaration
      ? this.lowerDeclaration(declaration)
      : this.lowerEquation(equation!);
    this.lowering.delete(name);
    this.nodeOf.set(name, id);
    return id;
  }

  private lowerDeclaration(d: Declaration): NodeId | null {
    const name = d.name.identifier;
    const declaredShape = d.shape ? this.resolveShape(d.shape) : [];
    if (!declaredShape) return null;
    const displayShape = (d.shape ?? []).map((r) =>
      r.kind === "literal" ? r.value : r.name,
    );
    let init: NodeId | null | undefined;
    if (d.init) {
      init = this.lowerExpr(d.init);
      if (init === null) return null;
      const n = this.b.node(init);
      if (n.kind !== "const") {
        this.report(D.exampleNotConstant(d.init.span));
        return null;
      }
    }
    let shape: Shape = declaredShape;
    let initValue: Float64Array | undefined;
    if (init !== undefined && init !== null) {
      const n = this.b.node(init) as Extract<
        ReturnType<GraphBuilder["node"]>,
        { kind: "const" }
      >;
      if (!d.shape) shape = n.shape;
      initValue = expandConstant(n.value, n.shape, shape);
      if (!initValue) {
        this.report(
          D.declaredShapeMismatch(
            d.init!.span,
            name,
            formatShape(shape),
            formatShape(n.shape),
          ),
        );
        return null;
      }
      this.constantInit.set(name, initValue);
    }
    let id: NodeId;
    if (d.role === "param") id = this.b.param(name, shape, d.name.span);
    else if (d.role === "const") {
      if (!initValue) return null;
      id = this.b.constant(initValue, shape, d.name.span);
    } else id = this.b.input(name, d.role, shape, d.name.span);
    this.named.push({
      name,
      node: id,
      kind: d.role,
      declaredShape: d.shape ? displayShape : [...shape],
      ...(d.latex ? { latex: d.latex.text } : {}),
      span: d.name.span,
    });
    return id;
  }

  private lowerEquation(e: Equation): NodeId | null {
    this.b.currentSpan = e.value.span;
    const id = this.lowerExpr(e.value);
    if (id === null) return null;
    this.named.push({
      name: e.target.identifier,
      node: id,
      kind: e.isLoss ? "loss" : "equation",
      declaredShape: [...this.b.shape(id)],
      span: e.target.span,
    });
    return id;
  }

  /** null: an error was reported for this expression (or something it uses), so say no more. */
  private lowerExpr(e: Expr): NodeId | null {
    switch (e.kind) {
      case "number":
        return this.b.scalar(e.value);
      case "tensor":
        return this.lowerTensor(e);
      case "name":
        return this.lowerReference(e.name);
      case "negate": {
        const x = this.lowerExpr(e.operand);
        return x === null ? null : this.apply("neg", [x], {}, e.span);
      }
      case "transpose": {
        const x = this.lowerExpr(e.operand);
        return x === null ? null : this.apply("transpose", [x], {}, e.span);
      }
      case "binary": {
        const l = this.lowerExpr(e.left);
        const r = this.lowerExpr(e.right);
        if (l === null || r === null) return null;
        const scalarSide =
          this.b.shape(l).length === 0 || this.b.shape(r).length === 0;
        const op = {
          "+": "add",
          "-": "sub",
          ".*": "mul",
          "/": "div",
          "^": "pow",
          "*": scalarSide ? "mul" : "matmul",
        }[e.operator];
        return this.apply(op, [l, r], {}, e.span, e.operator);
      }
      case "call":
        return this.lowerCall(e);
    }
  }

  private lowerReference(name: SubscriptedName): NodeId | null {
    if (!this.checkPlainName(name)) return null;
    const id = this.lowerName(name.identifier, name.span);
    if (id !== undefined) return id;
    if (this.dims.has(name.identifier)) {
      const value = this.dims.get(name.identifier);
      return this.b.op(
        "dim_size",
        [],
        value === undefined
          ? { dim: name.identifier }
          : { dim: name.identifier, value },
        name.span,
      );
    }
    const known = [...this.declarations.keys(), ...this.equations.keys()];
    this.report(
      D.unknownName(
        name.span,
        name.identifier,
        closestName(name.identifier, known),
      ),
    );
    return null;
  }

  private lowerTensor(e: Extract<Expr, { kind: "tensor" }>): NodeId | null {
    const literal = constantLiteral(e);
    if (literal === "ragged") {
      this.report(D.raggedLiteral(e.span));
      return null;
    }
    if (literal === undefined) {
      this.report(D.exampleNotConstant(e.span));
      return null;
    }
    return this.b.constant(
      Float64Array.from(literal.values),
      literal.shape,
      e.span,
    );
  }

  private lowerCall(e: Extract<Expr, { kind: "call" }>): NodeId | null {
    const callee = e.callee;
    const name = callee.identifier;
    if (notYetSupportedFunctions.has(name)) {
      this.report(
        D.notSupportedYet(callee.span, `the image operation '${name}'`),
      );
      return null;
    }
    const resolved = resolveName(callee, this.indices, this.indexDims);
    if (
      resolved.kind === "subscripted" &&
      (resolved.base === "sum" || resolved.base === "mean")
    ) {
      this.report(
        D.notSupportedYet(callee.span, `the reduction over an index '${name}'`),
      );
      return null;
    }
    const def = surfaceFunction(name);
    if (!def) {
      this.report(
        D.unknownFunction(callee.span, name, closestName(name, surfaceNames())),
      );
      return null;
    }
    const params = def.surface!.params;
    const bound = this.bindArguments(name, params, e.args, e.span);
    if (!bound) return null;
    const operands: NodeId[] = [];
    const attrs: Record<string, number> = {};
    let failed = false;
    params.forEach((p, i) => {
      const arg = bound[i];
      if (p.attr) {
        if (!arg) {
          attrs[p.name] = p.default!;
          return;
        }
        const v = this.lowerExpr(arg.value);
        const c = v === null ? undefined : this.b.constValue(v);
        if (v !== null && (c === undefined || this.b.shape(v).length !== 0)) {
          this.report(
            D.badArguments(
              arg.span,
              `'${p.name}' of ${name} must be a constant number`,
            ),
          );
        }
        if (c === undefined) failed = true;
        else attrs[p.name] = c;
        return;
      }
      const v = this.lowerExpr(arg!.value);
      if (v === null) failed = true;
      else operands.push(v);
    });
    if (failed) return null;
    return this.apply(name, operands, attrs, e.span);
  }

  private bindArguments(
    fn: string,
    params: readonly { name: string; attr?: boolean; default?: number }[],
    args: readonly Argument[],
    span: Span,
  ): (Argument | undefined)[] | undefined {
    const bound: (Argument | undefined)[] = params.map(() => undefined);
    let ok = true;
    args.forEach((a, i) => {
      const slot =
        a.name === undefined ? i : params.findIndex((p) => p.name === a.name);
      if (slot < 0 || slot >= params.length) {
        this.report(
          D.badArguments(
            a.span,
            a.name === undefined
              ? `${fn} takes at most ${params.length} argument${params.length === 1 ? "" : "s"}`
              : `${fn} has no argument named '${a.name}' (it takes ${params.map((p) => p.name).join(", ")})`,
          ),
        );
        ok = false;
      } else if (bound[slot]) {
        this.report(
          D.badArguments(
            a.span,
            `argument '${params[slot]!.name}' of ${fn} is given twice`,
          ),
        );
        ok = false;
      } else bound[slot] = a;
    });
    const missing = params.filter((p, i) => !bound[i] && !p.attr);
    if (ok && missing.length > 0) {
      this.report(
        D.badArguments(
          span,
          `${fn} needs ${missing.map((p) => `'${p.name}'`).join(" and ")}`,
        ),
      );
      ok = false;
    }
    return ok ? bound : undefined;
  }

  private apply(
    op: string,
    args: NodeId[],
    attrs: Record<string, number>,
    span: Span,
    operator = op,
  ): NodeId | null {
    this.b.currentSpan = span;
    try {
      return this.b.op(op, args, attrs, span);
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      const shapes = args.map((a) => formatShape(this.b.shape(a)));
      if (op === "matmul")
        this.report(D.matmulMismatch(span, shapes[0]!, shapes[1]!));
      else if (["add", "sub", "mul", "div", "pow"].includes(op))
        this.report(D.shapeMismatch(span, operator, shapes[0]!, shapes[1]!));
      else this.report(D.rankError(span, `${op}: ${error.detail}`));
      return null;
    }
  }
}

/** A tensor literal's shape and row-major values, "ragged" when rows differ, undefined when not constant. */
export function constantLiteral(
  e: Expr,
): { shape: number[]; values: number[] } | "ragged" | undefined {
  if (e.kind === "number") return { shape: [], values: [e.value] };
  if (e.kind === "negate") {
    const inner = constantLiteral(e.operand);
    return inner && inner !== "ragged"
      ? { shape: inner.shape, values: inner.values.map((v) => -v) }
      : inner;
  }
  if (e.kind !== "tensor") return undefined;
  const parts = e.elements.map(constantLiteral);
  if (parts.some((p) => p === undefined)) return undefined;
  if (parts.some((p) => p === "ragged")) return "ragged";
  const ok = parts as { shape: number[]; values: number[] }[];
  const first = ok[0];
  if (first && ok.some((p) => p.shape.join(",") !== first.shape.join(",")))
    return "ragged";
  return {
    shape: [ok.length, ...(first?.shape ?? [])],
    values: ok.flatMap((p) => p.values),
  };
}

/** A constant broadcast to `shape` (a scalar fills it); undefined when the shapes do not fit. */
export function expandConstant(
  value: Float64Array,
  from: Shape,
  to: Shape,
): Float64Array | undefined {
  if (from.join(",") === to.join(",")) return value;
  if (from.length === 0 && to.every((d) => typeof d === "number")) {
    return new Float64Array((to as number[]).reduce((a, b) => a * b, 1)).fill(
      value[0]!,
    );
  }
  return undefined;
}
