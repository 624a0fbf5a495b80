import { describe, it, expect } from "vitest";

import { cnnShape, type CnnDims } from "../../bench/handwritten/cnn.js";
import type { RnnDims } from "../../bench/handwritten/rnn.js";
import { blasName, pytorchAvailable, runPytorch, type TorchModel } from "../../bench/pytorch.js";
import { mulberry32, type WorkloadData } from "../../bench/workload.js";
import { cnnSource, makeCnnData } from "../../bench/workloads/cnn.js";
import { makeMlpData, mlpSource } from "../../bench/workloads/mlp.js";
import { makeRnnData, rnnSource } from "../../bench/workloads/rnn.js";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";

const unavailable = pytorchAvailable();
if (unavailable) console.warn(`test/bench/pytorch.test.ts: PyTorch tests skipped: ${unavailable}`);

/** nabla's generated loss and gradients for `source` on `data`: the reference bench.py checks against. */
async function reference(source: string, data: WorkloadData) {
  const r = await compile(source, { file: "model.nabla" });
  expect(r.rendered).toBe("");
  const mod = await loadModule(r.module!.javascript);
  const { loss, gradients } = mod.gradient(data.params, data.inputs, undefined, data.dims);
  return { loss, gradients: gradients as Record<string, Float64Array> };
}

const rnnDims: RnnDims = { D: 3, H: 5, O: 4, T: 4 };
const cnnDims: CnnDims = { C: 2, H: 8, W: 9, F: 3, K: 4 };

/** Tiny models, each as nabla source, seeded data and bench.py's description of it. */
const cases: { name: string; source: string; data: WorkloadData; torch: TorchModel }[] = [
  {
    name: "mlp",
    source: mlpSource,
    data: makeMlpData(mulberry32(5), 2),
    torch: { model: "mlp", dims: { D: 784, H: 128, K: 10 } },
  },
  {
    name: "rnn",
    source: rnnSource(rnnDims),
    data: makeRnnData(mulberry32(6), rnnDims),
    torch: { model: "rnn", dims: { ...rnnDims } },
  },
  {
    name: "cnn",
    source: cnnSource(cnnDims),
    data: makeCnnData(mulberry32(7), cnnDims),
    torch: { model: "cnn", dims: { ...cnnDims } },
  },
];

describe("PyTorch runner (bench/torch/bench.py)", () => {
  it("names the BLAS library torch loaded", () => {
    expect(blasName("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0")).toBe("reference BLAS");
    expect(blasName("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3")).toBe("OpenBLAS");
    expect(blasName("/opt/x/libmkl_rt.so")).toBe("MKL");
    expect(blasName("none found (torch's own gemm)")).toBe("none found (torch's own gemm)");
  });

  it("reports a missing interpreter as not installed", () => {
    expect(pytorchAvailable("/nonexistent/python3")).toMatch(/^not installed/);
  });

  for (const c of cases)
    it.skipIf(unavailable !== undefined)(
      `builds the ${c.name} model as nabla does: loss and gradients agree with the generated module's${unavailable ? ` (skipped: ${unavailable})` : ""}`,
      async () => {
        if (c.name === "cnn") expect(cnnShape(cnnDims).N).toBe(3 * 3 * 3);
        const ref = await reference(c.source, c.data);
        const r = runPytorch(c.name, c.torch, c.data, ref, { seconds: 1, checkOnly: true });
        expect(r.threads).toBe(1);
        expect(r.results.f64.median).toBeUndefined(); // checkOnly: no timing
        expect(Object.keys(r.results.f64.errors).sort()).toEqual(
          ["loss", ...Object.keys(ref.gradients)].sort(),
        );
        for (const [name, e] of Object.entries(r.results.f64.errors))
          expect(e, `f64 ${c.name} ${name}`).toBeLessThan(1e-12);
        for (const [name, e] of Object.entries(r.results.f32.errors))
          expect(e, `f32 ${c.name} ${name}`).toBeLessThan(1e-4);
        expect(Math.abs(r.results.f64.loss - ref.loss)).toBeLessThan(1e-12 * Math.abs(ref.loss));
      },
    );

  it.skipIf(unavailable !== undefined)(
    `reports a wrong reference as a large error, not as agreement${unavailable ? ` (skipped: ${unavailable})` : ""}`,
    async () => {
      const c = cases[1]!;
      const ref = await reference(c.source, c.data);
      const whh = Float64Array.from(ref.gradients.Whh!);
      whh[3] += 0.5 * Math.max(...whh.map(Math.abs));
      const r = runPytorch(
        c.name,
        c.torch,
        c.data,
        { loss: ref.loss * 1.01, gradients: { ...ref.gradients, Whh: whh } },
        { seconds: 1, checkOnly: true },
      );
      expect(r.results.f64.errors.Whh).toBeGreaterThan(0.1);
      expect(r.results.f64.errors.loss).toBeGreaterThan(0.005);
      expect(r.results.f64.errors.Wxh).toBeLessThan(1e-12);
    },
  );
});
