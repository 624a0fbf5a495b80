import { describe, expect, it } from "vitest";
import { loadModule } from "../../src/run.js";
import { compileOk } from "../support/check.js";

describe("fused rules keep losses finite where the naive formula overflows", () => {
  it("softmax + cross-entropy at logits of ±1000 gives the exact loss and ŷ − y", async () => {
    const compiled = await compileOk(`
      input z0: [3]
      target y: [3]
      param b: [3]
      yhat = softmax(z0 + b)
      loss L = cross_entropy(yhat, y)
    `);
    expect(compiled.gradient.nodes.some((n) => n.kind === "op" && n.op === "softmax_cross_entropy")).toBe(
      true,
    );
    const mod = await loadModule(compiled.module.javascript);
    const params = { b: new Float64Array([0, 0, 0]) };
    const inputs = {
      z0: new Float64Array([1000, -1000, 0]),
      y: new Float64Array([0, 1, 0]),
    };
    const { loss, gradients } = mod.gradient(params, inputs);
    // log-sum-exp by hand: lse = 1000 + log(1 + e^-2000 + e^-1000) = 1000; L = lse - z[1] = 2000.
    expect(loss).toBe(2000);
    expect(Array.from(gradients.b!)).toEqual([1, -1, 0]);
  });

  it("sigmoid + BCE at logits of ±1000 gives softplus and σ(z) − y", async () => {
    const compiled = await compileOk(`
      input z0: [2]
      target y: [2]
      param b: [2]
      p = sigmoid(z0 + b)
      loss L = bce(p, y)
    `);
    const mod = await loadModule(compiled.module.javascript);
    const { loss, gradients } = mod.gradient(
      { b: new Float64Array([0, 0]) },
      { z0: new Float64Array([1000, -1000]), y: new Float64Array([0, 0]) },
    );
    // -log(1 - σ(1000)) = softplus(1000) = 1000; -log(1 - σ(-1000)) = softplus(-1000) ≈ e^-1000 = 0.
    expect(loss).toBe(1000);
    expect(Array.from(gradients.b!)).toEqual([1, 0]);
  });

  it("soft labels that do not sum to one still get the exact gradient p·Σy − y", async () => {
    const compiled = await compileOk(`
      target y: [2]
      param z: [2]
      loss L = cross_entropy(softmax(z), y)
    `);
    const mod = await loadModule(compiled.module.javascript);
    const z = new Float64Array([0.3, -0.2]);
    const y = new Float64Array([0.5, 0.9]);
    const { gradients } = mod.gradient({ z }, { y });
    const e = [Math.exp(0.3), Math.exp(-0.2)];
    const p = e.map((v) => v / (e[0]! + e[1]!));
    expect(gradients.z![0]).toBeCloseTo(p[0]! * 1.4 - 0.5, 14);
    expect(gradients.z![1]).toBeCloseTo(p[1]! * 1.4 - 0.9, 14);
  });
});
