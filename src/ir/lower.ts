import type { DimRef, Expr, Program, Statement, SubscriptedName } from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import { closestName } from "../syntax/names.js";
import { GraphBuilder } from "./builder.js";
import {
  formatShape,
  type Dim,
  type Graph,
  type NamedValue,
  type NodeId,
  type Shape,
  type TrainSettings,
} from "./types.js";
import { checkLatexName } from "../latex/names.js";
import { lowerExample, lowerTrain, type DeclaredValue } from "./values.js";
import type { Tensor } from "./tensor.js";
import { apply, lowerExpr, type ExprHost } from "./expr.js";
import { expandConstant } from "./literals.js";
import { analyzeName, indexReduction, type IndexInfo, type StepRef } from "./steps.js";
import { ScanLowering, type BuiltScan } from "./scan.js";

type Declaration = Extract<Statement, { kind: "declaration" }>;
export type Equation = Extract<Statement, { kind: "equation" }>;
export type CallExpr = Extract<Expr, { kind: "call" }>;

const SCALAR_SPAN_FALLBACK: Span = { start: 0, end: 1, line: 1, column: 1 };

/** A declaration over an index: `input x_t: [D]` is stored [T, D], `param W_l: [H, H]` is [L, H, H]. */
interface SequenceDeclaration {
  readonly declaration: Declaration;
  readonly index: string;
}

/**
 * AST → IR: names and subscripts resolved, equations sorted by dependency (each is lowered
 * on first use), shapes inferred and checked. Equations over an index become one scan per
 * index (see scan.ts); this class resolves the names around them.
 */
export class Lowering implements ExprHost {
  readonly outer = new GraphBuilder();
  builder: GraphBuilder = this.outer;
  readonly dims = new Map<string, number | undefined>();
  readonly indices = new Map<string, IndexInfo>();
  private readonly declarations = new Map<string, Declaration>();
  readonly sequences = new Map<string, SequenceDeclaration>();
  private readonly initDeclarations = new Map<string, Map<number, string>>();
  private readonly equations = new Map<string, Equation>();
  readonly stepEquations = new Map<string, Map<string, Equation>>();
  private readonly initEquations = new Map<string, Map<number, Equation>>();
  readonly reductions = new Map<string, CallExpr[]>();
  private readonly nodeOf = new Map<string, NodeId | null>();
  readonly named: NamedValue[] = [];
  private readonly lowering: string[] = [];
  private readonly firstLine = new Map<string, number>();
  private readonly constantInit = new Map<string, Float64Array>();
  private readonly scans: ScanLowering;
  /** While probing shapes, diagnostics go here instead of to the user. */
  muted: Diagnostic[] | undefined;

  constructor(
    private readonly program: Program,
    private readonly diagnostics: Diagnostic[],
  ) {
    this.scans = new ScanLowering(this);
  }

  report(d: Diagnostic): void {
    (this.muted ?? this.diagnostics).push(d);
  }

  run(): Graph | undefined {
    const statements = this.program.statements;
    let modelName = "Model";
    for (const s of statements) {
      if (s.kind === "model") modelName = s.name;
      if (s.kind === "dim") this.declareDim(s);
    }
    for (const s of statements) if (s.kind === "index") this.declareIndex(s);
    for (const s of statements) if (s.kind === "declaration") this.declare(s);
    let loss: Equation | undefined;
    for (const s of statements) {
      if (s.kind !== "equation") continue;
      if (this.defineEquation(s) && s.isLoss) {
        if (loss) this.report(D.multipleLosses(s.target.span, loss.target.identifier));
        else loss = s;
      }
    }
    this.collectReductions();
    for (const key of this.declarations.keys()) this.lowerName(key, this.declarations.get(key)!.name.span);
    for (const e of this.equations.values()) this.lowerName(e.target.identifier, e.target.span);
    for (const [index, equations] of this.stepEquations) {
      const first = [...equations.values()][0]!;
      this.scans.scanFor(index, first.target.span);
    }

    if (!loss) {
      const last = statements[statements.length - 1];
      this.report(D.missingLoss(last?.span ?? SCALAR_SPAN_FALLBACK));
    }
    const lossNode = loss ? this.nodeOf.get(loss.target.identifier) : undefined;
    if (loss && lossNode !== undefined && lossNode !== null && this.outer.shape(lossNode).length !== 0) {
      this.report(D.lossNotScalar(loss.value.span, formatShape(this.outer.shape(lossNode))));
    }
    const example = lowerExample(statements, this.declaredValues(), this.diagnostics, this.paramInits());
    let train: TrainSettings | undefined;
    for (const s of statements) if (s.kind === "train") train = lowerTrain(s, this.diagnostics) ?? train;
    if (this.diagnostics.length > 0 || lossNode === undefined || lossNode === null) return undefined;
    return {
      modelName,
      nodes: this.outer.nodes,
      named: this.named,
      loss: lossNode,
      dims: this.dims,
      example,
      ...(train ? { train } : {}),
    };
  }

  claim(name: string, span: Span): boolean {
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
      this.report(D.invalidDim(s.span, `dim '${s.name}' must be a positive integer, got ${s.value}`));
      return;
    }
    this.dims.set(s.name, s.value);
  }

  private declareIndex(s: Extract<Statement, { kind: "index" }>): void {
    if (!this.claim(s.name, s.span)) return;
    if (s.lower !== 1) {
      this.report(
        D.badIndex(
          s.span,
          `an index runs from 1 (its steps are 1, 2, …), so write 'index ${s.name} in 1..${s.upper.kind === "named" ? s.upper.name : s.upper.value}'`,
        ),
      );
      return;
    }
    if (s.upper.kind === "literal") {
      if (!Number.isInteger(s.upper.value) || s.upper.value < 1) {
        this.report(
          D.badIndex(s.upper.span, `the last step must be a positive integer, got ${s.upper.value}`),
        );
        return;
      }
      this.indices.set(s.name, { name: s.name, length: s.upper.value });
      return;
    }
    if (!this.dims.has(s.upper.name)) {
      this.report(D.unknownDim(s.upper.span, s.upper.name));
      return;
    }
    this.indices.set(s.name, {
      name: s.name,
      length: this.dims.get(s.upper.name) ?? s.upper.name,
      upperDim: s.upper.name,
    });
  }

  private declare(s: Declaration): void {
    const a = analyzeName(s.name, this.indices);
    if (a.kind === "error") {
      this.report(D.badSubscript(s.name.span, a.message));
      return;
    }
    let key = s.name.identifier;
    if (a.kind === "step") {
      if (a.ref.kind === "current" && a.index) {
        key = a.base;
        this.sequences.set(a.base, { declaration: s, index: a.index });
      } else if (a.ref.kind === "literal" && a.ref.n <= 0) {
        const positions = this.initDeclarations.get(a.base) ?? new Map<number, string>();
        positions.set(a.ref.n, key);
        this.initDeclarations.set(a.base, positions);
      } else {
        this.report(
          D.badStepDefinition(
            s.name.span,
            `declare a sequence as '${a.base}_t' (one value per step of an index) or an initial value as '${a.base}_0'`,
          ),
        );
        return;
      }
    }
    if (!this.claim(key, s.name.span)) return;
    if (s.latex) {
      const problem = checkLatexName(s.latex.text);
      if (problem) this.report(D.unsafeLatex(s.latex.span, problem));
    }
    if (s.role === "const" && !s.init) this.report(D.missingValue(s.span, s.name.identifier));
    this.declarations.set(key, s);
  }

  /** Sorts an equation into outer, per-step (h_t = …) or initial (h_0 = …); false when it was rejected. */
  private defineEquation(s: Equation): boolean {
    const a = analyzeName(s.target, this.indices);
    if (a.kind === "error") {
      this.report(D.badSubscript(s.target.span, a.message));
      return false;
    }
    if (a.kind === "plain") {
      const declared = this.declarations.get(a.name) ?? this.sequences.get(a.name)?.declaration;
      if (declared) {
        this.report(D.equationForDeclared(s.target.span, a.name, declared.role));
        return false;
      }
      if (!this.claim(a.name, s.target.span)) return false;
      this.equations.set(a.name, s);
      return true;
    }
    if (s.isLoss) {
      this.report(
        D.badStepDefinition(s.target.span, "the loss is one scalar: sum the steps, e.g. 'loss L = sum_t(…)'"),
      );
      return false;
    }
    if (a.ref.kind === "current" && a.index) {
      if (this.sequences.has(a.base)) {
        this.report(
          D.equationForDeclared(s.target.span, a.base, this.sequences.get(a.base)!.declaration.role),
        );
        return false;
      }
      if (!this.claim(a.base, s.target.span)) return false;
      const equations = this.stepEquations.get(a.index) ?? new Map<string, Equation>();
      equations.set(a.base, s);
      this.stepEquations.set(a.index, equations);
      return true;
    }
    if (a.ref.kind === "literal" && a.ref.n <= 0) {
      if (!this.claim(`${a.base}_<${a.ref.n}>`, s.target.span)) return false;
      const positions = this.initEquations.get(a.base) ?? new Map<number, Equation>();
      positions.set(a.ref.n, s);
      this.initEquations.set(a.base, positions);
      return true;
    }
    this.report(
      D.badStepDefinition(
        s.target.span,
        `the steps of '${a.base}' are defined together by '${a.base}_t = …', and its initial value by '${a.base}_0 = …'`,
      ),
    );
    return false;
  }

  /** `sum_t(...)` and `mean_t(...)` in outer equations: each becomes a per-step output of t's scan. */
  private collectReductions(): void {
    const visit = (e: Expr): void => {
      if (e.kind === "call" && indexReduction(e.callee, this.indices)) {
        const { index } = indexReduction(e.callee, this.indices)!;
        this.reductions.set(index, [...(this.reductions.get(index) ?? []), e]);
        return;
      }
      if (e.kind === "call") e.args.forEach((a) => visit(a.value));
      else if (e.kind === "binary") [e.left, e.right].forEach(visit);
      else if (e.kind === "negate" || e.kind === "transpose") visit(e.operand);
      else if (e.kind === "tensor") e.elements.forEach(visit);
    };
    for (const e of this.equations.values()) visit(e.value);
    for (const positions of this.initEquations.values()) for (const e of positions.values()) visit(e.value);
  }

  resolveShape(refs: readonly DimRef[]): Dim[] | undefined {
    const out: Dim[] = [];
    let ok = true;
    for (const r of refs) {
      if (r.kind === "literal") {
        if (!Number.isInteger(r.value) || r.value < 1) {
          this.report(D.invalidDim(r.span, `a dimension must be a positive integer, got ${r.value}`));
          ok = false;
        }
        out.push(r.value);
      } else if (!this.dims.has(r.name)) {
        this.report(D.unknownDim(r.span, r.name));
        ok = false;
      } else out.push(this.dims.get(r.name) ?? r.name);
    }
    return ok ? out : undefined;
  }

  /** The declared values the `example` block may give, with their full shapes (index axis first). */
  private declaredValues(): DeclaredValue[] {
    const out: DeclaredValue[] = [];
    for (const [key, d] of this.declarations) {
      const sequence = this.sequences.get(key);
      const perStep = (d.shape ?? []).map((r) =>
        r.kind === "literal" ? r.value : (this.dims.get(r.name) ?? r.name),
      );
      const index = sequence ? this.indices.get(sequence.index) : undefined;
      out.push({
        name: key,
        role: d.role,
        shape: index ? [index.length, ...perStep] : perStep,
        sequence: index !== undefined,
      });
    }
    return out;
  }

  /** Initial values written in param declarations: the starting point of worked examples. */
  private paramInits(): Map<string, Tensor> {
    const inits = new Map<string, Tensor>();
    for (const [name, value] of this.constantInit) {
      const id = this.nodeOf.get(name);
      if (this.declarations.get(name)?.role !== "param" || id === undefined || id === null) continue;
      inits.set(name, { shape: this.outer.shape(id) as number[], data: value });
    }
    return inits;
  }

  /** Lowers an outer declaration or equation on first use, so equations may appear in any order. */
  lowerName(name: string, useSpan: Span): NodeId | null | undefined {
    if (this.nodeOf.has(name)) return this.nodeOf.get(name)!;
    const declaration = this.declarations.get(name);
    const equation = this.equations.get(name);
    if (!declaration && !equation) return undefined;
    if (this.lowering.includes(name)) {
      this.report(D.cycle(useSpan, [...this.lowering.slice(this.lowering.indexOf(name)), name]));
      this.nodeOf.set(name, null);
      return null;
    }
    this.lowering.push(name);
    const saved = this.builder;
    this.builder = this.outer;
    const id = declaration ? this.lowerDeclaration(name, declaration) : this.lowerEquation(equation!);
    this.builder = saved;
    this.lowering.pop();
    this.nodeOf.set(name, id);
    return id;
  }

  /** Names being lowered, for cycle reports that pass through a scan. */
  get loweringStack(): readonly string[] {
    return this.lowering;
  }

  private lowerDeclaration(key: string, d: Declaration): NodeId | null {
    const perStep = d.shape ? this.resolveShape(d.shape) : [];
    if (!perStep) return null;
    const sequence = this.sequences.get(key);
    const index = sequence ? this.indices.get(sequence.index) : undefined;
    if (sequence && !index) return null;
    let shape: Shape = index ? [index.length, ...perStep] : perStep;
    const perStepDisplay = (d.shape ?? []).map((r) => (r.kind === "literal" ? r.value : r.name));
    let initValue: Float64Array | undefined;
    if (d.init) {
      const init = lowerExpr(this, d.init);
      if (init === null) return null;
      const n = this.outer.node(init);
      if (n.kind !== "const") {
        this.report(D.exampleNotConstant(d.init.span));
        return null;
      }
      if (!d.shape && !index) shape = n.shape;
      initValue = expandConstant(n.value, n.shape, shape);
      if (!initValue) {
        this.report(D.declaredShapeMismatch(d.init.span, key, formatShape(shape), formatShape(n.shape)));
        return null;
      }
      this.constantInit.set(key, initValue);
    }
    let id: NodeId;
    if (d.role === "param") id = this.outer.param(key, shape, d.name.span);
    else if (d.role === "const") {
      if (!initValue) return null;
      id = this.outer.constant(initValue, shape, d.name.span);
    } else id = this.outer.input(key, d.role, shape, d.name.span);
    const indexDisplay = index ? [index.upperDim ?? index.length] : [];
    this.named.push({
      name: key,
      node: id,
      kind: d.role,
      declaredShape: d.shape || index ? [...indexDisplay, ...perStepDisplay] : [...shape],
      ...(d.latex ? { latex: d.latex.text } : {}),
      ...(sequence ? { index: sequence.index } : {}),
      span: d.name.span,
    });
    return id;
  }

  private lowerEquation(e: Equation): NodeId | null {
    this.outer.currentSpan = e.value.span;
    const id = lowerExpr(this, e.value);
    if (id === null) return null;
    this.named.push({
      name: e.target.identifier,
      node: id,
      kind: e.isLoss ? "loss" : "equation",
      declaredShape: [...this.outer.shape(id)],
      span: e.target.span,
    });
    return id;
  }

  /** The initial value of a recurrence at step `position` (0, -1, …), lowered as an outer value. */
  initValue(base: string, position: number, useSpan: Span): NodeId | null | undefined {
    const declared = this.initDeclarations.get(base)?.get(position);
    if (declared !== undefined) return this.lowerName(declared, useSpan);
    const equation = this.initEquations.get(base)?.get(position);
    if (!equation) return undefined;
    const key = `${base}_<${position}>`;
    if (this.nodeOf.has(key)) return this.nodeOf.get(key)!;
    const saved = this.builder;
    this.builder = this.outer;
    this.lowering.push(key);
    const id = lowerExpr(this, equation.value);
    this.lowering.pop();
    this.builder = saved;
    this.nodeOf.set(key, id);
    return id;
  }

  hasInit(base: string, position: number): boolean {
    return (
      this.initDeclarations.get(base)?.get(position) !== undefined ||
      this.initEquations.get(base)?.get(position) !== undefined
    );
  }

  isOuterName(name: string): boolean {
    return this.declarations.has(name) || this.equations.has(name);
  }

  /** The owner of a subscripted base name: a recurrence's equation or a sequence declaration, and its index. */
  private ownerOf(base: string): { index: string; kind: "equation" | "sequence" } | undefined {
    const sequence = this.sequences.get(base);
    if (sequence) return { index: sequence.index, kind: "sequence" };
    for (const [index, equations] of this.stepEquations)
      if (equations.has(base)) return { index, kind: "equation" };
    if (this.initEquations.has(base) || this.initDeclarations.has(base)) return undefined;
    return undefined;
  }

  reference(name: SubscriptedName): NodeId | null {
    const body = this.scans.currentBody;
    if (body) return body.reference(name);
    const a = analyzeName(name, this.indices);
    if (a.kind === "error") {
      this.report(D.badSubscript(name.span, a.message));
      return null;
    }
    if (a.kind === "plain") return this.plainReference(name);
    if (a.ref.kind === "literal" && a.ref.n <= 0) {
      const init = this.initValue(a.base, a.ref.n, name.span);
      if (init !== undefined) return init;
    }
    const owner = this.ownerOf(a.base);
    if (!owner) return this.unknown(name, a.base);
    if (a.index && a.index !== owner.index) {
      this.report(
        D.stepContext(
          name.span,
          `'${a.base}' has one value per step of '${owner.index}', not of '${a.index}'`,
        ),
      );
      return null;
    }
    return this.stepReference(name, a.base, owner, a.ref);
  }

  /** `h_T`, `h_3`, `x_1` outside a recurrence: one step of the stacked sequence. */
  private stepReference(
    name: SubscriptedName,
    base: string,
    owner: { index: string; kind: "equation" | "sequence" },
    ref: StepRef,
  ): NodeId | null {
    const index = this.indices.get(owner.index)!;
    if (ref.kind === "current" || ref.kind === "lag" || ref.kind === "lead") {
      this.report(
        D.stepContext(
          name.span,
          `'${name.identifier}${name.subscript ? "_<…>" : ""}' names a step of '${owner.index}' outside the recurrence over it; use a sum such as sum_${owner.index}(…) or a step such as ${base}_${index.upperDim ?? index.length}`,
        ),
      );
      return null;
    }
    const at =
      ref.kind === "literal"
        ? { from: "start", k: ref.n - 1, step: String(ref.n) }
        : {
            from: "end",
            k: ref.k,
            step:
              ref.k === 0
                ? (index.upperDim ?? String(index.length))
                : `${index.upperDim ?? index.length}-${ref.k}`,
          };
    const length = index.length;
    const outOfRange =
      ref.kind === "literal"
        ? ref.n < 1 || (typeof length === "number" && ref.n > length)
        : typeof length === "number" && ref.k >= length;
    if (outOfRange) {
      this.report(
        D.stepOutOfRange(
          name.span,
          `step ${at.step} of '${base}' is outside 1..${index.upperDim ?? length}${typeof length === "number" && index.upperDim ? ` (${index.upperDim} = ${length})` : ""}`,
        ),
      );
      return null;
    }
    let sequence: NodeId | null | undefined;
    if (owner.kind === "sequence") sequence = this.lowerName(base, name.span);
    else sequence = this.scans.stacked(owner.index, base, name.span);
    if (sequence === null || sequence === undefined) return null;
    return apply(this, "take", [sequence], at, name.span);
  }

  private plainReference(name: SubscriptedName): NodeId | null {
    const id = this.lowerName(name.identifier, name.span);
    if (id !== undefined) return id;
    if (this.sequences.has(name.identifier) || this.ownerOf(name.identifier)) {
      const owner = this.ownerOf(name.identifier)!;
      this.report(
        D.stepContext(
          name.span,
          `'${name.identifier}' has one value per step of '${owner.index}': name a step, such as ${name.identifier}_${owner.index} inside its recurrence`,
        ),
      );
      return null;
    }
    if (this.dims.has(name.identifier)) return this.dimValue(name.identifier, name.span);
    return this.unknown(name, name.identifier);
  }

  dimValue(dim: string, span: Span): NodeId {
    const value = this.dims.get(dim);
    return this.builder.op("dim_size", [], value === undefined ? { dim } : { dim, value }, span);
  }

  unknown(name: SubscriptedName, base: string): null {
    const known = [
      ...this.declarations.keys(),
      ...this.equations.keys(),
      ...this.sequences.keys(),
      ...[...this.stepEquations.values()].flatMap((m) => [...m.keys()]),
    ];
    this.report(D.unknownName(name.span, base, closestName(base, known)));
    return null;
  }

  reduction(call: CallExpr): NodeId | null | undefined {
    const r = indexReduction(call.callee, this.indices);
    if (!r) return undefined;
    const body = this.scans.currentBody;
    if (body) {
      this.report(
        D.stepContext(
          call.callee.span,
          `${call.callee.identifier}(…) inside a recurrence: sums over an index are taken outside it`,
        ),
      );
      return null;
    }
    if (call.args.length !== 1 || call.args[0]!.name !== undefined) {
      this.report(
        D.badArguments(
          call.span,
          `${call.callee.identifier} takes one expression to sum over the steps of '${r.index}'`,
        ),
      );
      return null;
    }
    const perStep = this.scans.reductionOutput(r.index, call);
    if (perStep === null) return null;
    const sum = apply(this, "sum_steps", [perStep], { index: r.index }, call.span);
    if (sum === null || r.op === "sum") return sum;
    const info = this.indices.get(r.index)!;
    const count = info.upperDim
      ? this.dimValue(info.upperDim, call.span)
      : this.outer.scalar(Number(info.length));
    return apply(this, "div", [sum, count], {}, call.span);
  }
}

export type { BuiltScan };
