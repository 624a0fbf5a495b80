/**
 * Hand-written loss and gradient for the benchmark CNN, the baseline the generated code is
 * measured against (one image, no batch axis):
 *
 *   A = relu(conv2d(x, k) + bk)     x [C,H,W], k [F,C,3,3], bk [F,1,1]: valid 3×3
 *                                   cross-correlation, stride 1 → A [F,H−2,W−2]
 *   P = maxpool(A, 2×2, stride 2)   → P [F,PH,PW], PH = ⌊(H−2)/2⌋, PW = ⌊(W−2)/2⌋
 *   z = W·flatten(P) + b            W [K,F·PH·PW] (flatten row-major over [F,PH,PW]), b [K]
 *   L = −Σ y ⊙ log softmax(z)
 *
 * C=1, H=W=28, F=8, K=10 in the benchmark (A [8,26,26], P [8,13,13], W [10,1352]);
 * `createCnnGradient` takes the sizes as parameters so the tests can run small ones. All
 * arrays are flat row-major Float64Arrays.
 *
 * Written the way a performance engineer would in plain JavaScript: every buffer allocated
 * once by the factory, no allocation per call, the sizes passed to the kernels as arguments
 * (locals, not closure or module cells), the gradients written straight into the caller's
 * arrays.
 *
 * Forward, conv + bias + ReLU + max-pool in one pass: for each pooling window the four
 * convolution outputs under it are accumulated in four locals from the 4×4 patch of x they
 * cover (on one channel, the benchmark's case, the filter's nine weights sit in locals for
 * the whole filter), the largest is picked — the first in row-major order on ties — and
 * ReLU is applied to it (max and ReLU commute). A is never stored, and the convolution
 * outputs that no window covers (the last row or column when H−2 or W−2 is odd) are never
 * computed: only P, and for each window the offset in x of the winner's receptive field and
 * whether its maximum is positive (else ReLU passes it no gradient). The dense layer is
 * five rows of W per pass, the five dot products with flatten(P) in locals.
 *
 * Backward: ∂z = p − y = ∂b. One pass over the columns per five rows of W gives
 * ∂W = ∂z·flatten(P)ᵀ (stored once) and ∂P = Wᵀ·∂z. Then ∂A is nonzero only at the recorded
 * winner of each window with a positive maximum, so ∂bk[f] = Σ ∂P over those windows and
 * ∂k[f,c,u,v] = Σ ∂P[f,i,j]·x[c, r+u, s+v] over them ((r,s) the winner), the ten sums in
 * locals: a quarter of the multiply-adds of the dense correlation ∂k = ∂A ⋆ x, with no
 * search for the winners and no [F,H−2,W−2] buffer.
 *
 * Where measured alternatives lost, the kernel's comment says by how much (and
 * docs/benchmark.md lists them). Timed alone on the benchmark machine, the fused
 * conv/ReLU/pool pass takes about 22 µs, the dense forward 5, the dense backward 7 and ∂k
 * with ∂bk 5.5.
 *
 * The fused softmax/cross-entropy gradient p − y assumes y sums to 1 (one-hot or a
 * probability vector), as the benchmark's targets do; the exact gradient is p·Σy − y.
 */

/** Sizes: image channels C, height H and width W; F 3×3 filters; K classes. */
export interface CnnDims {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly F: number;
  readonly K: number;
}

/** The benchmark's sizes. */
export const CNN_DIMS: CnnDims = { C: 1, H: 28, W: 28, F: 8, K: 10 };

/** Sizes that follow from `dims`: the pooled map [F,PH,PW] and its length N = F·PH·PW. */
export function cnnShape(dims: CnnDims): {
  PH: number;
  PW: number;
  N: number;
} {
  const PH = Math.floor((dims.H - 2) / 2);
  const PW = Math.floor((dims.W - 2) / 2);
  return { PH, PW, N: dims.F * PH * PW };
}

export interface CnnParams {
  /** [F,C,3,3] row-major. */
  k: Float64Array;
  /** [F,1,1]. */
  bk: Float64Array;
  /** [K,N] row-major, N = F·PH·PW. */
  W: Float64Array;
  /** [K]. */
  b: Float64Array;
}

export interface CnnInputs {
  /** [C,H,W] row-major. */
  x: Float64Array;
  /** [K], summing to 1 (one-hot in the benchmark). */
  y: Float64Array;
}

export type CnnGradients = CnnParams;

/** Writes ∂L/∂param into `out` (overwriting it) and returns the loss L. */
export type CnnGradientFn = (params: CnnParams, inputs: CnnInputs, out: CnnGradients) => number;

/** The loss alone, no allocation per call (the forward pass of the gradient function). */
export type CnnLossFn = (params: CnnParams, inputs: CnnInputs) => number;

function checkLength(a: Float64Array, n: number, name: string, prefix = ""): void {
  if (a.length !== n) throw new Error(`${prefix}${name} has ${a.length} elements, expected ${n}`);
}

function checkParamShapes(dims: CnnDims, p: CnnParams, prefix: string): void {
  const { C, F, K } = dims;
  const { N } = cnnShape(dims);
  checkLength(p.k, F * C * 9, "k", prefix);
  checkLength(p.bk, F, "bk", prefix);
  checkLength(p.W, K * N, "W", prefix);
  checkLength(p.b, K, "b", prefix);
}

function checkShapes(dims: CnnDims, params: CnnParams, inputs: CnnInputs, out?: CnnGradients): void {
  checkLength(inputs.x, dims.C * dims.H * dims.W, "x");
  checkLength(inputs.y, dims.K, "y");
  checkParamShapes(dims, params, "");
  if (out) checkParamShapes(dims, out, "out.");
}

function checkDims(dims: CnnDims): void {
  for (const k of ["C", "H", "W", "F", "K"] as const)
    if (!Number.isInteger(dims[k]) || dims[k] < 1)
      throw new Error(`${k} must be a positive integer, got ${dims[k]}`);
  if (dims.H < 4 || dims.W < 4)
    throw new Error(`the image must be at least 4×4 (one pooling window), got ${dims.H}×${dims.W}`);
}

/**
 * P = maxpool(relu(conv2d(x, k) + bk)) into P [F,PH,PW] for a single-channel image (the
 * benchmark's), recording for each window in `arg` the offset in x of the top-left corner of
 * the winning output's receptive field and in `live` whether the window's maximum is
 * positive (1) or not (0: ReLU passes no gradient; `arg` then holds the window's first
 * output, so the backward pass can read it without a branch).
 *
 * The nine weights of a filter are loaded into locals once per filter; each window's four
 * sums are accumulated from its 4×4 patch of x, a row of four values at a time: rows 0–2
 * feed the top pair of outputs, rows 1–3 the bottom pair.
 */
function convReluPool1(
  IW: number,
  F: number,
  PH: number,
  PW: number,
  x: Float64Array,
  k: Float64Array,
  bk: Float64Array,
  P: Float64Array,
  arg: Int32Array,
  live: Float64Array,
): void {
  let o = 0;
  for (let f = 0; f < F; f++) {
    const bias = bk[f];
    const ko = f * 9;
    const k0 = k[ko],
      k1 = k[ko + 1],
      k2 = k[ko + 2],
      k3 = k[ko + 3],
      k4 = k[ko + 4],
      k5 = k[ko + 5],
      k6 = k[ko + 6],
      k7 = k[ko + 7],
      k8 = k[ko + 8];
    for (let pi = 0; pi < PH; pi++) {
      const row = 2 * pi * IW;
      for (let pj = 0; pj < PW; pj++, o++) {
        const r0 = row + 2 * pj;
        const r1 = r0 + IW;
        const r2 = r1 + IW;
        const r3 = r2 + IW;
        let s00 = bias,
          s01 = bias,
          s10 = bias,
          s11 = bias;
        let a0 = x[r0],
          a1 = x[r0 + 1],
          a2 = x[r0 + 2],
          a3 = x[r0 + 3];
        s00 += k0 * a0 + k1 * a1 + k2 * a2;
        s01 += k0 * a1 + k1 * a2 + k2 * a3;
        a0 = x[r1];
        a1 = x[r1 + 1];
        a2 = x[r1 + 2];
        a3 = x[r1 + 3];
        s00 += k3 * a0 + k4 * a1 + k5 * a2;
        s01 += k3 * a1 + k4 * a2 + k5 * a3;
        s10 += k0 * a0 + k1 * a1 + k2 * a2;
        s11 += k0 * a1 + k1 * a2 + k2 * a3;
        a0 = x[r2];
        a1 = x[r2 + 1];
        a2 = x[r2 + 2];
        a3 = x[r2 + 3];
        s00 += k6 * a0 + k7 * a1 + k8 * a2;
        s01 += k6 * a1 + k7 * a2 + k8 * a3;
        s10 += k3 * a0 + k4 * a1 + k5 * a2;
        s11 += k3 * a1 + k4 * a2 + k5 * a3;
        a0 = x[r3];
        a1 = x[r3 + 1];
        a2 = x[r3 + 2];
        a3 = x[r3 + 3];
        s10 += k6 * a0 + k7 * a1 + k8 * a2;
        s11 += k6 * a1 + k7 * a2 + k8 * a3;
        // The first maximum in row-major order; relu(max) = max(relu) and, when the
        // maximum is positive, the first maximum of the ReLU outputs is the same element.
        let m = s00,
          at = r0;
        if (s01 > m) {
          m = s01;
          at = r0 + 1;
        }
        if (s10 > m) {
          m = s10;
          at = r1;
        }
        if (s11 > m) {
          m = s11;
          at = r1 + 1;
        }
        arg[o] = at;
        if (m > 0) {
          P[o] = m;
          live[o] = 1;
        } else {
          P[o] = 0;
          live[o] = 0;
        }
      }
    }
  }
}

/**
 * The same as `convReluPool1` for C ≥ 1 channels: the loop over channels runs inside each
 * window, the nine weights of each channel loaded per window. (Measured 1.6× slower than
 * `convReluPool1` on one channel, hence the two kernels.)
 */
function convReluPool(
  C: number,
  IH: number,
  IW: number,
  F: number,
  PH: number,
  PW: number,
  x: Float64Array,
  k: Float64Array,
  bk: Float64Array,
  P: Float64Array,
  arg: Int32Array,
  live: Float64Array,
): void {
  if (C === 1) {
    convReluPool1(IW, F, PH, PW, x, k, bk, P, arg, live);
    return;
  }
  const plane = IH * IW;
  let o = 0;
  for (let f = 0; f < F; f++) {
    const bias = bk[f];
    const kf = f * C * 9;
    for (let pi = 0; pi < PH; pi++) {
      const row = 2 * pi * IW;
      for (let pj = 0; pj < PW; pj++, o++) {
        const corner = row + 2 * pj;
        let s00 = bias,
          s01 = bias,
          s10 = bias,
          s11 = bias;
        for (let c = 0, r0 = corner, ko = kf; c < C; c++, r0 += plane, ko += 9) {
          const k0 = k[ko],
            k1 = k[ko + 1],
            k2 = k[ko + 2],
            k3 = k[ko + 3],
            k4 = k[ko + 4],
            k5 = k[ko + 5],
            k6 = k[ko + 6],
            k7 = k[ko + 7],
            k8 = k[ko + 8];
          const r1 = r0 + IW;
          const r2 = r1 + IW;
          const r3 = r2 + IW;
          let a0 = x[r0],
            a1 = x[r0 + 1],
            a2 = x[r0 + 2],
            a3 = x[r0 + 3];
          s00 += k0 * a0 + k1 * a1 + k2 * a2;
          s01 += k0 * a1 + k1 * a2 + k2 * a3;
          a0 = x[r1];
          a1 = x[r1 + 1];
          a2 = x[r1 + 2];
          a3 = x[r1 + 3];
          s00 += k3 * a0 + k4 * a1 + k5 * a2;
          s01 += k3 * a1 + k4 * a2 + k5 * a3;
          s10 += k0 * a0 + k1 * a1 + k2 * a2;
          s11 += k0 * a1 + k1 * a2 + k2 * a3;
          a0 = x[r2];
          a1 = x[r2 + 1];
          a2 = x[r2 + 2];
          a3 = x[r2 + 3];
          s00 += k6 * a0 + k7 * a1 + k8 * a2;
          s01 += k6 * a1 + k7 * a2 + k8 * a3;
          s10 += k3 * a0 + k4 * a1 + k5 * a2;
          s11 += k3 * a1 + k4 * a2 + k5 * a3;
          a0 = x[r3];
          a1 = x[r3 + 1];
          a2 = x[r3 + 2];
          a3 = x[r3 + 3];
          s10 += k6 * a0 + k7 * a1 + k8 * a2;
          s11 += k6 * a1 + k7 * a2 + k8 * a3;
        }
        let m = s00,
          at = corner;
        if (s01 > m) {
          m = s01;
          at = corner + 1;
        }
        if (s10 > m) {
          m = s10;
          at = corner + IW;
        }
        if (s11 > m) {
          m = s11;
          at = corner + IW + 1;
        }
        arg[o] = at;
        if (m > 0) {
          P[o] = m;
          live[o] = 1;
        } else {
          P[o] = 0;
          live[o] = 0;
        }
      }
    }
  }
}

/**
 * z = W·p + b into z [K], for W [K,N]: five rows of W per pass (two passes for K = 10; four
 * rows per pass, three passes, measured 1.4× slower), the sums in locals.
 */
function denseForward(
  K: number,
  N: number,
  W: Float64Array,
  b: Float64Array,
  p: Float64Array,
  z: Float64Array,
): void {
  const K5 = K - (K % 5);
  let r = 0;
  for (; r < K5; r += 5) {
    const w0 = r * N;
    const w1 = w0 + N;
    const w2 = w1 + N;
    const w3 = w2 + N;
    const w4 = w3 + N;
    let s0 = b[r],
      s1 = b[r + 1],
      s2 = b[r + 2],
      s3 = b[r + 3],
      s4 = b[r + 4];
    for (let j = 0; j < N; j++) {
      const v = p[j];
      s0 += W[w0 + j] * v;
      s1 += W[w1 + j] * v;
      s2 += W[w2 + j] * v;
      s3 += W[w3 + j] * v;
      s4 += W[w4 + j] * v;
    }
    z[r] = s0;
    z[r + 1] = s1;
    z[r + 2] = s2;
    z[r + 3] = s3;
    z[r + 4] = s4;
  }
  for (; r < K; r++) {
    const w0 = r * N;
    let s0 = b[r];
    for (let j = 0; j < N; j++) s0 += W[w0 + j] * p[j];
    z[r] = s0;
  }
}

/** The loss −Σ y ⊙ (z − logsumexp z); when `g` is given, also ∂L/∂z = softmax(z) − y into it. */
function softmaxCrossEntropy(K: number, z: Float64Array, y: Float64Array, g?: Float64Array): number {
  let m = z[0];
  for (let r = 1; r < K; r++) if (z[r] > m) m = z[r];
  let e = 0;
  for (let r = 0; r < K; r++) e += Math.exp(z[r] - m);
  const lse = m + Math.log(e);
  let loss = 0;
  for (let r = 0; r < K; r++) {
    const l = z[r] - lse;
    loss -= y[r] * l;
    if (g) g[r] = Math.exp(l) - y[r];
  }
  return loss;
}

/**
 * From g = ∂L/∂z [K]: ∂W = g·pᵀ into gW (overwritten, each element stored once) and
 * ∂p = Wᵀ·g into dp (overwritten), five rows of W and ∂W per pass over the columns (two
 * passes for K = 10), the first pass storing dp and the others adding to it.
 */
function denseBackward(
  K: number,
  N: number,
  W: Float64Array,
  g: Float64Array,
  p: Float64Array,
  gW: Float64Array,
  dp: Float64Array,
): void {
  const K5 = K - (K % 5);
  if (K5 === 0) dp.fill(0);
  let r = 0;
  for (; r < K5; r += 5) {
    const w0 = r * N;
    const w1 = w0 + N;
    const w2 = w1 + N;
    const w3 = w2 + N;
    const w4 = w3 + N;
    const g0 = g[r],
      g1 = g[r + 1],
      g2 = g[r + 2],
      g3 = g[r + 3],
      g4 = g[r + 4];
    const first = r === 0;
    for (let j = 0; j < N; j++) {
      const v = p[j];
      gW[w0 + j] = g0 * v;
      gW[w1 + j] = g1 * v;
      gW[w2 + j] = g2 * v;
      gW[w3 + j] = g3 * v;
      gW[w4 + j] = g4 * v;
      const d = W[w0 + j] * g0 + W[w1 + j] * g1 + W[w2 + j] * g2 + W[w3 + j] * g3 + W[w4 + j] * g4;
      dp[j] = first ? d : dp[j] + d;
    }
  }
  for (; r < K; r++) {
    const w0 = r * N;
    const g0 = g[r];
    for (let j = 0; j < N; j++) {
      gW[w0 + j] = g0 * p[j];
      dp[j] += W[w0 + j] * g0;
    }
  }
}

/**
 * One filter's share of ∂k for one channel: Σ live·∂P times the winner's 3×3 receptive
 * field over the windows [first, end) into gk[ko..ko+8] (overwritten), the nine sums in
 * locals; returns Σ live·∂P, the filter's ∂bk. `co` is the channel's offset in x. live = 0
 * for a window whose maximum is ≤ 0: a multiplication rather than a branch, measured 1.6×
 * faster (the branch is unpredictable).
 */
function filterGradient(
  IW: number,
  first: number,
  end: number,
  co: number,
  x: Float64Array,
  dP: Float64Array,
  arg: Int32Array,
  live: Float64Array,
  gk: Float64Array,
  ko: number,
): number {
  let tb = 0,
    t0 = 0,
    t1 = 0,
    t2 = 0,
    t3 = 0,
    t4 = 0,
    t5 = 0,
    t6 = 0,
    t7 = 0,
    t8 = 0;
  for (let o = first; o < end; o++) {
    const d = dP[o] * live[o];
    const r0 = arg[o] + co;
    const r1 = r0 + IW;
    const r2 = r1 + IW;
    tb += d;
    t0 += d * x[r0];
    t1 += d * x[r0 + 1];
    t2 += d * x[r0 + 2];
    t3 += d * x[r1];
    t4 += d * x[r1 + 1];
    t5 += d * x[r1 + 2];
    t6 += d * x[r2];
    t7 += d * x[r2 + 1];
    t8 += d * x[r2 + 2];
  }
  gk[ko] = t0;
  gk[ko + 1] = t1;
  gk[ko + 2] = t2;
  gk[ko + 3] = t3;
  gk[ko + 4] = t4;
  gk[ko + 5] = t5;
  gk[ko + 6] = t6;
  gk[ko + 7] = t7;
  gk[ko + 8] = t8;
  return tb;
}

/**
 * ∂bk and ∂k (both overwritten) from ∂P [F,PH,PW] and the winners recorded by the forward
 * pass, one `filterGradient` pass per filter and channel. (The same loop written inline
 * under the loop over channels measured 1.6× slower.)
 */
function convBackward(
  C: number,
  IH: number,
  IW: number,
  F: number,
  cells: number,
  x: Float64Array,
  dP: Float64Array,
  arg: Int32Array,
  live: Float64Array,
  gk: Float64Array,
  gbk: Float64Array,
): void {
  const plane = IH * IW;
  for (let f = 0; f < F; f++) {
    const first = f * cells;
    const end = first + cells;
    const ko = f * C * 9;
    gbk[f] = filterGradient(IW, first, end, 0, x, dP, arg, live, gk, ko);
    for (let c = 1; c < C; c++) filterGradient(IW, first, end, c * plane, x, dP, arg, live, gk, ko + 9 * c);
  }
}

/**
 * A gradient function for the given sizes. Its buffers (P, the winners, the logits, ∂z and
 * ∂P) are allocated here, once; calls allocate nothing. Not re-entrant: one call at a time.
 */
export function createCnnGradient(dims: CnnDims = CNN_DIMS): CnnGradientFn {
  checkDims(dims);
  const { C, H, W, F, K } = dims;
  const { PH, PW, N } = cnnShape(dims);
  const P = new Float64Array(N);
  const arg = new Int32Array(N);
  const live = new Float64Array(N);
  const z = new Float64Array(K);
  const dP = new Float64Array(N);

  return function gradient(params, inputs, out) {
    checkShapes(dims, params, inputs, out);
    const x = inputs.x;
    convReluPool(C, H, W, F, PH, PW, x, params.k, params.bk, P, arg, live);
    denseForward(K, N, params.W, params.b, P, z);
    const loss = softmaxCrossEntropy(K, z, inputs.y, out.b);
    denseBackward(K, N, params.W, out.b, P, out.W, dP);
    convBackward(C, H, W, F, PH * PW, x, dP, arg, live, out.k, out.bk);
    return loss;
  };
}

/**
 * The loss alone, with the same forward kernels and preallocated buffers as
 * `createCnnGradient` (no allocation per call): the hand-written counterpart of a forward
 * pass.
 */
export function createCnnLoss(dims: CnnDims = CNN_DIMS): CnnLossFn {
  checkDims(dims);
  const { C, H, W, F, K } = dims;
  const { PH, PW, N } = cnnShape(dims);
  const P = new Float64Array(N);
  const arg = new Int32Array(N);
  const live = new Float64Array(N);
  const z = new Float64Array(K);
  return function loss(params, inputs) {
    checkShapes(dims, params, inputs);
    convReluPool(C, H, W, F, PH, PW, inputs.x, params.k, params.bk, P, arg, live);
    denseForward(K, N, params.W, params.b, P, z);
    return softmaxCrossEntropy(K, z, inputs.y);
  };
}

/**
 * The loss by the textbook loops — the whole convolution stored, ReLU, pooling, flatten —
 * sharing no code with the kernels above (allocates; for tests, not for timing).
 */
export function cnnLoss(dims: CnnDims, params: CnnParams, inputs: CnnInputs): number {
  checkDims(dims);
  checkShapes(dims, params, inputs);
  const { C, H, W, F, K } = dims;
  const { PH, PW, N } = cnnShape(dims);
  const OH = H - 2;
  const OW = W - 2;
  const A = new Float64Array(F * OH * OW);
  for (let f = 0; f < F; f++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        let s = 0;
        for (let c = 0; c < C; c++)
          for (let u = 0; u < 3; u++)
            for (let v = 0; v < 3; v++)
              s += inputs.x[(c * H + i + u) * W + j + v] * params.k[((f * C + c) * 3 + u) * 3 + v];
        A[(f * OH + i) * OW + j] = Math.max(0, s + params.bk[f]);
      }
  const flat = new Float64Array(N);
  for (let f = 0; f < F; f++)
    for (let i = 0; i < PH; i++)
      for (let j = 0; j < PW; j++) {
        let m = -Infinity;
        for (let u = 0; u < 2; u++)
          for (let v = 0; v < 2; v++) m = Math.max(m, A[(f * OH + 2 * i + u) * OW + 2 * j + v]);
        flat[(f * PH + i) * PW + j] = m;
      }
  const z = new Float64Array(K);
  for (let r = 0; r < K; r++) {
    let s = params.b[r];
    for (let j = 0; j < N; j++) s += params.W[r * N + j] * flat[j];
    z[r] = s;
  }
  let m = -Infinity;
  for (let r = 0; r < K; r++) m = Math.max(m, z[r]);
  let e = 0;
  for (let r = 0; r < K; r++) e += Math.exp(z[r] - m);
  const lse = m + Math.log(e);
  let loss = 0;
  for (let r = 0; r < K; r++) loss -= inputs.y[r] * (z[r] - lse);
  return loss;
}
