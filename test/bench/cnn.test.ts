import { describe, it, expect } from "vitest";

import {
  CNN_DIMS,
  cnnLoss,
  cnnShape,
  createCnnGradient,
  createCnnLoss,
  type CnnDims,
  type CnnGradients,
  type CnnInputs,
  type CnnParams,
} from "../../bench/handwritten/cnn.js";
import { cnnSource, makeCnnData } from "../../bench/workloads/cnn.js";
import { mulberry32, type WorkloadData } from "../../bench/workload.js";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { expectCentralDifferences, relativeError } from "./check.js";

function setup(dims: CnnDims, seed: number) {
  const data = makeCnnData(mulberry32(seed), dims);
  return {
    data,
    params: data.params as unknown as CnnParams,
    inputs: data.inputs as unknown as CnnInputs,
  };
}

function zeros(dims: CnnDims): CnnGradients {
  const { C, F, K } = dims;
  const { N } = cnnShape(dims);
  return {
    k: new Float64Array(F * C * 9),
    bk: new Float64Array(F),
    W: new Float64Array(K * N),
    b: new Float64Array(K),
  };
}

const names = ["k", "bk", "W", "b"] as const;

// The small sizes the brief asks for (a 1×8×8 image, 2 filters, K=3: only the one-row
// remainder of the dense layer's five-row blocks); two channels (the general convolution
// kernel), an odd height (the last convolution row is in no pooling window) and K=7 (a
// five-row block and a remainder); and an odd width with K=5.
const small: CnnDims[] = [
  { C: 1, H: 8, W: 8, F: 2, K: 3 },
  { C: 2, H: 9, W: 8, F: 3, K: 7 },
  { C: 1, H: 6, W: 9, F: 2, K: 5 },
];

const label = ({ C, H, W, F, K }: CnnDims) => `${C}×${H}×${W} image, F=${F}, K=${K}`;

async function generated(dims: CnnDims) {
  const r = await compile(cnnSource(dims), { file: "cnn.nabla" });
  expect(r.rendered).toBe("");
  return loadModule(r.module!.javascript);
}

/** Hand-written vs generated loss, forward loss and gradients, to 1e-12. */
async function expectAgreement(
  dims: CnnDims,
  data: WorkloadData,
  mod?: Awaited<ReturnType<typeof generated>>,
): Promise<CnnGradients> {
  mod ??= await generated(dims);
  const params = data.params as unknown as CnnParams;
  const inputs = data.inputs as unknown as CnnInputs;
  const mine = zeros(dims);
  const loss = createCnnGradient(dims)(params, inputs, mine);
  const theirs = mod.gradient(data.params, data.inputs, undefined, data.dims);
  expect(Math.abs(loss - theirs.loss) / Math.abs(theirs.loss)).toBeLessThan(1e-12);
  const fwd = mod.forward(data.params, data.inputs, data.dims);
  expect(Math.abs(fwd.loss - loss) / Math.abs(loss)).toBeLessThan(1e-12);
  for (const name of names)
    expect(relativeError(mine[name], theirs.gradients[name]!), `∂${name} at ${label(dims)}`).toBeLessThan(
      1e-12,
    );
  return mine;
}

describe("hand-written CNN gradient (bench baseline)", () => {
  for (const dims of small) {
    it(`matches central finite differences of the loss, every coordinate (${label(dims)})`, () => {
      const { params, inputs } = setup(dims, 17 + dims.H * dims.W);
      const out = zeros(dims);
      const loss = createCnnGradient(dims)(params, inputs, out);
      expect(loss).toBeCloseTo(cnnLoss(dims, params, inputs), 13);
      expect(createCnnLoss(dims)(params, inputs)).toBe(loss);

      expectCentralDifferences(
        params,
        names,
        () => cnnLoss(dims, params, inputs),
        (name) => out[name],
      );
    });
  }

  it("agrees with nabla's generated gradient and forward", async () => {
    for (const dims of [...small, CNN_DIMS]) {
      const { data } = setup(dims, 3 * dims.H + dims.F);
      await expectAgreement(dims, data);
    }
  });

  it("routes a tied window's gradient to its first maximum, as the generated code does", async () => {
    // Only the centre tap of each filter is nonzero and x is constant on the 2×2 block of
    // centres under each pooling window, so all four outputs of every window are equal;
    // their receptive fields differ, so ∂k depends on which of them gets the gradient.
    const dims: CnnDims = { C: 1, H: 8, W: 8, F: 2, K: 3 };
    const { data, params, inputs } = setup(dims, 41);
    const random = mulberry32(5);
    const block = new Float64Array(16).map(() => random());
    for (let r = 0; r < dims.H; r++)
      for (let c = 0; c < dims.W; c++)
        inputs.x[r * dims.W + c] =
          r >= 1 && c >= 1 && r <= 6 && c <= 6
            ? block[Math.floor((r - 1) / 2) * 4 + Math.floor((c - 1) / 2)]!
            : random();
    params.k.fill(0);
    params.k[4] = 0.9;
    params.k[13] = -0.7;
    params.bk[0] = 0.05;
    params.bk[1] = 0.6;
    const mine = await expectAgreement(dims, data);
    // Expected: every window's first output (top left) wins, so with ∂P = Wᵀ(p − y),
    // ∂k[f,0,u,v] = Σ ∂P[f,i,j]·x[2i+u, 2j+v] over the windows whose maximum is positive.
    const { W: IW, F, K } = dims;
    const { PH, PW, N } = cnnShape(dims);
    const z = Float64Array.from(params.b);
    const pooled = new Float64Array(N);
    for (let f = 0; f < F; f++)
      for (let i = 0; i < PH; i++)
        for (let j = 0; j < PW; j++) {
          const centre = inputs.x[(2 * i + 1) * IW + 2 * j + 1]!;
          pooled[(f * PH + i) * PW + j] = Math.max(0, params.k[f * 9 + 4]! * centre + params.bk[f]!);
        }
    for (let r = 0; r < K; r++) for (let n = 0; n < N; n++) z[r] += params.W[r * N + n]! * pooled[n]!;
    const e = z.map((v) => Math.exp(v));
    const sum = e.reduce((a, v) => a + v, 0);
    const expected = new Float64Array(F * 9);
    for (let f = 0; f < F; f++)
      for (let i = 0; i < PH; i++)
        for (let j = 0; j < PW; j++) {
          const n = (f * PH + i) * PW + j;
          if (!(pooled[n]! > 0)) continue;
          let dP = 0;
          for (let r = 0; r < K; r++) dP += params.W[r * N + n]! * (e[r]! / sum - inputs.y[r]!);
          for (let u = 0; u < 3; u++)
            for (let v = 0; v < 3; v++)
              expected[f * 9 + u * 3 + v] += dP * inputs.x[(2 * i + u) * IW + 2 * j + v]!;
        }
    expect(relativeError(mine.k, expected)).toBeLessThan(1e-12);
    // Both filters have live and dead windows, so the test exercises both.
    expect(pooled.some((v) => v === 0)).toBe(true);
    expect(pooled.some((v) => v > 0)).toBe(true);
  });

  it("passes no gradient to the convolution when every window's maximum is ≤ 0", async () => {
    const dims: CnnDims = { C: 1, H: 8, W: 8, F: 2, K: 3 };
    const { data, params } = setup(dims, 23);
    params.bk.fill(-10);
    const mine = await expectAgreement(dims, data);
    expect(mine.k.every((v) => v === 0)).toBe(true);
    expect(mine.bk.every((v) => v === 0)).toBe(true);
    expect(mine.W.every((v) => v === 0)).toBe(true);
  });

  it("overwrites the output arrays and reuses its buffers across calls", () => {
    const dims: CnnDims = { C: 2, H: 7, W: 8, F: 3, K: 6 };
    const { params, inputs } = setup(dims, 5);
    const gradient = createCnnGradient(dims);
    const first = zeros(dims);
    const loss1 = gradient(params, inputs, first);
    const second = zeros(dims);
    for (const name of names) second[name].fill(123.25);
    const loss2 = gradient(params, inputs, second);
    expect(loss2).toBe(loss1);
    for (const name of names) expect(second[name]).toEqual(first[name]);
  });

  it("rejects arrays of the wrong length and bad sizes", () => {
    const dims: CnnDims = { C: 1, H: 8, W: 8, F: 2, K: 3 };
    const { params, inputs } = setup(dims, 1);
    expect(() => createCnnGradient({ ...dims, H: 9 })(params, inputs, zeros(dims))).toThrow(/x has/);
    expect(() =>
      createCnnGradient(dims)(params, inputs, {
        ...zeros(dims),
        bk: new Float64Array(3),
      }),
    ).toThrow(/out\.bk/);
    expect(() => createCnnGradient({ ...dims, F: 0 })).toThrow(/F must/);
    expect(() => createCnnGradient({ ...dims, W: 3 })).toThrow(/at least 4×4/);
  });
});
