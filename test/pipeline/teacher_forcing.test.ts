import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { loadModule } from "../../src/run.js";
import { compile } from "../../src/index.js";
import { compileOk, finiteDifferences, maxRelativeError, splitValues } from "../support/check.js";
import { tfjsGradients } from "../support/tfjs.js";

/**
 * A sequence read at an earlier step inside a recurrence, from given values before its
 * first step: teacher forcing feeds the true previous output y_<t-1> (y_0 = a start value),
 * and a backward recurrence may read x_<t+1> with x_<T+1> given.
 */
const forcing = (extra: string) => `
  dim T = 4, K = 2, H = 3
  index t in 1..T
  input  x_t: [K]
  target y_t: [K]
  param  W: [H, K]
  param  U: [H, H]
  param  V: [K, H]
  param  y0: [K]
  ${extra}
  h_0 = 0
  y_0 = y0
  y_<-1> = 0.5
  h_t = tanh(W*y_<t-1> + U*h_<t-1> + W*(x_t .* y_<t-2>))
  yhat_t = softmax(V*h_t)
  loss L = sum_t(cross_entropy(yhat_t, y_t))
  example {
    x = [[0.5, -1], [1, 0.2], [-0.3, 0.8], [0.1, 0.1]]
    y = [[1, 0], [0, 1], [1, 0], [0, 1]]
    W = [[0.5, -0.3], [0.2, 0.8], [-0.4, 0.1]]
    U = [[0.1, 0.4, 0], [-0.6, 0.3, 0.2], [0.2, -0.1, 0.3]]
    V = [[0.7, -0.2, 0.3], [0.1, 0.4, -0.5]]
    y0 = [0.3, 0.7]
  }
`;

describe("a sequence read at earlier steps (teacher forcing)", () => {
  it("reads the given values before the first step: a loop written out agrees, gradients too", async () => {
    await tf.setBackend("cpu");
    const compiled = await compileOk(forcing(""));
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    const ex = (n: string) => [...compiled.graph.example.get(n)!.data];
    const [x, y, W, U, V, y0] = ["x", "y", "W", "U", "V", "y0"].map(ex) as number[][];
    const step = (t: number) => y!.slice(t * 2, t * 2 + 2);
    const before = (t: number) => (t >= 0 ? step(t) : t === -1 ? y0! : [0.5, 0.5]);
    let h = [0, 0, 0];
    let loss = 0;
    for (let t = 0; t < 4; t++) {
      const [p1, p2] = [before(t - 1), before(t - 2)];
      const u = [x![t * 2]! * p2[0]!, x![t * 2 + 1]! * p2[1]!];
      h = [0, 1, 2].map((i) =>
        Math.tanh(
          W![i * 2]! * (p1[0]! + u[0]!) +
            W![i * 2 + 1]! * (p1[1]! + u[1]!) +
            U![i * 3]! * h[0]! +
            U![i * 3 + 1]! * h[1]! +
            U![i * 3 + 2]! * h[2]!,
        ),
      );
      const z = [0, 1].map((k) => V![k * 3]! * h[0]! + V![k * 3 + 1]! * h[1]! + V![k * 3 + 2]! * h[2]!);
      const lse = Math.log(Math.exp(z[0]!) + Math.exp(z[1]!));
      loss -= step(t)[0]! * (z[0]! - lse) + step(t)[1]! * (z[1]! - lse);
    }
    const generated = mod.gradient(data.params, data.inputs);
    expect(generated.loss).toBeCloseTo(loss, 12);
    expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
    const independent = tfjsGradients(compiled.graph, compiled.graph.example);
    expect(maxRelativeError(generated.gradients, independent.gradients)).toBeLessThan(1e-4);
    expect(generated.gradients.y0!.some((g) => g !== 0)).toBe(true);
  });

  it("a backward recurrence reads the next step of a sequence, from its value after the last", async () => {
    const compiled = await compileOk(`
      dim T = 3, H = 2
      index t in 1..T
      input x_t: [H]
      param W: [H, H]
      param xe: [H]
      g_<T+1> = 0
      x_<T+1> = xe
      g_t = tanh(W*g_<t+1> + x_<t+1>)
      loss L = sum(g_1 .* g_1)
      example {
        x = [[0.5, -1], [1, 0.2], [-0.3, 0.8]]
        W = [[0.5, -0.3], [0.2, 0.8]]
        xe = [0.1, -0.2]
      }
    `);
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    let g = [0, 0];
    const x = [...compiled.graph.example.get("x")!.data];
    const W = [0.5, -0.3, 0.2, 0.8];
    for (let t = 2; t >= 0; t--) {
      const next = t === 2 ? [0.1, -0.2] : x.slice((t + 1) * 2, (t + 2) * 2);
      g = [0, 1].map((i) => Math.tanh(W[i * 2]! * g[0]! + W[i * 2 + 1]! * g[1]! + next[i]!));
    }
    expect(mod.forward(data.params, data.inputs).loss).toBeCloseTo(g[0]! ** 2 + g[1]! ** 2, 12);
    expect(
      maxRelativeError(mod.gradient(data.params, data.inputs).gradients, finiteDifferences(mod, data)),
    ).toBeLessThan(1e-6);
  });

  it("without the values before the first step, says which are missing", async () => {
    const r = await compile(
      "dim T = 3\nindex t in 1..T\ninput x_t\nparam w\nh_0 = 0\nh_t = tanh(w*x_<t-1> + h_<t-1>)\nloss L = h_T",
      { file: "m.nabla" },
    );
    expect(r.rendered).toMatch(
      /m\.nabla:6:14: error NB2017: 'x_<t-1>' reads before the first step of the sequence 'x'/,
    );
  });
});
