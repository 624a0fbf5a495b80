import { describe, it, expect } from "vitest";

import {
  createRnnGradient,
  createRnnLoss,
  rnnLoss,
  RNN_DIMS,
  type RnnDims,
  type RnnGradients,
  type RnnInputs,
  type RnnParams,
} from "../../bench/handwritten/rnn.js";
import {
  makeRnnData,
  makeRnnWorkload,
  RNN_LARGE_DIMS,
  rnnLargeWorkload,
  rnnSource,
} from "../../bench/workloads/rnn.js";
import { mulberry32 } from "../../bench/workload.js";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";

function setup(dims: RnnDims, seed: number) {
  const data = makeRnnData(mulberry32(seed), dims);
  return {
    data,
    params: data.params as unknown as RnnParams,
    inputs: data.inputs as unknown as RnnInputs,
  };
}

function zeros({ D, H, O }: RnnDims): RnnGradients {
  return {
    Wxh: new Float64Array(H * D),
    Whh: new Float64Array(H * H),
    bh: new Float64Array(H),
    Why: new Float64Array(O * H),
    by: new Float64Array(O),
  };
}

const names = ["Wxh", "Whh", "bh", "Why", "by"] as const;

/** max|a − b| / max|b|. */
function relativeError(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

// The small sizes the brief asks for, and one whose H and O are not multiples of 4, so the
// one-row remainder loops run next to the four-row blocks.
const small: RnnDims[] = [
  { D: 3, H: 4, O: 2, T: 4 },
  { D: 3, H: 6, O: 5, T: 3 },
];

const label = ({ D, H, O, T }: RnnDims) => `D=${D}, H=${H}, O=${O}, T=${T}`;

describe("hand-written RNN gradient (bench baseline)", () => {
  for (const dims of small) {
    it(`matches central finite differences of the loss, every coordinate (${label(dims)})`, () => {
      const { params, inputs } = setup(dims, 7 + dims.H);
      const out = zeros(dims);
      const loss = createRnnGradient(dims)(params, inputs, out);
      expect(loss).toBeCloseTo(rnnLoss(dims, params, inputs), 13);
      expect(createRnnLoss(dims)(params, inputs)).toBe(loss);

      const h = 1e-5;
      for (const name of names) {
        const p = params[name];
        for (let i = 0; i < p.length; i++) {
          const saved = p[i]!;
          p[i] = saved + h;
          const up = rnnLoss(dims, params, inputs);
          p[i] = saved - h;
          const down = rnnLoss(dims, params, inputs);
          p[i] = saved;
          const fd = (up - down) / (2 * h);
          const g = out[name][i]!;
          expect(Math.abs(fd - g), `∂${name}[${i}]: finite difference ${fd}, gradient ${g}`).toBeLessThan(
            1e-9 + 1e-6 * Math.abs(g),
          );
        }
      }
    });
  }

  it("agrees with nabla's generated gradient and forward", async () => {
    for (const dims of [...small, RNN_DIMS]) {
      const r = await compile(rnnSource(dims), { file: "rnn.nabla" });
      expect(r.rendered).toBe("");
      const mod = await loadModule(r.module!.javascript);
      const { data, params, inputs } = setup(dims, 3 * dims.H + dims.T);
      const mine = zeros(dims);
      const loss = createRnnGradient(dims)(params, inputs, mine);
      const theirs = mod.gradient(data.params, data.inputs, undefined, data.dims);
      expect(Math.abs(loss - theirs.loss) / Math.abs(theirs.loss)).toBeLessThan(1e-12);
      const fwd = mod.forward(data.params, data.inputs, data.dims);
      expect(Math.abs(fwd.loss - loss) / Math.abs(loss)).toBeLessThan(1e-12);
      for (const name of names)
        expect(relativeError(mine[name], theirs.gradients[name]!), `∂${name} at ${label(dims)}`).toBeLessThan(
          1e-12,
        );
    }
  });

  it("overwrites the output arrays and reuses its buffers across calls", () => {
    const dims = { D: 5, H: 7, O: 3, T: 6 };
    const { params, inputs } = setup(dims, 5);
    const gradient = createRnnGradient(dims);
    const first = zeros(dims);
    const loss1 = gradient(params, inputs, first);
    const second = zeros(dims);
    for (const name of names) second[name].fill(123.25);
    const loss2 = gradient(params, inputs, second);
    expect(loss2).toBe(loss1);
    for (const name of names) expect(second[name]).toEqual(first[name]);
  });

  it("handles a single time step (no recurrence into h_0)", () => {
    const dims = { D: 2, H: 5, O: 3, T: 1 };
    const { params, inputs } = setup(dims, 9);
    const out = zeros(dims);
    createRnnGradient(dims)(params, inputs, out);
    // h_0 = 0, so Whh gets no gradient at all.
    expect(out.Whh.every((v) => v === 0)).toBe(true);
    const h = 1e-6;
    for (const name of ["Wxh", "bh"] as const) {
      const p = params[name];
      for (let i = 0; i < p.length; i++) {
        const saved = p[i]!;
        p[i] = saved + h;
        const up = rnnLoss(dims, params, inputs);
        p[i] = saved - h;
        const down = rnnLoss(dims, params, inputs);
        p[i] = saved;
        expect(out[name][i]!).toBeCloseTo((up - down) / (2 * h), 8);
      }
    }
  });

  it("rejects arrays of the wrong length and bad sizes", () => {
    const dims = { D: 3, H: 4, O: 2, T: 4 };
    const { params, inputs } = setup(dims, 1);
    expect(() => createRnnGradient({ ...dims, T: 5 })(params, inputs, zeros(dims))).toThrow(/x has/);
    expect(() =>
      createRnnGradient(dims)(params, inputs, {
        ...zeros(dims),
        bh: new Float64Array(3),
      }),
    ).toThrow(/out\.bh/);
    expect(() => createRnnGradient({ ...dims, H: 0 })).toThrow(/H must/);
  });
});

describe("rnn-large workload (issue 11's D128 H256 O10 T100)", () => {
  it("is the same model at issue 11's sizes", () => {
    expect(RNN_LARGE_DIMS).toEqual({ D: 128, H: 256, O: 10, T: 100 });
    expect(rnnLargeWorkload.name).toBe("rnn-large");
    expect(rnnLargeWorkload.nablaSource).toBe(rnnSource(RNN_LARGE_DIMS));
    expect(rnnLargeWorkload.nablaSource).toContain("dim D = 128, H = 256, O = 10, T = 100");
    expect(rnnLargeWorkload.torch).toEqual({ model: "rnn", dims: RNN_LARGE_DIMS });
    expect(rnnLargeWorkload.handwrittenStyle).toBe("blocked");
    const data = rnnLargeWorkload.makeData(mulberry32(1));
    expect(data.params.Whh!.length).toBe(256 * 256);
    expect(data.inputs.x!.length).toBe(100 * 128);
  });

  // The workload's own runner (its hand-written kernels loaded as a module instance of their
  // own), on small sizes: H=6 and O=5 also run the one-row remainder loops.
  it("has a hand-written runner whose gradient matches central finite differences (small dims)", async () => {
    const dims = { D: 3, H: 6, O: 5, T: 3 };
    const workload = makeRnnWorkload("rnn-large-small", dims);
    const data = workload.makeData(mulberry32(17));
    const { loss, gradients } = (await workload.handwritten(data)).evaluate();
    const params = data.params as unknown as RnnParams;
    const inputs = data.inputs as unknown as RnnInputs;
    expect(loss).toBeCloseTo(rnnLoss(dims, params, inputs), 13);
    const h = 1e-5;
    for (const name of names) {
      const p = params[name];
      for (let i = 0; i < p.length; i++) {
        const saved = p[i]!;
        p[i] = saved + h;
        const up = rnnLoss(dims, params, inputs);
        p[i] = saved - h;
        const down = rnnLoss(dims, params, inputs);
        p[i] = saved;
        const fd = (up - down) / (2 * h);
        const g = gradients[name]![i]!;
        expect(Math.abs(fd - g), `∂${name}[${i}]`).toBeLessThan(1e-9 + 1e-6 * Math.abs(g));
      }
    }
    const forward = (await workload.handwrittenForward!(data)).evaluate();
    expect(forward.loss).toBe(loss);
  });

  it("has a hand-written runner that agrees with the generated gradient at its full size", async () => {
    const r = await compile(rnnLargeWorkload.nablaSource, { file: "rnn-large.nabla" });
    expect(r.rendered).toBe("");
    const mod = await loadModule(r.module!.javascript);
    const data = rnnLargeWorkload.makeData(mulberry32(20240601));
    const mine = (await rnnLargeWorkload.handwritten(data)).evaluate();
    const theirs = mod.gradient(data.params, data.inputs, undefined, data.dims);
    expect(Math.abs(mine.loss - theirs.loss) / Math.abs(theirs.loss)).toBeLessThan(1e-12);
    for (const name of names)
      expect(relativeError(mine.gradients[name]!, theirs.gradients[name]!), `∂${name}`).toBeLessThan(1e-12);
  });
});
