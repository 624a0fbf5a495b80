/**
 * `npm run bench`: nabla's generated gradient code against a hand-written baseline,
 * TensorFlow.js (cpu and wasm backends) and PyTorch (float64 and float32), on every workload
 * in `workloads`, ending with issue 11's summary table (bench/table.ts): each figure beside
 * the issue's from 2026-11-30.
 *
 * For each workload: compile the nabla model, set up every implementation in
 * `IMPLEMENTATIONS` on the same seeded data, check that their losses and gradients agree
 * with the generated ones (abort the workload otherwise), then time one forward + gradient
 * call of each, all interleaved round by round so that drift in the machine's speed hits
 * them alike. Workloads that give a hand-written forward pass also have the forward passes
 * alone (the generated module's `forward` and the hand-written one) timed in the same
 * rounds, and report gradient / forward. An implementation that cannot run a workload (a
 * TF.js backend missing a kernel) is reported as such, not timed; the TF.js wasm backend has
 * no conv2d filter gradient, so its CNN runs the convolution as a depth-1 conv3d.
 *
 * PyTorch runs in a Python process (bench/torch/bench.py, via bench/pytorch.ts) right after
 * each workload's JavaScript rounds, on the same data written to a temporary JSON file; it
 * checks its loss and gradients against the generated ones the same way and interleaves its
 * float64 and float32 calls round by round for a third of the per-workload budget. The
 * JavaScript process waits meanwhile, so the two never compete for a core. Without
 * /usr/bin/python3 and torch the table says "not installed".
 *
 * Besides each implementation's median, the generated / hand-written ratio is also given round
 * by round (median over the rounds of the two's mean times in the same round), which the
 * machine's slow and fast spells move far less than the ratio of the medians.
 *
 *   node dist/bench/run.js [--seconds S] [--emit DIR] [--no-torch] [--only KEY,...] [workload ...]
 *
 * --seconds  JavaScript timing budget per workload after warm-up (default 12; PyTorch gets a third)
 * --emit     also write each workload's generated TypeScript to DIR/<name>.generated.ts
 * --no-torch skip PyTorch
 * --only     time only these implementations (keys of IMPLEMENTATIONS, e.g.
 *            handwritten,generated,handwrittenForward,generatedForward; "generated" and
 *            "handwritten" are always included); implies --no-torch
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

import { compile } from "../src/index.js";
import { loadModule } from "../src/run.js";
import { blasName, pytorchAvailable, PYTHON, runPytorch, type TorchResult } from "./pytorch.js";
import { formatTable, TABLE_COLUMNS, TABLE_ROWS, type Cell, type RowResults } from "./table.js";
import {
  initTfjsCpu,
  initTfjsWasm,
  missingKernel,
  missingKernelReason,
  tfjsWasmVersion,
  useTfjsBackend,
} from "./tfjs/init.js";
import { mulberry32, type Runner, type Workload, type WorkloadData } from "./workload.js";
import { cnnWorkload } from "./workloads/cnn.js";
import { mlpWorkload } from "./workloads/mlp.js";
import { rnnLargeWorkload, rnnWorkload } from "./workloads/rnn.js";
import { WASM_TOLERANCE, wasmF32Runner, wasmRunner } from "./wasm.js";

/** Add a workload by appending it here (and a row to TABLE_ROWS in bench/table.ts for the summary). */
const workloads: readonly Workload[] = [rnnLargeWorkload, mlpWorkload, cnnWorkload, rnnWorkload];

const SEED = 20240601;
/** Largest accepted max|a − b| / max|b| against the generated gradient: float64 implementations. */
const TOLERANCE_F64 = 1e-9;
/** The same for float32 ones (TF.js, PyTorch f32): rounding to float32 alone gives ~1e-6. */
const TOLERANCE_F32 = 1e-3;
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
/**
 * Cap on one warm-up pass of one implementation (after at least 2 calls), so that the slow
 * ones (TF.js cpu on the large RNN, ~0.15–0.9 s a call) do not spend most of the run warming up.
 */
const WARMUP_PASS_CAP_MS = 1500;
const MIN_ROUNDS = 8;

interface Options {
  seconds: number;
  emit?: string;
  torch: boolean;
  /** Implementation keys to run, all if undefined. */
  only?: Set<string>;
  names: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { seconds: 12, torch: true, names: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--seconds") {
      options.seconds = Number(argv[++i]);
      if (!(options.seconds > 0)) throw new Error("--seconds needs a positive number");
    } else if (a === "--emit") {
      options.emit = argv[++i];
      if (!options.emit) throw new Error("--emit needs a directory");
    } else if (a === "--no-torch") {
      options.torch = false;
    } else if (a === "--only") {
      const keys = (argv[++i] ?? "").split(",").filter((k) => k !== "");
      const known = new Set(IMPLEMENTATIONS.map((m) => m.key));
      for (const k of keys)
        if (!known.has(k))
          throw new Error(`--only: no implementation '${k}'; known: ${[...known].join(", ")}`);
      options.only = new Set([...keys, "generated", "handwritten"]);
      options.torch = false;
    } else if (a.startsWith("-")) {
      throw new Error(`unknown option ${a}`);
    } else {
      options.names.push(a);
    }
  }
  return options;
}

/** What an implementation needs to set itself up on a workload. */
interface Context {
  readonly workload: Workload;
  readonly data: WorkloadData;
  readonly nabla: { gradient: Runner; forward: Runner };
  /** TF.js versions, and why the wasm backend is unusable if it is. */
  readonly tfjs: { version: string; wasmVersion: string; wasmUnavailable?: string };
}

/** An implementation that cannot run this workload, and why (shown in the table). */
interface Unavailable {
  readonly unavailable: string;
}

/**
 * One implementation of every workload: a row of the per-workload report and, under its
 * key, a column the summary table may show (bench/table.ts's TABLE_COLUMNS).
 */
interface Implementation {
  readonly key: string;
  label(ctx: Context): string;
  /** Checked against the generated gradient to this; forward-only ones on the loss alone. */
  readonly tolerance: number;
  readonly forwardOnly?: boolean;
  /** The runner on this workload's data, `undefined` to leave this workload out, or why it cannot run. */
  create(ctx: Context): Promise<Runner | Unavailable | undefined>;
}

/** A TF.js runner on `backend`: its tensors created there, and the backend re-selected before each use. */
async function tfjsOn(backend: "cpu" | "wasm", ctx: Context): Promise<Runner | Unavailable> {
  if (backend === "wasm" && ctx.tfjs.wasmUnavailable) return { unavailable: ctx.tfjs.wasmUnavailable };
  useTfjsBackend(backend);
  let runner: Runner;
  try {
    runner = await ctx.workload.tfjs(ctx.data);
  } finally {
    useTfjsBackend("cpu");
  }
  const activate = () => useTfjsBackend(backend);
  return {
    dtype: runner.dtype,
    activate,
    step: runner.step,
    evaluate() {
      activate();
      return runner.evaluate();
    },
    dispose() {
      activate();
      runner.dispose?.();
    },
  };
}

/**
 * Every implementation timed on every workload, in report order; the generated gradient is
 * the reference the others are checked against.
 *
 * "nabla wasm" is the `--target wasm` module (bench/wasm.ts). Nothing else needs to change
 * for another implementation: checking, timing, the per-workload report and the table all go
 * by this list (and TABLE_COLUMNS in bench/table.ts).
 */
const IMPLEMENTATIONS: readonly Implementation[] = [
  {
    key: "handwritten",
    label: () => "hand-written",
    tolerance: TOLERANCE_F64,
    create: async (ctx) => ctx.workload.handwritten(ctx.data),
  },
  {
    key: "generated",
    label: () => "nabla (generated)",
    tolerance: 0,
    create: async (ctx) => ctx.nabla.gradient,
  },
  {
    key: "nablaWasm",
    label: () => "nabla wasm",
    tolerance: WASM_TOLERANCE,
    create: (ctx) => wasmRunner(ctx.workload, ctx.data),
  },
  {
    key: "nablaWasmF32",
    label: () => "nabla wasm f32",
    tolerance: TOLERANCE_F32,
    create: (ctx) => wasmF32Runner(ctx.workload, ctx.data),
  },
  {
    key: "tfjsCpu",
    label: (ctx) => `TF.js ${ctx.tfjs.version} cpu`,
    tolerance: TOLERANCE_F32,
    create: (ctx) => tfjsOn("cpu", ctx),
  },
  {
    key: "tfjsWasm",
    label: (ctx) => `TF.js ${ctx.tfjs.wasmVersion} wasm`,
    tolerance: TOLERANCE_F32,
    create: (ctx) => tfjsOn("wasm", ctx),
  },
  {
    key: "handwrittenForward",
    label: () => "hand-written forward",
    tolerance: FORWARD_LOSS_TOLERANCE,
    forwardOnly: true,
    create: async (ctx) => ctx.workload.handwrittenForward?.(ctx.data),
  },
  {
    key: "generatedForward",
    label: () => "nabla forward",
    tolerance: FORWARD_LOSS_TOLERANCE,
    forwardOnly: true,
    create: async (ctx) => (ctx.workload.handwrittenForward ? ctx.nabla.forward : undefined),
  },
];

interface Entry {
  readonly key: string;
  readonly label: string;
  readonly tolerance: number;
  readonly forwardOnly: boolean;
  readonly runner: Runner;
  samples: number[];
  /** The mean ms per call of each timed round, in round order (for ratios of the same round). */
  rounds: number[];
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

/** One line of the correctness report, in the format of the JavaScript implementations'. */
function reportCheck(
  label: string,
  dtype: string,
  errors: Record<string, number>,
  tolerance: number,
): boolean {
  const parts: string[] = [];
  let worst = 0;
  for (const [name, e] of Object.entries(errors)) {
    parts.push(`${name === "loss" ? "loss" : `∂${name}`} ${sci(e)}`);
    if (!(e <= worst)) worst = e; // also catches NaN
  }
  const ok = worst <= tolerance;
  console.log(
    `  ${label.padEnd(20)} ${dtype}  max ${sci(worst)} ${ok ? "≤" : ">"} ${sci(tolerance)} ${ok ? "ok" : "FAILED"}   (${parts.join(", ")})`,
  );
  return ok;
}

/**
 * Compares `entry` with the generated reference: true if within tolerance, false if not, or
 * why it cannot run (a TF.js backend without a kernel the gradient needs).
 */
function check(
  entry: Entry,
  reference: { loss: number; gradients: Record<string, Float64Array> },
): boolean | Unavailable {
  let got: { loss: number; gradients: Record<string, Float64Array> };
  try {
    got = entry.runner.evaluate();
  } catch (err) {
    const missing = missingKernel(err);
    if (!missing) throw err;
    const unavailable = `${missingKernelReason(missing.kernel)}`;
    console.log(
      `  ${entry.label.padEnd(20)} cannot run: ${unavailable} (TF.js: kernel ${missing.kernel} is not registered for the ${missing.backend} backend)`,
    );
    return { unavailable };
  }
  const errors: Record<string, number> = {
    loss: Math.abs(got.loss - reference.loss) / Math.abs(reference.loss),
  };
  if (!(errors.loss! >= 0)) errors.loss = Infinity;
  for (const [name, ref] of Object.entries(reference.gradients)) {
    const g = got.gradients[name];
    errors[name] = g ? relativeError(g, ref) : Infinity;
  }
  return reportCheck(entry.label, entry.runner.dtype, errors, entry.tolerance);
}

let sink = 0;

function callTimed(entry: Entry, calls: number): void {
  entry.runner.activate?.();
  const start = performance.now();
  for (let c = 0; c < calls; c++) {
    const t0 = performance.now();
    sink += entry.runner.step();
    entry.samples.push(performance.now() - t0);
  }
  entry.rounds.push((performance.now() - start) / calls);
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
      e.runner.activate?.();
      const t0 = performance.now();
      let n = 0;
      for (;;) {
        const elapsed = performance.now() - t0;
        if (n >= WARMUP_CALLS / 2 && elapsed >= WARMUP_MS / 2) break;
        if (n >= 2 && elapsed >= WARMUP_PASS_CAP_MS) break;
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
    e.rounds = [];
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

interface WorkloadOutcome {
  /** False if an implementation disagreed with the generated gradient. */
  readonly ok: boolean;
  /** Medians (ms per forward + gradient call) or why there is none, by implementation key. */
  readonly cells: Record<string, Cell>;
}

interface Setup {
  readonly tfjs: Context["tfjs"];
  /** Why PyTorch is not run (not installed, or --no-torch); undefined if it is. */
  readonly torchUnavailable?: string;
  /** The first PyTorch result's versions and BLAS, for the notes under the table. */
  torchSeen?: TorchResult;
}

/** The median of sorted samples and the spread, as printed per workload. */
function summarize(samples: readonly number[]): { median: number; p10: number; p90: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9), n: s.length };
}

function timingLine(
  label: string,
  dtype: string,
  s: { median: number; p10: number; p90: number; n: number },
  base: number,
) {
  console.log(
    "  " +
      [
        label.padEnd(20),
        dtype,
        s.median.toFixed(3).padStart(8),
        `${s.p10.toFixed(2)}–${s.p90.toFixed(2)}`.padStart(15),
        String(s.n).padStart(6),
        (s.median / base).toFixed(2).padStart(15),
      ].join("  "),
  );
}

async function runWorkload(workload: Workload, options: Options, setup: Setup): Promise<WorkloadOutcome> {
  console.log(`\n== ${workload.name}: ${workload.description}`);
  const data = workload.makeData(mulberry32(SEED));
  const nabla = await nablaRunners(workload, data, options.emit);
  const ctx: Context = { workload, data, nabla, tfjs: setup.tfjs };
  const cells: Record<string, Cell> = {};
  const entries: Entry[] = [];
  for (const impl of IMPLEMENTATIONS) {
    if (options.only && !options.only.has(impl.key)) continue;
    const runner = await impl.create(ctx);
    if (runner === undefined) continue;
    if ("unavailable" in runner) {
      cells[impl.key] = { missing: runner.unavailable };
      console.log(`  ${impl.label(ctx).padEnd(20)} not run: ${runner.unavailable}`);
      continue;
    }
    entries.push({
      key: impl.key,
      label: impl.label(ctx),
      tolerance: impl.tolerance,
      forwardOnly: impl.forwardOnly ?? false,
      runner,
      samples: [],
      rounds: [],
    });
  }
  const byKey = (k: string) => entries.find((e) => e.key === k);

  console.log("check against the generated gradient (max|a−b| / max|b| per gradient, |Δloss| / |loss|):");
  const reference = byKey("generated")!.runner.evaluate();
  let ok = true;
  const timed: Entry[] = [];
  for (const e of entries) {
    if (e.key === "generated") {
      timed.push(e);
      continue;
    }
    const result = check(e, e.forwardOnly ? { loss: reference.loss, gradients: {} } : reference);
    if (result === true) timed.push(e);
    else if (result === false) ok = false;
    else {
      cells[e.key] = { missing: result.unavailable };
      e.runner.dispose?.();
    }
  }
  if (!ok) {
    for (const e of timed) e.runner.dispose?.();
    return { ok, cells: {} };
  }

  const started = performance.now();
  const rounds = timeInterleaved(timed, options.seconds * 1000);
  const seconds = (performance.now() - started) / 1000;
  const stats = new Map(timed.map((e) => [e.key, summarize(e.samples)]));
  for (const e of timed) if (!e.forwardOnly) cells[e.key] = { median: stats.get(e.key)!.median };
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
  for (const e of timed) timingLine(e.label, e.runner.dtype, stats.get(e.key)!, base);
  const gen = stats.get("generated")!.median;
  const ratio = gen / base;
  const versus = timed
    .filter((e) => e.key.startsWith("tfjs"))
    .map((e) => {
      const t = stats.get(e.key)!.median;
      return `${e.label} / generated = ${(t / gen).toFixed(2)} (${gen < t ? "generated is faster" : "TF.js is faster"})`;
    });
  console.log(
    `generated / hand-written = ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}); ` +
      versus.join("; "),
  );
  // The same ratio round by round: the two ran within ~30 ms of each other in each round, so
  // the machine's slower and faster spells (which move each median by tens of per cent on a
  // shared VM) cancel.
  const paired = summarize(byKey("generated")!.rounds.map((g, i) => g / byKey("handwritten")!.rounds[i]!));
  console.log(
    `generated / hand-written per round: median ${paired.median.toFixed(3)}, p10–p90 ${paired.p10.toFixed(2)}–${paired.p90.toFixed(2)} over ${paired.n} rounds`,
  );
  if (byKey("generatedForward") && byKey("handwrittenForward")) {
    const genOverFwd = gen / stats.get("generatedForward")!.median;
    const handOverFwd = base / stats.get("handwrittenForward")!.median;
    console.log(
      `generated gradient / generated forward = ${genOverFwd.toFixed(2)} (target ≤ ${TARGET_GRADIENT_OVER_FORWARD}: ${genOverFwd <= TARGET_GRADIENT_OVER_FORWARD ? "met" : "NOT met"}); ` +
        `hand-written gradient / hand-written forward = ${handOverFwd.toFixed(2)}; ` +
        `generated forward / hand-written forward = ${(stats.get("generatedForward")!.median / stats.get("handwrittenForward")!.median).toFixed(2)}`,
    );
  }
  for (const e of timed) e.runner.dispose?.();

  ok = runTorch(workload, data, reference, options, setup, cells, base) && ok;
  return { ok, cells };
}

/**
 * PyTorch on this workload, after its JavaScript rounds (this process waits meanwhile): its
 * check and timings are printed and its two cells filled. Returns false only if its check
 * failed; a missing or crashing torch leaves the cells saying so.
 */
function runTorch(
  workload: Workload,
  data: WorkloadData,
  reference: { loss: number; gradients: Record<string, Float64Array> },
  options: Options,
  setup: Setup,
  cells: Record<string, Cell>,
  handwrittenMedian: number,
): boolean {
  if (setup.torchUnavailable) {
    // the table says "not installed"; the notes under it give the details in brackets
    const missing = setup.torchUnavailable.replace(/\s*\(.*\)$/, "");
    cells.torchF64 = cells.torchF32 = { missing };
    return true;
  }
  const seconds = Math.max(1, options.seconds / 3);
  let result: TorchResult;
  try {
    result = runPytorch(workload.name, workload.torch, data, reference, { seconds, roundMs: ROUND_MS });
  } catch (err) {
    console.log(`PyTorch failed: ${err instanceof Error ? err.message : String(err)}`);
    cells.torchF64 = cells.torchF32 = { missing: "failed (see its workload)" };
    return true;
  }
  setup.torchSeen ??= result;
  const blas = blasName(result.blas);
  console.log(
    `PyTorch ${result.torch} (Python ${result.python}, ${result.threads} thread, ${blas}), in its own process after the rounds above: ` +
      `check against the generated gradient, then ${result.rounds} interleaved rounds of ${seconds.toFixed(1)} s`,
  );
  let ok = true;
  const rows: [string, string, "f64" | "f32", number][] = [
    ["torchF64", "float64", "f64", TOLERANCE_F64],
    ["torchF32", "float32", "f32", TOLERANCE_F32],
  ];
  for (const [key, dtype, k, tolerance] of rows) {
    const r = result.results[k];
    const label = `PyTorch ${k}`;
    if (reportCheck(label, dtype, r.errors, tolerance)) {
      if (r.median !== undefined) {
        cells[key] = { median: r.median };
        timingLine(label, dtype, { median: r.median, p10: r.p10!, p90: r.p90!, n: r.n! }, handwrittenMedian);
      }
    } else {
      cells[key] = { missing: "check FAILED" };
      ok = false;
    }
  }
  return ok;
}

/** The notes under the summary table: what each column ran, and where the old figures come from. */
function tableNotes(chosen: readonly Workload[], setup: Setup): string[] {
  const rows = TABLE_ROWS.filter((r) => chosen.some((w) => w.name === r.workload));
  const style = (s: Workload["handwrittenStyle"]) =>
    rows
      .filter((r) => workloads.find((w) => w.name === r.workload)?.handwrittenStyle === s)
      .map((r) => r.label)
      .join(", ");
  const torch = setup.torchSeen;
  return [
    "Median ms of one forward + gradient, one thread; each cell is this run's figure (issue 11's from 2026-11-30 in brackets,",
    "bench/table.ts ISSUE_11_BASELINE_2026_11_30). Compare only within one run: the machine's noise is about ±30%.",
    `- nabla: the generated module's gradient (JavaScript, float64). Columns: ${TABLE_COLUMNS.map((c) => c.title).join(", ")}.`,
    `- best hand-written JS (float64): register-blocked loops for ${style("blocked") || "none"}; plain loops for ${style("plain") || "none"}.`,
    setup.tfjs.wasmUnavailable
      ? `- TF.js wasm: ${setup.tfjs.wasmUnavailable}.`
      : `- TF.js wasm: @tensorflow/tfjs-backend-wasm ${setup.tfjs.wasmVersion}, SIMD, one thread, float32; the CNN's convolution as a depth-1 conv3d (the backend has no conv2d filter gradient).`,
    torch
      ? `- PyTorch ${torch.torch} (Python ${torch.python}), ${torch.threads} thread, BLAS: ${blasName(torch.blas)} (${torch.blas}); the baseline's was OpenBLAS.`
      : `- PyTorch: ${setup.torchUnavailable ?? "no result"}.`,
  ];
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
  const version = await initTfjsCpu();
  const wasmUnavailable = await initTfjsWasm();
  const wasmVersion = wasmUnavailable ? "?" : await tfjsWasmVersion();
  const setup: Setup = {
    tfjs: { version, wasmVersion, wasmUnavailable },
    torchUnavailable: options.torch ? pytorchAvailable() : "not run (--no-torch)",
  };
  const cpu = cpus();
  console.log(
    `nabla benchmark — node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ` +
      `seed ${SEED}, ${options.seconds} s timing per workload`,
  );
  console.log(
    "TF.js runs on its pure-JavaScript cpu backend and on its WebAssembly backend (SIMD, one thread), in float32 " +
      "(its only floating dtype); PyTorch in float64 and float32" +
      (setup.torchUnavailable ? ` (${setup.torchUnavailable})` : ` (${PYTHON})`) +
      "; the others in float64.",
  );
  let failed = 0;
  const results: Record<string, RowResults> = {};
  for (const w of chosen) {
    const outcome = await runWorkload(w, options, setup);
    if (!outcome.ok) failed++;
    results[w.name] = outcome.ok
      ? outcome.cells
      : Object.fromEntries(
          TABLE_COLUMNS.map((c) => [c.key, outcome.cells[c.key] ?? { missing: "check FAILED" }]),
        );
  }
  if (!Number.isFinite(sink)) console.log("(non-finite loss seen while timing)");
  console.log("\n== Summary (issue 11): new (old)\n");
  console.log(formatTable(results));
  console.log("\n" + tableNotes(chosen, setup).join("\n"));
  if (failed > 0) {
    console.error(`\n${failed} workload(s) failed the correctness check; no timings for them.`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
