import { analyze, normalizeLineEnds, type Analysis, type CompileOptions } from "./analyze.js";
import { generateModule, type GeneratedModule, type ModuleOptions } from "./codegen/module.js";
import { buildHandout } from "./handout/build.js";
import { printLatex } from "./latex/print.js";
import { checkLecture, type LectureReport } from "./lecture/check.js";
import { renderDiagnostics } from "./diagnostics/diagnostic.js";
import { exportPytorch, type PytorchModule } from "./export/pytorch.js";

export { analyze } from "./analyze.js";
export type { Analysis, CompileOptions } from "./analyze.js";
export type { Diagnostic } from "./diagnostics/diagnostic.js";
export type { Graph } from "./ir/types.js";
export type { Gradient } from "./autodiff/reverse.js";
export type { GeneratedModule, ModuleOptions } from "./codegen/module.js";
export type { Precision, Target } from "./codegen/wasm.js";
export type { PytorchModule } from "./export/pytorch.js";

export interface CompileResult extends Analysis {
  readonly module?: GeneratedModule;
  /** The derivation handout as LaTeX (for pdflatex) and as one self-contained HTML page. */
  readonly latex?: string;
  readonly html?: string;
  /** What the model's `lecture` block records, checked against the correct computation. */
  readonly lecture?: LectureReport;
}

export interface CompileOutputs extends CompileOptions, ModuleOptions {
  /**
   * Whether to print the handout as HTML too (default true). It loads KaTeX, the slowest part
   * of a command's start: the command line asks for it only with --html.
   */
  readonly html?: boolean;
}

/**
 * The whole pipeline: the TypeScript module and the LaTeX handout, or diagnostics. With
 * `target: "wasm"` the module's matrix products and convolutions are WebAssembly SIMD kernels.
 */
export async function compile(source: string, options: CompileOutputs = {}): Promise<CompileResult> {
  const analysis = analyze(source, options);
  if (!analysis.graph || !analysis.gradient) return analysis;
  const module = generateModule(analysis.graph, analysis.gradient, {
    ...(options.target === undefined ? {} : { target: options.target }),
    ...(options.precision === undefined ? {} : { precision: options.precision }),
  });
  const lecture = checkLecture(analysis.graph, analysis.gradient);
  const handout = buildHandout(analysis.graph, analysis.gradient, lecture);
  return {
    ...analysis,
    module,
    latex: printLatex(handout),
    ...(options.html === false ? {} : { html: (await import("./html/print.js")).printHtml(handout) }),
    ...(lecture ? { lecture } : {}),
  };
}

export interface PytorchResult extends Analysis {
  /** The model as a Python module: a torch.nn.Module with the example's values. */
  readonly pytorch?: PytorchModule;
}

/** Source → IR → the forward pass as a PyTorch module, or diagnostics (an op with no PyTorch form). */
export function toPytorch(text: string, options: CompileOptions = {}): PytorchResult {
  const analysis = analyze(text, { ...options, hessian: false });
  if (!analysis.graph) return analysis;
  const file = options.file ?? "<input>";
  const exported = exportPytorch(analysis.graph, file.split(/[\\/]/).pop()!);
  if ("module" in exported) return { ...analysis, pytorch: exported.module };
  const source = normalizeLineEnds(text);
  return {
    diagnostics: exported.diagnostics,
    rendered: renderDiagnostics(exported.diagnostics, source, file),
  };
}
