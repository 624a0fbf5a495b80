import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { expectGradientsAgree } from "../support/agree.js";
import { exampleBlock } from "../support/values.js";

/**
 * The textbook models of issue 9, each written as a deep-learning textbook writes it: no
 * one-hot rows built from comparisons, no means as products with ones, no hand-unrolled
 * loops. Each model here is checked against central differences and TensorFlow.js's
 * autodiff; the ones that are examples are checked with every example (examples.test.ts)
 * and the gradient penalty also against PyTorch (test/autodiff/inner.test.ts).
 */
const mlp = (activation: string) => `
    dim N = 4, D = 3, H = 5, K = 2
    input  X: [N, D]
    target Y: [N, K]
    param  W1: [D, H]
    param  b1: [H]
    param  W2: [H, K]
    param  b2: [K]
    A = ${activation}(X*W1 + b1)
    loss L = mse(A*W2 + b2, Y)
    ${exampleBlock({ X: [4, 3], Y: [4, 2], W1: [3, 5], b1: [5], W2: [5, 2], b2: [2] })}`;

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

  "linear regression": `
    dim N = 5, D = 3
    input X: [N, D]
    target y: [N]
    param w: [D]
    param b
    loss L = sum((X*w + b - y)^2) / (2*N)
    ${exampleBlock({ X: [5, 3], y: [5], w: [3], b: [] })}`,
  ...Object.fromEntries(
    ["relu", "gelu", "silu", "leaky_relu", "elu", "softplus"].map((a) => [`an MLP with ${a}`, mlp(a)]),
  ),
  "L1 and L2 weight decay": `
    dim N = 4, D = 3, K = 2
    input X: [N, D]
    target Y: [N, K]
    param W: [D, K]
    const lambda1 = 0.01
    const lambda2 = 0.001
    loss L = mse(X*W, Y) + lambda1*sum(abs(W)) + lambda2*sum(W.^2)
    ${exampleBlock({ X: [4, 3], Y: [4, 2], W: [3, 2] })}`,
  "hinge loss (a linear SVM)": `
    dim N = 6, D = 3
    input X: [N, D]
    target y: [N]
    param w: [D]
    param b
    loss L = sum(max(0, 1 - y .* (X*w + b))) / N + 0.01*sum(w.^2)
    ${exampleBlock({ X: [6, 3], y: { shape: [6], choices: [-1, 1] }, w: [3], b: [] })}`,
  "KL divergence between two softmaxes": `
    dim K = 4
    input z: [K]
    param q: [K]
    P = softmax(z)
    Q = softmax(q)
    loss L = sum(P .* (log(P) - log(Q)))
    ${exampleBlock({ z: [4], q: [4] })}`,
  "Gaussian negative log-likelihood": `
    dim N = 5, D = 2
    input X: [N, D]
    target y: [N]
    param w: [D]
    param v: [D]
    mu = X*w
    s = X*v
    loss L = sum(0.5*log(2*3.141592653589793) + 0.5*s + (y - mu)^2 ./ (2*exp(s))) / N
    ${exampleBlock({ X: [5, 2], y: [5], w: [2], v: [2] })}`,
  "dropout with a given mask": `
    dim N = 4, D = 3, H = 5, K = 2
    input X: [N, D]
    input M: [N, H]
    target Y: [N, K]
    param W1: [D, H]
    param W2: [H, K]
    A = relu(X*W1) .* M / 0.5
    loss L = mse(A*W2, Y)
    ${exampleBlock({ X: [4, 3], M: { shape: [4, 5], choices: [0, 1] }, Y: [4, 2], W1: [3, 5], W2: [5, 2] })}`,
  "a residual block": `
    dim N = 4, D = 3
    input X: [N, D]
    target Y: [N, D]
    param W1: [D, D]
    param W2: [D, D]
    H = X + relu(X*W1)*W2
    loss L = mse(H, Y)
    ${exampleBlock({ X: [4, 3], Y: [4, 3], W1: [3, 3], W2: [3, 3] })}`,
  "skip-gram with negative sampling": `
    dim B = 3, V = 7, D = 4, S = 2
    input center: [B] int
    input context: [B] int
    input negatives: [B, S] int
    param Ein: [V, D]
    param Eout: [V, D]
    c = Ein[center]
    pos = sum(c .* Eout[context], axis = 1)
    neg = Eout[negatives] * reshape(c, [B, D, 1])
    loss L = -(sum(log_sigmoid(pos)) + sum(log_sigmoid(-neg))) / B
    ${exampleBlock({ center: { shape: [3], below: 7 }, context: { shape: [3], below: 7 }, negatives: { shape: [3, 2], below: 7 }, Ein: [7, 4], Eout: [7, 4] })}`,
  "masked matrix factorisation": `
    dim U = 4, I = 5, R = 2
    input Rt: [U, I]
    input M: [U, I]
    param P: [U, R]
    param Q: [I, R]
    loss L = sum(M .* (P*Q^T - Rt).^2) + 0.01*(sum(P.^2) + sum(Q.^2))
    ${exampleBlock({ Rt: { shape: [4, 5], low: 1, high: 5 }, M: { shape: [4, 5], choices: [0, 1] }, P: [4, 2], Q: [5, 2] })}`,
  "an Elman RNN": `
    dim T = 4, D = 2, H = 3
    index t in 1..T
    input x_t: [D]
    target y_t: [D]
    param Wxh: [H, D]
    param Whh: [H, H]
    param Why: [D, H]
    h_0 = 0
    h_t = tanh(Wxh*x_t + Whh*h_<t-1>)
    loss L = sum_t(sum((Why*h_t - y_t)^2))
    ${exampleBlock({ x: [4, 2], y: [4, 2], Wxh: [3, 2], Whh: [3, 3], Why: [2, 3] })}`,
  "a stacked RNN": `
    dim T = 4, D = 2, H = 3
    index t in 1..T
    input x_t: [D]
    target y: [D]
    param W1: [H, D]
    param U1: [H, H]
    param W2: [H, H]
    param U2: [H, H]
    param V: [D, H]
    h1_0 = 0
    h2_0 = 0
    h1_t = tanh(W1*x_t + U1*h1_<t-1>)
    h2_t = tanh(W2*h1_t + U2*h2_<t-1>)
    loss L = sum((V*h2_T - y)^2)
    ${exampleBlock({ x: [4, 2], y: [2], W1: [3, 2], U1: [3, 3], W2: [3, 3], U2: [3, 3], V: [2, 3] })}`,
  "seq2seq with teacher forcing": `
    dim S = 3, T = 3, D = 2, K = 3, H = 3
    index s in 1..S
    index t in 1..T
    input x_s: [D]
    target y_t: [K]
    param We: [H, D]
    param Ue: [H, H]
    param Ed: [H, K]
    param Ud: [H, H]
    param V: [K, H]
    e_0 = 0
    e_s = tanh(We*x_s + Ue*e_<s-1>)
    d_0 = e_S
    y_0 = 0
    d_t = tanh(Ed*y_<t-1> + Ud*d_<t-1>)
    loss L = sum_t(cross_entropy(softmax(V*d_t), y_t))
    ${exampleBlock({ x: [3, 2], y: { shape: [3, 3], choices: [0, 1] }, We: [3, 2], Ue: [3, 3], Ed: [3, 3], Ud: [3, 3], V: [3, 3] })}`,
  "LeNet-5 on a batch": `
    dim N = 2, C = 1, F1 = 2, F2 = 3, K = 3
    input X: [N, C, 12, 12]
    target labels: [N] int
    param k1: [F1, C, 3, 3]
    param b1: [F1, 1, 1]
    param k2: [F2, F1, 3, 3]
    param b2: [F2, 1, 1]
    param W3: [12, 6]
    param W4: [6, K]
    A1 = tanh(conv2d(X, k1, padding = 1) + b1)
    P1 = avgpool(A1)
    A2 = tanh(conv2d(P1, k2) + b2)
    P2 = maxpool(A2)
    H = tanh(flatten(P2, from = 1)*W3)
    loss L = cross_entropy(softmax(H*W4), labels) / N
    ${exampleBlock({ X: [2, 1, 12, 12], labels: { shape: [2], below: 3 }, k1: [2, 1, 3, 3], b1: [2, 1, 1], k2: [3, 2, 3, 3], b2: [3, 1, 1], W3: [12, 6], W4: [6, 3] })}`,
  "a VAE with the reparameterisation trick": `
    dim N = 3, D = 4, Z = 2
    input X: [N, D]
    input eps: [N, Z]
    param We: [D, Z]
    param Wv: [D, Z]
    param Wd: [Z, D]
    mu = X*We
    logvar = X*Wv
    z = mu + exp(0.5*logvar) .* eps
    Xhat = sigmoid(z*Wd)
    kl = -0.5*sum(1 + logvar - mu.^2 - exp(logvar))
    loss L = (bce(Xhat, X) + kl) / N
    ${exampleBlock({ X: { shape: [3, 4], low: 0.05, high: 0.95 }, eps: [3, 2], We: [4, 2], Wv: [4, 2], Wd: [2, 4] })}`,
  "multi-head causal attention over a batch: products over batch × heads": `
    dim N = 2, T = 3, D = 4, Hn = 2, Dk = 2
    input X: [N, T, D]
    target Y: [N, T, D]
    param Wq: [D, D]
    param Wk: [D, D]
    param Wv: [D, D]
    const M[i, j]: [T, T] = where(j <= i, 0, -1e9)
    Q = permute(reshape(X * Wq, [N, T, Hn, Dk]), [0, 2, 1, 3])
    K = permute(reshape(X * Wk, [N, T, Hn, Dk]), [0, 2, 1, 3])
    V = permute(reshape(X * Wv, [N, T, Hn, Dk]), [0, 2, 1, 3])
    A = softmax(Q * K^T / sqrt(Dk) + M)
    O = reshape(permute(A * V, [0, 2, 1, 3]), [N, T, D])
    loss L = mse(O, Y)
    ${exampleBlock({ X: [2, 3, 4], Y: [2, 3, 4], Wq: [4, 4], Wk: [4, 4], Wv: [4, 4] })}`,
};

/** Textbook models that are examples, by file. */
const asExamples: Record<string, string> = {
  "layer normalisation": "layer_norm",
  "an embedding lookup with integer token ids": "embedding",
  "an LSTM": "lstm",
  "an LSTM over the stacked vector [h; x]": "lstm_concat",
  "a GRU": "gru",
  "a bidirectional RNN": "bidirectional_rnn",
  "causal self-attention": "attention",
  "2-head causal self-attention": "multihead_attention",
  "a transformer block": "transformer_block",
  "a gradient penalty (WGAN-GP)": "gradient_penalty",
  "a Newton step": "newton_logistic",
  "a LeNet-like network on a batch of images": "bars_lenet",
};

describe("textbook models, written as textbooks write them", () => {
  for (const [name, source] of Object.entries(models))
    it(`${name}: code = finite differences = TensorFlow.js`, async () => {
      await expectGradientsAgree(source);
    });

  it.each(Object.entries(asExamples))("%s is the example %s", (_, file) => {
    expect(existsSync(new URL(`../../examples/${file}.nabla`, import.meta.url))).toBe(true);
  });
});
