/** The 784-128-10 sigmoid MLP with softmax cross-entropy, batch 32 (MNIST-sized). */
import {
  createMlpGradient,
  MLP_DIMS,
  type MlpGradients,
  type MlpInputs,
  type MlpParams,
} from "../handwritten/mlp.js";
import { oneHot, uniform, type Runner, type Workload, type WorkloadData } from "../workload.js";

const { D, H, K } = MLP_DIMS;

export const MLP_BATCH = 32;

export const mlpSource = `model MLP
dim N, D = ${D}, H = ${H}, K = ${K}
input X: [N, D]
target Y: [N, K]
param W1: [D, H]
param b1: [H]
param W2: [H, K]
param b2: [K]
Hid = sigmoid(X*W1 + b1)
P = softmax(Hid*W2 + b2)
loss L = cross_entropy(P, Y)
`;

/**
 * Pixel-like inputs on [0, 1), one-hot targets, weights uniform on ±1/√fan-in, biases on
 * ±0.1: pre-activations of order 1, so sigmoid and softmax are in their working range.
 */
export function makeMlpData(random: () => number, n = MLP_BATCH): WorkloadData {
  const a1 = 1 / Math.sqrt(D);
  const a2 = 1 / Math.sqrt(H);
  return {
    params: {
      W1: uniform(random, D * H, -a1, a1),
      b1: uniform(random, H, -0.1, 0.1),
      W2: uniform(random, H * K, -a2, a2),
      b2: uniform(random, K, -0.1, 0.1),
    },
    inputs: {
      X: uniform(random, n * D, 0, 1),
      Y: oneHot(random, n, K),
    },
    dims: { N: n },
  };
}

function handwrittenRunner(data: WorkloadData): Runner {
  const n = data.dims.N!;
  const gradient = createMlpGradient(n);
  const params = data.params as unknown as MlpParams;
  const inputs = data.inputs as unknown as MlpInputs;
  const zeros = (): MlpGradients => ({
    W1: new Float64Array(D * H),
    b1: new Float64Array(H),
    W2: new Float64Array(H * K),
    b2: new Float64Array(K),
  });
  const out = zeros();
  return {
    dtype: "float64",
    step: () => gradient(params, inputs, out),
    evaluate() {
      const g = zeros();
      const loss = gradient(params, inputs, g);
      return { loss, gradients: { ...g } };
    },
  };
}

async function tfjsRunner(data: WorkloadData): Promise<Runner> {
  // Loaded on demand so that code using only the hand-written model never loads TF.js.
  const { createTfjsMlp } = await import("../tfjs/mlp.js");
  const model = createTfjsMlp(data.dims.N!, data.params, data.inputs);
  return {
    dtype: "float32",
    step: () => model.step(),
    evaluate: () => model.evaluate(),
    dispose: () => model.dispose(),
  };
}

export const mlpWorkload: Workload = {
  name: "mlp",
  description: `${D}-${H}-${K} sigmoid MLP, softmax cross-entropy (summed), batch N=${MLP_BATCH}`,
  nablaSource: mlpSource,
  makeData: (random) => makeMlpData(random),
  handwritten: handwrittenRunner,
  handwrittenStyle: "blocked",
  tfjs: tfjsRunner,
  torch: { model: "mlp", dims: { D, H, K } },
};
