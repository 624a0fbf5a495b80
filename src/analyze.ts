// Loading the op families registers them in the IR's op table.
import "./ops/registry.js";
import { parseProgram } from "./syntax/parse.js";
import { Lowering } from "./ir/lower.js";
import { differentiate, type Gradient } from "./autodiff/reverse.js";
import { hessianVectorProduct } from "./autodiff/hessian.js";
import { innerGradient } from "./autodiff/inner.js";
import { paramEntries } from "./train/newton.js";
import { unsupported } from "./diagnostics/codes.js";
import { renderDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import type { Graph } from "./ir/types.js";

/*
 * The front end and the differentiator, apart from the emitters that need Node (the HTML
 * page reads KaTeX's fonts from disk): the playground bundles this for the browser.
 */

/** Newton's method builds the Hessian over every param entry: n² entries, n products. */
const MAX_NEWTON_ENTRIES = 256;

export interface CompileOptions {
  /** The file name used in diagnostics. */
  readonly file?: string;
  /**
   * Whether a model trained by Newton's method gets its Hessian (default true), and with it the
   * limits on its size. The PyTorch export writes the loss alone, for PyTorch to differentiate.
   */
  readonly hessian?: boolean;
}

export interface Analysis {
  readonly diagnostics: readonly Diagnostic[];
  /** `file:line:col: error NBxxxx: …` with source lines and carets; empty when there are no errors. */
  readonly rendered: string;
  readonly graph?: Graph;
  readonly gradient?: Gradient;
}

/** Lines end in \n for everything downstream: a lone \r (old Mac files) is a line break too. */
export function normalizeLineEnds(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** Source → IR → symbolic gradient, with every diagnostic the front end can find. */
export function analyze(text: string, options: CompileOptions = {}): Analysis {
  const source = normalizeLineEnds(text);
  const diagnostics: Diagnostic[] = [];
  const program = parseProgram(source, diagnostics);
  const syntaxErrors = diagnostics.length;
  const graph = new Lowering(program, diagnostics, source, innerGradient).run();
  if (syntaxErrors > 0) {
    // A statement the parser could not read defines nothing: unknown names and a missing loss may only echo that.
    const echoes = new Set(["NB2001", "NB2007"]);
    diagnostics.splice(
      syntaxErrors,
      diagnostics.length,
      ...diagnostics.slice(syntaxErrors).filter((d) => !echoes.has(d.code)),
    );
  }
  const rendered =
    diagnostics.length > 0 ? renderDiagnostics(diagnostics, source, options.file ?? "<input>") : "";
  if (!graph || diagnostics.length > 0) return { diagnostics, rendered };
  const gradient = differentiate(graph);
  if (graph.train?.optimizer !== "newton" || options.hessian === false)
    return { diagnostics, rendered, graph, gradient };
  const refused = (message: string) => {
    const d = [unsupported(graph.train!.span!, message)];
    return { diagnostics: d, rendered: renderDiagnostics(d, source, options.file ?? "<input>") };
  };
  const entries = paramEntries(graph.nodes);
  if (entries.some((e) => e.shape.some((d) => typeof d !== "number")))
    return refused("Newton's method needs params of fixed sizes: the Hessian is a matrix over their entries");
  const n = entries.reduce((a, e) => a + e.size, 0);
  if (n > MAX_NEWTON_ENTRIES)
    return refused(
      `Newton's method needs the ${n} × ${n} Hessian over every param entry; it is offered for at most ${MAX_NEWTON_ENTRIES} entries (use sgd)`,
    );
  const hessian = hessianVectorProduct(graph, gradient);
  if ("unsupported" in hessian) return refused(`Newton's method: ${hessian.unsupported}`);
  return { diagnostics, rendered, graph, gradient: { ...gradient, hessian } };
}
