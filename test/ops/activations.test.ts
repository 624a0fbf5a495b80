import { describe, expect, it } from "vitest";
import { loadModule } from "../../src/run.js";
import { allOps } from "../../src/ops/registry.js";
import { compileOk } from "../support/check.js";
import { expectGradientsAgree } from "../support/agree.js";

/**
 * The activations, comparisons and case distinctions as a user writes them, through the
 * whole pipeline: generated code against central differences and against TensorFlow.js's
 * own ops and autodiff (an independent definition of each, not nabla's expansion).
 */
const uses = [
  "gelu(z)",
  "elu(z)",
  "elu(z, alpha = 0.5)",
  "silu(z)",
  "mish(z)",
  "softsign(z)",
  "softplus(z)",
  "leaky_relu(z, alpha = 0.1)",
  "huber(z)",
  "huber(z, delta = 0.5)",
  "clamp(z, -1, 1)",
  "max(z, 0)",
  "min(z, w)",
  "max(0, 1 - w .* z)",
  "where(z > 0, z, 0.1 * z)",
  "where(z <= w, z .* w, exp(z))",
  "(z >= w) .* z + (z != w) .* w",
  "erf(z)",
  "log1p(exp(z))",
];

describe("activations and case distinctions", () => {
  for (const use of uses)
    it(`${use}: code = finite differences = TensorFlow.js`, async () => {
      // w only where the use reads it: TF.js refuses a gradient for a param the loss ignores.
      const w = /\bw\b/.test(use);
      await expectGradientsAgree(`
        dim K = 6
        param z: [K]
        ${w ? "param w: [K]" : ""}
        param c: [K]
        loss L = sum(c .* ${use})
        example {
          z = [1.5, -0.7, 0.3, -2.1, 2.6, -0.05]
          ${w ? "w = [0.4, -0.9, 0.8, 0.2, -1.3, 0.6]" : ""}
          c = [1, -2, 3, 0.5, 1.5, -1]
        }
      `);
    });

  it("at logits of ±800 stay finite, with finite gradients", async () => {
    for (const f of ["gelu", "elu", "silu", "softplus", "leaky_relu", "huber"]) {
      const compiled = await compileOk(`dim K = 2\nparam z: [K]\nloss L = sum(${f}(z))`);
      const mod = await loadModule(compiled.module.javascript);
      const { loss, gradients } = mod.gradient({ z: Float64Array.of(800, -800) }, {});
      expect(Number.isFinite(loss), f).toBe(true);
      expect([...gradients.z!].every(Number.isFinite), f).toBe(true);
    }
  });

  it("the primitives are fewer than the ops: composites are defined by expansion", () => {
    const composites = allOps()
      .filter((d) => d.composite)
      .map((d) => d.name);
    expect(composites).toEqual(
      expect.arrayContaining(["softplus", "leaky_relu", "elu", "gelu", "silu", "clamp", "huber"]),
    );
  });
});
