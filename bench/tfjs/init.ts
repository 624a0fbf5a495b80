/** TensorFlow.js set-up shared by the TF.js versions of the workloads. */
import { createRequire } from "node:module";
import { dirname } from "node:path";

import * as tf from "@tensorflow/tfjs";

let initialized = false;

/**
 * Selects TF.js's pure-JavaScript CPU backend (single-threaded, float32 only; no native
 * tfjs-node, no WebGL), once. Returns the tfjs-core version.
 */
export async function initTfjsCpu(): Promise<string> {
  if (!initialized) {
    // PROD silences the "install tfjs-node" hint and skips debug-only checks.
    tf.env().set("PROD", true);
    if (!(await tf.setBackend("cpu"))) throw new Error("TensorFlow.js: the cpu backend is not available");
    await tf.ready();
    initialized = true;
  }
  return tf.version_core;
}

let wasmReady: Promise<string | undefined> | undefined;

/**
 * Registers and initialises TF.js's WebAssembly backend (@tensorflow/tfjs-backend-wasm), once:
 * the SIMD build, one thread (no worker pool), its .wasm files read from the installed
 * package in node_modules (nothing is fetched). Leaves the cpu backend selected. Resolves
 * to `undefined` when the backend is ready, else to why it is not.
 */
export function initTfjsWasm(): Promise<string | undefined> {
  wasmReady ??= (async () => {
    await initTfjsCpu();
    let wasm: typeof import("@tensorflow/tfjs-backend-wasm");
    let dir: string;
    try {
      wasm = await import("@tensorflow/tfjs-backend-wasm");
      const require = createRequire(import.meta.url);
      dir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm"));
    } catch (err) {
      return `not installed (@tensorflow/tfjs-backend-wasm: ${err instanceof Error ? err.message : String(err)})`;
    }
    tf.env().set("WASM_HAS_SIMD_SUPPORT", true);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasm.setThreadsCount(1);
    // A path prefix (trailing slash): the backend appends the .wasm file's name and, under
    // Node, reads it from the file system.
    wasm.setWasmPaths(dir + "/");
    let ok = false;
    try {
      ok = await tf.setBackend("wasm");
    } catch (err) {
      return `wasm backend failed to initialise: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (!ok) return "wasm backend failed to initialise";
    const threads = wasm.getThreadsCount();
    useTfjsBackend("cpu");
    if (threads !== 1) return `wasm backend runs ${threads} threads, not 1`;
    return undefined;
  })();
  return wasmReady;
}

/** The tfjs-backend-wasm version (the one installed; it is pinned to tfjs's). */
export async function tfjsWasmVersion(): Promise<string> {
  const { version_wasm } = await import("@tensorflow/tfjs-backend-wasm");
  return version_wasm;
}

/**
 * Makes `name` (an initialised backend) the current one, synchronously: `tf.setBackend` does
 * all its work before its first await when the backend is already initialised. Throws if the
 * switch did not happen at once.
 */
export function useTfjsBackend(name: "cpu" | "wasm"): void {
  if (tf.getBackend() === name) return;
  void tf.setBackend(name);
  if (tf.getBackend() !== name)
    throw new Error(`TensorFlow.js: could not switch to the ${name} backend synchronously`);
}

/**
 * The kernel missing on a backend, from the error TF.js throws when an op (or its gradient)
 * has no kernel there, e.g. "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'".
 */
export function missingKernel(err: unknown): { kernel: string; backend: string } | undefined {
  const m = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(
    err instanceof Error ? err.message : String(err),
  );
  return m ? { kernel: m[1]!, backend: m[2]! } : undefined;
}

/** What a missing kernel means for a workload's gradient, in words for the table. */
export function missingKernelReason(kernel: string): string {
  const known: Record<string, string> = {
    Conv2DBackpropFilter: "no conv2d filter gradient",
    Conv2DBackpropInput: "no conv2d input gradient",
    MaxPoolGrad: "no max-pool gradient",
  };
  return known[kernel] ?? `no ${kernel} kernel`;
}
