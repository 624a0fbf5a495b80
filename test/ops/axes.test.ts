import { describe, expect, it } from "vitest";
import { loadModule } from "../../src/run.js";
import { compileOk, splitValues } from "../support/check.js";
import { expectGradientsAgree } from "../support/agree.js";

/**
 * Softmax, log-softmax, sums and means over a chosen axis, as a user writes them: the
 * generated gradient against central differences and TensorFlow.js's autodiff.
 */
const uses = [
  "softmax(Z, axis = 0)",
  "softmax(Z, axis = -1)",
  "log_softmax(Z, axis = 0)",
  "softmax(Z, axis = 1) .* log_softmax(Z, axis = 0)",
  "Z - mean(Z, axis = 0, keep = 1)",
  "sum(exp(Z), axis = 1, keep = 1) .* Z",
];

describe("reductions and softmax over a chosen axis", () => {
  for (const use of uses)
    it(`${use}: code = finite differences = TensorFlow.js`, async () => {
      await expectGradientsAgree(`
        dim N = 3, K = 4
        param Z: [N, K]
        param C: [N, K]
        loss L = sum(C .* ${use})
        example {
          Z = [[1.5, -0.7, 0.3, -2.1], [2.6, -0.05, 0.4, 1.1], [-0.3, 0.8, -1.2, 0.2]]
          C = [[1, -2, 3, 0.5], [1.5, -1, 0.25, 2], [-0.5, 1, 2, -1.5]]
        }
      `);
    });

  it("each column of a column softmax sums to one", async () => {
    const compiled = await compileOk(`
      dim N = 3, K = 2
      input Z: [N, K]
      P = softmax(Z, axis = 0)
      loss L = sum(P)
      example { Z = [[1, 5], [2, -1], [800, 0]] }
    `);
    const mod = await loadModule(compiled.module.javascript);
    const P = mod.forward({}, splitValues(compiled, compiled.graph.example).inputs).values.P!;
    expect(P[0]! + P[2]! + P[4]!).toBeCloseTo(1, 12);
    expect(P[1]! + P[3]! + P[5]!).toBeCloseTo(1, 12);
    expect(P[4]).toBe(1);
  });

  it("an axis the value lacks is a located error", async () => {
    const { compile } = await import("../../src/index.js");
    const r = await compile("dim K = 3\nparam z: [K]\nloss L = sum(softmax(z, axis = 1))", {
      file: "m.nabla",
    });
    expect(r.rendered).toMatch(/m\.nabla:3:\d+: error NB\d+: .*axis 1 is not an axis of \[3\]/);
  });
});
