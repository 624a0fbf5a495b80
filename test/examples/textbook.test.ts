import { describe, it } from "vitest";
import { expectGradientsAgree } from "../support/agree.js";

/**
 * Textbook models that once needed workarounds (one-hot rows built from comparisons,
 * per-axis means as products with ones, a 1-D convolution as a 1-high image, …), written
 * now as the textbooks write them. The rest of that list are examples, checked with every
 * example: embedding, layer_norm, attention, multihead_attention, transformer_block,
 * bidirectional_rnn, lstm_concat, newton_logistic. Each is checked here against central
 * differences and TensorFlow.js's autodiff.
 */
const models: Record<string, string> = {
  "softmax regression with integer class labels": `
    dim N = 5, D = 3, K = 4
    input  X: [N, D]
    target labels: [N] int
    param  W: [D, K]
    param  b: [K]
    P = softmax(X*W + b)
    loss L = cross_entropy(P, labels) / N
    example {
      X = [[1, 0.5, -1], [0, 1, 2], [-1, -0.5, 0.3], [2, 1, 0], [0.5, -2, 1]]
      labels = [0, 3, 1, 1, 2]
      W = [[0.1, -0.2, 0.3, 0], [0.2, 0.1, -0.1, 0.4], [-0.3, 0.2, 0.1, 0.1]]
      b = [0, 0.1, -0.1, 0]
    }`,
  "skip-gram with a full softmax over the vocabulary": `
    dim B = 4, V = 6, D = 3
    input  center: [B] int
    target context: [B] int
    param  Ein: [V, D]
    param  Eout: [V, D]
    S = Ein[center] * Eout^T
    loss L = cross_entropy(softmax(S), context) / B
    example {
      center = [0, 2, 5, 2]
      context = [1, 3, 4, 0]
      Ein = [[0.1, -0.2, 0.3], [0.4, 0.1, -0.1], [-0.3, 0.2, 0.2], [0.2, 0.5, -0.4], [-0.1, -0.3, 0.6], [0.3, 0, 0.1]]
      Eout = [[0.2, 0.1, -0.1], [-0.3, 0.4, 0.2], [0.1, -0.2, 0.5], [0.4, 0.3, -0.2], [-0.2, 0.1, 0.1], [0.3, -0.4, 0.2]]
    }`,
  "batch normalisation over a batch of run-time size": `
    dim N, D = 3
    input  X: [N, D]
    target Y: [N, D]
    param  gamma: [D]
    param  beta: [D]
    mu = mean(X, axis = 0, keep = 1)
    v = mean((X - mu)^2, axis = 0, keep = 1)
    Z = gamma .* (X - mu) / sqrt(v + 0.00001) + beta
    loss L = sum((Z - Y)^2) / N
    example {
      X = [[1, 2, 3], [0.5, -1, 2], [3, 3.5, -2], [0, 1, 0.25]]
      Y = [[0.1, 0.2, 0.3], [-0.5, 1, 0], [1, 0, -1], [0.3, 0.2, 0.1]]
      gamma = [1, 0.5, 2]
      beta = [0, 0.1, -0.1]
    }`,
  "a 1-D convolution over a sequence of channels": `
    dim C = 2, M = 8, F = 2, K = 3
    input  x: [C, M]
    target y: [F, 8]
    param  k: [F, C, K]
    param  b: [F, 1]
    h = tanh(conv1d(x, k, padding = 1) + b)
    loss L = sum((h - y)^2)
    example {
      x = [[1, 0, 2, -1, 0.5, 1, 0, -0.5], [0, 1, -1, 2, 1, 0.5, -1, 0]]
      y = [[0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5]]
      k = [[[0.1, 0.2, -0.3], [0.4, -0.1, 0.2]], [[-0.2, 0.3, 0.1], [0.1, 0.2, -0.4]]]
      b = [[0.1], [-0.1]]
    }`,
  "a decoder trained with teacher forcing, reading the true previous output": `
    dim T = 4, K = 3, H = 3
    index t in 1..T
    target y_t: [K]
    param  E: [H, K]
    param  U: [H, H]
    param  V: [K, H]
    h_0 = 0
    y_0 = 0
    h_t = tanh(E*y_<t-1> + U*h_<t-1>)
    yhat_t = softmax(V*h_t)
    loss L = sum_t(cross_entropy(yhat_t, y_t))
    example {
      y = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]
      E = [[0.5, -0.3, 0.1], [0.2, 0.8, -0.2], [-0.4, 0.1, 0.3]]
      U = [[0.1, 0.4, 0], [-0.6, 0.3, 0.2], [0.2, -0.1, 0.3]]
      V = [[0.7, -0.2, 0.3], [0.1, 0.4, -0.5], [-0.3, 0.2, 0.1]]
    }`,
  "Huber, ELU and exact GELU, one line each": `
    dim N = 6
    input  x: [N]
    target y: [N]
    param  a
    param  c
    loss L = sum(huber(elu(a * x) + gelu(c * x) - y, delta = 0.5))
    example {
      x = [-2, -1, -0.25, 0.5, 1, 3]
      y = [0.1, -0.4, 0.2, 0.6, 1.5, 2]
      a = 0.8
      c = 0.6
    }`,
};

describe("textbook models, written as textbooks write them", () => {
  for (const [name, source] of Object.entries(models))
    it(`${name}: code = finite differences = TensorFlow.js`, async () => {
      await expectGradientsAgree(source);
    });
});
