import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { analyze } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { compileOk, evaluatorGradient, maxRelativeError, splitValues } from "../support/check.js";

const names = [
  "linear_chain",
  "next_word_rnn",
  "lstm",
  "cnn_lecture",
  "sequence_tagger",
  "deep_over_layers",
  "matrix_two_layer",
];
const examples = names.map((n) =>
  readFileSync(join(import.meta.dirname, `../../examples/${n}.nabla`), "utf8"),
);
const tokens = ["*", "+", "-", ".*", "(", ")", "2", "0", "^T", "t-1", "h_<t-2>", "x", "\n"];

/**
 * Examples with a slice cut out or a token put in: whatever still is a model must compile,
 * and its generated code must agree with the reference evaluator.
 */
describe("mutated examples that are still models", () => {
  it("compile, and their code agrees with the reference evaluator", async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(examples.length - 1),
        fc.nat(5000),
        fc.nat(5),
        fc.constantFrom(...tokens),
        async (e, at, cut, insert) => {
          const example = examples[e]!;
          const where = at % (example.length + 1);
          const text = example.slice(0, where) + insert + example.slice(where + cut);
          const analysis = analyze(text);
          if (!analysis.graph) return;
          const compiled = await compileOk(text);
          const values = compiled.graph.example;
          const complete = compiled.graph.named.every(
            (n) => !["input", "target", "param"].includes(n.kind) || values.has(n.name),
          );
          if (!complete) return;
          const mod = await loadModule(compiled.module.javascript);
          const data = splitValues(compiled, values);
          let generated;
          try {
            generated = mod.gradient(data.params, data.inputs);
          } catch (error) {
            // Worked values whose lengths no longer fit the mutated shapes are refused by the module's own check.
            expect(String(error)).toMatch(/nabla: /);
            return;
          }
          const reference = evaluatorGradient(compiled, values);
          if (!Number.isFinite(reference.loss)) return;
          expect(maxRelativeError(generated.gradients, reference.gradients)).toBeLessThan(1e-9);
          checked++;
        },
      ),
      { numRuns: 150 },
    );
    expect(checked).toBeGreaterThan(10);
  });
});
