#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { analyze, toPytorch } from "./index.js";
import { pythonModuleName } from "./export/python.js";
import { checkLecture } from "./lecture/check.js";
import { describeLecture } from "./lecture/describe.js";
import type { Graph } from "./ir/types.js";
import type { Gradient } from "./autodiff/reverse.js";
import { MAX_EVALUATED_ENTRIES, MAX_EVALUATED_STEPS, unworked } from "./ir/evaluate.js";
import { closestName } from "./syntax/names.js";
import type { Serving } from "./playground/serve.js";
import { packagePath } from "./paths.js";
import {
  COMMANDS,
  type OptionName,
  USAGE,
  commandHelp,
  UsageError,
  knownCommand,
  parseArguments,
} from "./cli/usage.js";
import {
  readSource,
  compileFile,
  moduleChoice,
  type ModuleChoice,
  outputStem,
  writableFolder,
  writeOutput,
} from "./cli/files.js";
import { commandRun, commandGradcheck } from "./cli/run.js";

/** The default example shipped with the package: the next-word RNN of the RNN lecture. */
const DEFAULT_EXAMPLE = "next_word_rnn.nabla";

async function commandCompile(
  file: string,
  outDir: string,
  html = false,
  target: ModuleChoice = { target: "js" },
): Promise<number> {
  const compiled = await compileFile(file, readSource(file), html, target);
  if (!compiled) return 1;
  writableFolder(outDir);
  const stem = outputStem(file);
  const written: [string, string][] = [
    [`${stem}.ts`, compiled.module.typescript],
    [`${stem}.js`, compiled.module.javascript],
    [`${stem}.tex`, compiled.latex],
  ];
  if (compiled.html !== undefined) written.push([`${stem}.html`, compiled.html]);
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

const PLAYGROUND_PORT = 8480;

/** Serves the playground until interrupted; a port in use or a site not built is a usage error. */
async function commandPlayground(portText: string | undefined): Promise<number> {
  const port = portText === undefined ? PLAYGROUND_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--port needs a whole number from 1 to 65535, not '${portText}'`, "playground");
  // The server, like the trainer's and language server's libraries, loads only for its command.
  const { BUILT_SITE, servePlayground, SiteMissing } = await import("./playground/serve.js");
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

async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArguments(argv);
  if (flags.version) {
    const pkg = JSON.parse(readFileSync(packagePath("package.json"), "utf8")) as {
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
      return commandCompile(
        file,
        outDir,
        flags.html === true,
        moduleChoice(flags.target, flags.precision, command),
      );
    case "run":
      if (!file) throw new UsageError("run needs a model file", command);
      return commandRun(
        file,
        flags.values,
        flags.json === true,
        moduleChoice(flags.target, flags.precision, command),
      );
    case "gradcheck":
      if (!file) throw new UsageError("gradcheck needs a model file", command);
      return commandGradcheck(file, flags.values);
    case "export":
      if (!file) throw new UsageError("export needs a model file", command);
      return commandExport(file, flags.target, outDir);
    case "train":
      if (!file) throw new UsageError("train needs a model file", command);
      return (await import("./cli/train.js")).commandTrain(file, flags, outDir);
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
      const example = packagePath("examples", DEFAULT_EXAMPLE);
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
