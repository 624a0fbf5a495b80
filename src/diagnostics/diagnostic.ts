import type { Span } from "./span.js";

export interface Diagnostic {
  readonly code: string;
  readonly message: string;
  readonly span: Span;
  /** Extra lines printed under the caret, e.g. the arithmetic behind a size. */
  readonly notes?: readonly string[];
  /**
   * Reported because an op's shape rule rejected its operands' shapes: a recurrence's shape
   * inference, trying shapes for a state, takes these as "not this shape" rather than errors.
   */
  readonly fromShapeRule?: true;
  /** Which entry of the shape rules' catalogue (shapes.ts) it is, when it is one. */
  readonly shapeProblem?: string;
}

/** Collects diagnostics instead of throwing, so one run reports every error it can find. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];
  accept(diagnostic: Diagnostic): void {
    this.diagnostics.push(diagnostic);
  }
  get hasErrors(): boolean {
    return this.diagnostics.length > 0;
  }
}

/** Thrown by `compile` helpers that must not continue past errors; carries every diagnostic. */
export class CompileError extends Error {
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    readonly rendered: string,
  ) {
    super(rendered);
    this.name = "CompileError";
  }
}

/** Characters of a long line shown around the caret; the rest is elided. */
const EXCERPT = 60;
/** Diagnostics rendered at most; the count of the rest follows. */
const MAX_RENDERED = 50;

/**
 * One diagnostic with its source line and a caret. Only the diagnostic's own line is found
 * (not the whole source split), and a long line is shown as a window around the caret, so
 * rendering stays linear in the number of diagnostics.
 */
export function renderDiagnostic(diagnostic: Diagnostic, source: string, file: string): string {
  const at = Math.min(Math.max(0, diagnostic.span.start), source.length);
  const lineStart = source.lastIndexOf("\n", at - 1) + 1;
  const newline = source.indexOf("\n", at);
  const lineEnd = newline < 0 ? source.length : newline;
  let lineText = source.slice(lineStart, lineEnd);
  let column = diagnostic.span.column;
  let width = Math.max(
    1,
    Math.min(diagnostic.span.end - diagnostic.span.start, lineText.length - column + 1),
  );
  if (lineText.length > 2 * EXCERPT) {
    const from = Math.max(0, column - 1 - EXCERPT / 2);
    const to = Math.min(lineText.length, from + EXCERPT * 2);
    const prefix = from > 0 ? "… " : "";
    lineText = `${prefix}${lineText.slice(from, to)}${to < lineText.length ? " …" : ""}`;
    column = column - from + prefix.length;
    width = Math.max(1, Math.min(width, to - from - (column - prefix.length - 1)));
  }
  const gutter = String(diagnostic.span.line).length;
  const pad = " ".repeat(gutter);
  const out = [
    `${file}:${diagnostic.span.line}:${diagnostic.span.column}: error ${diagnostic.code}: ${diagnostic.message}`,
    `${pad} |`,
    `${diagnostic.span.line} | ${lineText}`,
    `${pad} | ${" ".repeat(Math.max(0, column - 1))}${"^".repeat(width)}`,
  ];
  for (const note of diagnostic.notes ?? []) out.push(`${pad} = note: ${note}`);
  return out.join("\n");
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], source: string, file: string): string {
  const sorted = [...diagnostics].sort((a, b) => a.span.start - b.span.start);
  const shown = sorted.slice(0, MAX_RENDERED).map((d) => renderDiagnostic(d, source, file));
  const count = diagnostics.length;
  if (count > MAX_RENDERED) shown.push(`… and ${count - MAX_RENDERED} more`);
  return `${shown.join("\n\n")}\n\n${count} error${count === 1 ? "" : "s"}`;
}
