import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bindValues, loadModule } from "../run.js";
import { batchedInputs, DataError, readData, type Batched, type DataSet } from "../train/data.js";
import {
  modelSteps,
  train,
  type AccuracySpec,
  type EpochRecord,
  type TrainableModule,
  type TrainOutcome,
} from "../train/loop.js";
import { lossPlot } from "../train/plot.js";
import { trainingProgress } from "../train/progress.js";
import { toNested } from "../ir/tensor.js";
import type { Graph } from "../ir/types.js";
import { closestName } from "../syntax/names.js";
import { UsageError, type Flags } from "./usage.js";
import {
  readSource,
  compileFile,
  moduleChoice,
  outputStem,
  writableFolder,
  writeOutput,
  readValues,
  asValuesProblem,
} from "./files.js";

/* nabla train: a model trained on a data set with its own optimiser. */

/** A whole number of at least `min` from an option, or a usage error naming it. */
function wholeOption(text: string | undefined, name: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} needs a whole number from ${min}, not '${text}'`, "train");
  return n;
}

function readDataFile(graph: Graph, batched: Batched, file: string): DataSet {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`cannot read data file '${file}'`);
  }
  try {
    return readData(graph, batched, file, text);
  } catch (error) {
    if (error instanceof DataError) throw new UsageError(error.message);
    throw error;
  }
}

/** The value and target `--accuracy` compares: a value [N, K] and the model's one target. */
function accuracySpec(graph: Graph, batchDim: string, value: string): AccuracySpec {
  const named = graph.named.find((n) => n.name === value);
  const targets = graph.named.filter((n) => n.kind === "target");
  const values = graph.named.filter((n) => n.kind === "equation").map((n) => n.name);
  if (!named || named.kind !== "equation") {
    const close = closestName(value, values);
    throw new UsageError(
      `--accuracy names a value of the model${close ? `; did you mean '${close}'?` : ""} ('${value}' is not one: ${values.join(", ")})`,
      "train",
    );
  }
  const shape = graph.nodes[named.node]!.shape;
  if (shape.length !== 2 || shape[0] !== batchDim)
    throw new UsageError(
      `--accuracy needs a value with one row of class scores per example, [${batchDim}, K]; '${value}' is [${named.declaredShape.join(", ")}]`,
      "train",
    );
  if (targets.length !== 1)
    throw new UsageError(
      `--accuracy compares with the model's target, and ${graph.modelName} has ${targets.length === 0 ? "none" : `${targets.length}: ${targets.map((t) => t.name).join(", ")}`}`,
      "train",
    );
  const target = targets[0]!;
  const tshape = graph.nodes[target.node]!.shape;
  const ok = tshape.length === 1 || (tshape.length === 2 && tshape[1] === shape[1]);
  if (!ok || tshape[0] !== batchDim)
    throw new UsageError(
      `--accuracy compares '${value}' with the target '${target.name}', which must be class labels [${batchDim}] int or one-hot rows [${batchDim}, K]`,
      "train",
    );
  return { value, target: target.name };
}

const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
const lossText = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : String(v));

function epochLine(r: EpochRecord, epochs: number): string {
  const parts = [
    r.partial
      ? `epoch ${Math.ceil(r.epoch)}/${epochs} (${r.partial.step} of ${r.partial.steps} steps)`
      : `epoch ${r.epoch}/${epochs}`,
    `train loss ${lossText(r.trainLoss)}`,
  ];
  if (r.validLoss !== undefined) parts.push(`valid loss ${lossText(r.validLoss)}`);
  if (r.trainAccuracy !== undefined) parts.push(`train accuracy ${percent(r.trainAccuracy)}`);
  if (r.validAccuracy !== undefined) parts.push(`valid accuracy ${percent(r.validAccuracy)}`);
  parts.push(`${r.seconds.toFixed(1)} s`);
  return parts.join("  ");
}

export async function commandTrain(file: string, flags: Flags, outDir: string): Promise<number> {
  if (flags.data === undefined)
    throw new UsageError("train needs a data set: --data <train.csv|json>", "train");
  const epochs = wholeOption(flags.epochs, "epochs", 10, 1);
  const batch = wholeOption(flags.batch, "batch", 32, 1);
  const seed = wholeOption(flags.seed, "seed", 1, 0);
  const lrGiven = flags.lr === undefined ? undefined : Number(flags.lr);
  if (lrGiven !== undefined && (flags.lr!.trim() === "" || !Number.isFinite(lrGiven) || lrGiven <= 0))
    throw new UsageError(`--lr needs a positive number, not '${flags.lr}'`, "train");
  const overrides = readValues(flags.values);
  const choice = moduleChoice(flags.target, flags.precision, "train");
  const compiled = await compileFile(file, readSource(file), false, choice);
  if (!compiled) return 1;
  const graph = compiled.graph;
  const lr = lrGiven ?? graph.train?.lr ?? 0.1;
  let batched: Batched;
  try {
    batched = batchedInputs(graph);
  } catch (error) {
    if (error instanceof DataError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  const trainSet = readDataFile(graph, batched, flags.data);
  const validSet = flags.valid === undefined ? undefined : readDataFile(graph, batched, flags.valid);
  const spec =
    flags.accuracy === undefined ? undefined : accuracySpec(graph, batched.batchDim, flags.accuracy);
  // The params (and any input without the batch dim) from the example, overridden by --values;
  // binding them with the training set checks its shapes and dims against the model.
  let bound: ReturnType<typeof bindValues>;
  try {
    bound = bindValues(graph, new Map([...overrides, ...trainSet.tensors]));
  } catch (error) {
    throw asValuesProblem(error, flags.values ?? file);
  }
  const { [batched.batchDim]: _rows, ...dims } = bound.dims;
  const fixedInputs = Object.fromEntries(
    Object.entries(bound.inputs).filter(([name]) => !batched.names.includes(name)),
  );
  const mod = (await loadModule(compiled.module.javascript)) as unknown as TrainableModule;
  const params = bound.params;
  // One forward pass over each whole set first: what the module's own checks find (a label out
  // of range) is then found before training, with entries counted over the file's rows.
  for (const [set, where] of [
    [trainSet, flags.data],
    [validSet, flags.valid],
  ] as const)
    if (set && where)
      try {
        const whole = Object.fromEntries([...set.tensors].map(([n, t]) => [n, t.data]));
        mod.forward(params, { ...fixedInputs, ...whole }, { ...dims, [batched.batchDim]: set.rows });
      } catch (error) {
        throw asValuesProblem(error, where);
      }
  // A folder that cannot be written is found now, not after the training it was to keep.
  writableFolder(outDir);
  const stepsPerEpoch = Math.ceil(trainSet.rows / batch);
  const progress = trainingProgress(epochs, stepsPerEpoch, process.stderr.isTTY === true);
  let stop = false;
  const onInterrupt = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write(
      "\nnabla: interrupted: stopping after this step to write the params and the loss plot (Ctrl-C again quits without them)\n",
    );
  };
  process.on("SIGINT", onInterrupt);
  progress.line(
    `training ${file} on ${flags.data}: ${trainSet.rows} rows${validSet ? `, ${validSet.rows} to validate (${flags.valid})` : ""}; ${epochs} epochs of ${stepsPerEpoch} steps of ${Math.min(batch, trainSet.rows)} rows, lr ${lr}, seed ${seed}${choice.target === "wasm" ? `; the WebAssembly module (${choice.precision ?? "f64"})` : ""}`,
  );
  let outcome: TrainOutcome;
  try {
    outcome = await train({
      params,
      fixedInputs,
      train: trainSet,
      ...(validSet ? { valid: validSet } : {}),
      batchDim: batched.batchDim,
      dims,
      epochs,
      batch,
      seed,
      step: modelSteps(mod, lr),
      forward: mod.forward,
      ...(spec ? { accuracy: spec } : {}),
      shouldStop: () => stop,
      onStep: (p) => progress.step(p),
      onEpoch: (r) => progress.line(epochLine(r, epochs)),
    });
  } catch (error) {
    progress.stop();
    throw asValuesProblem(error, flags.valid ? `${flags.data} or ${flags.valid}` : flags.data);
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
  progress.stop();
  const stem = outputStem(file);
  const plotPath = join(outDir, `${stem}.loss.svg`);
  writeOutput(plotPath, lossPlot(outcome.history, `${graph.modelName}: loss per epoch`));
  if (outcome.kind === "diverged") {
    process.stderr.write(
      `nabla: error: the loss is ${outcome.loss} at epoch ${outcome.epoch}, step ${outcome.step} of ${stepsPerEpoch}: training stopped (a smaller --lr may help); the params are not written, the loss plot so far is ${plotPath}\n`,
    );
    return 5;
  }
  const paramsPath = join(outDir, `${stem}.params.json`);
  const concrete = (node: number) =>
    graph.nodes[node]!.shape.map((d) => (typeof d === "number" ? d : bound.dims[d]!));
  const nested: Record<string, unknown> = {};
  for (const n of graph.named)
    if (n.kind === "param") nested[n.name] = toNested(concrete(n.node), params[n.name]!);
  writeOutput(paramsPath, `${JSON.stringify(nested)}\n`);
  const last = outcome.history[outcome.history.length - 1];
  const where =
    outcome.kind === "interrupted"
      ? `interrupted at epoch ${outcome.epoch}, step ${outcome.step} of ${stepsPerEpoch}`
      : `trained ${epochs} epochs`;
  process.stdout.write(
    `${where} in ${(last?.seconds ?? 0).toFixed(1)} s; wrote the params to ${paramsPath} and the loss curves to ${plotPath}\n`,
  );
  return outcome.kind === "interrupted" ? 130 : 0;
}
