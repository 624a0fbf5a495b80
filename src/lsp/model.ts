import type { IToken } from "chevrotain";
import { nablaLexer } from "../../grammar/tokens.js";
import type { Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { DimRef, Program, Statement, SubscriptedName } from "../syntax/ast.js";
import { parseProgram } from "../syntax/parse.js";
import { resolveName } from "../syntax/names.js";
import { analyze } from "../index.js";
import type { Graph, NamedValue } from "../ir/types.js";
import type { Gradient } from "../autodiff/reverse.js";
import { SourceText } from "./text.js";

/** What a name of the model is, as its declaration or equation says. */
export type SymbolKind =
  "input" | "target" | "param" | "const" | "value" | "loss" | "dim" | "index" | "model";

/** A name the model declares or defines, and where. */
export interface ModelSymbol {
  /** The name without a step: `h` for `h_t` and `h_0`, `x` for `input x_t`. */
  readonly name: string;
  readonly kind: SymbolKind;
  /** The name as written where it is defined (`h_t`, `h_0`, `Wxh`), and its place. */
  readonly written: string;
  readonly span: Span;
  /** The step the definition is written at: an index (`t` in `h_t = …`) or a number (`0` in `h_0 = 0`). */
  readonly step?: string;
  readonly statement: Statement;
}

/** A name in the text: the identifier under the cursor, with what follows it. */
export interface NameAt {
  readonly identifier: string;
  readonly span: Span;
  /** The name with its step as written: `h_<t-1>`, `h_3`. */
  readonly written: string;
  /** Written `h_<t-1>`: the identifier is followed by a subscript expression. */
  readonly subscripted: boolean;
  /** Followed by `(`: a function's name. */
  readonly called: boolean;
}

/**
 * Everything the editor features read about one version of a document: the compiler's
 * diagnostics, graph and gradient from `analyze`, and — so that a model with errors still gets
 * hover, definitions and completion — the names its statements declare, from the parse alone,
 * and its tokens.
 */
export class DocumentAnalysis {
  readonly source: SourceText;
  readonly diagnostics: readonly Diagnostic[];
  readonly graph: Graph | undefined;
  readonly gradient: Gradient | undefined;
  /** Why the analysis stopped short, when the compiler failed on this text rather than reporting on it. */
  readonly failure: string | undefined;
  readonly symbols: readonly ModelSymbol[];
  readonly tokens: readonly IToken[];
  /** Declared indices (`t`) and the dims they run to (`T`): what makes `h_t` a step of `h`. */
  readonly indices = new Set<string>();
  readonly indexDims = new Set<string>();
  /** A lecture block's `dL/dWhz` writes the names L and Whz with a `d`: the name each token stands for, by offset. */
  private readonly lectureDerivatives = new Map<number, string>();

  constructor(text: string, file: string) {
    this.source = new SourceText(text);
    let diagnostics: readonly Diagnostic[] = [];
    let graph: Graph | undefined;
    let gradient: Gradient | undefined;
    let failure: string | undefined;
    let program: Program = { statements: [] };
    // The parse alone gives the declarations even where lowering stops at an error.
    const parseDiagnostics: Diagnostic[] = [];
    try {
      program = parseProgram(this.source.text, parseDiagnostics);
    } catch (error) {
      failure = describeFailure(error);
    }
    try {
      const analysis = analyze(this.source.text, { file });
      diagnostics = analysis.diagnostics;
      graph = analysis.graph;
      gradient = analysis.gradient;
    } catch (error) {
      // Report what the parse found; the server goes on with the next edit.
      failure ??= describeFailure(error);
      diagnostics = parseDiagnostics;
    }
    this.diagnostics = diagnostics;
    this.graph = graph;
    this.gradient = gradient;
    this.failure = failure;
    this.tokens = nablaLexer.tokenize(this.source.text).tokens;
    for (const s of program.statements)
      if (s.kind === "index") {
        this.indices.add(s.name);
        if (s.upper.kind === "named") this.indexDims.add(s.upper.name);
      }
    this.symbols = program.statements.flatMap((s) => this.symbolsOf(s));
    for (const s of program.statements)
      if (s.kind === "lecture")
        for (const e of s.entries)
          if (e.wrt)
            for (const written of [e.quantity, e.wrt])
              if (written.name.startsWith("d"))
                this.lectureDerivatives.set(written.span.start, written.name.slice(1));
  }

  private symbolsOf(s: Statement): ModelSymbol[] {
    switch (s.kind) {
      case "model":
      case "dim":
      case "index": {
        const token = this.tokens.find(
          (t) =>
            t.tokenType.name === "Identifier" &&
            t.image === s.name &&
            t.startOffset >= s.span.start &&
            t.startOffset < s.span.end,
        );
        const span = token ? this.tokenSpan(token) : s.span;
        return [{ name: s.name, kind: s.kind, written: s.name, span, statement: s }];
      }
      case "declaration":
        return [this.named(s.name, s.role, s)];
      case "equation":
        return [this.named(s.target, s.isLoss ? "loss" : "value", s)];
      default:
        return [];
    }
  }

  private named(name: SubscriptedName, kind: SymbolKind, statement: Statement): ModelSymbol {
    const resolved = resolveName(name, this.indices, this.indexDims);
    const step = name.subscript
      ? this.source.text.slice(name.subscript.span.start, name.subscript.span.end)
      : resolved.kind === "subscripted"
        ? resolved.subscript
        : undefined;
    return {
      name: resolved.kind === "plain" ? resolved.name : resolved.base,
      kind,
      written: name.identifier,
      span: name.span,
      ...(step !== undefined ? { step } : {}),
      statement,
    };
  }

  private tokenSpan(t: IToken): Span {
    return {
      start: t.startOffset,
      end: t.startOffset + t.image.length,
      line: t.startLine ?? 1,
      column: t.startColumn ?? 1,
    };
  }

  /** The identifier at an offset, or just before it (the cursor at the end of a word). */
  nameAt(offset: number): NameAt | undefined {
    const i = this.tokens.findIndex(
      (t) =>
        t.tokenType.name === "Identifier" &&
        t.startOffset <= offset &&
        offset <= t.startOffset + t.image.length,
    );
    const token = this.tokens[i];
    if (!token) return undefined;
    const derivative = this.lectureDerivatives.get(token.startOffset);
    if (derivative !== undefined)
      return {
        identifier: derivative,
        span: this.tokenSpan(token),
        written: derivative,
        subscripted: false,
        called: false,
      };
    const next = this.tokens[i + 1];
    let end = token.startOffset + token.image.length;
    if (next?.tokenType.name === "SubscriptOpen") {
      // Up to the `>` closing this subscript (a subscript may hold another: h_<t_<1>>).
      let depth = 0;
      for (const t of this.tokens.slice(i + 1)) {
        if (t.tokenType.name === "SubscriptOpen") depth++;
        else if (t.tokenType.name === "RAngle") depth--;
        end = t.startOffset + t.image.length;
        if (depth === 0) break;
      }
    }
    return {
      identifier: token.image,
      span: this.tokenSpan(token),
      written: this.source.text.slice(token.startOffset, end),
      subscripted: next?.tokenType.name === "SubscriptOpen",
      called: next?.tokenType.name === "LParen",
    };
  }

  /**
   * Where a name written in the text is defined: the declaration or equation it names exactly
   * (`h_0` → `h_0 = 0`), else that of the value it is a step of (`h_3`, `h_<t-1>` → `h_t = …`).
   */
  definitionOf(name: Pick<NameAt, "identifier" | "subscripted">): ModelSymbol | undefined {
    const base = this.baseName(name);
    const definitions = this.symbols.filter((s) => s.name === base && !isDimension(s.kind));
    return (
      (name.subscripted ? undefined : definitions.find((s) => s.written === name.identifier)) ??
      // A step of a recurrence is defined by the equation over its index, not by an initial value.
      definitions.find((s) => s.step !== undefined && this.indices.has(s.step)) ??
      definitions[0] ??
      this.symbols.find((s) => isDimension(s.kind) && s.name === name.identifier)
    );
  }

  /** `h` for `h_t`, `h_3` and `h_<t-1>`; the name itself where the part after `_` is no step (`W_xh`). */
  baseName(name: Pick<NameAt, "identifier" | "subscripted">): string {
    if (name.subscripted) return name.identifier;
    const resolved = resolveName(
      { identifier: name.identifier, span: { start: 0, end: 0, line: 1, column: 1 } },
      this.indices,
      this.indexDims,
    );
    return resolved.kind === "plain" ? resolved.name : resolved.base;
  }

  /** The graph's record of a named value (its node, shapes, how its equation reads). */
  namedValue(name: string): NamedValue | undefined {
    return this.graph?.named.find((n) => n.name === name);
  }

  /** A dim's size: from the model (`dim H = 3`), else from the example's data; undefined when unknown. */
  dimSize(name: string): number | undefined {
    return this.graph?.dims.get(name) ?? undefined;
  }
}

export const isDimension = (kind: SymbolKind): boolean =>
  kind === "dim" || kind === "index" || kind === "model";

/** A declared shape as written: `[T, H]`. */
export function writtenShape(shape: readonly DimRef[]): string {
  return `[${shape.map((d) => (d.kind === "named" ? d.name : String(d.value))).join(", ")}]`;
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
