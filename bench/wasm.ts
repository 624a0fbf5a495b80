/**
 * The WebAssembly module (`--target wasm`) as another runner of `npm run bench`: the same
 * model compiled with its matrix products as WebAssembly SIMD kernels, on the same data,
 * checked against the generated JavaScript module's gradient like the other runners. Its
 * params and inputs live in the module's memory (its workspaceArrays, filled once at set-up,
 * as TF.js's tensors live on its backend and PyTorch's in its own memory), so a call copies
 * nothing in or out; the check computes into fresh arrays, copied out.
 */
import { compile } from "../src/index.js";
import { loadModule } from "../src/run.js";
import type { Runner, Workload, WorkloadData } from "./workload.js";

type Arrays = Record<string, Float64Array>;
interface WasmModule {
  gradient(params: Arrays, inputs: Arrays, out?: Arrays, dims?: Record<string, number>): { loss: number };
  workspaceArrays(dims?: Record<string, number>): { params: Arrays; inputs: Arrays; gradients: Arrays };
}

/** Largest accepted relative difference from the generated JavaScript module's gradient. */
export const WASM_TOLERANCE = 1e-12;

/**
 * The single-precision module (`--precision f32`): float32 like TF.js and PyTorch f32, checked
 * to their tolerance. Its workspace is Float32Array, so it copies the params and inputs in and
 * the gradients out at every call.
 */
export async function wasmF32Runner(workload: Workload, data: WorkloadData): Promise<Runner> {
  const result = await compile(workload.nablaSource, {
    file: `${workload.name}.nabla`,
    target: "wasm",
    precision: "f32",
  });
  if (!result.module)
    throw new Error(`nabla did not compile the ${workload.name} model for wasm f32:\n${result.rendered}`);
  const mod = (await loadModule(result.module.javascript)) as unknown as WasmModule;
  const out = Object.fromEntries(
    Object.entries(data.params).map(([k, v]) => [k, new Float64Array(v.length)]),
  );
  return {
    dtype: "float32",
    step: () => mod.gradient(data.params, data.inputs, out, data.dims).loss,
    evaluate() {
      const g = Object.fromEntries(
        Object.entries(data.params).map(([k, v]) => [k, new Float64Array(v.length)]),
      );
      const { loss } = mod.gradient(data.params, data.inputs, g, data.dims);
      return { loss, gradients: g };
    },
  };
}

export async function wasmRunner(workload: Workload, data: WorkloadData): Promise<Runner> {
  const result = await compile(workload.nablaSource, { file: `${workload.name}.nabla`, target: "wasm" });
  if (!result.module)
    throw new Error(`nabla did not compile the ${workload.name} model for wasm:\n${result.rendered}`);
  const mod = (await loadModule(result.module.javascript)) as unknown as WasmModule;
  const zeros = (): Arrays =>
    Object.fromEntries(Object.entries(data.params).map(([k, v]) => [k, new Float64Array(v.length)]));
  const own = mod.workspaceArrays(data.dims);
  for (const [k, v] of Object.entries(data.params)) own.params[k]!.set(v);
  for (const [k, v] of Object.entries(data.inputs)) own.inputs[k]!.set(v);
  return {
    dtype: "float64",
    step: () => mod.gradient(own.params, own.inputs, own.gradients, data.dims).loss,
    evaluate() {
      const g = zeros();
      const { loss } = mod.gradient(own.params, own.inputs, g, data.dims);
      return { loss, gradients: g };
    },
  };
}
