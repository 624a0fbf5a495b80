import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { toNested, type Tensor } from "../../src/ir/tensor.js";

const PYTHON = "/usr/bin/python3";

/**
 * Whether Debian's PyTorch is here. CI installs python3-torch (.ci/run), so there a missing
 * torch is a failure, not a skip; elsewhere its tests are skipped and say so.
 */
export const torchAvailable: boolean = (() => {
  const ok = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
  if (!ok && process.env.CI)
    throw new Error(`CI needs PyTorch: ${PYTHON} cannot import torch (apt-get install python3-torch)`);
  if (!ok) console.warn(`PyTorch reference tests skipped: ${PYTHON} cannot import torch`);
  return ok;
})();

export interface TorchReference {
  loss: number;
  gradients: Record<string, unknown>;
  values: Record<string, unknown>;
}

/** Runs a committed reference script (reference/<script>) on a model's values. */
export function torchReference(
  script: string,
  model: string,
  values: ReadonlyMap<string, Tensor>,
): TorchReference {
  const input = JSON.stringify({
    model,
    values: Object.fromEntries([...values].map(([k, t]) => [k, toNested(t.shape, t.data)])),
  });
  const path = fileURLToPath(new URL(`../../reference/${script}`, import.meta.url));
  const r = spawnSync(PYTHON, [path], { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${script} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as TorchReference;
}

/** A nested list of numbers flattened row-major, as the generated module holds tensors. */
export const flat = (x: unknown): Float64Array => Float64Array.from([x].flat(Infinity as 1) as number[]);
