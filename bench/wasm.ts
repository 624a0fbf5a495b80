/**
 * The WebAssembly module (`--target wasm`) as another runner of `npm run bench`: the same
 * model compiled with its matrix products as WebAssembly SIMD kernels, on the same data,
 * checked against the generated JavaScript module's gradient like the other runners.
 */
import { compile } from "../src/index.js";
import { loadModule } from "../src/run.js";
import type { Runner, Workload, WorkloadData } from "./workload.js";

/** Largest accepted relative difference from the generated JavaScript module's gradient. */
export const WASM_TOLERANCE = 1e-12;

export async function wasmRunner(workload: Workload, data: WorkloadData): Promise<Runner> {
  const result = await compile(workload.nablaSource, { file: `${workload.name}.nabla`, target: "wasm" });
  if (!result.module)
    throw new Error(`nabla did not compile the ${workload.name} model for wasm:\n${result.rendered}`);
  const mod = await loadModule(result.module.javascript);
  const zeros = (): Record<string, Float64Array> =>
    Object.fromEntries(Object.entries(data.params).map(([k, v]) => [k, new Float64Array(v.length)]));
  const out = zeros();
  return {
    dtype: "float64",
    step: () => mod.gradient(data.params, data.inputs, out, data.dims).loss,
    evaluate() {
      const g = zeros();
      const { loss } = mod.gradient(data.params, data.inputs, g, data.dims);
      return { loss, gradients: g };
    },
  };
}
