import { describe, expect, it } from "vitest";
import { loadModule } from "../../src/run.js";
import { compileOk, finiteDifferences, maxRelativeError } from "../support/check.js";

const source = `
  dim N, D = 3, K = 2
  input X: [N, D]
  target Y: [N, K]
  param W: [D, K]
  param b: [K]
  P = softmax(X*W + b)
  loss L = cross_entropy(P, Y) / N
`;

function data(n: number, seed: number) {
  let s = seed;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const X = Float64Array.from({ length: n * 3 }, r);
  const Y = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) Y[i * 2 + (i % 2)] = 1;
  return { X, Y };
}

describe("dims bound at run time", () => {
  it("take their size from the data, call after call", async () => {
    const compiled = await compileOk(source);
    const mod = await loadModule(compiled.module.javascript);
    const params = {
      W: Float64Array.from([0.1, -0.2, 0.3, 0.4, -0.5, 0.6]),
      b: new Float64Array([0.05, -0.05]),
    };
    for (const n of [1, 5, 2, 7]) {
      const inputs = data(n, 7 + n);
      const { gradients } = mod.gradient(params, inputs);
      expect(maxRelativeError(gradients, finiteDifferences(mod, { params, inputs }))).toBeLessThan(1e-6);
      expect(mod.forward(params, inputs).values.P!.length).toBe(n * 2);
    }
  });

  it("reject data whose lengths do not fit the shapes", async () => {
    const mod = await loadModule((await compileOk(source)).module.javascript);
    const params = { W: new Float64Array(6), b: new Float64Array(2) };
    expect(() => mod.gradient(params, { X: new Float64Array(7), Y: new Float64Array(4) })).toThrow(
      /dim N must be a positive integer/,
    );
    expect(() => mod.gradient(params, { X: new Float64Array(6), Y: new Float64Array(6) })).toThrow(
      /Y has 6 elements, expected 4/,
    );
    expect(() => mod.gradient({ W: new Float64Array(5), b: new Float64Array(2) }, data(2, 1))).toThrow(
      /W has 5 elements, expected 6/,
    );
  });
});

describe("values whose shape has a run-time dim", () => {
  const rnn = (init: string) => `
    dim N, D = 2, H = 3
    index t in 1..3
    input x_t: [N, D]
    param Wx: [D, H]
    param Wh: [H, H]
    ${init}
    h_t = tanh(x_t * Wx + h_<t-1> * Wh)
    loss L = sum(h_3 .* h_3) / N
  `;
  const params = () => ({
    Wx: Float64Array.from([0.3, -0.2, 0.5, 0.4, 0.1, -0.6]),
    Wh: Float64Array.from([0.2, -0.1, 0.3, 0.0, 0.4, -0.2, 0.1, 0.2, 0.3]),
  });
  /** Three steps of N samples, each sample's steps a fixed function of its number. */
  const sequence = (n: number) =>
    Float64Array.from({ length: 3 * n * 2 }, (_, i) => Math.sin(1 + i * 0.7) * (1 + (i % 3)));
  /** One sample's steps out of a batch's: the sample's loss must not depend on the others. */
  const sample = (x: Float64Array, n: number, k: number) =>
    Float64Array.from({ length: 6 }, (_, i) => x[(Math.floor(i / 2) * n + k) * 2 + (i % 2)]!);

  for (const [what, init] of [
    ["a batch of initial states declared as a const filled with 0", "const h0: [N, H] = 0\n    h_0 = h0"],
    ["a batch of initial states given as a bare 0", "h_0 = 0"],
  ]) {
    it(`${what}: each sample runs on its own, and the gradient is right`, async () => {
      const mod = await loadModule((await compileOk(rnn(init!))).module.javascript);
      const one = await loadModule(
        (await compileOk(rnn(init!).replace("dim N,", "dim N = 1,"))).module.javascript,
      );
      for (const n of [1, 4]) {
        const x = sequence(n);
        const batch = mod.forward(params(), { x }).loss;
        let separate = 0;
        for (let k = 0; k < n; k++) separate += one.forward(params(), { x: sample(x, n, k) }).loss;
        expect(Math.abs(batch - separate / n)).toBeLessThan(1e-12);
        const data = { params: params(), inputs: { x } };
        expect(
          maxRelativeError(mod.gradient(data.params, data.inputs).gradients, finiteDifferences(mod, data)),
        ).toBeLessThan(1e-6);
      }
    });
  }

  it("a const of ones sized by the data sums each column", async () => {
    const mod = await loadModule(
      (
        await compileOk(`
          dim N, D = 2
          input X: [N, D]
          const ones: [N] = 1
          param w: [D]
          loss L = sum(ones .* (X * w))
        `)
      ).module.javascript,
    );
    for (const n of [1, 3]) {
      const X = Float64Array.from({ length: n * 2 }, (_, i) => i + 1);
      const { gradients } = mod.gradient({ w: Float64Array.from([0.1, 0.2]) }, { X });
      const columns = [0, 1].map((j) => X.filter((_, i) => i % 2 === j).reduce((a, v) => a + v, 0));
      expect([...gradients.w!]).toEqual(columns);
    }
  });
});

describe("the gradient grows linearly with the model", () => {
  const deep = (layers: number) => {
    const lines = ["dim D = 4", "input x: [D]", "target y: [D]"];
    let h = "x";
    for (let l = 0; l < layers; l++) {
      lines.push(`param W${l}: [D, D]`, `param b${l}: [D]`, `h${l} = tanh(W${l}*${h} + b${l})`);
      h = `h${l}`;
    }
    lines.push(`loss L = sum((${h} - y)^2)`);
    return lines.join("\n");
  };
  it("doubling the depth at most doubles the gradient's nodes", async () => {
    const size = async (layers: number) => {
      const c = await compileOk(deep(layers));
      return c.gradient.nodes.length - c.gradient.forwardCount;
    };
    const [s8, s16, s32] = [await size(8), await size(16), await size(32)];
    expect(s16).toBeLessThanOrEqual(2 * s8 + 8);
    expect(s32).toBeLessThanOrEqual(2 * s16 + 8);
  });
});
