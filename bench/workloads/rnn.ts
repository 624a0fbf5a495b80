/**
 * An Elman RNN, softmax cross-entropy on O classes at the last step: backpropagation through
 * time. Two workloads: `rnn` (D=32 inputs, H=64 tanh hidden units, O=10, T=50 steps) and
 * `rnn-large` (D=128, H=256, O=10, T=100), the same code at two sizes.
 */
import {
  createRnnGradient,
  createRnnLoss,
  RNN_DIMS,
  type RnnDims,
  type RnnGradients,
  type RnnInputs,
  type RnnParams,
} from "../handwritten/rnn.js";
import { oneHot, uniform, type Runner, type Workload, type WorkloadData } from "../workload.js";

/** The model in nabla, at the given sizes (the `rnn` workload's by default). */
export function rnnSource(dims: RnnDims = RNN_DIMS): string {
  const { D, H, O, T } = dims;
  return `model ElmanRNN
dim D = ${D}, H = ${H}, O = ${O}, T = ${T}
index t in 1..T
input  x_t: [D]
target y: [O]
param  Wxh: [H, D]
param  Whh: [H, H]
param  bh: [H]
param  Why: [O, H]
param  by: [O]
h_0 = 0
h_t = tanh(Wxh*x_t + Whh*h_<t-1> + bh)
p = softmax(Why*h_T + by)
loss L = cross_entropy(p, y)
`;
}

export const rnnSourceText = rnnSource();

/**
 * Inputs uniform on [−1, 1), a one-hot target, weights uniform on ±1/√fan-in, biases on
 * ±0.1: pre-activations of order 1, so tanh is in its working range, and Whh's spectral
 * radius is about 1/√3, so ∂h decays over the T steps but does not vanish.
 */
export function makeRnnData(random: () => number, dims: RnnDims = RNN_DIMS): WorkloadData {
  const { D, H, O, T } = dims;
  const ax = 1 / Math.sqrt(D);
  const ah = 1 / Math.sqrt(H);
  return {
    params: {
      Wxh: uniform(random, H * D, -ax, ax),
      Whh: uniform(random, H * H, -ah, ah),
      bh: uniform(random, H, -0.1, 0.1),
      Why: uniform(random, O * H, -ah, ah),
      by: uniform(random, O, -0.1, 0.1),
    },
    inputs: {
      x: uniform(random, T * D, -1, 1),
      y: oneHot(random, 1, O),
    },
    dims: {},
  };
}

function zeros(dims: RnnDims): RnnGradients {
  const { D, H, O } = dims;
  return {
    Wxh: new Float64Array(H * D),
    Whh: new Float64Array(H * H),
    bh: new Float64Array(H),
    Why: new Float64Array(O * H),
    by: new Float64Array(O),
  };
}

type HandwrittenRnn = typeof import("../handwritten/rnn.js");

/**
 * The hand-written kernels in a module instance of their own per workload (the same file
 * imported with `?<name>`): two RNN workloads of different sizes in one process then do not
 * share the kernels' type feedback, so neither runs code V8 optimised for the other's sizes.
 * Falls back to the shared instance where such an import is not supported (e.g. under vitest).
 */
async function handwrittenModule(name: string): Promise<HandwrittenRnn> {
  const url = new URL("../handwritten/rnn.js", import.meta.url);
  if (url.protocol === "file:") {
    url.search = `?${name}`;
    try {
      return (await import(url.href)) as HandwrittenRnn;
    } catch {
      // fall through
    }
  }
  return { createRnnGradient, createRnnLoss } as HandwrittenRnn;
}

async function handwrittenRunner(name: string, dims: RnnDims, data: WorkloadData): Promise<Runner> {
  const gradient = (await handwrittenModule(name)).createRnnGradient(dims);
  const params = data.params as unknown as RnnParams;
  const inputs = data.inputs as unknown as RnnInputs;
  const out = zeros(dims);
  return {
    dtype: "float64",
    step: () => gradient(params, inputs, out),
    evaluate() {
      const g = zeros(dims);
      const loss = gradient(params, inputs, g);
      return { loss, gradients: { ...g } };
    },
  };
}

async function handwrittenForwardRunner(name: string, dims: RnnDims, data: WorkloadData): Promise<Runner> {
  const loss = (await handwrittenModule(name)).createRnnLoss(dims);
  const params = data.params as unknown as RnnParams;
  const inputs = data.inputs as unknown as RnnInputs;
  return {
    dtype: "float64",
    step: () => loss(params, inputs),
    evaluate: () => ({ loss: loss(params, inputs), gradients: {} }),
  };
}

async function tfjsRunner(dims: RnnDims, data: WorkloadData): Promise<Runner> {
  // Loaded on demand so that code using only the hand-written model never loads TF.js.
  const { createTfjsRnn } = await import("../tfjs/rnn.js");
  const model = createTfjsRnn(dims, data.params, data.inputs);
  return {
    dtype: "float32",
    step: () => model.step(),
    evaluate: () => model.evaluate(),
    dispose: () => model.dispose(),
  };
}

/** The Elman RNN workload at the given sizes, under the given name. */
export function makeRnnWorkload(name: string, dims: RnnDims): Workload {
  const { D, H, O, T } = dims;
  return {
    name,
    description: `Elman RNN, D=${D} inputs, H=${H} tanh units, T=${T} steps, softmax cross-entropy over O=${O} classes at the last step (BPTT)`,
    nablaSource: rnnSource(dims),
    makeData: (random) => makeRnnData(random, dims),
    handwritten: (data) => handwrittenRunner(name, dims, data),
    handwrittenStyle: "blocked",
    tfjs: (data) => tfjsRunner(dims, data),
    torch: { model: "rnn", dims: { ...dims } },
    handwrittenForward: (data) => handwrittenForwardRunner(name, dims, data),
  };
}

/** Issue 11's large RNN: D=128, H=256, O=10, T=100. */
export const RNN_LARGE_DIMS: RnnDims = { D: 128, H: 256, O: 10, T: 100 };

export const rnnWorkload: Workload = makeRnnWorkload("rnn", RNN_DIMS);
export const rnnLargeWorkload: Workload = makeRnnWorkload("rnn-large", RNN_LARGE_DIMS);
