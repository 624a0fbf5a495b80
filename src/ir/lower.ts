import type { Program, SubscriptedName } from "../syntax/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import { closestName } from "../syntax/names.js";
import { GraphBuilder } from "./builder.js";
import {
  formatShape,
  type Graph,
  type Dim,
  type NamedValue,
  type NodeId,
  type Shape,
  type GradientInModel,
  type InnerGradient,
  type TrainSettings,
} from "./types.js";
import { lowerExample, lowerTrain } from "./values.js";
import { lowerLecture } from "./lecture.js";
import type { Tensor } from "./tensor.js";
import { apply, lowerExpr, type ExprHost } from "./expr.js";
import { expandConstant } from "./literals.js";
import { sameShape } from "./shapes.js";
import { getOp } from "./registry.js";
import { checkIndexData } from "./indices.js";
import { lowerGradient } from "./gradient.js";
import { analyzeName, indexReduction, type StepRef } from "./steps.js";
import { ScanLowering, type BuiltScan } from "./scan.js";

/** Entries a value written in the model (`param W: [H, D] = 0`) may fill: it is built at compile time. */
export const MAX_FILLED = 2 ** 22;
import { ModelSymbols, type CallExpr, type Declaration, type Equation } from "./symbols.js";

export type { CallExpr, Equation };

const SCALAR_SPAN_FALLBACK: Span = { start: 0, end: 1, line: 1, column: 1 };

/**
 * AST → IR: names and subscripts resolved, equations sorted by dependency (each is lowered
 * on first use), shapes inferred and checked. Equations over an index become one scan per
 * index (see scan.ts); this class resolves the names around them.
 */
export class Lowering implements ExprHost {
  readonly outer = new GraphBuilder();
  builder: GraphBuilder = this.outer;
  private readonly nodeOf = new Map<string, NodeId | null>();
  readonly named: NamedValue[] = [];
  private readonly lowering: string[] = [];
  private readonly constantInit = new Map<string, Float64Array>();
  private readonly scans: ScanLowering;
  /** While probing shapes, diagnostics go here instead of to the user. */
  muted: Diagnostic[] | undefined;
  /** The values after the last step that a backward recurrence read: any other is a slip. */
  private readonly finalsUsed = new Set<object>();
  private readonly gradients: GradientInModel[] = [];
  /** The positions a const defined entry by entry names (its `i`, `j`), while its value is lowered. */
  private axisBindings: ReadonlyMap<string, NodeId> | undefined;

  constructor(
    private readonly program: Program,
    private readonly diagnostics: Diagnostic[],
    /** The source text, for quoting a lecture's formula as written. */
    readonly source = "",
    /** The differentiator, for gradients the model takes itself (`grad(f, x)`). */
    private readonly differentiate?: InnerGradient,
  ) {
    this.scans = new ScanLowering(this);
    this.symbols = new ModelSymbols(program.statements, (d) => this.report(d));
  }

  readonly symbols: ModelSymbols;

  report(d: Diagnostic): void {
    (this.muted ?? this.diagnostics).push(d);
  }

  run(): Graph | undefined {
    const statements = this.program.statements;
    const loss = this.symbols.loss;
    for (const key of this.symbols.declarations.keys())
      this.lowerName(key, this.symbols.declarations.get(key)!.name.span);
    for (const e of this.symbols.equations.values()) this.lowerName(e.target.identifier, e.target.span);
    for (const [index, equations] of this.symbols.stepEquations) {
      const first = [...equations.values()][0]!;
      this.scans.scanFor(index, first.target.span);
    }

    // Only a model that is otherwise fine says a value after the last step is unused: a
    // recurrence that failed to build read none.
    const built = this.diagnostics.length === 0;
    for (const [base, positions] of this.symbols.finalDefinitions)
      for (const definition of positions.values())
        if (built && !this.finalsUsed.has(definition)) {
          const span =
            definition.equation?.target.span ??
            this.symbols.declarations.get(definition.declared!)?.name.span;
          this.report(
            D.badStepDefinition(
              span ?? SCALAR_SPAN_FALLBACK,
              `the steps of '${base}' are defined together by '${base}_t = …', its initial value by '${base}_0 = …', and — for a recurrence that reads later steps ('${base}_<t+1>') — the value after the last step by '${base}_<T+1> = …'`,
            ),
          );
        }
    if (!loss) {
      const last = statements[statements.length - 1];
      this.report(D.missingLoss(last?.span ?? SCALAR_SPAN_FALLBACK));
    }
    const lossNode = loss ? this.nodeOf.get(loss.target.identifier) : undefined;
    if (loss && lossNode !== undefined && lossNode !== null && this.outer.shape(lossNode).length !== 0) {
      this.report(D.lossNotScalar(loss.value.span, formatShape(this.outer.shape(lossNode))));
    }
    const example = lowerExample(
      statements,
      this.symbols.declaredValues(),
      this.diagnostics,
      this.paramInits(),
    );
    if (this.diagnostics.length === 0)
      checkIndexData(this.outer.nodes, example, statements, (d) => this.report(d));
    let train: TrainSettings | undefined;
    const scalarConst = (name: string) => {
      const d = this.symbols.declarations.get(name);
      const v = this.constantInit.get(name);
      return d?.role === "const" && v?.length === 1 ? { value: v[0]!, name } : undefined;
    };
    for (const s of statements)
      if (s.kind === "train") train = lowerTrain(s, this.diagnostics, scalarConst) ?? train;
    const lectureStatement = statements.find((s) => s.kind === "lecture");
    const lecture =
      lectureStatement && this.diagnostics.length === 0
        ? lowerLecture(this, lectureStatement, loss?.target.identifier, (d) => this.report(d))
        : undefined;
    for (const s of statements.filter((s) => s.kind === "lecture").slice(1))
      this.report(D.badLecture(s.span, "a model has one lecture block"));
    if (this.diagnostics.length > 0 || lossNode === undefined || lossNode === null) return undefined;
    return {
      modelName: this.symbols.modelName,
      nodes: this.outer.nodes,
      named: this.named,
      loss: lossNode,
      dims: this.symbols.dims,
      example,
      ...(train ? { train } : {}),
      ...(lecture ? { lecture } : {}),
      ...(this.gradients.length > 0 ? { gradients: this.gradients } : {}),
    };
  }

  /** Whether a name (or one step of a sequence, h_3) is the model's. */
  knows(identifier: string): boolean {
    const a = analyzeName({ identifier, span: SCALAR_SPAN_FALLBACK }, this.symbols.indices);
    const base = a.kind === "error" ? identifier : a.kind === "plain" ? identifier : a.base;
    return (
      this.symbols.declarations.has(base) ||
      this.symbols.equations.has(base) ||
      this.symbols.ownerOf(base) !== undefined ||
      this.symbols.dims.has(base)
    );
  }

  isDim(identifier: string): boolean {
    return this.symbols.dims.has(identifier);
  }

  /** Names a lecture's formula may have confused with one another: values, params, steps of sequences. */
  candidateNames(): string[] {
    const out = [...this.symbols.declarations.keys(), ...this.symbols.equations.keys()];
    for (const [base, seq] of this.symbols.sequences) out.push(...this.stepNames(base, seq.index));
    for (const [index, equations] of this.symbols.stepEquations)
      for (const base of equations.keys()) out.push(...this.stepNames(base, index));
    return out;
  }

  private stepNames(base: string, index: string): string[] {
    const length = this.symbols.indices.get(index)?.length;
    return typeof length === "number" && length <= 12
      ? Array.from({ length }, (_, i) => `${base}_${i + 1}`)
      : [];
  }

  /** Dims and products of two dims: a factor 1/N the lecture may have taken as 1/(N K). */
  dimProducts(): string[] {
    const dims = [...this.symbols.dims.keys()];
    // Products of two different dims first: a square is the less likely slip.
    return [
      ...dims,
      ...dims.flatMap((a, i) => dims.slice(i + 1).map((b) => `${a}*${b}`)),
      ...dims.map((a) => `${a}*${a}`),
    ];
  }

  /** Initial values written in param declarations: the starting point of worked examples. */
  private paramInits(): Map<string, Tensor> {
    const inits = new Map<string, Tensor>();
    for (const [name, value] of this.constantInit) {
      const id = this.nodeOf.get(name);
      if (this.symbols.declarations.get(name)?.role !== "param" || id === undefined || id === null) continue;
      inits.set(name, { shape: this.outer.shape(id) as number[], data: value });
    }
    return inits;
  }

  /** Lowers an outer declaration or equation on first use, so equations may appear in any order. */
  lowerName(name: string, useSpan: Span): NodeId | null | undefined {
    if (this.nodeOf.has(name)) return this.nodeOf.get(name)!;
    const declaration = this.symbols.declarations.get(name);
    const equation = this.symbols.equations.get(name);
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
    const perStep = d.shape ? this.symbols.resolveShape(d.shape) : [];
    if (!perStep) return null;
    if (d.integer && d.role !== "input" && d.role !== "target") {
      this.report(
        D.badArguments(
          d.integer.span,
          `only data is 'int' (class labels, token ids): a ${d.role} is a real number`,
        ),
      );
      return null;
    }
    const sequence = this.symbols.sequences.get(key);
    const index = sequence ? this.symbols.indices.get(sequence.index) : undefined;
    if (sequence && !index) return null;
    let shape: Shape = index ? [index.length, ...perStep] : perStep;
    const perStepDisplay = (d.shape ?? []).map((r) => (r.kind === "literal" ? r.value : r.name));
    let initValue: Float64Array | undefined;
    let filled: NodeId | undefined;
    if (d.axes) return this.lowerEntrywise(key, d, shape, perStepDisplay, index !== undefined);
    if (d.init) {
      const init = lowerExpr(this, d.init);
      if (init === null) return null;
      const n = this.outer.node(init);
      if (n.kind !== "const") {
        this.report(D.exampleNotConstant(d.init.span));
        return null;
      }
      if (!d.shape && !index) shape = n.shape;
      // A number fills a shape with a run-time dim when the data binds it (const ones: [N] = 1).
      if (d.role === "const" && n.shape.length === 0 && shape.some((x) => typeof x === "string"))
        filled = this.outer.op("broadcast_to", [init], { shape });
      else {
        const entries = shape.reduce<number>((a, x) => a * (typeof x === "number" ? x : 1), 1);
        if (entries > MAX_FILLED) {
          this.report(D.valueTooLarge(d.init.span, key, entries, MAX_FILLED));
          return null;
        }
        initValue = expandConstant(n.value, n.shape, shape);
        if (!initValue) {
          this.report(D.declaredShapeMismatch(d.init.span, key, formatShape(shape), formatShape(n.shape)));
          return null;
        }
        this.constantInit.set(key, initValue);
      }
    }
    let id: NodeId;
    if (filled !== undefined) id = filled;
    else if (d.role === "param") id = this.outer.param(key, shape, d.name.span);
    else if (d.role === "const") {
      if (!initValue) return null;
      id = this.outer.constant(initValue, shape, d.name.span, key);
    } else id = this.outer.input(key, d.role, shape, d.name.span, d.integer !== undefined);
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

  /**
   * A const defined entry by entry, `const M[i, j]: [T, T] = where(j <= i, 0, -1e9)`: the
   * names in brackets are each entry's position along the axes (from 0), and the value is
   * an expression of them, numbers and dims. Fixed sizes fold to a literal; a run-time dim
   * makes it a value the module computes once the data binds the dim.
   */
  private lowerEntrywise(
    key: string,
    d: Declaration,
    shape: Shape,
    perStepDisplay: readonly (string | number)[],
    sequence: boolean,
  ): NodeId | null {
    const axes = d.axes!;
    const where = axes[0]!.span;
    if (d.role !== "const" || sequence) {
      this.report(
        D.badArguments(where, `only a const may be defined entry by entry ('const ${key}[…]: [...] = …')`),
      );
      return null;
    }
    if (!d.shape || axes.length !== shape.length) {
      this.report(
        D.badArguments(
          where,
          `'${key}[${axes.map((a) => a.name).join(", ")}]' names ${axes.length} position${axes.length === 1 ? "" : "s"}: give it a shape of ${axes.length} ax${axes.length === 1 ? "is" : "es"} (': [T, T]')`,
        ),
      );
      return null;
    }
    const seen = new Set<string>();
    for (const a of axes) {
      if (seen.has(a.name)) {
        this.report(D.badArguments(a.span, `'${a.name}' names two axes of '${key}'`));
        return null;
      }
      seen.add(a.name);
    }
    if (!d.init) return null;
    const fixed = shape.every((x) => typeof x === "number");
    const entries = shape.reduce<number>((a, x) => a * (typeof x === "number" ? x : 1), 1);
    if (fixed && entries > MAX_FILLED) {
      this.report(D.valueTooLarge(d.init.span, key, entries, MAX_FILLED));
      return null;
    }
    // With fixed sizes the positions are constants (the position op's own values), so the
    // value folds to a literal; with a run-time dim the module computes them.
    const positions = axes.map((a, axis) => {
      const attrs = { shape, axis, name: a.name };
      if (!fixed) return this.outer.op("position", [], attrs, a.span);
      const values = getOp("position").evaluate([], attrs, shape as number[], new Map());
      return this.outer.constant(values.data, shape, a.span);
    });
    const saved = this.axisBindings;
    this.axisBindings = new Map(axes.map((a, k) => [a.name, positions[k]!]));
    let value: NodeId | null;
    try {
      value = lowerExpr(this, d.init);
    } finally {
      this.axisBindings = saved;
    }
    if (value === null) return null;
    const reads = this.readsData(value);
    if (reads) {
      this.report(
        D.badArguments(
          d.init.span,
          `'${key}' is a constant: its entries may depend on their positions, numbers and dims, not on '${reads}'`,
        ),
      );
      return null;
    }
    const valueShape = this.outer.shape(value);
    if (!sameShape(valueShape, shape)) {
      if (valueShape.length > 0) {
        this.report(D.declaredShapeMismatch(d.init.span, key, formatShape(shape), formatShape(valueShape)));
        return null;
      }
      value = this.outer.op("broadcast_to", [value], { shape }, d.init.span);
    }
    this.named.push({
      name: key,
      node: value,
      kind: "const",
      declaredShape: [...perStepDisplay],
      ...(d.latex ? { latex: d.latex.text } : {}),
      span: d.name.span,
    });
    return value;
  }

  /** The name of a param or data value that `id` depends on, if any. */
  private readsData(id: NodeId): string | undefined {
    const seen = new Set<NodeId>();
    const stack = [id];
    while (stack.length > 0) {
      const n = this.outer.node(stack.pop()!);
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      if (n.kind === "param" || n.kind === "input") return n.name;
      if (n.kind === "op") stack.push(...n.args);
      else if (n.kind !== "const") return this.named.find((v) => v.node === n.id)?.name ?? "a recurrence";
    }
    return undefined;
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
      ...(e.latex ? { latex: e.latex.text } : {}),
      written: this.written(e),
      span: e.target.span,
    });
    return id;
  }

  /** An equation's text as written, on one line. */
  written(e: Equation): string {
    const text = (span: Span) => this.source.slice(span.start, span.end);
    return `${e.isLoss ? "loss " : ""}${text(e.target.span)} = ${text(e.value.span)}`.replace(/\s+/g, " ");
  }

  /** The initial value of a recurrence at step `position` (0, -1, …), lowered as an outer value. */
  initValue(base: string, position: number, useSpan: Span): NodeId | null | undefined {
    const declared = this.symbols.initDeclarations.get(base)?.get(position);
    if (declared !== undefined) return this.lowerName(declared, useSpan);
    const equation = this.symbols.initEquations.get(base)?.get(position);
    if (!equation) return undefined;
    return this.boundaryValue(`${base}_<${position}>`, equation, useSpan);
  }

  /** A value before the first step or after the last, lowered once as an outer value under `key`. */
  private boundaryValue(key: string, equation: Equation, useSpan: Span): NodeId | null {
    if (this.nodeOf.has(key)) return this.nodeOf.get(key)!;
    if (this.lowering.includes(key)) {
      this.report(D.cycle(useSpan, [...this.lowering.slice(this.lowering.indexOf(key)), key]));
      return null;
    }
    const saved = this.builder;
    this.builder = this.outer;
    this.lowering.push(key);
    const id = lowerExpr(this, equation.value);
    this.lowering.pop();
    this.builder = saved;
    this.nodeOf.set(key, id);
    return id;
  }

  /** The value after the last step (T + a) of a recurrence that runs backwards, lowered as an outer value. */
  finalValue(base: string, a: number, length: Dim, useSpan: Span): NodeId | null | undefined {
    const definition = this.symbols.finalDefinition(base, a, length);
    if (!definition) return undefined;
    this.finalsUsed.add(definition);
    if (definition.declared !== undefined) return this.lowerName(definition.declared, useSpan);
    return this.boundaryValue(`${base}_<T+${a}>`, definition.equation!, useSpan);
  }

  reference(name: SubscriptedName): NodeId | null {
    const body = this.scans.currentBody;
    if (body) return body.reference(name);
    const a = analyzeName(name, this.symbols.indices);
    if (a.kind === "error") {
      this.report(D.badSubscript(name.span, a.message));
      return null;
    }
    if (a.kind === "plain") return this.plainReference(name);
    if (a.ref.kind === "literal" && a.ref.n <= 0) {
      const init = this.initValue(a.base, a.ref.n, name.span);
      if (init !== undefined) return init;
    }
    const owner = this.symbols.ownerOf(a.base);
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
    const index = this.symbols.indices.get(owner.index)!;
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
    const position = this.axisBindings?.get(name.identifier);
    if (position !== undefined) return position;
    const id = this.lowerName(name.identifier, name.span);
    if (id !== undefined) return id;
    if (this.symbols.sequences.has(name.identifier) || this.symbols.ownerOf(name.identifier)) {
      const owner = this.symbols.ownerOf(name.identifier)!;
      this.report(
        D.stepContext(
          name.span,
          `'${name.identifier}' has one value per step of '${owner.index}': name a step, such as ${name.identifier}_${owner.index} inside its recurrence`,
        ),
      );
      return null;
    }
    if (this.symbols.dims.has(name.identifier)) return this.dimValue(name.identifier, name.span);
    return this.unknown(name, name.identifier);
  }

  dimSize(name: string): Dim | null {
    if (!this.symbols.dims.has(name)) return null;
    return this.symbols.dims.get(name) ?? name;
  }

  dimValue(dim: string, span: Span): NodeId {
    const value = this.symbols.dims.get(dim);
    return this.builder.op("dim_size", [], value === undefined ? { dim } : { dim, value }, span);
  }

  unknown(name: SubscriptedName, base: string): null {
    const known = [
      ...this.symbols.declarations.keys(),
      ...this.symbols.equations.keys(),
      ...this.symbols.sequences.keys(),
      ...[...this.symbols.stepEquations.values()].flatMap((m) => [...m.keys()]),
    ];
    // Lecture notes write the exponential as e^x, and a step as h[t-1].
    if (base === "e" && !name.subscript) this.report(D.unknownE(name.span));
    else if (this.symbols.indices.has(base) && !name.subscript)
      this.report(
        D.stepContext(
          name.span,
          `'${base}' is an index, not a value: a step is written h_${base} or h_<${base}-1>, not h[${base}-1]`,
        ),
      );
    else this.report(D.unknownName(name.span, base, closestName(base, known)));
    return null;
  }

  integer(id: NodeId): boolean {
    const n = this.builder.node(id);
    if (n.kind === "input") return n.integer === true;
    // One step of a sequence, or an outer value, read inside a recurrence's body.
    if (n.kind === "slice" || n.kind === "outer") return this.integerOuter(n.source);
    return false;
  }

  private integerOuter(id: NodeId): boolean {
    const n = this.outer.node(id);
    return n.kind === "input" && n.integer === true;
  }

  gradient(call: CallExpr): NodeId | null {
    if (this.scans.currentBody) {
      this.report(D.stepContext(call.callee.span, "grad(…) inside a recurrence: take it outside"));
      return null;
    }
    return lowerGradient(this, call, this.differentiate, this.gradients);
  }

  reduction(call: CallExpr): NodeId | null | undefined {
    const r = indexReduction(call.callee, this.symbols.indices);
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
    const info = this.symbols.indices.get(r.index)!;
    const count = info.upperDim
      ? this.dimValue(info.upperDim, call.span)
      : this.outer.scalar(Number(info.length));
    return apply(this, "div", [sum, count], {}, call.span);
  }
}

export type { BuiltScan };
