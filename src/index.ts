// Loading the op families registers them in the IR's op table.
import "./ops/registry.js";
import { parseProgram } from "./syntax/parse.js";
import { Lowering } from "./ir/lower.js";
import { differentiate, type Gradient } from "./autodiff/reverse.js";
import { hessianVectorProduct } from "./autodiff/hessian.js";
import { innerGradient } from "./autodiff/inner.js";
import { paramEntries } from "./train/newton.js";
import { unsupported } from "./diagnostics/codes.js";

/** Newton's method builds the Hessian over every param entry: n² entries, n products. */
const MAX_NEWTON_ENTRIES = 256;
import { generateModule, type GeneratedModule } from "./codegen/module.js";
import { buildHandout } from "./handout/build.js";
import { printLatex } from "./latex/print.js";
import { printHtml } from "./html/print.js";
import { checkLecture, type LectureReport } from "./lecture/check.js";
import { renderDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import type { Graph } from "./ir/types.js";
import { exportPytorch, type PytorchModule } from "./export/pytorch.js";

export type { Diagnostic } from "./diagnostics/diagnostic.js";
export type { Graph } from "./ir/types.js";
export type { Gradient } from "./autodiff/reverse.js";
export type { GeneratedModule } from "./codegen/module.js";
export type { PytorchModule } from "./export/pytorch.js";

export interface CompileOptions {
  /** The file name used in diagnostics. */
  readonly file?: string;
}

export interface Analysis {
  readonly diagnostics: readonly Diagnostic[];
  /** `file:line:col: error NBxxxx: …` with source lines and carets; empty when there are no errors. */
  readonly rendered: string;
  readonly graph?: Graph;
  readonly gradient?: Gradient;
}

export interface CompileResult extends Analysis {
  readonly module?: GeneratedModule;
  /** The derivation handout as LaTeX (for pdflatex) and as one self-contained HTML page. */
  readonly latex?: string;
  readonly html?: string;
  /** What the model's `lecture` block records, checked against the correct computation. */
  readonly lecture?: LectureReport;
}

/** Source → IR → symbolic gradient, with every diagnostic the front end can find. */
export function analyze(text: string, options: CompileOptions = {}): Analysis {
  // Lines end in \n for everything downstream: a lone \r (old Mac files) is a line break too.
  const source = text.replace(/\r\n?/g, "\n");
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
  if (graph.train?.optimizer !== "newton") return { diagnostics, rendered, graph, gradient };
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

export interface PytorchResult extends Analysis {
  /** The model as a Python module: a torch.nn.Module with the example's values. */
  readonly pytorch?: PytorchModule;
}

/** Source → IR → the forward pass as a PyTorch module, or diagnostics (an op with no PyTorch form). */
export function toPytorch(text: string, options: CompileOptions = {}): PytorchResult {
  const analysis = analyze(text, options);
  if (!analysis.graph) return analysis;
  const file = options.file ?? "<input>";
  const exported = exportPytorch(analysis.graph, file.split(/[\\/]/).pop()!);
  if ("module" in exported) return { ...analysis, pytorch: exported.module };
  const source = text.replace(/\r\n?/g, "\n");
  return {
    diagnostics: exported.diagnostics,
    rendered: renderDiagnostics(exported.diagnostics, source, file),
  };
}

/** The whole pipeline: the TypeScript module and the LaTeX handout, or diagnostics. */
export async function compile(source: string, options: CompileOptions = {}): Promise<CompileResult> {
  const analysis = analyze(source, options);
  if (!analysis.graph || !analysis.gradient) return analysis;
  const module = await generateModule(analysis.graph, analysis.gradient);
  const lecture = checkLecture(analysis.graph, analysis.gradient);
  const handout = buildHandout(analysis.graph, analysis.gradient, lecture);
  return {
    ...analysis,
    module,
    latex: printLatex(handout),
    html: printHtml(handout),
    ...(lecture ? { lecture } : {}),
  };
}
