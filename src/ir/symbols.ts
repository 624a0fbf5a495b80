import type { DimRef, Expr, Statement } from "../syntax/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import type { Dim } from "./types.js";
import { checkLatexName } from "../syntax/latexName.js";
import type { DeclaredValue } from "./values.js";

/** Largest dim or number of steps: a size past it is a slip, and no array could hold it. */
export const MAX_SIZE = 2 ** 24;
const validSize = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_SIZE;
import { analyzeName, indexReduction, type IndexInfo, type StepRef } from "./steps.js";

export type Declaration = Extract<Statement, { kind: "declaration" }>;
export type Equation = Extract<Statement, { kind: "equation" }>;
export type CallExpr = Extract<Expr, { kind: "call" }>;

/** A declaration over an index: `input x_t: [D]` is stored [T, D], `param W_l: [H, H]` is [L, H, H]. */
export interface SequenceDeclaration {
  readonly declaration: Declaration;
  readonly index: string;
}

/**
 * The model's names, sorted from its statements: dims, indices, declarations (plain,
 * sequences over an index, initial values), equations (outer, per step, initial) and the
 * reductions over indices. Every name is defined once; subscripts are checked here.
 */
export class ModelSymbols {
  modelName = "Model";
  loss: Equation | undefined;
  readonly dims = new Map<string, number | undefined>();
  private readonly rejectedDims = new Set<string>();
  readonly indices = new Map<string, IndexInfo>();
  readonly declarations = new Map<string, Declaration>();
  readonly sequences = new Map<string, SequenceDeclaration>();
  readonly initDeclarations = new Map<string, Map<number, string>>();
  readonly equations = new Map<string, Equation>();
  readonly stepEquations = new Map<string, Map<string, Equation>>();
  readonly initEquations = new Map<string, Map<number, Equation>>();
  /**
   * Values after the last step, for recurrences that run backwards: `g_<T+1> = …` by its
   * offset from the end (1), `g_5 = …` (for 1..4) by its step number, matched to the
   * recurrence's length when its scan is built.
   */
  readonly finalDefinitions = new Map<string, Map<string, { equation?: Equation; declared?: string }>>();
  readonly reductions = new Map<string, CallExpr[]>();
  private readonly firstLine = new Map<string, number>();

  constructor(
    statements: readonly Statement[],
    private readonly report: (d: Diagnostic) => void,
  ) {
    for (const s of statements) {
      if (s.kind === "model") this.modelName = s.name;
      if (s.kind === "dim") this.declareDim(s);
    }
    for (const s of statements) if (s.kind === "index") this.declareIndex(s);
    for (const s of statements) if (s.kind === "declaration") this.declare(s);
    for (const s of statements) {
      if (s.kind !== "equation") continue;
      if (this.defineEquation(s) && s.isLoss) {
        if (this.loss) this.report(D.multipleLosses(s.target.span, this.loss.target.identifier));
        else this.loss = s;
      }
    }
    this.collectReductions();
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
    if (s.value !== undefined && !validSize(s.value)) {
      this.report(
        D.invalidDim(s.span, `dim '${s.name}' must be a positive integer up to ${MAX_SIZE}, got ${s.value}`),
      );
      this.rejectedDims.add(s.name);
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
      if (!validSize(s.upper.value)) {
        this.report(
          D.badIndex(
            s.upper.span,
            `the last step must be a positive integer up to ${MAX_SIZE}, got ${s.upper.value}`,
          ),
        );
        return;
      }
      this.indices.set(s.name, { name: s.name, length: s.upper.value });
      return;
    }
    if (!this.dims.has(s.upper.name)) {
      if (!this.rejectedDims.has(s.upper.name)) this.report(D.unknownDim(s.upper.span, s.upper.name));
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
      } else if (finalKey(a.ref)) {
        this.defineFinal(a.base, finalKey(a.ref)!, { declared: key });
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
    if (s.latex) {
      const problem = checkLatexName(s.latex.text);
      if (problem) this.report(D.unsafeLatex(s.latex.span, problem));
    }
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
    const final = finalKey(a.ref);
    if (final) {
      if (!this.claim(`${a.base}_<${final}>`, s.target.span)) return false;
      this.defineFinal(a.base, final, { equation: s });
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
        if (!validSize(r.value)) {
          this.report(
            D.invalidDim(r.span, `a dimension must be a positive integer up to ${MAX_SIZE}, got ${r.value}`),
          );
          ok = false;
        }
        out.push(r.value);
      } else if (!this.dims.has(r.name)) {
        // A dim whose declaration was refused is not unknown: that error was enough.
        if (!this.rejectedDims.has(r.name)) this.report(D.unknownDim(r.span, r.name));
        ok = false;
      } else out.push(this.dims.get(r.name) ?? r.name);
    }
    return ok ? out : undefined;
  }

  /** The declared values the `example` block may give, with their full shapes (index axis first). */
  declaredValues(): DeclaredValue[] {
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

  private defineFinal(base: string, key: string, definition: { equation?: Equation; declared?: string }) {
    const positions = this.finalDefinitions.get(base) ?? new Map();
    positions.set(key, definition);
    this.finalDefinitions.set(base, positions);
  }

  /** The value given for step T + a of `base` (a ≥ 1), for a recurrence of `length` steps. */
  finalDefinition(base: string, a: number, length: Dim) {
    const positions = this.finalDefinitions.get(base);
    return (
      positions?.get(`end+${a}`) ??
      (typeof length === "number" ? positions?.get(`step${length + a}`) : undefined)
    );
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
  ownerOf(base: string): { index: string; kind: "equation" | "sequence" } | undefined {
    const sequence = this.sequences.get(base);
    if (sequence) return { index: sequence.index, kind: "sequence" };
    for (const [index, equations] of this.stepEquations)
      if (equations.has(base)) return { index, kind: "equation" };
    if (this.initEquations.has(base) || this.initDeclarations.has(base) || this.finalDefinitions.has(base))
      return undefined;
    return undefined;
  }
}

/** A definition's step after the last one: `g_<T+1>` (end+1) or a step number `g_5` (step5). */
function finalKey(ref: StepRef): string | undefined {
  if (ref.kind === "fromEnd" && ref.k < 0) return `end+${-ref.k}`;
  if (ref.kind === "literal" && ref.n >= 1) return `step${ref.n}`;
  return undefined;
}
