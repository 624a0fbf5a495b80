import { describe, expect, it } from "vitest";
import { loadModule } from "../../src/run.js";
import { Evaluator } from "../../src/ir/evaluate.js";
import { compileOk, maxRelativeError, splitValues } from "../support/check.js";

/**
 * Elementwise chains fused into one loop: a fused value read at a broadcast offset (a
 * per-row statistic inside a per-entry expression) must be computed there, not read from a
 * buffer nothing wrote.
 */
describe("fused elementwise chains", () => {
  it("compute a fused per-row value where an entry of the row reads it", async () => {
    const compiled = await compileOk(`
      dim N = 4, D = 3
      input X: [N, D]
      target Y: [N, D]
      param g: [D]
      param b: [D]
      mu = mean(X, axis = 1, keep = 1)
      s2 = mean((X - mu)^2, axis = 1, keep = 1)
      Z = g .* (X - mu) / sqrt(s2 + 0.00001) + b
      loss L = sum((Z - Y)^2) / N
      example {
        X = [[1, 2, 3], [0.5, -1, 2], [3, 3.5, -2], [0, 1, 0.25]]
        Y = [[0.1, 0.2, 0.3], [-0.5, 1, 0], [1, 0, -1], [0.3, 0.2, 0.1]]
        g = [1, 0.5, 2]
        b = [0, 0.1, -0.1]
      }
    `);
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    const { values } = mod.forward(data.params, data.inputs);
    const evaluator = new Evaluator(compiled.gradient.nodes, compiled.graph.example);
    for (const name of ["mu", "s2", "Z", "L"]) {
      const node = compiled.graph.named.find((n) => n.name === name)!.node;
      expect(
        maxRelativeError({ [name]: values[name]! }, { [name]: evaluator.value(node).data }),
        name,
      ).toBeLessThan(1e-12);
    }
  });
});
