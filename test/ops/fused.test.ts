import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
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

  it("the handout writes ŷ − y where the example's targets sum to one per row, and what is computed where not", async () => {
    const model = (Y: string) => `
      dim N = 2, K = 3
      input X: [N, K]
      target Y: [N, K]
      param W: [K, K]
      P = softmax(X*W)
      loss L = cross_entropy(P, Y)
      example {
        X = [[1, 0, 2], [0.5, 1, -1]]
        Y = ${Y}
        W = [[0.1, 0.2, 0], [0, 0.1, -0.1], [0.3, 0, 0.2]]
      }`;
    const oneHot = await compileOk(model("[[0, 1, 0], [0.2, 0.3, 0.5]]"));
    expect(oneHot.latex).toContain("{X}^{\\top} \\left(P - Y\\right)");
    const multiHot = await compileOk(model("[[1, 1, 0], [0, 0.5, 0]]"));
    expect(multiHot.latex).not.toContain("P - Y");
    expect(multiHot.latex).toContain("{X}^{\\top} \\left(P \\odot \\textstyle\\sum_j Y - Y\\right)");
  });
});

describe("non-finite results that have a finite answer", () => {
  async function gradientAt(source: string, params: Record<string, number[]>) {
    const mod = await loadModule((await compileOk(source)).module.javascript);
    const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)]));
    return mod.gradient(p, {});
  }

  it("w^0 has derivative 0, also at w = 0", async () => {
    const { loss, gradients } = await gradientAt("param w = 0\nloss L = sum(w^0)", { w: [0] });
    expect(loss).toBe(1);
    expect(gradients.w![0]).toBe(0);
  });

  // Large logits: each written form against its stable form, by value and by gradient.
  const logits = [800, -800, 0, 30, -30, 1e-3];
  const pairs: [string, string][] = [
    ["log(softmax(z))", "log_softmax(z)"],
    ["log(sigmoid(z))", "-softplus(-z)"],
    ["log(1 + exp(z))", "softplus(z)"],
    ["log(exp(z) + 1)", "softplus(z)"],
    ["log(exp(z))", "z"],
  ];
  const reference: Record<string, (z: tf.Tensor) => tf.Tensor> = {
    "log(softmax(z))": (z) => tf.logSoftmax(z),
    "log(sigmoid(z))": (z) => tf.logSigmoid(z),
    "log(1 + exp(z))": (z) => tf.softplus(z),
    "log(exp(z) + 1)": (z) => tf.softplus(z),
    "log(exp(z))": (z) => z,
  };
  for (const [written, stable] of pairs)
    it(`${written} is computed as ${stable}: finite and equal`, async () => {
      const model = (e: string) => `dim K = 6\nparam z: [K]\nparam c: [K]\nloss L = sum(c .* ${e})`;
      const params = { z: logits, c: [1, 2, 3, 4, 5, 6] };
      const a = await gradientAt(model(written), params);
      const b = await gradientAt(model(stable), params);
      expect(Number.isFinite(a.loss)).toBe(true);
      expect(a.loss).toBeCloseTo(b.loss, 9);
      for (let i = 0; i < logits.length; i++) {
        expect(Number.isFinite(a.gradients.z![i]!)).toBe(true);
        expect(a.gradients.z![i]).toBeCloseTo(b.gradients.z![i]!, 9);
      }
      // TensorFlow.js's own stable ops and autodiff, in float32.
      const c = tf.tensor1d(params.c);
      const f = (z: tf.Tensor) => tf.sum(tf.mul(c, reference[written]!(z))) as tf.Scalar;
      const z = tf.tensor1d(logits);
      const loss = f(z).dataSync()[0]!;
      const grad = tf.grad(f)(z).dataSync();
      expect(Math.abs(a.loss - loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(loss)));
      for (let i = 0; i < logits.length; i++)
        expect(Math.abs(a.gradients.z![i]! - grad[i]!)).toBeLessThan(1e-5);
    });

  it("the handout says which form it computes", async () => {
    const r = await compileOk("dim K = 2\nparam z: [K]\nloss L = -sum(log(sigmoid(z)))");
    expect(r.latex).toContain("\\log\\sigma");
    expect(r.latex).toContain("-\\operatorname{softplus}(-a)");
  });
});
