/**
 * Hand-written loss and gradient for the benchmark MLP, the baseline the generated code is
 * measured against:
 *
 *   Hid = sigmoid(X·W1 + b1)        X [N,784], W1 [784,128], b1 [128]
 *   P   = softmax(Hid·W2 + b2)      W2 [128,10], b2 [10]
 *   L   = −Σ Y ⊙ log P              (a sum over the batch, not a mean)
 *
 * Written the way a performance engineer would in plain JavaScript: flat row-major
 * Float64Arrays, every buffer allocated once by the factory, no allocation per call. All
 * four matrix products (the two 784×128 ones carry ~97% of the arithmetic) are
 * register-blocked: a tile of 4×2 or 2×4 outputs is accumulated in locals with the reduction
 * loop innermost, so the inner loop only loads operands, multiplies and adds, and every
 * output is stored once. Bias+sigmoid are fused into the first product's store; softmax,
 * cross-entropy, its gradient P − Y and ∂b2 are one pass per row; the sigmoid derivative and
 * ∂b1 are fused into the store of ∂Hid = ∂Z2·W2ᵀ. Gradients are written straight into the
 * caller's arrays.
 *
 * The fused softmax/cross-entropy gradient P − Y assumes each row of Y sums to 1 (one-hot or
 * probability rows), as the benchmark's targets do; the exact gradient is P·ΣY − Y.
 */

// The fixed layer sizes; only the batch size N is chosen at run time. Deliberately not
// exported: V8 keeps an exported module binding in a cell it does not constant-fold, and
// reading the sizes from one in the inner loops made this file about 30% slower.
const D = 784;
const H = 128;
const K = 10;

/** The layer sizes: inputs D, hidden units H, classes K. */
export const MLP_DIMS = { D, H, K } as const;

export interface MlpParams {
  /** [784,128] row-major. */
  W1: Float64Array;
  /** [128]. */
  b1: Float64Array;
  /** [128,10] row-major. */
  W2: Float64Array;
  /** [10]. */
  b2: Float64Array;
}

export interface MlpInputs {
  /** [N,784] row-major. */
  X: Float64Array;
  /** [N,10] row-major, rows summing to 1. */
  Y: Float64Array;
}

export type MlpGradients = MlpParams;

/** Writes ∂L/∂param into `out` (overwriting it) and returns the loss L. */
export type MlpGradientFn = (params: MlpParams, inputs: MlpInputs, out: MlpGradients) => number;

/** The loss alone, for finite differences in the tests. */
export type MlpLossFn = (params: MlpParams, inputs: MlpInputs) => number;

function checkLength(a: Float64Array, n: number, name: string, prefix = ""): void {
  if (a.length !== n) throw new Error(`${prefix}${name} has ${a.length} elements, expected ${n}`);
}

function checkShapes(n: number, params: MlpParams, inputs: MlpInputs, out?: MlpGradients): void {
  checkLength(inputs.X, n * D, "X");
  checkLength(inputs.Y, n * K, "Y");
  checkParamShapes(params, "");
  if (out) checkParamShapes(out, "out.");
}

function checkParamShapes(p: MlpParams, prefix: string): void {
  checkLength(p.W1, D * H, "W1", prefix);
  checkLength(p.b1, H, "b1", prefix);
  checkLength(p.W2, H * K, "W2", prefix);
  checkLength(p.b2, K, "b2", prefix);
}

/**
 * Hid = sigmoid(X·W1 + b1) for rows [0, n) into `hid`.
 *
 * Register tile of 4 rows × 2 columns: per step of the reduction it loads four X values and
 * two W1 values and does eight multiply-adds into locals. The column pair is the outer loop so
 * the 784×2 strip of W1 it walks stays in cache for all N/4 row blocks. Bias and sigmoid are
 * applied when a tile is stored.
 */
function hiddenLayer(
  n: number,
  X: Float64Array,
  W1: Float64Array,
  b1: Float64Array,
  hid: Float64Array,
): void {
  const n4 = n - (n % 4);
  for (let j = 0; j < H; j += 2) {
    const c0 = b1[j];
    const c1 = b1[j + 1];
    let i = 0;
    for (; i < n4; i += 4) {
      const r0 = i * D;
      const r1 = r0 + D;
      const r2 = r1 + D;
      const r3 = r2 + D;
      let s00 = c0,
        s01 = c1,
        s10 = c0,
        s11 = c1,
        s20 = c0,
        s21 = c1,
        s30 = c0,
        s31 = c1;
      for (let k = 0, o = j; k < D; k++, o += H) {
        const w0 = W1[o];
        const w1 = W1[o + 1];
        const x0 = X[r0 + k];
        const x1 = X[r1 + k];
        const x2 = X[r2 + k];
        const x3 = X[r3 + k];
        s00 += x0 * w0;
        s01 += x0 * w1;
        s10 += x1 * w0;
        s11 += x1 * w1;
        s20 += x2 * w0;
        s21 += x2 * w1;
        s30 += x3 * w0;
        s31 += x3 * w1;
      }
      const z = i * H + j;
      hid[z] = 1 / (1 + Math.exp(-s00));
      hid[z + 1] = 1 / (1 + Math.exp(-s01));
      hid[z + H] = 1 / (1 + Math.exp(-s10));
      hid[z + H + 1] = 1 / (1 + Math.exp(-s11));
      hid[z + 2 * H] = 1 / (1 + Math.exp(-s20));
      hid[z + 2 * H + 1] = 1 / (1 + Math.exp(-s21));
      hid[z + 3 * H] = 1 / (1 + Math.exp(-s30));
      hid[z + 3 * H + 1] = 1 / (1 + Math.exp(-s31));
    }
    for (; i < n; i++) {
      const r0 = i * D;
      let s00 = c0,
        s01 = c1;
      for (let k = 0, o = j; k < D; k++, o += H) {
        const x0 = X[r0 + k];
        s00 += x0 * W1[o];
        s01 += x0 * W1[o + 1];
      }
      const z = i * H + j;
      hid[z] = 1 / (1 + Math.exp(-s00));
      hid[z + 1] = 1 / (1 + Math.exp(-s01));
    }
  }
}

/**
 * ∂W1 = Xᵀ·∂Z1 into gW1 (overwritten): a 784×128 result reduced over the N rows.
 *
 * Register tile of 2 rows of ∂W1 (2 input features) × 4 columns (4 hidden units): per batch
 * row it loads two contiguous X values and four contiguous ∂Z1 values and does eight
 * multiply-adds into locals; each output element is stored exactly once. (A 4×4 tile does
 * fewer loads per multiply-add but needs more registers than x64 has, and measured ~14%
 * slower.)
 */
function inputWeightGradient(n: number, X: Float64Array, dz1: Float64Array, gW1: Float64Array): void {
  const end = n * H;
  for (let d = 0; d < D; d += 2) {
    for (let j = 0; j < H; j += 4) {
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      for (let xo = d, zo = j; zo < end; xo += D, zo += H) {
        const x0 = X[xo];
        const x1 = X[xo + 1];
        const g0 = dz1[zo];
        const g1 = dz1[zo + 1];
        const g2 = dz1[zo + 2];
        const g3 = dz1[zo + 3];
        s00 += x0 * g0;
        s01 += x0 * g1;
        s02 += x0 * g2;
        s03 += x0 * g3;
        s10 += x1 * g0;
        s11 += x1 * g1;
        s12 += x1 * g2;
        s13 += x1 * g3;
      }
      const o0 = d * H + j;
      const o1 = o0 + H;
      gW1[o0] = s00;
      gW1[o0 + 1] = s01;
      gW1[o0 + 2] = s02;
      gW1[o0 + 3] = s03;
      gW1[o1] = s10;
      gW1[o1 + 1] = s11;
      gW1[o1 + 2] = s12;
      gW1[o1 + 3] = s13;
    }
  }
}

/**
 * Logits Z2 = Hid·W2 + b2 into z2 [n,K]: the same 4 rows × 2 columns register tile as
 * `hiddenLayer`, reducing over the H hidden units.
 */
function outputLogits(
  n: number,
  hid: Float64Array,
  W2: Float64Array,
  b2: Float64Array,
  z2: Float64Array,
): void {
  const n4 = n - (n % 4);
  for (let j = 0; j < K; j += 2) {
    const c0 = b2[j];
    const c1 = b2[j + 1];
    let i = 0;
    for (; i < n4; i += 4) {
      const r0 = i * H;
      const r1 = r0 + H;
      const r2 = r1 + H;
      const r3 = r2 + H;
      let s00 = c0,
        s01 = c1,
        s10 = c0,
        s11 = c1,
        s20 = c0,
        s21 = c1,
        s30 = c0,
        s31 = c1;
      for (let h = 0, o = j; h < H; h++, o += K) {
        const w0 = W2[o];
        const w1 = W2[o + 1];
        const x0 = hid[r0 + h];
        const x1 = hid[r1 + h];
        const x2 = hid[r2 + h];
        const x3 = hid[r3 + h];
        s00 += x0 * w0;
        s01 += x0 * w1;
        s10 += x1 * w0;
        s11 += x1 * w1;
        s20 += x2 * w0;
        s21 += x2 * w1;
        s30 += x3 * w0;
        s31 += x3 * w1;
      }
      const z = i * K + j;
      z2[z] = s00;
      z2[z + 1] = s01;
      z2[z + K] = s10;
      z2[z + K + 1] = s11;
      z2[z + 2 * K] = s20;
      z2[z + 2 * K + 1] = s21;
      z2[z + 3 * K] = s30;
      z2[z + 3 * K + 1] = s31;
    }
    for (; i < n; i++) {
      const r0 = i * H;
      let s00 = c0,
        s01 = c1;
      for (let h = 0, o = j; h < H; h++, o += K) {
        const x0 = hid[r0 + h];
        s00 += x0 * W2[o];
        s01 += x0 * W2[o + 1];
      }
      z2[i * K + j] = s00;
      z2[i * K + j + 1] = s01;
    }
  }
}

/**
 * Row by row: log-sum-exp, the loss −Σ Y ⊙ (z − lse), and ∂Z2 = softmax(z) − Y written over
 * the logits in `z2`; ∂b2 = Σ_rows ∂Z2 into gb2. Returns the loss.
 */
function softmaxCrossEntropy(n: number, z2: Float64Array, Y: Float64Array, gb2: Float64Array): number {
  gb2.fill(0);
  let loss = 0;
  for (let r = 0; r < n * K; r += K) {
    let m = z2[r];
    for (let k = 1; k < K; k++) if (z2[r + k] > m) m = z2[r + k];
    let e = 0;
    for (let k = 0; k < K; k++) e += Math.exp(z2[r + k] - m);
    const lse = m + Math.log(e);
    for (let k = 0; k < K; k++) {
      const z = z2[r + k] - lse;
      const y = Y[r + k];
      loss -= y * z;
      const g = Math.exp(z) - y;
      z2[r + k] = g;
      gb2[k] += g;
    }
  }
  return loss;
}

/**
 * ∂W2 = Hidᵀ·∂Z2 into gW2 (overwritten): register tile of 4 hidden units × 2 classes,
 * reducing over the n batch rows.
 */
function outputWeightGradient(n: number, hid: Float64Array, dz2: Float64Array, gW2: Float64Array): void {
  const end = n * K;
  for (let h = 0; h < H; h += 4) {
    for (let j = 0; j < K; j += 2) {
      let s00 = 0,
        s01 = 0,
        s10 = 0,
        s11 = 0,
        s20 = 0,
        s21 = 0,
        s30 = 0,
        s31 = 0;
      for (let ho = h, zo = j; zo < end; ho += H, zo += K) {
        const a0 = hid[ho];
        const a1 = hid[ho + 1];
        const a2 = hid[ho + 2];
        const a3 = hid[ho + 3];
        const g0 = dz2[zo];
        const g1 = dz2[zo + 1];
        s00 += a0 * g0;
        s01 += a0 * g1;
        s10 += a1 * g0;
        s11 += a1 * g1;
        s20 += a2 * g0;
        s21 += a2 * g1;
        s30 += a3 * g0;
        s31 += a3 * g1;
      }
      const o = h * K + j;
      gW2[o] = s00;
      gW2[o + 1] = s01;
      gW2[o + K] = s10;
      gW2[o + K + 1] = s11;
      gW2[o + 2 * K] = s20;
      gW2[o + 2 * K + 1] = s21;
      gW2[o + 3 * K] = s30;
      gW2[o + 3 * K + 1] = s31;
    }
  }
}

/**
 * ∂Z1 = (∂Z2·W2ᵀ) ⊙ Hid ⊙ (1 − Hid) into dz1, and ∂b1 = Σ_rows ∂Z1 into gb1 (overwritten):
 * register tile of 4 rows × 2 hidden units reducing over the K classes, the sigmoid
 * derivative and the bias gradient applied in the epilogue.
 */
function hiddenDelta(
  n: number,
  dz2: Float64Array,
  W2: Float64Array,
  hid: Float64Array,
  dz1: Float64Array,
  gb1: Float64Array,
): void {
  const n4 = n - (n % 4);
  for (let h = 0; h < H; h += 2) {
    const w0o = h * K;
    const w1o = w0o + K;
    let t0 = 0,
      t1 = 0;
    let i = 0;
    for (; i < n4; i += 4) {
      const r0 = i * K;
      const r1 = r0 + K;
      const r2 = r1 + K;
      const r3 = r2 + K;
      let s00 = 0,
        s01 = 0,
        s10 = 0,
        s11 = 0,
        s20 = 0,
        s21 = 0,
        s30 = 0,
        s31 = 0;
      for (let k = 0; k < K; k++) {
        const w0 = W2[w0o + k];
        const w1 = W2[w1o + k];
        const g0 = dz2[r0 + k];
        const g1 = dz2[r1 + k];
        const g2 = dz2[r2 + k];
        const g3 = dz2[r3 + k];
        s00 += g0 * w0;
        s01 += g0 * w1;
        s10 += g1 * w0;
        s11 += g1 * w1;
        s20 += g2 * w0;
        s21 += g2 * w1;
        s30 += g3 * w0;
        s31 += g3 * w1;
      }
      const o = i * H + h;
      let a = hid[o];
      const d00 = s00 * a * (1 - a);
      a = hid[o + 1];
      const d01 = s01 * a * (1 - a);
      a = hid[o + H];
      const d10 = s10 * a * (1 - a);
      a = hid[o + H + 1];
      const d11 = s11 * a * (1 - a);
      a = hid[o + 2 * H];
      const d20 = s20 * a * (1 - a);
      a = hid[o + 2 * H + 1];
      const d21 = s21 * a * (1 - a);
      a = hid[o + 3 * H];
      const d30 = s30 * a * (1 - a);
      a = hid[o + 3 * H + 1];
      const d31 = s31 * a * (1 - a);
      dz1[o] = d00;
      dz1[o + 1] = d01;
      dz1[o + H] = d10;
      dz1[o + H + 1] = d11;
      dz1[o + 2 * H] = d20;
      dz1[o + 2 * H + 1] = d21;
      dz1[o + 3 * H] = d30;
      dz1[o + 3 * H + 1] = d31;
      t0 += d00 + d10 + d20 + d30;
      t1 += d01 + d11 + d21 + d31;
    }
    for (; i < n; i++) {
      const r0 = i * K;
      let s00 = 0,
        s01 = 0;
      for (let k = 0; k < K; k++) {
        const g0 = dz2[r0 + k];
        s00 += g0 * W2[w0o + k];
        s01 += g0 * W2[w1o + k];
      }
      const o = i * H + h;
      let a = hid[o];
      const d00 = s00 * a * (1 - a);
      a = hid[o + 1];
      const d01 = s01 * a * (1 - a);
      dz1[o] = d00;
      dz1[o + 1] = d01;
      t0 += d00;
      t1 += d01;
    }
    gb1[h] = t0;
    gb1[h + 1] = t1;
  }
}

/**
 * A gradient function for batches of `n` rows. Its buffers (Hid, Z2/∂Z2 and ∂Z1) are
 * allocated here, once; calls allocate nothing. Not re-entrant: one call at a time.
 */
export function createMlpGradient(n: number): MlpGradientFn {
  if (!Number.isInteger(n) || n < 1) throw new Error(`batch size must be a positive integer, got ${n}`);
  const hid = new Float64Array(n * H);
  const z2 = new Float64Array(n * K);
  const dz1 = new Float64Array(n * H);

  return function gradient(params, inputs, out) {
    checkShapes(n, params, inputs, out);
    const X = inputs.X;
    const W2 = params.W2;
    hiddenLayer(n, X, params.W1, params.b1, hid);
    outputLogits(n, hid, W2, params.b2, z2);
    const loss = softmaxCrossEntropy(n, z2, inputs.Y, out.b2);
    const dz2 = z2; // now holds ∂L/∂Z2
    outputWeightGradient(n, hid, dz2, out.W2);
    hiddenDelta(n, dz2, W2, hid, dz1, out.b1);
    inputWeightGradient(n, X, dz1, out.W1);
    return loss;
  };
}

/** The loss alone (allocates; for tests and checks, not for timing). */
export function mlpLoss(n: number, params: MlpParams, inputs: MlpInputs): number {
  checkShapes(n, params, inputs);
  const hid = new Float64Array(n * H);
  hiddenLayer(n, inputs.X, params.W1, params.b1, hid);
  let loss = 0;
  const row = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      let s = params.b2[k];
      for (let h = 0; h < H; h++) s += hid[i * H + h] * params.W2[h * K + k];
      row[k] = s;
    }
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (row[k] > m) m = row[k];
    let e = 0;
    for (let k = 0; k < K; k++) e += Math.exp(row[k] - m);
    const lse = m + Math.log(e);
    for (let k = 0; k < K; k++) loss -= inputs.Y[i * K + k] * (row[k] - lse);
  }
  return loss;
}
