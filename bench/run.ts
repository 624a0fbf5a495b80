/**
 * `npm run bench`: nabla's generated gradient code against a hand-written baseline and
 * TensorFlow.js (CPU backend), on every workload in `workloads`.
 *
 * For each workload: compile the nabla model, set up all three implementations on the same
 * seeded data, check that the hand-written and TF.js losses and gradients agree with the
 * generated ones (abort otherwise), then time one forward + gradient call of each, the three
 * interleaved round by round so that drift in the machine's speed hits all of them alike.
 * Workloads that give a hand-written forward pass also have the forward passes alone (the
 * generated module's `forward` and the hand-written one) timed in the same rounds, and
 * report gradient / forward.
 *
 *   node dist/bench/run.js [--seconds S] [--emit DIR] [workload ...]
 *
 * --seconds  timing budget per workload after warm-up (default 12)
 * --emit     also write each workload's generated TypeScript to DIR/<name>.generated.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

import { compile } from "../src/index.js";
import { loadModule } from "../src/run.js";
import { initTfjsCpu } from "./tfjs/init.js";
import { mulberry32, type Runner, type Workload, type WorkloadData } from "./workload.js";
import { cnnWorkload } from "./workloads/cnn.js";
import { mlpWorkload } from "./workloads/mlp.js";
import { rnnWorkload } from "./workloads/rnn.js";
import { WASM_TOLERANCE, wasmRunner, wasmSummary } from "./wasm.js";

/** Add a workload by appending it here. */
const workloads: readonly Workload[] = [mlpWorkload, rnnWorkload, cnnWorkload];

const SEED = 20240601;
/** Largest accepted max|a − b| / max|b| against the generated gradient, per implementation. */
const TOLERANCE = { handwritten: 1e-9, tfjs: 1e-3 } as const;
/** Largest accepted |Δloss| / |loss| of a forward-only runner against the generated gradient's loss. */
const FORWARD_LOSS_TOLERANCE = 1e-12;
/** Target for the headline ratio generated / hand-written. */
const TARGET_RATIO = 1.2;
/** Target for the generated gradient's time over the generated forward's (workloads with forward timing). */
const TARGET_GRADIENT_OVER_FORWARD = 3;
/** Aim for each implementation to run about this long per round. */
const ROUND_MS = 30;
const WARMUP_MS = 400;
const WARMUP_CALLS = 20;
const MIN_ROUNDS = 8;

interface Options {
  seconds: number;
  emit?: string;
  names: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { seconds: 12, names: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--seconds") {
      options.seconds = Number(argv[++i]);
      if (!(options.seconds > 0)) throw new Error("--seconds needs a positive number");
    } else if (a === "--emit") {
      options.emit = argv[++i];
      if (!options.emit) throw new Error("--emit needs a directory");
    } else if (a.startsWith("-")) {
      throw new Error(`unknown option ${a}`);
    } else {
      options.names.push(a);
    }
  }
  return options;
}

interface Entry {
  readonly key: "generated" | "wasm" | "handwritten" | "tfjs" | "generatedForward" | "handwrittenForward";
  readonly label: string;
  readonly runner: Runner;
  samples: number[];
}

/** The generated module's `gradient`, and its `forward` alone (loss only, no gradients). */
async function nablaRunners(
  workload: Workload,
  data: WorkloadData,
  emit: string | undefined,
): Promise<{ gradient: Runner; forward: Runner }> {
  const result = await compile(workload.nablaSource, {
    file: `${workload.name}.nabla`,
  });
  if (!result.module)
    throw new Error(`nabla did not compile the ${workload.name} model:\n${result.rendered}`);
  if (emit) {
    mkdirSync(emit, { recursive: true });
    const file = join(emit, `${workload.name}.generated.ts`);
    writeFileSync(file, result.module.typescript);
    console.log(`  wrote ${file}`);
  }
  const mod = await loadModule(result.module.javascript);
  const zeros = (): Record<string, Float64Array> =>
    Object.fromEntries(Object.entries(data.params).map(([k, v]) => [k, new Float64Array(v.length)]));
  const out = zeros();
  const forwardLoss = () => mod.forward(data.params, data.inputs, data.dims).loss;
  return {
    gradient: {
      dtype: "float64",
      step: () => mod.gradient(data.params, data.inputs, out, data.dims).loss,
      evaluate() {
        const g = zeros();
        const { loss } = mod.gradient(data.params, data.inputs, g, data.dims);
        return { loss, gradients: g };
      },
    },
    forward: {
      dtype: "float64",
      step: forwardLoss,
      evaluate: () => ({ loss: forwardLoss(), gradients: {} }),
    },
  };
}

/** max|a − b| / max|b|: the error relative to the reference's scale, not per element. */
function relativeError(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) diff = d; // also catches NaN
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

const sci = (x: number): string => (x === 0 ? "0" : x.toExponential(1));

/** Compares `entry` with the generated reference; returns false if outside tolerance. */
function check(
  entry: Entry,
  reference: { loss: number; gradients: Record<string, Float64Array> },
  tolerance: number,
): boolean {
  const got = entry.runner.evaluate();
  const parts: string[] = [];
  let worst = Math.abs(got.loss - reference.loss) / Math.abs(reference.loss);
  if (!(worst >= 0)) worst = Infinity;
  parts.push(`loss ${sci(worst)}`);
  for (const [name, ref] of Object.entries(reference.gradients)) {
    const g = got.gradients[name];
    const e = g ? relativeError(g, ref) : Infinity;
    parts.push(`∂${name} ${sci(e)}`);
    if (!(e <= worst)) worst = e;
  }
  const ok = worst <= tolerance;
  console.log(
    `  ${entry.label.padEnd(20)} ${entry.runner.dtype}  max ${sci(worst)} ${ok ? "≤" : ">"} ${sci(tolerance)} ${ok ? "ok" : "FAILED"}   (${parts.join(", ")})`,
  );
  return ok;
}

let sink = 0;

function callTimed(entry: Entry, calls: number): void {
  for (let c = 0; c < calls; c++) {
    const t0 = performance.now();
    sink += entry.runner.step();
    entry.samples.push(performance.now() - t0);
  }
}

function quantile(sorted: readonly number[], q: number): number {
  const x = q * (sorted.length - 1);
  const i = Math.floor(x);
  const f = x - i;
  return i + 1 < sorted.length ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}

/** Warm-up, then rounds in rotating order until the budget is spent. */
function timeInterleaved(entries: Entry[], budgetMs: number): number {
  for (let pass = 0; pass < 2; pass++) {
    for (const e of entries) {
      const t0 = performance.now();
      let n = 0;
      while (n < WARMUP_CALLS / 2 || performance.now() - t0 < WARMUP_MS / 2) {
        sink += e.runner.step();
        n++;
      }
    }
  }
  const calls = entries.map((e) => {
    e.samples = [];
    callTimed(e, 3);
    const est = [...e.samples].sort((a, b) => a - b)[1]!;
    e.samples = [];
    return Math.max(1, Math.round(ROUND_MS / est));
  });
  const t0 = performance.now();
  let rounds = 0;
  while (rounds < MIN_ROUNDS || performance.now() - t0 < budgetMs) {
    for (let k = 0; k < entries.length; k++) {
      const i = (rounds + k) % entries.length;
      callTimed(entries[i]!, calls[i]!);
    }
    rounds++;
  }
  return rounds;
}

async function runWorkload(workload: Workload, options: Options, tfjsVersion: string): Promise<boolean> {
  console.log(`\n== ${workload.name}: ${workload.description}`);
  const data = workload.makeData(mulberry32(SEED));
  const nabla = await nablaRunners(workload, data, options.emit);
  const entries: Entry[] = [
    {
      key: "handwritten",
      label: "hand-written",
      runner: await workload.handwritten(data),
      samples: [],
    },
    {
      key: "generated",
      label: "nabla (generated)",
      runner: nabla.gradient,
      samples: [],
    },
    { key: "wasm", label: "nabla wasm", runner: await wasmRunner(workload, data), samples: [] },
    {
      key: "tfjs",
      label: `TF.js ${tfjsVersion} cpu`,
      runner: await workload.tfjs(data),
      samples: [],
    },
  ];
  if (workload.handwrittenForward)
    entries.push(
      {
        key: "handwrittenForward",
        label: "hand-written forward",
        runner: await workload.handwrittenForward(data),
        samples: [],
      },
      {
        key: "generatedForward",
        label: "nabla forward",
        runner: nabla.forward,
        samples: [],
      },
    );
  const byKey = (k: Entry["key"]) => entries.find((e) => e.key === k)!;

  console.log("check against the generated gradient (max|a−b| / max|b| per gradient, |Δloss| / |loss|):");
  const reference = byKey("generated").runner.evaluate();
  const handwrittenOk = check(byKey("handwritten"), reference, TOLERANCE.handwritten);
  const tfjsOk = check(byKey("tfjs"), reference, TOLERANCE.tfjs);
  const wasmOk = check(byKey("wasm"), reference, WASM_TOLERANCE);
  let forwardOk = true;
  for (const e of entries)
    if (e.key === "generatedForward" || e.key === "handwrittenForward")
      if (!check(e, { loss: reference.loss, gradients: {} }, FORWARD_LOSS_TOLERANCE)) forwardOk = false;
  const ok = handwrittenOk && tfjsOk && forwardOk && wasmOk;
  if (!ok) {
    for (const e of entries) e.runner.dispose?.();
    return false;
  }

  const started = performance.now();
  const rounds = timeInterleaved(entries, options.seconds * 1000);
  const seconds = (performance.now() - started) / 1000;
  const stats = new Map(
    entries.map((e) => {
      const s = [...e.samples].sort((a, b) => a - b);
      return [
        e.key,
        {
          median: quantile(s, 0.5),
          p10: quantile(s, 0.1),
          p90: quantile(s, 0.9),
          n: s.length,
        },
      ];
    }),
  );
  const base = stats.get("handwritten")!.median;
  console.log(
    `timing: ${rounds} interleaved rounds, ${seconds.toFixed(1)} s with warm-up; ms per forward+gradient call` +
      (workload.handwrittenForward ? " (per forward call for the forward-only rows)" : ""),
  );
  const header = [
    "implementation".padEnd(20),
    "dtype  ",
    "median".padStart(8),
    "p10–p90".padStart(15),
    "calls".padStart(6),
    "× hand-written".padStart(15),
  ];
  console.log("  " + header.join("  "));
  for (const e of entries) {
    const s = stats.get(e.key)!;
    console.log(
      "  " +
        [
          e.label.padEnd(20),
          e.runner.dtype,
          s.median.toFixed(3).padStart(8),
          `${s.p10.toFixed(2)}–${s.p90.toFixed(2)}`.padStart(15),
          String(s.n).padStart(6),
          (s.median / base).toFixed(2).padStart(15),
        ].join("  "),
    );
  }
  const gen = stats.get("generated")!.median;
  const tfjs = stats.get("tfjs")!.median;
  const ratio = gen / base;
  console.log(
    `generated / hand-written = ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}); ` +
      `TF.js / generated = ${(tfjs / gen).toFixed(2)} (${gen < tfjs ? "generated is faster" : "TF.js is faster"})`,
  );
  console.log(wasmSummary(gen, stats.get("wasm")!.median));
  if (workload.handwrittenForward) {
    const genOverFwd = gen / stats.get("generatedForward")!.median;
    const handOverFwd = base / stats.get("handwrittenForward")!.median;
    console.log(
      `generated gradient / generated forward = ${genOverFwd.toFixed(2)} (target ≤ ${TARGET_GRADIENT_OVER_FORWARD}: ${genOverFwd <= TARGET_GRADIENT_OVER_FORWARD ? "met" : "NOT met"}); ` +
        `hand-written gradient / hand-written forward = ${handOverFwd.toFixed(2)}; ` +
        `generated forward / hand-written forward = ${(stats.get("generatedForward")!.median / stats.get("handwrittenForward")!.median).toFixed(2)}`,
    );
  }
  for (const e of entries) e.runner.dispose?.();
  return true;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const chosen =
    options.names.length === 0
      ? workloads
      : options.names.map((n) => {
          const w = workloads.find((x) => x.name === n);
          if (!w) throw new Error(`no workload '${n}'; known: ${workloads.map((x) => x.name).join(", ")}`);
          return w;
        });
  const tfjsVersion = await initTfjsCpu();
  const cpu = cpus();
  console.log(
    `nabla benchmark — node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ` +
      `seed ${SEED}, ${options.seconds} s timing per workload`,
  );
  console.log(
    "TF.js runs on its pure-JavaScript CPU backend, in float32 (its only floating dtype); the others in float64.",
  );
  let failed = 0;
  for (const w of chosen) if (!(await runWorkload(w, options, tfjsVersion))) failed++;
  if (!Number.isFinite(sink)) console.log("(non-finite loss seen while timing)");
  if (failed > 0) {
    console.error(`\n${failed} workload(s) failed the correctness check; no timings for them.`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
