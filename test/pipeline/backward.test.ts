import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { loadModule } from "../../src/run.js";
import { compile } from "../../src/index.js";
import { compileOk, finiteDifferences, maxRelativeError } from "../support/check.js";

/**
 * Recurrences that run backwards (g_t = f(g_<t+1>), from a value after the last step) and
 * both directions in one model. Checked against central differences and against TensorFlow.js
 * running the model as written here, step by step with its own autodiff: an implementation
 * that shares nothing with nabla's (no flipped sequences, no IR).
 */
const params = {
  Uf: [0.5, -0.3, 0.2, 0.8],
  Wf: [0.1, 0.4, -0.6, 0.3],
  Ub: [-0.4, 0.3, 0.6, 0.1],
  Wb: [0.2, -0.1, 0.3, 0.5],
  Vf: [0.7, -0.2, 0.1, 0.4],
  Vb: [-0.3, 0.6, 0.5, 0.2],
};
const xs = (t: number) => Array.from({ length: t * 2 }, (_, i) => Math.sin(1 + i * 0.9) * 1.5);
const ys = (t: number) =>
  Array.from({ length: t * 2 }, (_, i) => ((Math.floor(i / 2) + (i % 2)) % 2 === 0 ? 1 : 0));

const bidirectional = (dims: string) => `
  dim ${dims}, D = 2, H = 2, K = 2
  index t in 1..T
  input  x_t: [D]
  target y_t: [K]
  param  Uf: [H, D]
  param  Wf: [H, H]
  param  Ub: [H, D]
  param  Wb: [H, H]
  param  Vf: [K, H]
  param  Vb: [K, H]
  h_0 = 0
  g_<T+1> = 0
  h_t = tanh(Uf*x_t + Wf*h_<t-1>)
  g_t = tanh(Ub*x_t + Wb*g_<t+1>)
  yhat_t = softmax(Vf*h_t + Vb*g_t)
  loss L = sum_t(cross_entropy(yhat_t, y_t))
`;

/** The same model in TF.js, its loops written out: forwards for h, backwards for g. */
function tfjsBidirectional(t: number) {
  const m = (v: number[]) => tf.tensor2d(v, [2, 2]);
  const x = tf.tensor2d(xs(t), [t, 2]);
  const y = tf.tensor2d(ys(t), [t, 2]);
  const names = Object.keys(params) as (keyof typeof params)[];
  const loss = (...w: tf.Tensor[]) => {
    const [Uf, Wf, Ub, Wb, Vf, Vb] = w as tf.Tensor2D[];
    const step = (U: tf.Tensor2D, W: tf.Tensor2D, xt: tf.Tensor, prev: tf.Tensor) =>
      tf.tanh(tf.add(tf.matMul(U, xt.reshape([2, 1])), tf.matMul(W, prev)));
    const h: tf.Tensor[] = [];
    let prev: tf.Tensor = tf.zeros([2, 1]);
    for (let k = 0; k < t; k++) h.push((prev = step(Uf!, Wf!, x.slice([k, 0], [1, 2]), prev)));
    const g: tf.Tensor[] = new Array(t);
    prev = tf.zeros([2, 1]);
    for (let k = t - 1; k >= 0; k--) g[k] = prev = step(Ub!, Wb!, x.slice([k, 0], [1, 2]), prev);
    let total: tf.Scalar = tf.scalar(0);
    for (let k = 0; k < t; k++) {
      const z = tf.add(tf.matMul(Vf!, h[k]!), tf.matMul(Vb!, g[k]!)).reshape([1, 2]);
      total = tf.sub(total, tf.sum(tf.mul(y.slice([k, 0], [1, 2]), tf.logSoftmax(z)))) as tf.Scalar;
    }
    return total;
  };
  const values = names.map((n) => m(params[n]));
  const grads = tf.grads(loss)(values);
  return {
    loss: loss(...values).dataSync()[0]!,
    gradients: Object.fromEntries(names.map((n, i) => [n, Float64Array.from(grads[i]!.dataSync())])),
  };
}

const fresh = () => Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)]));

describe("a recurrence that runs backwards", () => {
  it("computes g from the last step back, as a loop over the steps written out does", async () => {
    const mod = await loadModule(
      (
        await compileOk(`
          dim T, D = 2, H = 2
          index t in 1..T
          input x_t: [D]
          param Ub: [H, D]
          param Wb: [H, H]
          g_<T+1> = 0
          g_t = tanh(Ub*x_t + Wb*g_<t+1>)
          loss L = sum(g_1 .* g_1) + sum_t(sum(g_t))
        `)
      ).module.javascript,
    );
    for (const t of [1, 2, 5]) {
      const x = xs(t);
      const [Ub, Wb] = [params.Ub, params.Wb];
      const g: number[][] = new Array(t);
      let prev = [0, 0];
      for (let k = t - 1; k >= 0; k--)
        g[k] = prev = [0, 1].map((i) =>
          Math.tanh(
            Ub[i * 2]! * x[k * 2]! +
              Ub[i * 2 + 1]! * x[k * 2 + 1]! +
              Wb[i * 2]! * prev[0]! +
              Wb[i * 2 + 1]! * prev[1]!,
          ),
        );
      const expected = g[0]![0]! ** 2 + g[0]![1]! ** 2 + g.flat().reduce((a, v) => a + v, 0);
      const data = {
        params: { Ub: Float64Array.from(Ub), Wb: Float64Array.from(Wb) },
        inputs: { x: Float64Array.from(x) },
      };
      expect(mod.forward(data.params, data.inputs).loss).toBeCloseTo(expected, 12);
      expect(
        maxRelativeError(mod.gradient(data.params, data.inputs).gradients, finiteDifferences(mod, data)),
      ).toBeLessThan(1e-6);
    }
  });

  it("a bidirectional RNN: code = finite differences = TensorFlow.js's loops, for fixed and run-time T", async () => {
    await tf.setBackend("cpu");
    for (const t of [1, 3, 4]) {
      for (const dims of [`T = ${t}`, "T"]) {
        const mod = await loadModule((await compileOk(bidirectional(dims))).module.javascript);
        const data = {
          params: fresh(),
          inputs: { x: Float64Array.from(xs(t)), y: Float64Array.from(ys(t)) },
        };
        const generated = mod.gradient(data.params, data.inputs);
        expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
        const independent = tfjsBidirectional(t);
        expect(Math.abs(independent.loss - generated.loss) / Math.max(1, generated.loss)).toBeLessThan(1e-5);
        expect(maxRelativeError(generated.gradients, independent.gradients)).toBeLessThan(1e-4);
      }
    }
  });

  const errors = async (body: string) =>
    (
      await compile(`dim T = 3, H = 2\nindex t in 1..T\ninput x_t: [H]\nparam W: [H, H]\n${body}`, {
        file: "m.nabla",
      })
    ).rendered ?? "";

  it("say what is wrong with a recurrence that reads the wrong way", async () => {
    expect(await errors("h_0 = 0\nh_t = tanh(W*h_<t+1> + x_t)\nloss L = sum(h_T)")).toMatch(
      /m\.nabla:6:14: error NB2016: 'h_<t\+1>' refers to a future step.*'h' starts from h_0, so read 'h_<t-1>'; a recurrence that runs backwards starts after the last step \('h_<T\+1> = …'\)/,
    );
    expect(await errors("g_t = tanh(W*g_<t+1> + x_t)\nloss L = sum(g_1)")).toMatch(
      /m\.nabla:5:14: error NB2015: 'g' reads later steps, so it runs backwards and needs the value after the last step g_<T\+1>, e.g. 'g_<T\+1> = 0'/,
    );
    expect(
      await errors("h_0 = 0\nh_<T+1> = 0\nh_t = tanh(W*h_<t+1> + W*h_<t-1> + x_t)\nloss L = sum(h_1)"),
    ).toMatch(/error NB2018: 'h' reads both earlier steps \('h_<t-1>'\) and later ones \('h_<t\+1>'\)/);
    expect(
      await errors(
        "h_0 = 0\ng_<T+1> = 0\nh_t = tanh(W*h_<t-1> + g_t)\ng_t = tanh(W*g_<t+1> + h_t)\nloss L = sum(g_1)",
      ),
    ).toMatch(
      /m\.nabla:7:14: error NB2018: 'h' reads earlier steps, but a recurrence that reads later steps needs it at the same step/,
    );
    expect(await errors("h_0 = 0\nh_4 = 1\nh_t = tanh(W*h_<t-1> + x_t)\nloss L = sum(h_T)")).toMatch(
      /m\.nabla:6:1: error NB2020: the steps of 'h' are defined together/,
    );
    expect(await errors("g_<T+1> = 0\ng_t = tanh(W*g_<t+1> + x_<t+1>)\nloss L = sum(g_1)")).toMatch(
      /m\.nabla:6:24: error NB2017: 'x_<t\+1>' reads after the last step of the sequence 'x'/,
    );
  });
});
