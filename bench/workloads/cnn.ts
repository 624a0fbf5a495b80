/**
 * A small CNN on one 1×28×28 image: a 3×3 convolution with F=8 filters, ReLU, 2×2 max-pooling
 * with stride 2, a dense layer to K=10 classes and softmax cross-entropy.
 */
import {
  CNN_DIMS,
  cnnShape,
  createCnnGradient,
  createCnnLoss,
  type CnnDims,
  type CnnGradients,
  type CnnInputs,
  type CnnParams,
} from "../handwritten/cnn.js";
import { oneHot, uniform, type Runner, type Workload, type WorkloadData } from "../workload.js";

/** The model in nabla, at the given sizes (the benchmark's by default). */
export function cnnSource(dims: CnnDims = CNN_DIMS): string {
  const { C, H, W, F, K } = dims;
  const { PH, PW, N } = cnnShape(dims);
  return `model SmallCNN
dim C = ${C}, F = ${F}, K = ${K}
input  x: [C, ${H}, ${W}]
target y: [K]
param  k: [F, C, 3, 3]
param  bk: [F, 1, 1]
param  W: [K, ${N}]
param  b: [K]
A = relu(conv2d(x, k) + bk)        # [${F}, ${H - 2}, ${W - 2}]
P = maxpool(A, size=2, stride=2)   # [${F}, ${PH}, ${PW}]
z = W*flatten(P) + b               # [${K}]
p = softmax(z)
loss L = cross_entropy(p, y)
`;
}

export const cnnSourceText = cnnSource();

/**
 * Pixel-like inputs uniform on [0, 1), a one-hot target, weights uniform on ±1/√fan-in
 * (fan-in C·9 for k, N for W), biases on ±0.1. All values are continuous, so no two
 * convolution outputs in a pooling window are equal (no ties for the max-pool gradient to
 * break) and no pre-activation is exactly 0 (no ReLU kink); windows whose outputs are all
 * negative pass no gradient in any implementation.
 */
export function makeCnnData(random: () => number, dims: CnnDims = CNN_DIMS): WorkloadData {
  const { C, H, W, F, K } = dims;
  const { N } = cnnShape(dims);
  const ak = 1 / Math.sqrt(C * 9);
  const aw = 1 / Math.sqrt(N);
  return {
    params: {
      k: uniform(random, F * C * 9, -ak, ak),
      bk: uniform(random, F, -0.1, 0.1),
      W: uniform(random, K * N, -aw, aw),
      b: uniform(random, K, -0.1, 0.1),
    },
    inputs: {
      x: uniform(random, C * H * W, 0, 1),
      y: oneHot(random, 1, K),
    },
    dims: {},
  };
}

function zeros(dims: CnnDims): CnnGradients {
  const { C, F, K } = dims;
  const { N } = cnnShape(dims);
  return {
    k: new Float64Array(F * C * 9),
    bk: new Float64Array(F),
    W: new Float64Array(K * N),
    b: new Float64Array(K),
  };
}

function handwrittenRunner(data: WorkloadData): Runner {
  const gradient = createCnnGradient(CNN_DIMS);
  const params = data.params as unknown as CnnParams;
  const inputs = data.inputs as unknown as CnnInputs;
  const out = zeros(CNN_DIMS);
  return {
    dtype: "float64",
    step: () => gradient(params, inputs, out),
    evaluate() {
      const g = zeros(CNN_DIMS);
      const loss = gradient(params, inputs, g);
      return { loss, gradients: { ...g } };
    },
  };
}

function handwrittenForwardRunner(data: WorkloadData): Runner {
  const loss = createCnnLoss(CNN_DIMS);
  const params = data.params as unknown as CnnParams;
  const inputs = data.inputs as unknown as CnnInputs;
  return {
    dtype: "float64",
    step: () => loss(params, inputs),
    evaluate: () => ({ loss: loss(params, inputs), gradients: {} }),
  };
}

async function tfjsRunner(data: WorkloadData): Promise<Runner> {
  // Loaded on demand so that code using only the hand-written model never loads TF.js.
  const { createTfjsCnn } = await import("../tfjs/cnn.js");
  const model = createTfjsCnn(CNN_DIMS, data.params, data.inputs);
  return {
    dtype: "float32",
    step: () => model.step(),
    evaluate: () => model.evaluate(),
    dispose: () => model.dispose(),
  };
}

const { C, H, W, F, K } = CNN_DIMS;

export const cnnWorkload: Workload = {
  name: "cnn",
  description: `small CNN on one ${C}×${H}×${W} image: 3×3 conv with F=${F} filters, ReLU, 2×2 max-pool stride 2, dense to K=${K}, softmax cross-entropy`,
  nablaSource: cnnSourceText,
  makeData: (random) => makeCnnData(random),
  handwritten: handwrittenRunner,
  handwrittenStyle: "plain",
  tfjs: tfjsRunner,
  torch: { model: "cnn", dims: { C, H, W, F, K } },
  handwrittenForward: handwrittenForwardRunner,
};
