/**
 * What the playground shows for one source text, computed by the same pipeline as the
 * command line: diagnostics, the derivation as HTML (KaTeX) and the generated module. It
 * reads no file and imports nothing of Node's, so it runs in the page; the module is the
 * emitter's own layout, unformatted, because formatting costs more than compiling.
 */
import { analyze } from "../analyze.js";
import { renderModule } from "../codegen/module.js";
import { checkLecture } from "../lecture/check.js";
import { buildHandout } from "../handout/build.js";
import { printHandoutBody } from "../html/body.js";

/** A diagnostic placed for an editor: offsets into the source, half-open. */
export interface PageDiagnostic {
  readonly from: number;
  readonly to: number;
  readonly line: number;
  readonly column: number;
  readonly code: string;
  readonly message: string;
}

export interface PageResult {
  readonly diagnostics: readonly PageDiagnostic[];
  /** `file:line:col: error …` with carets, as the command line prints them. */
  readonly rendered: string;
  /** The derivation handout's body (KaTeX-typeset HTML); absent when the model has errors. */
  readonly derivation?: string;
  readonly typescript?: string;
  readonly javascript?: string;
  /** Whether the model has example values, so the page can run the module on them. */
  readonly runnable: boolean;
  readonly millis: number;
}

export function compileForPage(source: string, file = "model.nabla"): PageResult {
  const started = performance.now();
  const analysis = analyze(source, { file });
  const diagnostics = analysis.diagnostics.map((d) => ({
    from: d.span.start,
    to: Math.max(d.span.end, d.span.start + 1),
    line: d.span.line,
    column: d.span.column,
    code: d.code,
    message: [d.message, ...(d.notes ?? [])].join("\n"),
  }));
  if (!analysis.graph || !analysis.gradient)
    return { diagnostics, rendered: analysis.rendered, runnable: false, millis: performance.now() - started };
  const { graph, gradient } = analysis;
  const module = renderModule(graph, gradient);
  const lecture = checkLecture(graph, gradient);
  const derivation = printHandoutBody(buildHandout(graph, gradient, lecture));
  const runnable = graph.named
    .filter((n) => n.kind === "param" || n.kind === "input" || n.kind === "target")
    .every((n) => graph.example.has(n.name));
  return {
    diagnostics,
    rendered: analysis.rendered,
    derivation,
    typescript: module.typescript,
    javascript: module.javascript,
    runnable,
    millis: performance.now() - started,
  };
}
