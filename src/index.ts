import { analyze, type Analysis, type CompileOptions } from "./analyze.js";
import { generateModule, type GeneratedModule } from "./codegen/module.js";
import { buildHandout } from "./handout/build.js";
import { printLatex } from "./latex/print.js";
import { printHtml } from "./html/print.js";
import { checkLecture, type LectureReport } from "./lecture/check.js";

export { analyze } from "./analyze.js";
export type { Analysis, CompileOptions } from "./analyze.js";
export type { Diagnostic } from "./diagnostics/diagnostic.js";
export type { Graph } from "./ir/types.js";
export type { Gradient } from "./autodiff/reverse.js";
export type { GeneratedModule } from "./codegen/module.js";

export interface CompileResult extends Analysis {
  readonly module?: GeneratedModule;
  /** The derivation handout as LaTeX (for pdflatex) and as one self-contained HTML page. */
  readonly latex?: string;
  readonly html?: string;
  /** What the model's `lecture` block records, checked against the correct computation. */
  readonly lecture?: LectureReport;
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
