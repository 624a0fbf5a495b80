import { describe, it, expect } from "vitest";

import {
  createMlpGradient,
  mlpLoss,
  MLP_DIMS,
  type MlpGradients,
  type MlpInputs,
  type MlpParams,
} from "../../bench/handwritten/mlp.js";
import { makeMlpData, mlpSource } from "../../bench/workloads/mlp.js";
import { mulberry32 } from "../../bench/workload.js";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { expectCentralDifferences, relativeError } from "./check.js";

const { D, H, K } = MLP_DIMS;

function setup(n: number, seed: number) {
  const data = makeMlpData(mulberry32(seed), n);
  return {
    data,
    params: data.params as unknown as MlpParams,
    inputs: data.inputs as unknown as MlpInputs,
  };
}

function zeros(): MlpGradients {
  return {
    W1: new Float64Array(D * H),
    b1: new Float64Array(H),
    W2: new Float64Array(H * K),
    b2: new Float64Array(K),
  };
}

const names = ["W1", "b1", "W2", "b2"] as const;

describe("hand-written MLP gradient (bench baseline)", () => {
  // n = 5 runs both the four-row register tiles and the one-row remainder loops.
  for (const n of [5, 3]) {
    it(`matches central finite differences of its own loss (N=${n})`, () => {
      const { params, inputs } = setup(n, 11 + n);
      const out = zeros();
      const loss = createMlpGradient(n)(params, inputs, out);
      expect(loss).toBeCloseTo(mlpLoss(n, params, inputs), 12);

      const random = mulberry32(99);
      expectCentralDifferences(
        params,
        names,
        () => mlpLoss(n, params, inputs),
        (name) => out[name],
        {
          absolute: 1e-8,
          // A few random coordinates plus the first and last, which sit at tile edges.
          entries: (p) => [0, p.length - 1, ...[0, 1, 2, 3].map(() => Math.floor(random() * p.length))],
        },
      );
    });
  }

  it("agrees with nabla's generated gradient", async () => {
    const r = await compile(mlpSource, { file: "mlp.nabla" });
    expect(r.rendered).toBe("");
    const mod = await loadModule(r.module!.javascript);
    for (const n of [5, 32]) {
      const { data, params, inputs } = setup(n, 3 * n);
      const mine = zeros();
      const loss = createMlpGradient(n)(params, inputs, mine);
      const theirs = mod.gradient(data.params, data.inputs, undefined, data.dims);
      expect(Math.abs(loss - theirs.loss) / Math.abs(theirs.loss)).toBeLessThan(1e-12);
      for (const name of names)
        expect(relativeError(mine[name], theirs.gradients[name]!), `∂${name} at N=${n}`).toBeLessThan(1e-12);
    }
  });

  it("overwrites the output arrays and reuses its buffers across calls", () => {
    const n = 6;
    const { params, inputs } = setup(n, 5);
    const gradient = createMlpGradient(n);
    const first = zeros();
    const loss1 = gradient(params, inputs, first);
    const second = zeros();
    for (const name of names) second[name].fill(123.25);
    const loss2 = gradient(params, inputs, second);
    expect(loss2).toBe(loss1);
    for (const name of names) expect(second[name]).toEqual(first[name]);
  });

  it("rejects arrays of the wrong length", () => {
    const { params, inputs } = setup(4, 1);
    expect(() => createMlpGradient(5)(params, inputs, zeros())).toThrow(/X has/);
    expect(() =>
      createMlpGradient(4)(params, inputs, {
        ...zeros(),
        b1: new Float64Array(3),
      }),
    ).toThrow(/out\.b1/);
  });
});
