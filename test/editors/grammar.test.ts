import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as oniguruma from "vscode-oniguruma";
import * as textmate from "vscode-textmate";
import "../../src/ops/registry.js";
import { surfaceNames } from "../../src/ir/registry.js";

const root = join(import.meta.dirname, "../..");
const grammarPath = join(root, "editors/vscode/syntaxes/nabla.tmLanguage.json");
const grammarText = readFileSync(grammarPath, "utf8");

/** The grammar as VS Code loads it: vscode-textmate with the Oniguruma regex engine. */
async function loadGrammar(): Promise<textmate.IGrammar> {
  const wasm = readFileSync(join(root, "node_modules/vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () => textmate.parseRawGrammar(grammarText, grammarPath),
  });
  return (await registry.loadGrammar("source.nabla"))!;
}

/** Each token of each line with its innermost scope. */
function tokenize(grammar: textmate.IGrammar, text: string): { text: string; scope: string }[] {
  let state = textmate.INITIAL;
  const out: { text: string; scope: string }[] = [];
  for (const line of text.split("\n")) {
    const r = grammar.tokenizeLine(line, state);
    for (const t of r.tokens)
      out.push({ text: line.slice(t.startIndex, t.endIndex), scope: t.scopes.at(-1)! });
    state = r.ruleStack;
  }
  return out;
}

describe("the TextMate grammar (editors/vscode)", () => {
  it("scopes a model as an editor should colour it", async () => {
    const grammar = await loadGrammar();
    const tokens = tokenize(
      grammar,
      [
        'param Wxh: [H, D] "W_{xh}"   # the input weights',
        "input ids: [N] int",
        "h_t = tanh(Wxh*x_t + Whh*h_<t-1>) .* m ./ 2",
        "loss L = sum_t(cross_entropy(softmax(V*h_t), y_t)) + 0.5e-3*sum(W^T .^ 2)",
        "train sgd(lr = 0.1, steps = 3)",
        "z = tahn(x)",
      ].join("\n"),
    );
    const scopeOf = (text: string) => tokens.find((t) => t.text.trim() === text)?.scope;
    expect(scopeOf("param")).toBe("storage.type.role.nabla");
    expect(scopeOf("Wxh")).toBe("variable.other.declaration.nabla");
    expect(scopeOf('"W_{xh}"')).toBe("string.quoted.double.latex-name.nabla");
    expect(scopeOf("# the input weights")).toBe("comment.line.number-sign.nabla");
    expect(scopeOf("int")).toBe("storage.modifier.int.nabla");
    expect(scopeOf("tanh")).toBe("support.function.nabla");
    expect(scopeOf("cross_entropy")).toBe("support.function.nabla");
    expect(scopeOf("sum_t")).toBe("support.function.steps.nabla");
    expect(scopeOf("sgd")).toBe("support.function.optimizer.nabla");
    expect(scopeOf("_<")).toBe("punctuation.definition.step.begin.nabla");
    expect(scopeOf(".*")).toBe("keyword.operator.elementwise.nabla");
    expect(scopeOf("./")).toBe("keyword.operator.elementwise.nabla");
    expect(scopeOf("^T")).toBe("keyword.operator.transpose.nabla");
    expect(scopeOf("0.5e-3")).toBe("constant.numeric.nabla");
    expect(scopeOf("loss")).toBe("keyword.other.nabla");
    expect(scopeOf("x_t")).toBe("variable.other.nabla");
    expect(scopeOf("tahn")).toBe("invalid.illegal.unknown-function.nabla");
  });

  it("knows exactly the language's functions: every example tokenizes with no unknown call", async () => {
    const call = JSON.parse(grammarText).repository.call.patterns[0].match as string;
    const inGrammar = new Set(call.replace(/^\\b\(|\)\(\?=.*$/g, "").split("|"));
    expect([...inGrammar].sort()).toEqual([...surfaceNames()].sort());
    const grammar = await loadGrammar();
    for (const file of readdirSync(join(root, "examples")).filter((f) => f.endsWith(".nabla"))) {
      const unknown = tokenize(grammar, readFileSync(join(root, "examples", file), "utf8")).filter((t) =>
        t.scope.startsWith("invalid"),
      );
      expect(unknown, file).toEqual([]);
    }
  });
});
