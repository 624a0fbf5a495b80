import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { compile, type CompileResult } from "../index.js";
import { fromNested, ValuesError } from "../run.js";
import type { Tensor } from "../ir/tensor.js";
import { UsageError, type Command } from "./usage.js";
import { PRECISIONS, TARGETS, type Precision, type Target } from "../codegen/wasm.js";
import { closestName } from "../syntax/names.js";

/* The files the commands read and write: models, values files, output folders. */

export function readSource(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`cannot read model file '${file}'`);
  }
}

/** The model compiled, its diagnostics written to stderr; the HTML handout only when asked for. */
export async function compileFile(
  file: string,
  source: string,
  html = false,
  target: ModuleChoice = { target: "js" },
): Promise<(Required<Pick<CompileResult, "graph" | "module" | "latex">> & { html?: string }) | undefined> {
  const result = await compile(source, { file, html, ...target });
  if (result.rendered) process.stderr.write(`${result.rendered}\n`);
  if (!result.graph || !result.module || result.latex === undefined) return undefined;
  return { graph: result.graph, module: result.module, latex: result.latex, html: result.html };
}

/** The module compile and run generate: its target and, for the WebAssembly one, its precision. */
export interface ModuleChoice {
  readonly target: Target;
  readonly precision?: Precision;
}

/**
 * The module from --target (js when absent) and --precision (f64 when absent, and only with
 * --target wasm); another value is a usage error.
 */
export function moduleChoice(
  target: string | undefined,
  precision: string | undefined,
  command: Command,
): ModuleChoice {
  const pick = <T extends string>(what: string, value: string, known: readonly T[]): T => {
    if ((known as readonly string[]).includes(value)) return value as T;
    const close = closestName(value, [...known]);
    throw new UsageError(
      `unknown ${what} '${value}'${close ? `; did you mean '${close}'?` : ""} (${what}s: ${known.join(", ")})`,
      command,
    );
  };
  const t = target === undefined ? "js" : pick("target", target, TARGETS);
  if (precision === undefined) return { target: t };
  const p = pick("precision", precision, PRECISIONS);
  if (t !== "wasm")
    throw new UsageError("--precision is the WebAssembly module's: use it with --target wasm", command);
  return { target: t, precision: p };
}

export function outputStem(file: string): string {
  const stem = basename(file)
    .replace(/\.nabla$/, "")
    .replace(/[^A-Za-z0-9_-]/g, "_");
  return stem.length > 0 ? stem : "model";
}

/** The output folder, created if missing; a path that is a file, or not writable, is a usage error. */
export function writableFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(outputProblem(dir, error));
  }
}

export function writeOutput(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new UsageError(outputProblem(path, error));
  }
}

function outputProblem(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EEXIST" || code === "ENOTDIR")
    return `cannot write to '${path}': a file is in the way of the folder (give -o a folder)`;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS")
    return `cannot write to '${path}': no permission`;
  if (code === "EISDIR") return `cannot write '${path}': it is a folder`;
  return `cannot write '${path}' (${code ?? (error as Error).message})`;
}

export function readValues(file: string | undefined): Map<string, Tensor> {
  const values = new Map<string, Tensor>();
  if (file === undefined) return values;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`cannot read values file '${file}'`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${file}: expected an object keyed by declared names`);
  }
  for (const [name, value] of Object.entries(parsed)) {
    try {
      values.set(name, fromNested(value, name));
    } catch (error) {
      if (error instanceof ValuesError) throw new UsageError(`${file}: ${error.message}`);
      throw error;
    }
  }
  return values;
}

/**
 * Values that do not fit the model, found binding them (ValuesError) or by the module's own
 * argument checks ("nabla: …"), are the values file's problem: a usage error naming it.
 * Anything else is passed on as it is.
 */
export function asValuesProblem(error: unknown, where: string): unknown {
  if (error instanceof ValuesError || (error instanceof Error && error.message.startsWith("nabla:")))
    return new UsageError(`${where}: ${error.message.replace(/^nabla: /, "")}`);
  return error;
}
