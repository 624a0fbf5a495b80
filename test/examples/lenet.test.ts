import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModule } from "../../src/run.js";
import { mulberry32 } from "../../bench/workload.js";
import { compileOk, splitValues } from "../support/check.js";

/** 6×6 images with one bright bar, vertical (class 0) or horizontal (class 1), on faint noise. */
function bars(count: number, seed: number) {
  const r = mulberry32(seed);
  const X = new Float64Array(count * 36);
  const Y = new Float64Array(count * 2);
  for (let n = 0; n < count; n++) {
    const vertical = n % 2 === 0;
    const at = 1 + Math.floor(r() * 4);
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) X[n * 36 + i * 6 + j] = 0.2 * r() + ((vertical ? j : i) === at ? 0.8 : 0);
    Y[n * 2 + (vertical ? 0 : 1)] = 1;
  }
  return { X, Y };
}

describe("the LeNet-like example", () => {
  it("learns to tell vertical bars from horizontal ones", async () => {
    const source = readFileSync(join(import.meta.dirname, "../../examples/bars_lenet.nabla"), "utf8");
    const compiled = await compileOk(source, "bars_lenet.nabla");
    const mod = await loadModule(compiled.module.javascript);
    const { params } = splitValues(compiled, compiled.graph.example);
    const train = bars(32, 11);
    const test = bars(32, 12);
    const accuracy = (data: { X: Float64Array; Y: Float64Array }) => {
      const p = mod.forward(params, data).values.Yhat!;
      let right = 0;
      for (let n = 0; n < data.Y.length / 2; n++)
        if ((p[2 * n]! > p[2 * n + 1]! ? 0 : 1) === (data.Y[2 * n]! === 1 ? 0 : 1)) right++;
      return right / (data.Y.length / 2);
    };
    const first = mod.forward(params, train).loss;
    let last = first;
    for (let step = 0; step < 300; step++) {
      const { loss, gradients } = mod.gradient(params, train);
      mod.sgdStep(params, gradients, 0.5);
      last = loss;
    }
    expect(last).toBeLessThan(first / 4);
    expect(accuracy(train)).toBe(1);
    expect(accuracy(test)).toBeGreaterThanOrEqual(0.85);
  });
});
