import type { DataSet } from "./data.js";

type Arrays = Record<string, Float64Array>;

/** What the training loop needs of a generated module. */
export interface TrainableModule {
  forward(params: Arrays, inputs: Arrays, dims?: Record<string, number>): { loss: number; values: Arrays };
  trainStep(params: Arrays, inputs: Arrays, lr?: number, dims?: Record<string, number>): number;
  /** Present when the model trains by Newton's method (`train newton`). */
  newtonStep?(params: Arrays, inputs: Arrays, lr?: number, dims?: Record<string, number>): number;
}

/**
 * One optimiser step on one minibatch, changing `params` in place; returns the loss before the
 * step.
 */
export type StepFunction = (params: Arrays, inputs: Arrays, dims: Record<string, number>) => number;

/**
 * The step of the model's own optimiser, as its `train` line sets it: the generated module's
 * `trainStep` (SGD, momentum, Adam…, keeping the optimiser's state between calls on the same
 * params), or its `newtonStep` for Newton's method.
 */
export function modelSteps(mod: TrainableModule, lr: number): StepFunction {
  if (mod.newtonStep) return (params, inputs, dims) => mod.newtonStep!(params, inputs, lr, dims);
  return (params, inputs, dims) => mod.trainStep(params, inputs, lr, dims);
}

/** A small seeded generator (mulberry32): the same seed, the same shuffles on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher–Yates shuffle of 0 … n−1. */
export function permutation(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Argmax accuracy of a value ([rows, K]) against a target: int labels [rows] or one-hot [rows, K]. */
export interface AccuracySpec {
  readonly value: string;
  readonly target: string;
}

export function accuracy(predicted: Float64Array, target: Float64Array, rows: number): number {
  const k = predicted.length / rows;
  const oneHot = target.length === predicted.length;
  const argmax = (a: Float64Array, from: number) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (a[from + j]! > a[from + best]!) best = j;
    return best;
  };
  let right = 0;
  for (let r = 0; r < rows; r++) {
    const label = oneHot ? argmax(target, r * k) : target[r]!;
    if (argmax(predicted, r * k) === label) right++;
  }
  return right / rows;
}

/** One point of the loss curves: an epoch (a fraction of one for an interrupted epoch). */
export interface EpochRecord {
  readonly epoch: number;
  /** The mean over the epoch's minibatches of the loss before each step, weighted by their rows. */
  readonly trainLoss: number;
  /** The loss of the whole validation set after the epoch. */
  readonly validLoss?: number;
  readonly trainAccuracy?: number;
  readonly validAccuracy?: number;
  /** Seconds since training started. */
  readonly seconds: number;
  /** For an epoch cut short: the steps it took of how many. */
  readonly partial?: { readonly step: number; readonly steps: number };
}

export interface StepProgress {
  readonly epoch: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
}

export interface TrainSetup {
  readonly params: Arrays;
  /** Inputs without the batch dim, the same for every minibatch (from the example or values file). */
  readonly fixedInputs: Arrays;
  readonly train: DataSet;
  readonly valid?: DataSet;
  readonly batchDim: string;
  /** Other dims bound at run time, as the data gives them. */
  readonly dims: Record<string, number>;
  readonly epochs: number;
  readonly batch: number;
  readonly seed: number;
  readonly step: StepFunction;
  readonly forward: TrainableModule["forward"];
  readonly accuracy?: AccuracySpec;
  /** Asked after every step: true stops training there (Ctrl-C). */
  readonly shouldStop?: () => boolean;
  readonly onStep?: (progress: StepProgress) => void;
  readonly onEpoch?: (record: EpochRecord) => void;
}

export type TrainOutcome =
  | { readonly kind: "done"; readonly history: EpochRecord[] }
  | {
      readonly kind: "interrupted";
      readonly history: EpochRecord[];
      readonly epoch: number;
      readonly step: number;
    }
  | {
      readonly kind: "diverged";
      readonly history: EpochRecord[];
      readonly epoch: number;
      readonly step: number;
      readonly loss: number;
    };

/** The inputs for a set of rows of a data set, into reused buffers. */
function gather(
  data: DataSet,
  order: Uint32Array,
  from: number,
  count: number,
  into: Map<number, Arrays>,
): Arrays {
  let buffers = into.get(count);
  if (!buffers) {
    buffers = {};
    for (const [name, t] of data.tensors)
      buffers[name] = new Float64Array((t.data.length / data.rows) * count);
    into.set(count, buffers);
  }
  for (const [name, t] of data.tensors) {
    const size = t.data.length / data.rows;
    const out = buffers[name]!;
    for (let r = 0; r < count; r++) {
      const row = order[from + r]!;
      out.set(t.data.subarray(row * size, (row + 1) * size), r * size);
    }
  }
  return buffers;
}

const wholeSet = (data: DataSet): Arrays =>
  Object.fromEntries([...data.tensors].map(([n, t]) => [n, t.data]));

/**
 * Minibatch training: each epoch shuffles the rows with the seeded generator, splits them into
 * minibatches of `batch` rows (the last one may be smaller) and takes a step on each.
 * Yields to the event loop now and then, so that a signal handler can ask it to stop.
 */
export async function train(setup: TrainSetup): Promise<TrainOutcome> {
  const { params, train: data, batch, batchDim } = setup;
  const random = seededRandom(setup.seed);
  const steps = Math.ceil(data.rows / batch);
  const history: EpochRecord[] = [];
  const buffers = new Map<number, Arrays>();
  const started = performance.now();
  let yielded = started;
  const evaluate = (set: DataSet) => {
    const out = setup.forward(
      params,
      { ...setup.fixedInputs, ...wholeSet(set) },
      { ...setup.dims, [batchDim]: set.rows },
    );
    const acc = setup.accuracy
      ? accuracy(out.values[setup.accuracy.value]!, set.tensors.get(setup.accuracy.target)!.data, set.rows)
      : undefined;
    return { loss: out.loss, accuracy: acc };
  };
  const record = (epoch: number, lossSum: number, rows: number, done = steps): EpochRecord => {
    const valid = setup.valid ? evaluate(setup.valid) : undefined;
    const trainAccuracy = setup.accuracy ? evaluate(data).accuracy : undefined;
    const r: EpochRecord = {
      epoch,
      trainLoss: lossSum / rows,
      ...(valid ? { validLoss: valid.loss } : {}),
      ...(trainAccuracy !== undefined ? { trainAccuracy } : {}),
      ...(valid?.accuracy !== undefined ? { validAccuracy: valid.accuracy } : {}),
      seconds: (performance.now() - started) / 1000,
      ...(done < steps ? { partial: { step: done, steps } } : {}),
    };
    history.push(r);
    setup.onEpoch?.(r);
    return r;
  };
  for (let epoch = 1; epoch <= setup.epochs; epoch++) {
    const order = permutation(data.rows, random);
    let lossSum = 0;
    let seen = 0;
    for (let step = 1; step <= steps; step++) {
      const from = (step - 1) * batch;
      const count = Math.min(batch, data.rows - from);
      const inputs = { ...setup.fixedInputs, ...gather(data, order, from, count, buffers) };
      const loss = setup.step(params, inputs, { ...setup.dims, [batchDim]: count });
      if (!Number.isFinite(loss)) {
        if (seen > 0) record(epoch - 1 + (step - 1) / steps, lossSum, seen, step - 1);
        return { kind: "diverged", history, epoch, step, loss };
      }
      lossSum += loss * count;
      seen += count;
      setup.onStep?.({ epoch, step, steps, loss });
      const now = performance.now();
      if (now - yielded > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
      if (setup.shouldStop?.()) {
        record(epoch - 1 + step / steps, lossSum, seen, step);
        return { kind: "interrupted", history, epoch, step };
      }
    }
    record(epoch, lossSum, seen);
  }
  return { kind: "done", history };
}
