import type { Span } from "../syntax/span.js";

export interface Diagnostic {
  readonly code: string;
  readonly message: string;
  readonly span: Span;
  /** Extra lines printed under the caret, e.g. the arithmetic behind a size. */
  readonly notes?: readonly string[];
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

export function renderDiagnostic(diagnostic: Diagnostic, source: string, file: string): string {
  const lines = source.split("\n");
  const lineText = (lines[diagnostic.span.line - 1] ?? "").replace(/\r$/, "");
  const column = diagnostic.span.column;
  const width = Math.max(
    1,
    Math.min(diagnostic.span.end - diagnostic.span.start, lineText.length - column + 1),
  );
  const gutter = String(diagnostic.span.line).length;
  const pad = " ".repeat(gutter);
  const out = [
    `${file}:${diagnostic.span.line}:${column}: error ${diagnostic.code}: ${diagnostic.message}`,
    `${pad} |`,
    `${diagnostic.span.line} | ${lineText}`,
    `${pad} | ${" ".repeat(column - 1)}${"^".repeat(width)}`,
  ];
  for (const note of diagnostic.notes ?? []) out.push(`${pad} = note: ${note}`);
  return out.join("\n");
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], source: string, file: string): string {
  const sorted = [...diagnostics].sort((a, b) => a.span.start - b.span.start);
  const body = sorted.map((d) => renderDiagnostic(d, source, file)).join("\n\n");
  const count = diagnostics.length;
  return `${body}\n\n${count} error${count === 1 ? "" : "s"}`;
}
