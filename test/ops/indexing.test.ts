import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { analyze } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { compileOk, finiteDifferences, maxRelativeError, splitValues } from "../support/check.js";
import { tfjsGradients } from "../support/tfjs.js";

/** Integer data as indices: embeddings, class labels, and the checks that keep them in range. */
const embedding = `
  dim V = 5, D = 3, N = 4, K = 2
  input ids: [N] int
  target y: [N] int
  param E: [V, D]
  param W: [D, K]
  Z = E[ids] * W
  loss L = cross_entropy(softmax(Z), y) / N
  example {
    ids = [0, 3, 3, 1]
    y = [1, 0, 1, 1]
    E = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.2], [0.0, 0.3, 0.1], [-0.4, 0.2, 0.6], [0.3, 0.3, 0.3]]
    W = [[0.2, -0.5], [0.7, 0.1], [-0.3, 0.4]]
  }
`;

const languageModel = `
  dim V = 4, H = 3
  index t in 1..3
  input x_t int
  target y int
  param E: [V, H]
  param Whh: [H, H]
  param Why: [V, H]
  h_0 = 0
  h_t = tanh(E[x_t] + Whh*h_<t-1>)
  loss L = cross_entropy(softmax(Why*h_3), y)
  example {
    x = [2, 0, 3]
    y = 1
    E = [[0.1, 0.2, -0.3], [0.5, -0.1, 0.2], [0.0, 0.3, 0.1], [-0.4, 0.2, 0.6]]
    Whh = [[0.1, 0, 0.2], [0, 0.3, 0], [-0.2, 0, 0.1]]
    Why = [[0.2, -0.5, 0.1], [0.7, 0.1, 0.3], [-0.3, 0.4, 0.2], [0.1, 0.1, -0.6]]
  }
`;

describe("integer data", () => {
  for (const [name, source] of [
    ["an embedding with class labels", embedding],
    ["a recurrent language model reading E[x_t]", languageModel],
  ])
    it(`${name}: code = finite differences = TensorFlow.js`, async () => {
      await tf.setBackend("cpu");
      const compiled = await compileOk(source!);
      const mod = await loadModule(compiled.module.javascript);
      const data = splitValues(compiled, compiled.graph.example);
      const generated = mod.gradient(data.params, data.inputs);
      expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
      const independent = tfjsGradients(compiled.graph, compiled.graph.example);
      expect(Math.abs(independent.loss - generated.loss)).toBeLessThan(1e-5);
      expect(maxRelativeError(generated.gradients, independent.gradients)).toBeLessThan(1e-4);
    });

  it("class labels give the loss of their one-hot rows", async () => {
    const labels = await loadModule((await compileOk(embedding)).module.javascript);
    const onehot = await loadModule(
      (
        await compileOk(
          embedding
            .replace("target y: [N] int", "target y: [N, K]")
            .replace("y = [1, 0, 1, 1]", "y = [[0, 1], [1, 0], [0, 1], [0, 1]]"),
        )
      ).module.javascript,
    );
    const params = {
      E: new Float64Array(15).map((_, i) => Math.sin(i)),
      W: Float64Array.of(0.2, -0.5, 0.7, 0.1, -0.3, 0.4),
    };
    const ids = Float64Array.of(0, 3, 3, 1);
    const a = labels.gradient(params, { ids, y: Float64Array.of(1, 0, 1, 1) });
    const b = onehot.gradient(params, { ids, y: Float64Array.of(0, 1, 1, 0, 0, 1, 0, 1) });
    expect(a.loss).toBeCloseTo(b.loss, 14);
    expect(maxRelativeError(a.gradients, b.gradients)).toBeLessThan(1e-14);
  });

  it("the module throws an Error naming the data when an index is outside the table", async () => {
    const mod = await loadModule((await compileOk(embedding)).module.javascript);
    const params = { E: new Float64Array(15), W: new Float64Array(6) };
    expect(() =>
      mod.gradient(params, { ids: Float64Array.of(0, 5, 1, 1), y: Float64Array.of(0, 0, 0, 0) }),
    ).toThrow("nabla: inputs.ids holds 5 at entry 1, outside 0..4");
    expect(() =>
      mod.forward(params, { ids: Float64Array.of(0, 1.5, 1, 1), y: Float64Array.of(0, 0, 0, 0) }),
    ).toThrow(/inputs\.ids holds 1\.5/);
    expect(() =>
      mod.forward(params, { ids: Float64Array.of(0, 1, 1, 1), y: Float64Array.of(0, 2, 0, 0) }),
    ).toThrow(/inputs\.y holds 2/);
  });

  it("is refused where it does not fit: a real-valued index, an example outside the table, an int param", () => {
    const codes = (source: string) => analyze(source).diagnostics.map((d) => d.code);
    expect(codes("param E: [3, 2]\nparam x: [2]\nloss L = sum(E[x])")).toEqual(["NB2005"]);
    expect(codes(embedding.replace("ids = [0, 3, 3, 1]", "ids = [0, 3, 7, 1]"))).toEqual(["NB5006"]);
    expect(codes(embedding.replace("ids = [0, 3, 3, 1]", "ids = [0, 3, 0.5, 1]"))).toEqual(["NB5006"]);
    expect(codes(embedding.replace("y = [1, 0, 1, 1]", "y = [1, 0, 2, 1]"))).toEqual(["NB5006"]);
    expect(codes("param w: [2] int\nloss L = sum(w)")).toEqual(["NB2005"]);
  });
});
