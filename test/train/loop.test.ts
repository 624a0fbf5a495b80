import { describe, expect, it } from "vitest";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import {
  accuracy,
  permutation,
  seededRandom,
  modelSteps,
  train,
  type TrainableModule,
} from "../../src/train/loop.js";
import type { DataSet } from "../../src/train/data.js";

const LINE = `model Line
dim N
input x: [N]
target y: [N]
param w
param b
loss L = sum((w*x + b - y)^2) / N
example {
  x = [1]
  y = [1]
  w = 0
  b = 0
}
train sgd(lr = 0.1, steps = 1)
`;

const xs = [1, 2, 3, 4, 5];
const ys = [3, 5, 6, 9, 11];
const data: DataSet = {
  rows: 5,
  tensors: new Map([
    ["x", { shape: [5], data: Float64Array.from(xs) }],
    ["y", { shape: [5], data: Float64Array.from(ys) }],
  ]),
};

/** One SGD step of least squares by hand on some rows: the loss before it and the new w, b. */
function handStep(w: number, b: number, rows: number[], lr: number) {
  const n = rows.length;
  let loss = 0;
  let gw = 0;
  let gb = 0;
  for (const r of rows) {
    const e = w * xs[r]! + b - ys[r]!;
    loss += (e * e) / n;
    gw += (2 * e * xs[r]!) / n;
    gb += (2 * e) / n;
  }
  return { loss, w: w - lr * gw, b: b - lr * gb };
}

async function lineModule(): Promise<TrainableModule> {
  const result = await compile(LINE, { file: "line.nabla" });
  return (await loadModule(result.module!.javascript)) as unknown as TrainableModule;
}

describe("the training loop", () => {
  it("takes the SGD steps of least squares computed by hand, on minibatches in the seeded order", async () => {
    const mod = await lineModule();
    const params = { w: Float64Array.of(0.5), b: Float64Array.of(-0.5) };
    const lr = 0.02;
    const outcome = await train({
      params,
      fixedInputs: {},
      train: data,
      batchDim: "N",
      dims: {},
      epochs: 2,
      batch: 2,
      seed: 42,
      step: modelSteps(mod, lr),
      forward: mod.forward,
    });
    expect(outcome.kind).toBe("done");
    // By hand: the same shuffles, minibatches of 2, 2 and 1 row.
    const random = seededRandom(42);
    let w = 0.5;
    let b = -0.5;
    const epochLosses: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      const order = [...permutation(5, random)];
      let sum = 0;
      for (const rows of [order.slice(0, 2), order.slice(2, 4), order.slice(4)]) {
        const s = handStep(w, b, rows, lr);
        sum += s.loss * rows.length;
        w = s.w;
        b = s.b;
      }
      epochLosses.push(sum / 5);
    }
    expect(params.w[0]).toBeCloseTo(w, 12);
    expect(params.b[0]).toBeCloseTo(b, 12);
    expect(outcome.history.map((r) => r.epoch)).toEqual([1, 2]);
    outcome.history.forEach((r, i) => expect(r.trainLoss).toBeCloseTo(epochLosses[i]!, 12));
  });

  it("takes the model's own optimiser's steps, Adam's moments carried from step to step, by hand", async () => {
    const result = await compile(
      LINE.replace("train sgd(lr = 0.1, steps = 1)", "train adam(lr = 0.1, steps = 1)"),
      {
        file: "line.nabla",
      },
    );
    const mod = (await loadModule(result.module!.javascript)) as unknown as TrainableModule;
    const params = { w: Float64Array.of(0), b: Float64Array.of(0) };
    await train({
      params,
      fixedInputs: {},
      train: data,
      batchDim: "N",
      dims: {},
      epochs: 3,
      batch: 5,
      seed: 1,
      step: modelSteps(mod, 0.1),
      forward: mod.forward,
    });
    // Adam by hand (PyTorch's defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8) on the full-batch gradients.
    const theta = [0, 0];
    const m = [0, 0];
    const v = [0, 0];
    for (let t = 1; t <= 3; t++) {
      const all = [0, 1, 2, 3, 4];
      const n = all.length;
      const g = [0, 0];
      for (const r of all) {
        const e = theta[0]! * xs[r]! + theta[1]! - ys[r]!;
        g[0]! += (2 * e * xs[r]!) / n;
        g[1]! += (2 * e) / n;
      }
      for (let k = 0; k < 2; k++) {
        m[k] = 0.9 * m[k]! + 0.1 * g[k]!;
        v[k] = 0.999 * v[k]! + 0.001 * g[k]! ** 2;
        const mHat = m[k]! / (1 - 0.9 ** t);
        const vHat = v[k]! / (1 - 0.999 ** t);
        theta[k] = theta[k]! - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8);
      }
    }
    expect(params.w[0]).toBeCloseTo(theta[0]!, 12);
    expect(params.b[0]).toBeCloseTo(theta[1]!, 12);
  });

  it("with one minibatch of every row takes full-batch gradient steps, whatever the shuffle", async () => {
    const mod = await lineModule();
    const params = { w: Float64Array.of(0), b: Float64Array.of(0) };
    const outcome = await train({
      params,
      fixedInputs: {},
      train: data,
      valid: data,
      batchDim: "N",
      dims: {},
      epochs: 3,
      batch: 100,
      seed: 1,
      step: modelSteps(mod, 0.05),
      forward: mod.forward,
    });
    let s = { loss: 0, w: 0, b: 0 };
    for (let i = 0; i < 3; i++) s = handStep(s.w, s.b, [0, 1, 2, 3, 4], 0.05);
    expect(params.w[0]).toBeCloseTo(s.w, 12);
    expect(params.b[0]).toBeCloseTo(s.b, 12);
    // The validation loss after the last epoch is the loss at the final params.
    expect(outcome.history[2]!.validLoss).toBeCloseTo(handStep(s.w, s.b, [0, 1, 2, 3, 4], 0).loss, 12);
  });

  it("stops where it is asked to and records the part of the epoch it took", async () => {
    const mod = await lineModule();
    const params = { w: Float64Array.of(0), b: Float64Array.of(0) };
    let steps = 0;
    const outcome = await train({
      params,
      fixedInputs: {},
      train: data,
      batchDim: "N",
      dims: {},
      epochs: 5,
      batch: 1,
      seed: 3,
      step: modelSteps(mod, 0.01),
      forward: mod.forward,
      onStep: () => steps++,
      shouldStop: () => steps === 7,
    });
    expect(outcome).toMatchObject({ kind: "interrupted", epoch: 2, step: 2 });
    expect(outcome.history.map((r) => r.epoch)).toEqual([1, 1.4]);
    expect(outcome.history[1]!.partial).toEqual({ step: 2, steps: 5 });
  });

  it("shuffles every row once per epoch, the same for the same seed", () => {
    const a = permutation(50, seededRandom(9));
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...permutation(50, seededRandom(9))]).toEqual([...a]);
    expect([...permutation(50, seededRandom(10))]).not.toEqual([...a]);
  });

  it("counts argmax accuracy against labels and one-hot rows", () => {
    const p = Float64Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]);
    expect(accuracy(p, Float64Array.from([0, 1, 1]), 3)).toBeCloseTo(2 / 3, 12);
    expect(accuracy(p, Float64Array.from([1, 0, 0, 1, 1, 0]), 3)).toBe(1);
  });
});
