import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { analyze } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { expectGradientsAgree } from "../support/agree.js";
import { compileOk, maxRelativeError, splitValues } from "../support/check.js";
import { flat, torchAvailable, torchReference } from "../support/torch.js";

const gradientPenalty = readFileSync(
  new URL("../../examples/gradient_penalty.nabla", import.meta.url),
  "utf8",
);

/** Models whose loss holds a gradient, by their name in reference/torch_second_order.py. */
const secondOrder: Record<string, string> = {
  gradient_penalty: gradientPenalty,
  double_backprop: `
    dim N = 3, D = 2, H = 3, K = 3
    input  X: [N, D]
    target labels: [N] int
    param  W1: [D, H]
    param  W2: [H, K]
    E = cross_entropy(softmax(relu(X*W1)*W2), labels) / N
    loss L = E + 0.5*sum(grad(E, X).^2)
    example {
      X = [[1, -0.5], [0.3, 0.8], [-0.7, 0.2]]
      labels = [2, 0, 1]
      W1 = [[0.4, -0.6, 0.3], [0.5, 0.2, -0.4]]
      W2 = [[0.3, -0.2, 0.5], [-0.4, 0.6, 0.1], [0.2, 0.3, -0.5]]
    }`,
  gradient_norm: `
    dim N = 4, D = 3
    input  X: [N, D]
    target y: [N]
    param  w: [D]
    E = sum(sigmoid(X*w) - y)^2
    loss L = E + 0.1*sum(grad(E, w).^2)
    example {
      X = [[1, 0.5, -1], [0, 1, 2], [-1, -0.5, 0.3], [2, 1, 0]]
      y = [1, 0, 0, 1]
      w = [0.2, -0.3, 0.1]
    }`,
};

type Values = Record<string, Float64Array>;
const tensorOf = (data: Float64Array, shape: number[]) => tf.tensor(Array.from(data), shape);

/**
 * The example's critic and penalty written directly in TF.js, its inner gradient taken by
 * tf.grad: independent of nabla's graph, not a translation of it. Only values are compared:
 * TF.js's second derivatives are not reliable (tanh's gradient reads its saved output
 * outside the tape: tf.grad(tf.grad(tf.tanh)) throws, and nested inside a loss it treats
 * 1 − tanh² as a constant), so the loss's gradient is checked by central differences of a
 * forward pass that these values pin down, and against PyTorch's double backward below.
 */
function tfjsCriticPenalty(p: Values, x: Values, N: number, D: number, H: number) {
  const [Xr, Xf, Xm] = ["Xr", "Xf", "Xm"].map((n) => tensorOf(x[n]!, [N, D]) as tf.Tensor2D);
  const W = tensorOf(p.W!, [D, H]) as tf.Tensor2D;
  const critic = (X: tf.Tensor2D) =>
    tf.reshape(
      tf.matMul(tf.tanh(tf.add(tf.matMul(X, W), tensorOf(p.b!, [H]))), tensorOf(p.v!, [H, 1]) as tf.Tensor2D),
      [N],
    );
  const G = tf.grad((X: tf.Tensor) => tf.sum(critic(X as tf.Tensor2D)))(Xm!);
  const n = tf.sqrt(tf.sum(tf.square(G), 1));
  const loss = tf.add(
    tf.sub(tf.mean(critic(Xf!)), tf.mean(critic(Xr!))),
    tf.mul(10, tf.mean(tf.square(tf.sub(n, 1)))),
  );
  return { G: G.dataSync() as Float32Array, loss: loss.dataSync()[0]! };
}

describe("a gradient inside the model: grad(f, x)", () => {
  for (const [name, source] of Object.entries(secondOrder)) {
    it(`${name}: the gradient agrees with central differences and TF.js's translation of the graph`, async () => {
      await expectGradientsAgree(source);
    });

    it.skipIf(!torchAvailable)(
      `${name}: loss and gradient agree with PyTorch's double backward`,
      async () => {
        const compiled = await compileOk(source);
        const mod = await loadModule(compiled.module.javascript);
        const data = splitValues(compiled, compiled.graph.example);
        const generated = mod.gradient(data.params, data.inputs);
        const reference = torchReference("torch_second_order.py", name, compiled.graph.example);
        expect(Math.abs(generated.loss - reference.loss)).toBeLessThan(
          1e-12 + 1e-10 * Math.abs(reference.loss),
        );
        const expected = Object.fromEntries(
          Object.entries(reference.gradients).map(([p, g]) => [p, flat(g)]),
        );
        expect(Object.keys(generated.gradients).sort()).toEqual(Object.keys(expected).sort());
        expect(maxRelativeError(generated.gradients, expected)).toBeLessThan(1e-9);
      },
    );
  }

  it("WGAN-GP: the inner gradient and the loss are TF.js's, computed with its own tf.grad", async () => {
    await tf.setBackend("cpu");
    const compiled = await compileOk(gradientPenalty);
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    const forward = mod.forward(data.params, data.inputs);
    const reference = tf.tidy(() => tfjsCriticPenalty(data.params, data.inputs, 3, 2, 4));
    expect(maxRelativeError({ G: forward.values.G! }, { G: reference.G })).toBeLessThan(1e-5);
    expect(Math.abs(forward.loss - reference.loss)).toBeLessThan(1e-5);
  });

  it.each([
    ["grad(f, x) differentiates a scalar", "G = grad(X*w, X)", "NB3004"],
    ["the second argument must be a name", "G = grad(sum(X*w), 2*X)", "NB2005"],
    ["does not depend on", "G = grad(sum(w), X)", "NB2005"],
    ["is a constant", "G = grad(sum(X*w*c), c)", "NB2005"],
    ["takes a scalar f and the name", "G = grad(sum(X*w))", "NB2005"],
  ])("refuses a bad call, located: %s", (message, equation, code) => {
    const r = analyze(`
      dim N = 2, D = 2
      input X: [N, D]
      param w: [D]
      const c = 2
      ${equation}
      loss L = sum(G.^2) + sum(w)`);
    expect(r.diagnostics.map((d) => d.code)).toEqual([code]);
    expect(r.diagnostics[0]!.message).toContain(message);
    expect(r.diagnostics[0]!.span.line).toBe(6);
  });

  it("refuses a gradient inside a recurrence and one through a recurrence, located", () => {
    const model = (lines: string) => `
      dim T = 3, H = 2
      index t in 1..T
      input x_t: [H]
      param U: [H, H]
      h_0 = 0
      ${lines}`;
    const inside = analyze(model("h_t = tanh(U*h_<t-1> + grad(sum(x_t), x_t))\nloss L = sum(h_T)"));
    expect(inside.diagnostics.map((d) => d.code)).toEqual(["NB2018"]);
    const through = analyze(model("h_t = tanh(U*h_<t-1> + x_t)\nloss L = sum(grad(sum(h_T), U).^2)"));
    expect(through.diagnostics.map((d) => d.code)).toEqual(["NB4002"]);
    expect(through.rendered).toContain("through a recurrence");
  });
});
