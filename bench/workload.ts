/**
 * What a benchmark workload provides to bench/run.ts. A workload is one model written three
 * ways — as nabla source (compiled by the harness), by hand in plain TypeScript, and on
 * TensorFlow.js — plus the data to run them on.
 */
import { seededRandom } from "../src/train/loop.js";
import type { TorchModel } from "./pytorch.js";

/** Parameters and inputs by the names the nabla model declares, flat row-major. */
export interface WorkloadData {
  readonly params: Record<string, Float64Array>;
  readonly inputs: Record<string, Float64Array>;
  /** Sizes of the model's run-time dims (e.g. the batch size N). */
  readonly dims: Record<string, number>;
}

/** One implementation of a workload, set up on fixed data. */
export interface Runner {
  /** Element type the implementation computes in, for the report. */
  readonly dtype: "float64" | "float32";
  /** One forward + gradient evaluation; returns the loss. This is what is timed. */
  step(): number;
  /** The loss and the gradient of every param (float64 copies), for the correctness check. */
  evaluate(): { loss: number; gradients: Record<string, Float64Array> };
  /**
   * Called before a batch of `step` calls and before `evaluate`, outside the timed region:
   * e.g. a TF.js runner selects its backend here.
   */
  activate?(): void;
  dispose?(): void;
}

export interface Workload {
  /** Short name, used to pick workloads on the command line. */
  readonly name: string;
  /** One line for the report. */
  readonly description: string;
  /** The model in nabla; the harness compiles it and runs the generated `gradient`. */
  readonly nablaSource: string;
  /** Data drawn from `random` (uniform on [0, 1)), the same for every implementation. */
  makeData(random: () => number): WorkloadData;
  handwritten(data: WorkloadData): Runner | Promise<Runner>;
  /**
   * How the hand-written baseline is written, for the summary table: "blocked" (register
   * blocking, several output rows per pass with the sums in locals) or "plain" loops.
   */
  readonly handwrittenStyle: "blocked" | "plain";
  /**
   * TF.js on the backend the harness has selected before calling (cpu, then wasm): create
   * every tensor here, on that backend; the harness re-selects it before each use.
   */
  tfjs(data: WorkloadData): Runner | Promise<Runner>;
  /** The same model for bench/torch/bench.py: which of its builders, at which sizes. */
  readonly torch: TorchModel;
  /**
   * Optional: the hand-written forward pass alone (the loss, no gradient). When given, the
   * harness also times the forward passes alone — this and the generated module's `forward`
   * — and reports gradient / forward for both. Its `evaluate` returns no gradients.
   */
  handwrittenForward?(data: WorkloadData): Runner | Promise<Runner>;
}

/** mulberry32: a small, fast, seedable PRNG with uniform output on [0, 1), the one `nabla train` shuffles with. */
export const mulberry32 = seededRandom;

/** `n` values uniform on [lo, hi). */
export function uniform(random: () => number, n: number, lo: number, hi: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * random();
  return a;
}

/** `rows` one-hot rows of length `classes`, classes drawn uniformly. */
export function oneHot(random: () => number, rows: number, classes: number): Float64Array {
  const a = new Float64Array(rows * classes);
  for (let i = 0; i < rows; i++) a[i * classes + Math.floor(random() * classes)] = 1;
  return a;
}
