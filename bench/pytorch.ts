/**
 * PyTorch in `npm run bench`: runs bench/torch/bench.py on one workload's data and returns
 * its check against nabla's generated gradient and its timings (float64 and float32, one
 * thread). The workload's data and the generated reference go to the script in a temporary
 * JSON file, so torch computes on exactly the numbers the JavaScript implementations use.
 *
 * When the Python interpreter or torch is missing, `pytorchAvailable` says so and the bench
 * reports "not installed" instead of failing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { WorkloadData } from "./workload.js";

/** The interpreter: Debian's, where python3-torch installs torch; NABLA_BENCH_PYTHON overrides it. */
export const PYTHON = process.env.NABLA_BENCH_PYTHON ?? "/usr/bin/python3";

/** bench/torch/bench.py, from the sources (vitest) or from dist/bench (the built bench). */
export function torchScript(): string {
  for (const rel of ["./torch/bench.py", "../../bench/torch/bench.py"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error("bench/torch/bench.py not found");
}

/**
 * One thread for every pool torch might use. Only the child's environment is changed, and only
 * these two; anything else the machine sets (e.g. OPENBLAS_CORETYPE) passes through as is.
 */
function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" };
}

/** `undefined` if `python -c "import torch"` works, else why not (for the table: "not installed"). */
export function pytorchAvailable(python = PYTHON): string | undefined {
  if (!existsSync(python)) return `not installed (no ${python})`;
  const r = spawnSync(python, ["-c", "import torch"], {
    encoding: "utf8",
    env: childEnv(),
    timeout: 120_000,
  });
  if (r.status === 0) return undefined;
  return `not installed (${python} cannot import torch)`;
}

/** Which of bench/torch/bench.py's model builders, at which sizes. */
export interface TorchModel {
  readonly model: "mlp" | "rnn" | "cnn";
  readonly dims: Readonly<Record<string, number>>;
}

export interface TorchDtypeResult {
  readonly loss: number;
  /** |Δloss|/|loss| under "loss", max|a−b|/max|b| under each param's name. */
  readonly errors: Record<string, number>;
  /** Timings, ms per forward + gradient call; absent with checkOnly. */
  readonly median?: number;
  readonly p10?: number;
  readonly p90?: number;
  readonly n?: number;
}

export interface TorchResult {
  readonly torch: string;
  readonly python: string;
  readonly threads: number;
  /** The BLAS library torch has mapped (path), as bench.py found it. */
  readonly blas: string;
  readonly rounds?: number;
  readonly finite?: boolean;
  readonly results: { readonly f64: TorchDtypeResult; readonly f32: TorchDtypeResult };
}

/** Short name of a BLAS library path as bench.py reports it. */
export function blasName(blas: string): string {
  if (/openblas/i.test(blas)) return "OpenBLAS";
  if (/mkl/i.test(blas)) return "MKL";
  if (/blis/i.test(blas)) return "BLIS";
  if (/atlas/i.test(blas)) return "ATLAS";
  if (/\/blas\/libblas\.so/.test(blas)) return "reference BLAS";
  return blas;
}

const toArrays = (r: Record<string, Float64Array>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]));

/**
 * Runs bench.py on `data` (synchronously: nothing else runs meanwhile). `reference` is the
 * generated module's loss and gradients. With `checkOnly` it only checks, no timing.
 */
export function runPytorch(
  name: string,
  model: TorchModel,
  data: WorkloadData,
  reference: { loss: number; gradients: Record<string, Float64Array> },
  options: { seconds: number; roundMs?: number; checkOnly?: boolean; python?: string },
): TorchResult {
  const dir = mkdtempSync(join(tmpdir(), "nabla-bench-torch-"));
  try {
    const file = join(dir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        name,
        model: model.model,
        dims: { ...model.dims, ...data.dims },
        params: toArrays(data.params),
        inputs: toArrays(data.inputs),
        reference: { loss: reference.loss, gradients: toArrays(reference.gradients) },
        seconds: options.seconds,
        roundMs: options.roundMs ?? 30,
        checkOnly: options.checkOnly ?? false,
      }),
    );
    const r = spawnSync(options.python ?? PYTHON, [torchScript(), file], {
      encoding: "utf8",
      env: childEnv(),
      maxBuffer: 16 << 20,
      timeout: Math.ceil((options.seconds * 4 + 120) * 1000),
    });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`bench/torch/bench.py exited with ${r.status}:\n${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as TorchResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
