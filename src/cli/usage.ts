import { parseArgs } from "node:util";
import { closestName } from "../syntax/names.js";

/* How nabla is called: its commands, options and help, and the usage error (exit status 2). */

/** Each command: how it is called, what it does, and the options it takes. */
export const COMMANDS = {
  compile: {
    usage: "nabla compile <model.nabla> [-o <dir>] [--html] [--target wasm [--precision f32]]",
    does: "write <dir>/<model>.ts, .js and .tex (default dir: out); --html also writes the handout as one HTML page; --target wasm writes a module whose matrix products and convolutions are WebAssembly SIMD kernels, embedded in it (docs/wasm.md), in double precision or, with --precision f32, single",
    options: ["out", "html", "target", "precision"],
  },
  run: {
    usage: "nabla run <model.nabla> [--values <file.json>] [--json] [--target wasm [--precision f32]]",
    does: "compile, run the generated module on the model's example values (overridden by the values file), print loss, values and gradients; --target wasm runs the WebAssembly module",
    options: ["values", "json", "target", "precision"],
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
      "nabla train <model.nabla> --data <train.csv|json> [--valid <file>] [--epochs <n>] [--batch <n>]\n          [--lr <x>] [--seed <n>] [--accuracy <value>] [--values <file.json>] [-o <dir>]\n          [--target wasm [--precision f32]]",
    does: "train the model's params on a data set in minibatches (shuffled with a seed) with the model's own optimiser, its train line's (sgd, adam, …): a progress bar on a terminal, a line per epoch otherwise; write <dir>/<model>.params.json (a values file for nabla run --values) and <dir>/<model>.loss.svg, the train and validation loss per epoch (default dir: out); --target wasm trains with the WebAssembly module. Ctrl-C stops after the current step and writes both (exit status 130); a loss that is not finite stops training (exit status 5)",
    options: [
      "data",
      "valid",
      "epochs",
      "batch",
      "lr",
      "seed",
      "accuracy",
      "values",
      "out",
      "target",
      "precision",
    ],
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
export type Command = keyof typeof COMMANDS;

export const OPTIONS = {
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
  target: {
    type: "string",
    text: `--target <name>      export: the framework to write for (pytorch); compile, run, train: the module's\n${" ".repeat(23)}code, js (the default) or wasm (WebAssembly SIMD matrix products, convolutions)`,
  },
  precision: {
    type: "string",
    text: "--precision <p>      with --target wasm: f64 (the default, f64x2 kernels) or f32 (f32x4)",
  },
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
export type OptionName = keyof typeof OPTIONS;

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

export const USAGE = `nabla — models as equations, compiled to gradients, code and handouts

Usage:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}\n${wrap(c.does, "      ")}`)
  .join("\n")}
  nabla --help | --version

Exit status: 0 success, 1 the model has errors, 2 a usage, file or values error, 3 a number
a lecture block records is wrong, 4 a gradient differs from central differences, 5 training
stopped on a loss that is not finite, 130 training interrupted (Ctrl-C) after writing what it had. \`nabla help <command>\` describes one command.`;

export function commandHelp(command: Command): string {
  const c = COMMANDS[command];
  const options = [...c.options, "help"].map((o) => `  ${OPTIONS[o as OptionName].text}`);
  return `${c.usage}\n\n${wrap(c.does, "")}\n\nOptions:\n${options.join("\n")}`;
}

/** A mistake in how nabla was called, or a file it cannot read or write: exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The help printed after the message: the command's, the whole summary's, or none. */
    readonly help: Command | "all" | undefined = undefined,
  ) {
    super(message);
  }
}

/** The command named, or a usage error with the closest one. */
export function knownCommand(name: string): Command {
  if (Object.hasOwn(COMMANDS, name)) return name as Command;
  const close = closestName(name, Object.keys(COMMANDS));
  throw new UsageError(`unknown command '${name}'${close ? `; did you mean '${close}'?` : ""}`, "all");
}

/** Flags and positionals; an unknown option is a usage error naming the closest known one. */
export function parseArguments(argv: string[]) {
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

export type Flags = ReturnType<typeof parseArguments>["values"];
