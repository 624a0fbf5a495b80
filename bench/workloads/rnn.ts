/**
 * An Elman RNN over T=50 steps (D=32 inputs, H=64 tanh hidden units), softmax cross-entropy
 * on O=10 classes at the last step: backpropagation through time.
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

/** The model in nabla, at the given sizes (the benchmark's by default). */
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
 * radius is about 1/√3, so ∂h decays over the 50 steps but does not vanish.
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

function handwrittenRunner(data: WorkloadData): Runner {
  const gradient = createRnnGradient(RNN_DIMS);
  const params = data.params as unknown as RnnParams;
  const inputs = data.inputs as unknown as RnnInputs;
  const out = zeros(RNN_DIMS);
  return {
    dtype: "float64",
    step: () => gradient(params, inputs, out),
    evaluate() {
      const g = zeros(RNN_DIMS);
      const loss = gradient(params, inputs, g);
      return { loss, gradients: { ...g } };
    },
  };
}

function handwrittenForwardRunner(data: WorkloadData): Runner {
  const loss = createRnnLoss(RNN_DIMS);
  const params = data.params as unknown as RnnParams;
  const inputs = data.inputs as unknown as RnnInputs;
  return {
    dtype: "float64",
    step: () => loss(params, inputs),
    evaluate: () => ({ loss: loss(params, inputs), gradients: {} }),
  };
}

async function tfjsRunner(data: WorkloadData): Promise<Runner> {
  // Loaded on demand so that code using only the hand-written model never loads TF.js.
  const { createTfjsRnn } = await import("../tfjs/rnn.js");
  const model = createTfjsRnn(RNN_DIMS, data.params, data.inputs);
  return {
    dtype: "float32",
    step: () => model.step(),
    evaluate: () => model.evaluate(),
    dispose: () => model.dispose(),
  };
}

const { D, H, O, T } = RNN_DIMS;

export const rnnWorkload: Workload = {
  name: "rnn",
  description: `Elman RNN, D=${D} inputs, H=${H} tanh units, T=${T} steps, softmax cross-entropy over O=${O} classes at the last step (BPTT)`,
  nablaSource: rnnSourceText,
  makeData: (random) => makeRnnData(random),
  handwritten: handwrittenRunner,
  tfjs: tfjsRunner,
  handwrittenForward: handwrittenForwardRunner,
};
