import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { loadModule } from "../../src/run.js";
import { compileOk, finiteDifferences, maxRelativeError, splitValues } from "../support/check.js";

/**
 * conv1d as a user writes it, checked against central differences and against TF.js's own
 * tf.conv1d (NWC layout, zero padding added with tf.pad) and its autodiff.
 */
const x = [1, 0, 2, -1, 0.5, 1, 0, 1, -1, 2, 1, 0.5];
const k = [0.1, 0.2, -0.3, 0.4, -0.1, 0.2, -0.2, 0.3, 0.1, 0.1, 0.2, -0.4, 0.3, -0.1, 0.2, -0.2, 0.1, 0.3];
const c = Array.from({ length: 24 }, (_, i) => Math.round(Math.sin(i * 1.7) * 8) / 4);

/** L = Σ c ⊙ relu(conv1d(x, k)) for x [C=2, M=6], k [F=3, C=2, K=3], by TF.js. */
function tfjsConv1d(stride: number, padding: number, outLength: number) {
  const input = tf.transpose(tf.tensor2d(x, [2, 6])).expandDims(0) as tf.Tensor3D; // [1, M, C]
  const padded = tf.pad(input, [
    [0, 0],
    [padding, padding],
    [0, 0],
  ]) as tf.Tensor3D;
  const loss = (kernel: tf.Tensor) => {
    const filter = tf.transpose(kernel, [2, 1, 0]) as tf.Tensor3D; // [K, C, F]
    const out = tf.conv1d(padded, filter, stride, "valid"); // [1, M', F]
    const h = tf.relu(tf.transpose(out.squeeze([0]))); // [F, M']
    return tf.sum(tf.mul(tf.tensor2d(c.slice(0, 3 * outLength), [3, outLength]), h)) as tf.Scalar;
  };
  const kernel = tf.tensor3d(k, [3, 2, 3]);
  return {
    loss: loss(kernel).dataSync()[0]!,
    gradient: Float64Array.from(tf.grad(loss)(kernel).dataSync()),
  };
}

describe("conv1d", () => {
  for (const [stride, padding, outLength] of [
    [1, 0, 4],
    [2, 1, 3],
    [1, 2, 8],
  ] as const)
    it(`stride ${stride}, padding ${padding}: code = finite differences = tf.conv1d`, async () => {
      await tf.setBackend("cpu");
      const compiled = await compileOk(`
        dim C = 2, M = 6, F = 3, K = 3, O = ${outLength}
        input x: [C, M]
        param k: [F, C, K]
        param c: [F, O]
        loss L = sum(c .* relu(conv1d(x, k, stride = ${stride}, padding = ${padding}))) + 0 * sum(c)
        example {
          x = [[${x.slice(0, 6)}], [${x.slice(6)}]]
          k = [[[${k.slice(0, 3)}], [${k.slice(3, 6)}]], [[${k.slice(6, 9)}], [${k.slice(9, 12)}]], [[${k.slice(12, 15)}], [${k.slice(15)}]]]
          c = [${[0, 1, 2].map((f) => `[${c.slice(f * outLength, (f + 1) * outLength).join(", ")}]`).join(", ")}]
        }
      `);
      const mod = await loadModule(compiled.module.javascript);
      const data = splitValues(compiled, compiled.graph.example);
      const generated = mod.gradient(data.params, data.inputs);
      expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
      const independent = tfjsConv1d(stride, padding, outLength);
      expect(Math.abs(generated.loss - independent.loss)).toBeLessThan(1e-5);
      expect(maxRelativeError({ k: generated.gradients.k! }, { k: independent.gradient })).toBeLessThan(1e-4);
    });

  it("a signal with a kernel, and a batch with filters, have the shapes of a 1-D convolution", async () => {
    const signal = await compileOk(
      "dim M = 7\nparam x: [M]\nparam k: [3]\nloss L = sum(conv1d(x, k, padding = 1))",
    );
    expect(signal.graph.nodes[signal.graph.loss]!.kind).toBe("op");
    const out = signal.gradient.nodes.find((n) => n.kind === "op" && n.op === "conv2d")!;
    expect(out.shape).toEqual([1, 7]);
    const batch = await compileOk(
      "dim N, C = 2, M = 6\ninput x: [N, C, M]\nparam k: [4, C, 3]\nloss L = sum(conv1d(x, k))",
    );
    const named = batch.graph.nodes.filter((n) => n.kind === "op" && n.op === "reshape").at(-1)!;
    expect(named.shape).toEqual(["N", 4, 4]);
  });
});

describe("rectangular windows and per-axis strides and paddings", () => {
  it("maxpool(x, size = [2, 3]), avgpool and conv2d(…, stride = [1, 2], padding = [0, 1]) against TensorFlow.js", async () => {
    await tf.setBackend("cpu");
    const { tfjsGradients } = await import("../support/tfjs.js");
    const compiled = await compileOk(
      `
      dim H = 4, W = 6
      param x: [H, W]
      param k: [2, 3]
      loss L = sum(maxpool(x, size = [2, 3], stride = [2, 1]) .^ 2) + sum(avgpool(x, size = [1, 3], stride = [1, 3])) + sum(conv2d(x, k, stride = [1, 2], padding = [0, 1]) .^ 2)
      example {
        x = [[1, 0.5, -1, 2, 0.1, 3], [0, 1.1, 1.8, -0.5, 1.5, 0.2], [-1.2, -0.6, 0.3, 0.9, 2.2, -2], [2.1, 1.3, -0.1, 0.7, -0.3, 1.4]]
        k = [[0.1, -0.2, 0.3], [0.4, 0.1, -0.1]]
      }
    `.replaceAll(".^ 2", "^2"),
    );
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    const generated = mod.gradient(data.params, data.inputs);
    expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
    const independent = tfjsGradients(compiled.graph, compiled.graph.example);
    expect(maxRelativeError(generated.gradients, independent.gradients)).toBeLessThan(1e-4);
    expect(compiled.latex).toContain("2\\times3,s=(2,1)");
  });
});
