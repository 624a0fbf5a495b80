import { DiagnosticSeverity, type Diagnostic as LspDiagnostic } from "vscode-languageserver";
import type { DocumentAnalysis } from "./model.js";

/**
 * The compiler's diagnostics as the editor shows them: every one is an error (the command
 * line's `error NBxxxx`), with its code, its notes under the message, and its span as a
 * 0-based range.
 */
export function editorDiagnostics(analysis: DocumentAnalysis): LspDiagnostic[] {
  const out: LspDiagnostic[] = analysis.diagnostics.map((d) => ({
    range: analysis.source.range(d.span),
    severity: DiagnosticSeverity.Error,
    code: d.code,
    source: "nabla",
    message: [d.message, ...(d.notes ?? []).map((n) => `note: ${n}`)].join("\n"),
  }));
  // The compiler stopped on this text instead of reporting on it: say so rather than show a clean model.
  if (analysis.failure !== undefined)
    out.push({
      range: analysis.source.range({ start: 0, end: 0 }),
      severity: DiagnosticSeverity.Warning,
      source: "nabla",
      message: `nabla could not finish checking this model (${analysis.failure}); only the syntax errors are shown. Please report this with the model file.`,
    });
  return out;
}
