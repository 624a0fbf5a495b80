import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { loadModule } from "../../src/run.js";
import { compile } from "../../src/index.js";
import { compileOk, finiteDifferences, maxRelativeError, splitValues } from "../support/check.js";

/**
 * Batched products, reshapes and reordered axes, as multi-head attention writes them.
 * Checked against central differences and against TensorFlow.js computing the heads its own
 * way — one head at a time, each a slice of the projection's columns, then concatenated —
 * with its own autodiff.
 */
const model = `
  dim T = 4, D = 4, Hn = 2, Dk = 2
  input  X: [T, D]
  target Y: [T, D]
  param  Wq: [D, D]
  param  Wk: [D, D]
  param  Wv: [D, D]
  param  Wo: [D, D]
  const  M[i, j]: [T, T] = where(j <= i, 0, -1e9)
  Q = permute(reshape(X * Wq, [T, Hn, Dk]), [1, 0, 2])
  K = permute(reshape(X * Wk, [T, Hn, Dk]), [1, 0, 2])
  V = permute(reshape(X * Wv, [T, Hn, Dk]), [1, 0, 2])
  A = softmax(Q * K^T / sqrt(Dk) + M)
  H = reshape(permute(A * V, [1, 0, 2]), [T, D])
  loss L = sum((H * Wo - Y)^2) / T
`;
const values = {
  X: [1, 0, 0.5, -0.2, 0, 1, -0.5, 0.3, 1, 1, 0, 0.1, 0.5, -1, 1, 0],
  Y: [0.5, 0, 0.5, 0, 0, 0.5, 0, 0.2, 0.5, 0.5, 0.5, 0, 0, 0, 1, -0.1],
  Wq: [0.4, -0.2, 0.1, 0.3, 0.1, 0.3, -0.2, 0.2, -0.3, 0.5, 0.2, -0.1, 0.2, 0.1, 0.4, 0.3],
  Wk: [0.2, 0.1, -0.3, 0.4, -0.4, 0.3, 0.1, 0.2, 0.5, -0.1, 0.2, 0.1, 0.1, 0.2, -0.2, 0.3],
  Wv: [0.6, -0.1, 0.2, 0.1, 0.1, 0.5, -0.3, 0.2, -0.2, 0.3, 0.7, -0.1, 0.3, -0.2, 0.1, 0.4],
  Wo: [0.5, 0.1, -0.2, 0.3, -0.1, 0.4, 0.2, 0.1, 0.2, -0.3, 0.6, 0.1, 0.1, 0.2, -0.1, 0.5],
};

/** Multi-head attention the way a loop over heads computes it, in TF.js. */
function tfjsHeads() {
  const X = tf.tensor2d(values.X, [4, 4]);
  const Y = tf.tensor2d(values.Y, [4, 4]);
  const mask = tf.tensor2d([0, -1e9, -1e9, -1e9, 0, 0, -1e9, -1e9, 0, 0, 0, -1e9, 0, 0, 0, 0], [4, 4]);
  const names = ["Wq", "Wk", "Wv", "Wo"] as const;
  const loss = (...w: tf.Tensor[]) => {
    const [Wq, Wk, Wv, Wo] = w as tf.Tensor2D[];
    const heads: tf.Tensor2D[] = [];
    for (let h = 0; h < 2; h++) {
      const cols = (W: tf.Tensor2D) => tf.matMul(X, W.slice([0, h * 2], [4, 2]));
      const [q, k, v] = [cols(Wq!), cols(Wk!), cols(Wv!)];
      const a = tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(2)), mask)) as tf.Tensor2D;
      heads.push(tf.matMul(a, v));
    }
    return tf.div(tf.sum(tf.square(tf.sub(tf.matMul(tf.concat(heads, 1), Wo!), Y))), 4) as tf.Scalar;
  };
  const w = names.map((n) => tf.tensor2d(values[n], [4, 4]));
  const grads = tf.grads(loss)(w);
  return {
    loss: loss(...w).dataSync()[0]!,
    gradients: Object.fromEntries(names.map((n, i) => [n, Float64Array.from(grads[i]!.dataSync())])),
  };
}

describe("batched products, reshapes and permutations", () => {
  it("multi-head attention: code = finite differences = TensorFlow.js head by head", async () => {
    await tf.setBackend("cpu");
    const mod = await loadModule((await compileOk(model)).module.javascript);
    const data = {
      params: { Wq: values.Wq, Wk: values.Wk, Wv: values.Wv, Wo: values.Wo },
      inputs: { X: values.X, Y: values.Y },
    };
    const f64 = (r: Record<string, number[]>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));
    const d = { params: f64(data.params), inputs: f64(data.inputs) };
    const generated = mod.gradient(d.params, d.inputs);
    expect(maxRelativeError(generated.gradients, finiteDifferences(mod, d))).toBeLessThan(1e-6);
    const independent = tfjsHeads();
    expect(Math.abs(independent.loss - generated.loss)).toBeLessThan(1e-5);
    expect(maxRelativeError(generated.gradients, independent.gradients)).toBeLessThan(1e-4);
  });

  it("a stack of matrices times a shared matrix, and its transpose, against central differences", async () => {
    const compiled = await compileOk(`
      dim B = 3, M = 2, K = 4, N = 3
      param S: [B, M, K]
      param W: [K, N]
      param C: [B, N, M]
      loss L = sum(C .* (S * W)^T) + sum(S * S^T)
      example {
        S = [[[0.1, 0.2, -0.3, 0.4], [0.5, -0.6, 0.7, 0.1]], [[0.3, 0.1, 0.2, -0.1], [0.2, 0.4, -0.5, 0.3]], [[-0.2, 0.6, 0.1, 0.2], [0.1, -0.3, 0.2, 0.5]]]
        W = [[0.2, -0.1, 0.3], [0.4, 0.2, -0.2], [0.1, 0.5, 0.3], [-0.3, 0.1, 0.2]]
        C = [[[1, -1], [0.5, 2], [0.3, 0.2]], [[-0.5, 1], [1, 0.1], [0.2, -0.4]], [[0.7, 0.3], [-1, 0.6], [0.5, 0.5]]]
      }
    `);
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    expect(
      maxRelativeError(mod.gradient(data.params, data.inputs).gradients, finiteDifferences(mod, data)),
    ).toBeLessThan(1e-6);
  });

  const errors = async (body: string) =>
    (await compile(`dim T = 4, D = 6, H = 2\nparam X: [T, D]\n${body}`, { file: "m.nabla" })).rendered ?? "";

  it("locate what does not fit", async () => {
    expect(await errors("loss L = sum(reshape(X, [T, H, 4]))")).toMatch(
      /m\.nabla:3:14: error NB\d+: .*cannot reshape \[4, 6\] to \[4, 2, 4\]/,
    );
    expect(await errors("loss L = sum(reshape(X, [T, 6, K]))")).toMatch(
      /m\.nabla:3:25: error NB2005: 'shape' of reshape must be a shape in brackets: sizes and dim names/,
    );
    expect(await errors("loss L = sum(permute(reshape(X, [T, H, 3]), [0, 0, 1]))")).toMatch(
      /error NB\d+: .*permute needs each axis of \[4, 2, 3\] once, numbered from 0: got \[0, 0, 1\]/,
    );
    expect(await errors("loss L = sum(permute(X, [0, 1, 2]))")).toMatch(
      /error NB\d+: .*permute needs each axis of \[4, 6\] once, numbered from 0: got \[0, 1, 2\]/,
    );
    expect(await errors("loss L = sum(reshape(X, [T, H, 3]) * reshape(X, [H, 3, T]))")).toMatch(
      /error NB3\d+: .*the stacks hold 4 and 2 matrices/,
    );
    expect(await errors("loss L = sum(reshape(X, [2, 2, 2, 3]) * reshape(X, [2, 4, 3, 1]))")).toMatch(
      /error NB3\d+: .*the stacks' leading axes differ, \[2, 2\] and \[2, 4\]/,
    );
  });
});
