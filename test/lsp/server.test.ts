import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { CompletionItemKind, DiagnosticSeverity, type InitializeResult } from "vscode-languageserver";
import { positionOf, TestClient } from "./client.js";

const root = join(import.meta.dirname, "../..");
const example = (name: string) => readFileSync(join(root, "examples", name), "utf8");
const temperature = example("temperature_rnn.nabla");
const mazur = example("sigmoid_2_2_2_matrix.nabla");
const nextWord = example("next_word_rnn.nabla");

/** The hover's markdown at the `nth` occurrence of `needle`. */
async function hoverText(client: TestClient, uri: string, text: string, needle: string, nth = 0) {
  const hover = await client.hover(uri, positionOf(text, needle, nth));
  const contents = hover?.contents as { kind: string; value: string } | undefined;
  expect(contents?.kind).toBe("markdown");
  return contents!.value;
}

describe("nabla lsp --stdio, over the Language Server Protocol", () => {
  let client: TestClient;
  let initialized: InitializeResult;

  beforeAll(async () => {
    // As VS Code's client starts a server module: with the editor's process id.
    client = new TestClient([`--clientProcessId=${process.pid}`]);
    initialized = await client.initialize();
  });

  afterAll(() => {
    // Only if a test failed before the shutdown test: never leave the server running.
    if (client.child.exitCode === null) client.child.kill();
  });

  it("offers diagnostics, hover, definitions and completion", () => {
    expect(initialized.capabilities).toMatchObject({
      hoverProvider: true,
      definitionProvider: true,
      completionProvider: {},
    });
    expect(initialized.capabilities.textDocumentSync).toBeDefined();
  });

  it("reports an error with its code and range while typing, and clears it when fixed", async () => {
    const uri = "file:///models/temperature.nabla";
    const bad = temperature.replace("h_t = tanh(a_t)", "h_t = tahn(a_t)");
    const [diagnostic, ...others] = await client.open(uri, bad);
    expect(others).toEqual([]);
    expect(diagnostic).toMatchObject({
      code: "NB2004",
      severity: DiagnosticSeverity.Error,
      source: "nabla",
      message: "unknown function 'tahn'; did you mean 'tanh'?",
    });
    const start = positionOf(bad, "tahn");
    expect(diagnostic!.range).toEqual({ start, end: { line: start.line, character: start.character + 4 } });
    expect(await client.replace(uri, temperature)).toEqual([]);
  });

  it("gives 0-based ranges in a file with CRLF line ends", async () => {
    const uri = "file:///models/crlf.nabla";
    const text = "model M\r\nparam w = 2\r\ninput x\r\nloss L = (w*q - 1)^2\r\n";
    const diagnostics = await client.open(uri, text);
    expect(diagnostics).toMatchObject([{ code: "NB2001", message: "unknown name 'q'; did you mean 'w'?" }]);
    expect(diagnostics[0]!.range).toEqual({
      start: { line: 3, character: 12 },
      end: { line: 3, character: 13 },
    });
  });

  it("shows a param's shape and its gradient as the derivation records it", async () => {
    const uri = "file:///models/mazur.nabla";
    expect(await client.open(uri, mazur)).toEqual([]);
    const hover = await client.hover(uri, positionOf(mazur, "W1*x"));
    const at = positionOf(mazur, "W1*x");
    expect(hover?.range).toEqual({ start: at, end: { line: at.line, character: at.character + 2 } });
    const text = (hover!.contents as { value: string }).value;
    expect(text).toContain("param W1: [2, 2]");
    expect(text).toContain("```latex");
    // The handout's lines for ∂L/∂W1: the chain rule, the δ form, and the worked numbers.
    expect(text).toContain("\\frac{\\partial L}{\\partial W_{1}} &= ");
    expect(text).toContain("\\delta_{\\mathrm{net}_{h}} {x}^{\\top}");
    expect(text).toContain("4.386 \\cdot 10^{-4}");
  });

  it("shows a value's δ, a step of a recurrence with named sizes, a dim and a function", async () => {
    const uri = "file:///models/next_word.nabla";
    expect(await client.open(uri, nextWord)).toEqual([]);
    const h = await hoverText(client, uri, nextWord, "h_3");
    expect(h).toContain("value h: [T, 1] = [3, 1]");
    expect(h).toContain("here `h_3`");
    expect(h).toContain("h_t = tanh(a_t)");
    expect(h).toContain("\\delta_{h_{t}} = \\frac{\\partial L}{\\partial h_{t}} &= ");
    expect(await hoverText(client, uri, nextWord, "H, V")).toContain("dim H = 1");
    const tanh = await hoverText(client, uri, nextWord, "tanh(a_t)");
    expect(tanh).toContain("tanh(x)");
    expect(tanh).toContain("1 - \\tanh^2 a");
    expect(await client.hover(uri, positionOf(nextWord, "# "))).toBeNull();
    const lecture = await hoverText(client, uri, nextWord, "dWhh");
    expect(lecture).toContain("param Whh: [H, H] = [1, 1]");
    expect(lecture).toContain("\\frac{\\partial L}{\\partial W_{hh}} &= ");
  });

  it("jumps from a use to the declaration or equation defining it", async () => {
    const uri = "file:///models/temperature.nabla";
    const definitionAt = async (needle: string, nth = 0) =>
      (await client.definition(uri, positionOf(temperature, needle, nth)))?.range;
    const rangeOf = (needle: string, length: number, nth = 0) => {
      const start = positionOf(temperature, needle, nth);
      return { start, end: { line: start.line, character: start.character + length } };
    };
    const ht = rangeOf("h_t = tanh", 3);
    expect(await definitionAt("h_<t-1>")).toEqual(ht);
    expect(await definitionAt("h_3")).toEqual(ht);
    expect(await definitionAt("Wxh*x_t")).toEqual(rangeOf("Wxh = 0.6", 3));
    expect(await definitionAt("x_t", 1)).toEqual(rangeOf("x_t ", 3));
    expect(await definitionAt("a_t)")).toEqual(rangeOf("a_t = ", 3));
    expect(await definitionAt("h_0 = 0")).toEqual(rangeOf("h_0 = 0", 3));
    // A lecture block's dL/dWhz: the loss and the param it names.
    expect(await definitionAt("dWhz = 2")).toEqual(rangeOf("Whz = 1.0", 3));
    expect(await definitionAt("dL/dWhz")).toEqual(rangeOf("L = (yhat", 1));
    expect(await client.definition(uri, positionOf(temperature, "tanh(a_t)"))).toBeNull();
  });

  it("completes names, functions and keywords even where the model does not parse", async () => {
    const uri = "file:///models/typing.nabla";
    const text = `${temperature}\nz2 = (Wx`;
    expect((await client.open(uri, text)).map((d) => d.code)).toContain("NB1002");
    const items = await client.completion(uri, positionOf(text, "(Wx", 0, 3));
    const kindOf = (label: string) => items.find((i) => i.label === label)?.kind;
    expect(kindOf("Wxh")).toBe(CompletionItemKind.Field);
    expect(kindOf("h")).toBe(CompletionItemKind.Variable);
    expect(kindOf("x_t")).toBe(CompletionItemKind.Variable);
    expect(kindOf("tanh")).toBe(CompletionItemKind.Function);
    expect(items.find((i) => i.label === "leaky_relu")?.detail).toBe("leaky_relu(x, alpha = 0.01)");
    expect(kindOf("sum_t")).toBe(CompletionItemKind.Function);
    expect(kindOf("param")).toBe(CompletionItemKind.Keyword);
    // The word being typed is not offered back.
    expect(kindOf("Wx")).toBeUndefined();
  });

  it("survives input no model is made of, and goes on serving the other documents", async () => {
    const uri = "file:///models/garbage.nabla";
    const garbage = `model M\nx = ${"(".repeat(5000)}\n\u0000\u00ff h_<<<t-- ])) "\n`;
    const diagnostics = await client.open(uri, garbage);
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics.every((d) => typeof d.code === "string" && /^NB\d{4}$/.test(d.code))).toBe(true);
    expect(await client.hover(uri, { line: 2, character: 4 })).toBeNull();
    expect(Array.isArray(await client.completion(uri, { line: 99, character: 99 }))).toBe(true);
    expect(await client.definition(uri, { line: 1, character: 0 })).toBeNull();
    expect(await hoverText(client, "file:///models/mazur.nabla", mazur, "W2*out_h")).toContain(
      "param W2: [2, 2]",
    );
    expect(client.stderr.join("")).toBe("");
  });

  it("shuts down cleanly on shutdown and exit", async () => {
    expect(await client.stop()).toBe(0);
  });
});

describe("nabla lsp on the command line", () => {
  const nabla = (...args: string[]) =>
    spawnSync(process.execPath, [join(root, "bin/nabla.js"), ...args], {
      cwd: root,
      encoding: "utf8",
      input: "",
    });

  it("needs --stdio, and says so", () => {
    const r = nabla("lsp");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("run it as 'nabla lsp --stdio'");
  });

  it("is described by nabla help lsp and in the summary", () => {
    const help = nabla("help", "lsp");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("nabla lsp --stdio");
    expect(help.stdout).toContain("--stdio");
    expect(nabla("--help").stdout).toContain("nabla lsp --stdio");
  });
});
