#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { analyze, compile, toPytorch, type CompileResult } from "./index.js";
import { checkLecture } from "./lecture/check.js";
import { describeLecture } from "./lecture/describe.js";
import { bindValues, fromNested, loadModule, runCompiled, ValuesError, type RunOutput } from "./run.js";
import { batchedInputs, DataError, readData, type Batched, type DataSet } from "./train/data.js";
import {
  modelSteps,
  train,
  type AccuracySpec,
  type EpochRecord,
  type TrainableModule,
  type TrainOutcome,
} from "./train/loop.js";
import { lossPlot } from "./train/plot.js";
import { trainingProgress } from "./train/progress.js";
import { toNested } from "./ir/tensor.js";
import type { Tensor } from "./ir/tensor.js";
import type { Graph } from "./ir/types.js";
import type { Gradient } from "./autodiff/reverse.js";
import { MAX_EVALUATED_ENTRIES, MAX_EVALUATED_STEPS, unworked } from "./ir/evaluate.js";
import { closestName } from "./syntax/names.js";
import { BUILT_SITE, servePlayground, SiteMissing, type Serving } from "./playground/serve.js";
import { pythonModuleName } from "./export/python.js";
import { gradientCheck, GRADCHECK_TOLERANCE, type ParamCheck } from "./gradcheck.js";

/** Each command: how it is called, what it does, and the options it takes. */
const COMMANDS = {
  compile: {
    usage: "nabla compile <model.nabla> [-o <dir>] [--html]",
    does: "write <dir>/<model>.ts, .js and .tex (default dir: out); --html also writes the handout as one HTML page",
    options: ["out", "html"],
  },
  run: {
    usage: "nabla run <model.nabla> [--values <file.json>] [--json]",
    does: "compile, run the generated module on the model's example values (overridden by the values file), print loss, values and gradients",
    options: ["values", "json"],
  },
  gradcheck: {
    usage: "nabla gradcheck <model.nabla> [--values <file.json>]",
    does: "compare the generated gradient of every param with central finite differences at the example values (exit status 4 when one differs)",
    options: ["values"],
  },
  export: {
    usage: "nabla export <model.nabla> --target pytorch [-o <dir>]",
    does: "write <dir>/<model>.py (default dir: out; a model file's name made a Python module name, my-model → my_model): the model as a torch.nn.Module holding the example's params, its forward pass and loss, and the example's inputs, to train with PyTorch — on many machines with DistributedDataParallel (docs/export.md)",
    options: ["target", "out"],
  },
  train: {
    usage:
      "nabla train <model.nabla> --data <train.csv|json> [--valid <file>] [--epochs <n>] [--batch <n>]\n          [--lr <x>] [--seed <n>] [--accuracy <value>] [--values <file.json>] [-o <dir>]",
    does: "train the model's params on a data set with minibatch SGD, shuffled with a seed: a progress bar on a terminal, a line per epoch otherwise; write <dir>/<model>.params.json (a values file for nabla run --values) and <dir>/<model>.loss.svg, the train and validation loss per epoch (default dir: out). Ctrl-C stops after the current step and writes both (exit status 130); a loss that is not finite stops training (exit status 5)",
    options: ["data", "valid", "epochs", "batch", "lr", "seed", "accuracy", "values", "out"],
  },
  check: {
    usage: "nabla check <model.nabla>",
    does: "report diagnostics, and check the numbers of the model's lecture block (exit status 3 when one is wrong)",
    options: [],
  },
  playground: {
    usage: "nabla playground [--port <n>]",
    does: "serve the playground on localhost (default port 8480): type a model, see its diagnostics, derivation, shapes, generated code and numbers as you type",
    options: ["port"],
  },
  demo: {
    usage: "nabla demo [-o <dir>]",
    does: "compile (with the HTML handout) and run the built-in example",
    options: ["out"],
  },
  lsp: {
    usage: "nabla lsp --stdio",
    does: "run the language server over stdin and stdout, for editors: diagnostics while typing, hover with a name's shape and its gradient's derivation, go to definition, completion",
    options: ["stdio", "clientProcessId"],
  },
  help: {
    usage: "nabla help [<command>]",
    does: "this summary, or one command's",
    options: [],
  },
} as const;
type Command = keyof typeof COMMANDS;

const OPTIONS = {
  out: {
    type: "string",
    short: "o",
    text: "-o, --out <dir>      the folder to write to (created if missing)",
  },
  values: {
    type: "string",
    text: "--values <file.json>  values overriding the example's, keyed by declared name",
  },
  data: {
    type: "string",
    text: `--data <file>        the training set: CSV, a header and a column per entry (X_1, X_2, y),\n${" ".repeat(23)}or JSON, an array of rows per input ({"X": [[…], …], "y": […]})`,
  },
  valid: {
    type: "string",
    text: "--valid <file>       a validation set, as --data: its loss after each epoch",
  },
  epochs: { type: "string", text: "--epochs <n>         passes over the training set (default 10)" },
  batch: {
    type: "string",
    text: "--batch <n>          rows per minibatch (default 32; an epoch's last may have fewer)",
  },
  lr: {
    type: "string",
    text: "--lr <x>             the learning rate (default: the model's train line's, else 0.1)",
  },
  seed: {
    type: "string",
    text: "--seed <n>           the seed of the shuffles (default 1): the same seed, the same run",
  },
  accuracy: {
    type: "string",
    text: "--accuracy <value>   also report how often the argmax of a value [N, K] is the target's class",
  },
  port: { type: "string", text: "--port <n>           the port to serve on, 1–65535 (default 8480)" },
  target: { type: "string", text: "--target <name>      the framework to write for: pytorch" },
  json: { type: "boolean", text: "--json               print the result as JSON" },
  html: { type: "boolean", text: "--html               also write the handout as one HTML page" },
  stdio: {
    type: "boolean",
    text: "--stdio              talk the Language Server Protocol over stdin and stdout",
  },
  // Language clients that start a server as a Node module (VS Code's) add this: accepted, and
  // the protocol library watches that process, so the server ends with the editor.
  clientProcessId: {
    type: "string",
    text: `--clientProcessId <pid>\n${" ".repeat(23)}the editor's process, which the server ends with (language clients add it)`,
  },
  help: { type: "boolean", short: "h", text: "-h, --help           this help" },
  version: { type: "boolean", text: "--version            the version" },
} as const;
type OptionName = keyof typeof OPTIONS;

const wrap = (text: string, indent: string) => {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + word.length + 1 > 96 - indent.length) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.map((l) => indent + l).join("\n");
};

const USAGE = `nabla — models as equations, compiled to gradients, code and handouts

Usage:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}\n${wrap(c.does, "      ")}`)
  .join("\n")}
  nabla --help | --version

Exit status: 0 success, 1 the model has errors, 2 a usage, file or values error, 3 a number
a lecture block records is wrong, 4 a gradient differs from central differences, 5 training
stopped on a loss that is not finite, 130 training interrupted (Ctrl-C) after writing what it had. \`nabla help <command>\` describes one command.`;

function commandHelp(command: Command): string {
  const c = COMMANDS[command];
  const options = [...c.options, "help"].map((o) => `  ${OPTIONS[o as OptionName].text}`);
  return `${c.usage}\n\n${wrap(c.does, "")}\n\nOptions:\n${options.join("\n")}`;
}

/** The default example shipped with the package: the next-word RNN of the RNN lecture. */
const DEFAULT_EXAMPLE = "next_word_rnn.nabla";

/** A mistake in how nabla was called, or a file it cannot read or write: exit status 2. */
class UsageError extends Error {
  constructor(
    message: string,
    /** The help printed after the message: the command's, the whole summary's, or none. */
    readonly help: Command | "all" | undefined = undefined,
  ) {
    super(message);
  }
}

function readSource(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`cannot read model file '${file}'`);
  }
}

async function compileFile(
  file: string,
  source: string,
): Promise<Required<Pick<CompileResult, "graph" | "module" | "latex" | "html">> | undefined> {
  const result = await compile(source, { file });
  if (result.rendered) process.stderr.write(`${result.rendered}\n`);
  if (!result.graph || !result.module || result.latex === undefined || result.html === undefined)
    return undefined;
  return { graph: result.graph, module: result.module, latex: result.latex, html: result.html };
}

function outputStem(file: string): string {
  const stem = basename(file)
    .replace(/\.nabla$/, "")
    .replace(/[^A-Za-z0-9_-]/g, "_");
  return stem.length > 0 ? stem : "model";
}

async function commandCompile(file: string, outDir: string, html = false): Promise<number> {
  const compiled = await compileFile(file, readSource(file));
  if (!compiled) return 1;
  writableFolder(outDir);
  const stem = outputStem(file);
  const written: [string, string][] = [
    [`${stem}.ts`, compiled.module.typescript],
    [`${stem}.js`, compiled.module.javascript],
    [`${stem}.tex`, compiled.latex],
  ];
  if (html) written.push([`${stem}.html`, compiled.html]);
  for (const [name, text] of written) writeOutput(join(outDir, name), text);
  process.stdout.write(`compiled ${file}: ${written.map(([name]) => join(outDir, name)).join(", ")}\n`);
  return 0;
}

/** The frameworks `nabla export` writes for. */
const TARGETS = ["pytorch"] as const;

async function commandExport(file: string, target: string | undefined, outDir: string): Promise<number> {
  if (target === undefined)
    throw new UsageError(`export needs --target (one of: ${TARGETS.join(", ")})`, "export");
  if (!(TARGETS as readonly string[]).includes(target)) {
    const close = closestName(target, [...TARGETS]);
    throw new UsageError(
      `unknown target '${target}'${close ? `; did you mean '${close}'?` : ""} (targets: ${TARGETS.join(", ")})`,
      "export",
    );
  }
  const result = toPytorch(readSource(file), { file });
  if (result.rendered) process.stderr.write(`${result.rendered}\n`);
  if (!result.pytorch) return 1;
  writableFolder(outDir);
  const path = join(outDir, `${pythonModuleName(outputStem(file))}.py`);
  writeOutput(path, result.pytorch.python);
  process.stdout.write(`exported ${file} for PyTorch: ${path}\n`);
  return 0;
}

/** The output folder, created if missing; a path that is a file, or not writable, is a usage error. */
function writableFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(outputProblem(dir, error));
  }
}

function writeOutput(path: string, text: string): void {
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

function readValues(file: string | undefined): Map<string, Tensor> {
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

function formatValue(value: unknown, indent: string): string {
  if (typeof value === "number") return formatNumber(value);
  const rows = value as unknown[];
  if (rows.every((r) => typeof r === "number"))
    return `[${rows.map((r) => formatNumber(r as number)).join(", ")}]`;
  return `[\n${rows.map((r) => `${indent}  ${formatValue(r, `${indent}  `)}`).join(",\n")}\n${indent}]`;
}

const formatNumber = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString());

function printTable(output: RunOutput): void {
  const lines = [`loss = ${formatNumber(output.loss)}`, "", "values:"];
  for (const [name, v] of Object.entries(output.values)) lines.push(`  ${name} = ${formatValue(v, "  ")}`);
  lines.push("", "gradients:");
  for (const [name, v] of Object.entries(output.gradients))
    lines.push(`  d loss / d ${name} = ${formatValue(v, "  ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

/**
 * Values that do not fit the model, found binding them (ValuesError) or by the module's own
 * argument checks ("nabla: …"), are the values file's problem: a usage error naming it.
 * Anything else is passed on as it is.
 */
function asValuesProblem(error: unknown, where: string): unknown {
  if (error instanceof ValuesError || (error instanceof Error && error.message.startsWith("nabla:")))
    return new UsageError(`${where}: ${error.message.replace(/^nabla: /, "")}`);
  return error;
}

const PLAYGROUND_PORT = 8480;

/** Serves the playground until interrupted; a port in use or a site not built is a usage error. */
async function commandPlayground(portText: string | undefined): Promise<number> {
  const port = portText === undefined ? PLAYGROUND_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--port needs a whole number from 1 to 65535, not '${portText}'`, "playground");
  let serving: Serving;
  try {
    serving = await servePlayground(BUILT_SITE, port);
  } catch (error) {
    if (error instanceof SiteMissing) throw new UsageError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UsageError(`port ${port} is in use: choose another with --port`);
    if (code === "EACCES")
      throw new UsageError(`port ${port} needs privileges: choose one above 1023 with --port`);
    throw error;
  }
  process.stdout.write(`nabla playground: ${serving.url} (Ctrl-C stops it)\n`);
  return new Promise((resolve) => {
    process.once("SIGINT", () => {
      serving.server.close();
      resolve(0);
    });
  });
}

async function commandRun(file: string, valuesFile: string | undefined, json: boolean): Promise<number> {
  const values = readValues(valuesFile);
  const compiled = await compileFile(file, readSource(file));
  if (!compiled) return 1;
  let output: RunOutput;
  try {
    output = await runCompiled(compiled.graph, compiled.module.javascript, values);
  } catch (error) {
    throw asValuesProblem(error, valuesFile ?? file);
  }
  // JSON has no Infinity or NaN: they are written as the strings "Infinity", "-Infinity" and "NaN", not as null.
  if (json)
    process.stdout.write(
      `${JSON.stringify(output, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))}\n`,
    );
  else printTable(output);
  const problem = nonFinite(compiled.graph, output);
  if (problem) process.stderr.write(`nabla: warning: ${problem}\n`);
  return 0;
}

async function commandGradcheck(file: string, valuesFile: string | undefined): Promise<number> {
  const values = readValues(valuesFile);
  const compiled = await compileFile(file, readSource(file));
  if (!compiled) return 1;
  let checks: ParamCheck[];
  try {
    checks = await gradientCheck(compiled.graph, compiled.module.javascript, values);
  } catch (error) {
    throw asValuesProblem(error, valuesFile ?? file);
  }
  const width = Math.max(5, ...checks.map((c) => c.name.length));
  const rows = checks.map(
    (c) =>
      `  ${c.name.padEnd(width)}  ${String(c.entries).padStart(7)}  ${c.absolute.toExponential(1).padStart(9)}  ${c.relative.toExponential(1).padStart(9)}  ${c.ok ? "ok" : "DIFFERS"}`,
  );
  const wrong = checks.filter((c) => !c.ok);
  process.stdout.write(
    `${file}: the generated gradient against central differences (h = 1e-6·max(1, |θ|)), tolerance ${GRADCHECK_TOLERANCE.toExponential(0)} relative\n  ${"param".padEnd(width)}  ${"entries".padStart(7)}  ${"max |Δ|".padStart(9)}  ${"relative".padStart(9)}\n${rows.join("\n")}\n${
      wrong.length === 0
        ? "every gradient agrees"
        : `${wrong.map((c) => c.name).join(", ")} ${wrong.length === 1 ? "differs" : "differ"} (near a kink — relu at 0, a tie in a max — the difference quotient can disagree by design)`
    }\n`,
  );
  return wrong.length === 0 ? 0 : 4;
}

/** Where the forward pass first stops being finite, for a warning after a run. */
function nonFinite(graph: Graph, output: RunOutput): string | undefined {
  const finite = (v: unknown): boolean => (Array.isArray(v) ? v.every(finite) : Number.isFinite(v as number));
  const badGradients = Object.entries(output.gradients)
    .filter(([, g]) => !finite(g))
    .map(([name]) => name);
  if (Number.isFinite(output.loss) && badGradients.length === 0) return undefined;
  const first = graph.named.find(
    (n) => (n.kind === "equation" || n.kind === "loss") && !finite(output.values[n.name]),
  );
  const what = Number.isFinite(output.loss)
    ? `the gradient of ${badGradients.map((n) => `'${n}'`).join(", ")} is not finite`
    : `the loss is ${output.loss}`;
  return `${what}${first ? `; the first value that is not finite is '${first.name}' (line ${first.span.line})` : ""}`;
}

async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArguments(argv);
  if (flags.version) {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    process.stdout.write(`nabla ${pkg.version}\n`);
    return 0;
  }
  const [name, file, ...extra] = positionals;
  if (name === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return flags.help ? 0 : 2;
  }
  const command = knownCommand(name);
  if (command === "help" || flags.help) {
    const about = command === "help" ? file : name;
    process.stdout.write(`${about === undefined ? USAGE : commandHelp(knownCommand(about))}\n`);
    return 0;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`, command);
  for (const option of Object.keys(flags) as OptionName[])
    if (
      option !== "help" &&
      option !== "version" &&
      !(COMMANDS[command].options as readonly string[]).includes(option)
    )
      throw new UsageError(`${command} takes no option '--${option}'`, command);
  const outDir = flags.out ?? "out";
  switch (command) {
    case "compile":
      if (!file) throw new UsageError("compile needs a model file", command);
      return commandCompile(file, outDir, flags.html === true);
    case "run":
      if (!file) throw new UsageError("run needs a model file", command);
      return commandRun(file, flags.values, flags.json === true);
    case "gradcheck":
      if (!file) throw new UsageError("gradcheck needs a model file", command);
      return commandGradcheck(file, flags.values);
    case "export":
      if (!file) throw new UsageError("export needs a model file", command);
      return commandExport(file, flags.target, outDir);
    case "train":
      if (!file) throw new UsageError("train needs a model file", command);
      return commandTrain(file, flags, outDir);
    case "check": {
      if (!file) throw new UsageError("check needs a model file", command);
      const result = analyze(readSource(file), { file });
      if (result.rendered) {
        process.stderr.write(`${result.rendered}\n`);
        return 1;
      }
      const lecture = checkLecture(result.graph!, result.gradient!);
      if (!lecture) {
        process.stdout.write(`${file}: ok${uncheckedLecture(result.graph!, result.gradient!)}\n`);
        return 0;
      }
      process.stdout.write(`${describeLecture(file, lecture)}\n`);
      return lecture.wrong > 0 ? 3 : 0;
    }
    case "playground":
      return commandPlayground(flags.port);
    case "demo": {
      const example = join(dirname(fileURLToPath(import.meta.url)), "../../examples", DEFAULT_EXAMPLE);
      process.stdout.write(`nabla demo: ${DEFAULT_EXAMPLE}\n\n${readSource(example)}\n`);
      const status = await commandCompile(example, outDir, true);
      if (status !== 0) return status;
      process.stdout.write("\n");
      const run = await commandRun(example, undefined, false);
      const stem = join(outDir, outputStem(example));
      process.stdout.write(
        `\nThe handout derives every gradient and checks the lecture's printed numbers: open ${stem}.html, or typeset ${stem}.tex with pdflatex.\n`,
      );
      return run;
    }
    case "lsp": {
      if (file) throw new UsageError(`unexpected argument '${file}'`, command);
      if (flags.stdio !== true)
        throw new UsageError(
          "the language server talks over stdin and stdout: run it as 'nabla lsp --stdio'",
          command,
        );
      // Loaded only here: the other commands do without the protocol library.
      const { runLanguageServer } = await import("./lsp/server.js");
      runLanguageServer();
      // The server ends the process itself, when the editor says exit or closes its stdin.
      return new Promise<number>(() => {});
    }
    default:
      throw new UsageError(`unknown command '${command}'`, "all");
  }
}

/** The command named, or a usage error with the closest one. */
function knownCommand(name: string): Command {
  if (Object.hasOwn(COMMANDS, name)) return name as Command;
  const close = closestName(name, Object.keys(COMMANDS));
  throw new UsageError(`unknown command '${name}'${close ? `; did you mean '${close}'?` : ""}`, "all");
}

/** Flags and positionals; an unknown option is a usage error naming the closest known one. */
function parseArguments(argv: string[]) {
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([name, o]) => [
      name,
      { type: o.type, ...("short" in o ? { short: o.short } : {}) },
    ]),
  ) as { [K in OptionName]: { type: (typeof OPTIONS)[K]["type"]; short?: string } };
  const { tokens } = parseArgs({ args: argv, allowPositionals: true, strict: false, tokens: true, options });
  for (const t of tokens)
    if (t.kind === "option" && !Object.hasOwn(OPTIONS, t.name)) {
      const close = closestName(t.name, Object.keys(OPTIONS));
      throw new UsageError(
        `unknown option '${t.rawName}'${close ? `; did you mean '--${close}'?` : ""}`,
        "all",
      );
    }
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (error) {
    // A value missing after an option that takes one (`-o` at the end).
    const option = tokens.find(
      (t) => t.kind === "option" && OPTIONS[t.name as OptionName].type === "string" && t.value === undefined,
    );
    if (option && option.kind === "option")
      throw new UsageError(`option '${option.rawName}' needs a value`, "all");
    // A value that starts with a dash (`--lr -1`) reads as an option.
    const dashed = tokens.find(
      (t) => t.kind === "option" && !t.inlineValue && typeof t.value === "string" && t.value.startsWith("-"),
    );
    if (dashed && dashed.kind === "option")
      throw new UsageError(
        `option '${dashed.rawName}' is followed by '${dashed.value}', which reads as an option: write ${dashed.rawName}=${dashed.value} for a value that starts with '-'`,
        "all",
      );
    throw error;
  }
}

// A closed pipe (`nabla run … | head`) ends the output, not the process with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      const help =
        error.help === undefined ? "" : `\n${error.help === "all" ? USAGE : commandHelp(error.help)}\n`;
      process.stderr.write(`nabla: error: ${error.message}\n${help}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(
      `nabla: internal error: ${error instanceof Error ? error.message : String(error)}\nPlease report this with the model file.\n`,
    );
    process.exitCode = 70;
  },
);

/** Why a model's lecture block was not checked, as the end of the `ok` line; empty without one. */
function uncheckedLecture(graph: Graph, gradient: Gradient): string {
  const u = graph.lecture ? unworked(graph, gradient.nodes) : undefined;
  if (!u) return "";
  const why =
    u.kind === "missing"
      ? `the example gives no value for ${u.names.join(", ")}`
      : u.kind === "steps"
        ? `the recurrence runs over ${u.steps} steps, more than the ${MAX_EVALUATED_STEPS} worked through`
        : `the largest value has ${u.entries} entries, more than the ${MAX_EVALUATED_ENTRIES} worked through`;
  return `; its lecture block is not checked: ${why}`;
}

/** A whole number of at least `min` from an option, or a usage error naming it. */
function wholeOption(text: string | undefined, name: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} needs a whole number from ${min}, not '${text}'`, "train");
  return n;
}

function readDataFile(graph: Graph, batched: Batched, file: string): DataSet {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`cannot read data file '${file}'`);
  }
  try {
    return readData(graph, batched, file, text);
  } catch (error) {
    if (error instanceof DataError) throw new UsageError(error.message);
    throw error;
  }
}

/** The value and target `--accuracy` compares: a value [N, K] and the model's one target. */
function accuracySpec(graph: Graph, batchDim: string, value: string): AccuracySpec {
  const named = graph.named.find((n) => n.name === value);
  const targets = graph.named.filter((n) => n.kind === "target");
  const values = graph.named.filter((n) => n.kind === "equation").map((n) => n.name);
  if (!named || named.kind !== "equation") {
    const close = closestName(value, values);
    throw new UsageError(
      `--accuracy names a value of the model${close ? `; did you mean '${close}'?` : ""} ('${value}' is not one: ${values.join(", ")})`,
      "train",
    );
  }
  const shape = graph.nodes[named.node]!.shape;
  if (shape.length !== 2 || shape[0] !== batchDim)
    throw new UsageError(
      `--accuracy needs a value with one row of class scores per example, [${batchDim}, K]; '${value}' is [${named.declaredShape.join(", ")}]`,
      "train",
    );
  if (targets.length !== 1)
    throw new UsageError(
      `--accuracy compares with the model's target, and ${graph.modelName} has ${targets.length === 0 ? "none" : `${targets.length}: ${targets.map((t) => t.name).join(", ")}`}`,
      "train",
    );
  const target = targets[0]!;
  const tshape = graph.nodes[target.node]!.shape;
  const ok = tshape.length === 1 || (tshape.length === 2 && tshape[1] === shape[1]);
  if (!ok || tshape[0] !== batchDim)
    throw new UsageError(
      `--accuracy compares '${value}' with the target '${target.name}', which must be class labels [${batchDim}] int or one-hot rows [${batchDim}, K]`,
      "train",
    );
  return { value, target: target.name };
}

const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
const lossText = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : String(v));

function epochLine(r: EpochRecord, epochs: number): string {
  const parts = [
    r.partial
      ? `epoch ${Math.ceil(r.epoch)}/${epochs} (${r.partial.step} of ${r.partial.steps} steps)`
      : `epoch ${r.epoch}/${epochs}`,
    `train loss ${lossText(r.trainLoss)}`,
  ];
  if (r.validLoss !== undefined) parts.push(`valid loss ${lossText(r.validLoss)}`);
  if (r.trainAccuracy !== undefined) parts.push(`train accuracy ${percent(r.trainAccuracy)}`);
  if (r.validAccuracy !== undefined) parts.push(`valid accuracy ${percent(r.validAccuracy)}`);
  parts.push(`${r.seconds.toFixed(1)} s`);
  return parts.join("  ");
}

type Flags = ReturnType<typeof parseArguments>["values"];

async function commandTrain(file: string, flags: Flags, outDir: string): Promise<number> {
  if (flags.data === undefined)
    throw new UsageError("train needs a data set: --data <train.csv|json>", "train");
  const epochs = wholeOption(flags.epochs, "epochs", 10, 1);
  const batch = wholeOption(flags.batch, "batch", 32, 1);
  const seed = wholeOption(flags.seed, "seed", 1, 0);
  const lrGiven = flags.lr === undefined ? undefined : Number(flags.lr);
  if (lrGiven !== undefined && (flags.lr!.trim() === "" || !Number.isFinite(lrGiven) || lrGiven <= 0))
    throw new UsageError(`--lr needs a positive number, not '${flags.lr}'`, "train");
  const overrides = readValues(flags.values);
  const compiled = await compileFile(file, readSource(file));
  if (!compiled) return 1;
  const graph = compiled.graph;
  const lr = lrGiven ?? graph.train?.lr ?? 0.1;
  let batched: Batched;
  try {
    batched = batchedInputs(graph);
  } catch (error) {
    if (error instanceof DataError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  const trainSet = readDataFile(graph, batched, flags.data);
  const validSet = flags.valid === undefined ? undefined : readDataFile(graph, batched, flags.valid);
  const spec =
    flags.accuracy === undefined ? undefined : accuracySpec(graph, batched.batchDim, flags.accuracy);
  // The params (and any input without the batch dim) from the example, overridden by --values;
  // binding them with the training set checks its shapes and dims against the model.
  let bound: ReturnType<typeof bindValues>;
  try {
    bound = bindValues(graph, new Map([...overrides, ...trainSet.tensors]));
  } catch (error) {
    throw asValuesProblem(error, flags.values ?? file);
  }
  const { [batched.batchDim]: _rows, ...dims } = bound.dims;
  const fixedInputs = Object.fromEntries(
    Object.entries(bound.inputs).filter(([name]) => !batched.names.includes(name)),
  );
  const mod = (await loadModule(compiled.module.javascript)) as unknown as TrainableModule;
  const params = bound.params;
  // One forward pass over each whole set first: what the module's own checks find (a label out
  // of range) is then found before training, with entries counted over the file's rows.
  for (const [set, where] of [
    [trainSet, flags.data],
    [validSet, flags.valid],
  ] as const)
    if (set && where)
      try {
        const whole = Object.fromEntries([...set.tensors].map(([n, t]) => [n, t.data]));
        mod.forward(params, { ...fixedInputs, ...whole }, { ...dims, [batched.batchDim]: set.rows });
      } catch (error) {
        throw asValuesProblem(error, where);
      }
  // A folder that cannot be written is found now, not after the training it was to keep.
  writableFolder(outDir);
  const stepsPerEpoch = Math.ceil(trainSet.rows / batch);
  const progress = trainingProgress(epochs, stepsPerEpoch, process.stderr.isTTY === true);
  let stop = false;
  const onInterrupt = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write(
      "\nnabla: interrupted: stopping after this step to write the params and the loss plot (Ctrl-C again quits without them)\n",
    );
  };
  process.on("SIGINT", onInterrupt);
  progress.line(
    `training ${file} on ${flags.data}: ${trainSet.rows} rows${validSet ? `, ${validSet.rows} to validate (${flags.valid})` : ""}; ${epochs} epochs of ${stepsPerEpoch} steps of ${Math.min(batch, trainSet.rows)} rows, lr ${lr}, seed ${seed}`,
  );
  let outcome: TrainOutcome;
  try {
    outcome = await train({
      params,
      fixedInputs,
      train: trainSet,
      ...(validSet ? { valid: validSet } : {}),
      batchDim: batched.batchDim,
      dims,
      epochs,
      batch,
      seed,
      step: modelSteps(mod, lr),
      forward: mod.forward,
      ...(spec ? { accuracy: spec } : {}),
      shouldStop: () => stop,
      onStep: (p) => progress.step(p),
      onEpoch: (r) => progress.line(epochLine(r, epochs)),
    });
  } catch (error) {
    progress.stop();
    throw asValuesProblem(error, flags.valid ? `${flags.data} or ${flags.valid}` : flags.data);
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
  progress.stop();
  const stem = outputStem(file);
  const plotPath = join(outDir, `${stem}.loss.svg`);
  writeOutput(plotPath, lossPlot(outcome.history, `${graph.modelName}: loss per epoch`));
  if (outcome.kind === "diverged") {
    process.stderr.write(
      `nabla: error: the loss is ${outcome.loss} at epoch ${outcome.epoch}, step ${outcome.step} of ${stepsPerEpoch}: training stopped (a smaller --lr may help); the params are not written, the loss plot so far is ${plotPath}\n`,
    );
    return 5;
  }
  const paramsPath = join(outDir, `${stem}.params.json`);
  const concrete = (node: number) =>
    graph.nodes[node]!.shape.map((d) => (typeof d === "number" ? d : bound.dims[d]!));
  const nested: Record<string, unknown> = {};
  for (const n of graph.named)
    if (n.kind === "param") nested[n.name] = toNested(concrete(n.node), params[n.name]!);
  writeOutput(paramsPath, `${JSON.stringify(nested)}\n`);
  const last = outcome.history[outcome.history.length - 1];
  const where =
    outcome.kind === "interrupted"
      ? `interrupted at epoch ${outcome.epoch}, step ${outcome.step} of ${stepsPerEpoch}`
      : `trained ${epochs} epochs`;
  process.stdout.write(
    `${where} in ${(last?.seconds ?? 0).toFixed(1)} s; wrote the params to ${paramsPath} and the loss curves to ${plotPath}\n`,
  );
  return outcome.kind === "interrupted" ? 130 : 0;
}
