/**
 * What the playground shows for one source text, computed by the same pipeline as the
 * command line. It reads no file and imports nothing of Node's, so it runs in the page. Two
 * halves: `compileForPage` (diagnostics and the generated module, which the page runs) on
 * every edit, and `derivationForPage` (the handout, typeset by KaTeX, far the costlier) in a
 * worker beside the page, so typing never waits for typesetting. The module is the emitter's
 * own layout, unformatted, because formatting costs more than compiling.
 */
import { analyze } from "../analyze.js";
import { generateModule, renderModule } from "../codegen/module.js";
import { checkLecture } from "../lecture/check.js";
import { buildHandout } from "../handout/build.js";
import { printHandoutBlocks } from "../html/body.js";

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
  /** The TypeScript module as `nabla compile` writes it, laid out; made when first asked (the tab shows it). */
  readonly typescript?: () => string;
  /** The module as a function body returning its exports: the page runs it with `new Function`. */
  readonly script?: string;
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

  const runnable = graph.named
    .filter((n) => n.kind === "param" || n.kind === "input" || n.kind === "target")
    .every((n) => graph.example.has(n.name));
  return {
    diagnostics,
    rendered: analysis.rendered,
    typescript: once(() => generateModule(graph, gradient).typescript),
    script: renderModule(graph, gradient, "script"),
    runnable,
    millis: performance.now() - started,
  };
}

function once(make: () => string): () => string {
  let made: string | undefined;
  return () => (made ??= make());
}

export interface PageDerivation {
  /** The handout's body as HTML pieces, one per block (KaTeX-typeset); absent when the model has errors. */
  readonly pieces?: readonly string[];
  readonly millis: number;
}

export function derivationForPage(source: string, file = "model.nabla"): PageDerivation {
  const started = performance.now();
  const { graph, gradient } = analyze(source, { file });
  if (!graph || !gradient) return { millis: performance.now() - started };
  const pieces = printHandoutBlocks(buildHandout(graph, gradient, checkLecture(graph, gradient)));
  return { pieces, millis: performance.now() - started };
}
