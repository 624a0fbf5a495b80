/**
 * Hand-written loss and gradient (forward + backpropagation through time) for the benchmark
 * Elman RNN, the baseline the generated code is measured against:
 *
 *   h_0 = 0
 *   h_t = tanh(Wxh·x_t + Whh·h_{t−1} + bh)     t = 1..T; Wxh [H,D], Whh [H,H], bh [H]
 *   p   = softmax(Why·h_T + by)                 Why [O,H], by [O]
 *   L   = −Σ y ⊙ log p                          loss at the last step only
 *
 * Sizes D=32, H=64, O=10, T=50 in the benchmark; `createRnnGradient` takes them as
 * parameters so the tests can run small ones. x is [T,D] row-major (row t−1 holds x_t).
 *
 * Written the way a performance engineer would in plain JavaScript: flat row-major
 * Float64Arrays, every buffer allocated once by the factory, no allocation per call, the
 * sizes passed to the kernels as arguments (locals, not closure or module cells).
 *
 * Forward: the hidden states of all T steps are stored in one [(T+1),H] buffer (row 0 is
 * h_0 = 0). Each step is one pass over the rows of [Wxh | Whh], four rows at a time: the four
 * dot products with x_t and then with h_{t−1} are accumulated in locals starting from the
 * bias, so each step of the reduction loads one x (or h) value and four weights and does
 * four multiply-adds; tanh is applied as the four results are stored.
 *
 * Backward: ∂L/∂z = p − y gives ∂by, ∂Why = (p − y)·h_Tᵀ and ∂h_T = Whyᵀ(p − y) in one pass
 * over Why. Then, for t = T..1, one pass over the rows of the weights, four at a time:
 *
 *   δ_t        = ∂h_t ⊙ (1 − h_t²)              four values, kept in locals
 *   ∂bh       += δ_t
 *   ∂Wxh      += δ_t·x_tᵀ                       rank-1 update, straight into the caller's array
 *   ∂Whh      += δ_t·h_{t−1}ᵀ                   rank-1 update, fused with…
 *   ∂h_{t−1}  += Whhᵀ·δ_t                       …this product, in the same loop over columns
 *
 * so each element of Whh and ∂Whh is touched once per step, and the δ's never go to memory.
 * At t = 1, h_0 = 0 contributes nothing to ∂Whh and ∂h_0 is not needed, so that part is
 * skipped.
 *
 * The fused softmax/cross-entropy gradient p − y assumes y sums to 1 (one-hot or a
 * probability vector), as the benchmark's targets do; the exact gradient is p·Σy − y.
 */

/** Sizes: input features D, hidden units H, outputs O, time steps T. */
export interface RnnDims {
  readonly D: number;
  readonly H: number;
  readonly O: number;
  readonly T: number;
}

/** The benchmark's sizes. */
export const RNN_DIMS: RnnDims = { D: 32, H: 64, O: 10, T: 50 };

export interface RnnParams {
  /** [H,D] row-major. */
  Wxh: Float64Array;
  /** [H,H] row-major. */
  Whh: Float64Array;
  /** [H]. */
  bh: Float64Array;
  /** [O,H] row-major. */
  Why: Float64Array;
  /** [O]. */
  by: Float64Array;
}

export interface RnnInputs {
  /** [T,D] row-major; row t−1 is x_t. */
  x: Float64Array;
  /** [O], summing to 1 (one-hot in the benchmark). */
  y: Float64Array;
}

export type RnnGradients = RnnParams;

/** Writes ∂L/∂param into `out` (overwriting it) and returns the loss L. */
export type RnnGradientFn = (params: RnnParams, inputs: RnnInputs, out: RnnGradients) => number;

/** The loss alone, no allocation per call (the forward pass of the gradient function). */
export type RnnLossFn = (params: RnnParams, inputs: RnnInputs) => number;

function checkLength(a: Float64Array, n: number, name: string, prefix = ""): void {
  if (a.length !== n) throw new Error(`${prefix}${name} has ${a.length} elements, expected ${n}`);
}

function checkParamShapes(dims: RnnDims, p: RnnParams, prefix: string): void {
  const { D, H, O } = dims;
  checkLength(p.Wxh, H * D, "Wxh", prefix);
  checkLength(p.Whh, H * H, "Whh", prefix);
  checkLength(p.bh, H, "bh", prefix);
  checkLength(p.Why, O * H, "Why", prefix);
  checkLength(p.by, O, "by", prefix);
}

function checkShapes(dims: RnnDims, params: RnnParams, inputs: RnnInputs, out?: RnnGradients): void {
  checkLength(inputs.x, dims.T * dims.D, "x");
  checkLength(inputs.y, dims.O, "y");
  checkParamShapes(dims, params, "");
  if (out) checkParamShapes(dims, out, "out.");
}

function checkDims(dims: RnnDims): void {
  for (const k of ["D", "H", "O", "T"] as const)
    if (!Number.isInteger(dims[k]) || dims[k] < 1)
      throw new Error(`${k} must be a positive integer, got ${dims[k]}`);
}

/**
 * All T steps of h_t = tanh(Wxh·x_t + Whh·h_{t−1} + bh) into hs [(T+1),H], whose row 0 must
 * hold h_0 = 0. Four rows of the weights per pass, the sums in locals.
 */
function forwardSteps(
  D: number,
  H: number,
  T: number,
  Wxh: Float64Array,
  Whh: Float64Array,
  bh: Float64Array,
  x: Float64Array,
  hs: Float64Array,
): void {
  const H4 = H - (H % 4);
  for (let t = 1; t <= T; t++) {
    const xo = (t - 1) * D; // x_t
    const po = (t - 1) * H; // h_{t−1}
    const co = t * H; // h_t
    let i = 0;
    for (; i < H4; i += 4) {
      const a0 = i * D;
      const a1 = a0 + D;
      const a2 = a1 + D;
      const a3 = a2 + D;
      let s0 = bh[i],
        s1 = bh[i + 1],
        s2 = bh[i + 2],
        s3 = bh[i + 3];
      for (let k = 0; k < D; k++) {
        const v = x[xo + k];
        s0 += Wxh[a0 + k] * v;
        s1 += Wxh[a1 + k] * v;
        s2 += Wxh[a2 + k] * v;
        s3 += Wxh[a3 + k] * v;
      }
      const b0 = i * H;
      const b1 = b0 + H;
      const b2 = b1 + H;
      const b3 = b2 + H;
      for (let k = 0; k < H; k++) {
        const v = hs[po + k];
        s0 += Whh[b0 + k] * v;
        s1 += Whh[b1 + k] * v;
        s2 += Whh[b2 + k] * v;
        s3 += Whh[b3 + k] * v;
      }
      hs[co + i] = Math.tanh(s0);
      hs[co + i + 1] = Math.tanh(s1);
      hs[co + i + 2] = Math.tanh(s2);
      hs[co + i + 3] = Math.tanh(s3);
    }
    for (; i < H; i++) {
      const a0 = i * D;
      const b0 = i * H;
      let s0 = bh[i];
      for (let k = 0; k < D; k++) s0 += Wxh[a0 + k] * x[xo + k];
      for (let k = 0; k < H; k++) s0 += Whh[b0 + k] * hs[po + k];
      hs[co + i] = Math.tanh(s0);
    }
  }
}

/**
 * z = Why·h_T + by into `z` [O], from the last row of hs: four rows of Why per pass.
 */
function outputLogits(
  H: number,
  O: number,
  Why: Float64Array,
  by: Float64Array,
  hs: Float64Array,
  ho: number,
  z: Float64Array,
): void {
  const O4 = O - (O % 4);
  let o = 0;
  for (; o < O4; o += 4) {
    const r0 = o * H;
    const r1 = r0 + H;
    const r2 = r1 + H;
    const r3 = r2 + H;
    let s0 = by[o],
      s1 = by[o + 1],
      s2 = by[o + 2],
      s3 = by[o + 3];
    for (let k = 0; k < H; k++) {
      const v = hs[ho + k];
      s0 += Why[r0 + k] * v;
      s1 += Why[r1 + k] * v;
      s2 += Why[r2 + k] * v;
      s3 += Why[r3 + k] * v;
    }
    z[o] = s0;
    z[o + 1] = s1;
    z[o + 2] = s2;
    z[o + 3] = s3;
  }
  for (; o < O; o++) {
    const r0 = o * H;
    let s0 = by[o];
    for (let k = 0; k < H; k++) s0 += Why[r0 + k] * hs[ho + k];
    z[o] = s0;
  }
}

/** The loss −Σ y ⊙ (z − logsumexp z); when `g` is given, also ∂L/∂z = softmax(z) − y into it. */
function softmaxCrossEntropy(O: number, z: Float64Array, y: Float64Array, g?: Float64Array): number {
  let m = z[0];
  for (let k = 1; k < O; k++) if (z[k] > m) m = z[k];
  let e = 0;
  for (let k = 0; k < O; k++) e += Math.exp(z[k] - m);
  const lse = m + Math.log(e);
  let loss = 0;
  for (let k = 0; k < O; k++) {
    const l = z[k] - lse;
    loss -= y[k] * l;
    if (g) g[k] = Math.exp(l) - y[k];
  }
  return loss;
}

/**
 * From g = ∂L/∂z [O]: ∂Why = g·h_Tᵀ into gWhy (overwritten) and ∂h_T = Whyᵀ·g into dh
 * (overwritten), in one pass over Why.
 */
function outputBackward(
  H: number,
  O: number,
  Why: Float64Array,
  g: Float64Array,
  hs: Float64Array,
  ho: number,
  gWhy: Float64Array,
  dh: Float64Array,
): void {
  dh.fill(0);
  for (let o = 0; o < O; o++) {
    const r = o * H;
    const go = g[o];
    for (let k = 0; k < H; k++) {
      gWhy[r + k] = go * hs[ho + k];
      dh[k] += Why[r + k] * go;
    }
  }
}

/**
 * Backpropagation through time. On entry dh holds ∂L/∂h_T; gWxh, gWhh and gbh are
 * overwritten with the gradients. `dhNext` is scratch of length H; dh and dhNext swap roles
 * each step.
 */
function backwardSteps(
  D: number,
  H: number,
  T: number,
  Wxh: Float64Array,
  Whh: Float64Array,
  x: Float64Array,
  hs: Float64Array,
  dh: Float64Array,
  dhNext: Float64Array,
  gWxh: Float64Array,
  gWhh: Float64Array,
  gbh: Float64Array,
): void {
  gWxh.fill(0);
  gWhh.fill(0);
  gbh.fill(0);
  const H4 = H - (H % 4);
  for (let t = T; t >= 1; t--) {
    const xo = (t - 1) * D; // x_t
    const po = (t - 1) * H; // h_{t−1}
    const co = t * H; // h_t
    const recur = t > 1; // h_0 = 0: nothing for ∂Whh, and ∂h_0 is not needed
    if (recur) dhNext.fill(0);
    let i = 0;
    for (; i < H4; i += 4) {
      let h = hs[co + i];
      const d0 = dh[i] * (1 - h * h);
      h = hs[co + i + 1];
      const d1 = dh[i + 1] * (1 - h * h);
      h = hs[co + i + 2];
      const d2 = dh[i + 2] * (1 - h * h);
      h = hs[co + i + 3];
      const d3 = dh[i + 3] * (1 - h * h);
      gbh[i] += d0;
      gbh[i + 1] += d1;
      gbh[i + 2] += d2;
      gbh[i + 3] += d3;
      // ∂Wxh rows i..i+3 += δ·x_tᵀ
      const a0 = i * D;
      const a1 = a0 + D;
      const a2 = a1 + D;
      const a3 = a2 + D;
      for (let k = 0; k < D; k++) {
        const v = x[xo + k];
        gWxh[a0 + k] += d0 * v;
        gWxh[a1 + k] += d1 * v;
        gWxh[a2 + k] += d2 * v;
        gWxh[a3 + k] += d3 * v;
      }
      if (recur) {
        // ∂Whh rows i..i+3 += δ·h_{t−1}ᵀ, and ∂h_{t−1} += (rows i..i+3 of Whh)ᵀ·δ
        const b0 = i * H;
        const b1 = b0 + H;
        const b2 = b1 + H;
        const b3 = b2 + H;
        for (let k = 0; k < H; k++) {
          const v = hs[po + k];
          gWhh[b0 + k] += d0 * v;
          gWhh[b1 + k] += d1 * v;
          gWhh[b2 + k] += d2 * v;
          gWhh[b3 + k] += d3 * v;
          dhNext[k] += Whh[b0 + k] * d0 + Whh[b1 + k] * d1 + Whh[b2 + k] * d2 + Whh[b3 + k] * d3;
        }
      }
    }
    for (; i < H; i++) {
      const h = hs[co + i];
      const d0 = dh[i] * (1 - h * h);
      gbh[i] += d0;
      const a0 = i * D;
      for (let k = 0; k < D; k++) gWxh[a0 + k] += d0 * x[xo + k];
      if (recur) {
        const b0 = i * H;
        for (let k = 0; k < H; k++) {
          gWhh[b0 + k] += d0 * hs[po + k];
          dhNext[k] += Whh[b0 + k] * d0;
        }
      }
    }
    const swap = dh;
    dh = dhNext;
    dhNext = swap;
  }
}

/**
 * A gradient function for the given sizes. Its buffers (the T+1 hidden states, the logits,
 * ∂L/∂z and two ∂h vectors) are allocated here, once; calls allocate nothing. Not
 * re-entrant: one call at a time.
 */
export function createRnnGradient(dims: RnnDims = RNN_DIMS): RnnGradientFn {
  checkDims(dims);
  const { D, H, O, T } = dims;
  const hs = new Float64Array((T + 1) * H); // row 0 is h_0 = 0 and stays so
  const z = new Float64Array(O);
  const g = new Float64Array(O);
  const dhA = new Float64Array(H);
  const dhB = new Float64Array(H);
  const last = T * H;

  return function gradient(params, inputs, out) {
    checkShapes(dims, params, inputs, out);
    const x = inputs.x;
    forwardSteps(D, H, T, params.Wxh, params.Whh, params.bh, x, hs);
    outputLogits(H, O, params.Why, params.by, hs, last, z);
    const loss = softmaxCrossEntropy(O, z, inputs.y, g);
    out.by.set(g);
    outputBackward(H, O, params.Why, g, hs, last, out.Why, dhA);
    backwardSteps(D, H, T, params.Wxh, params.Whh, x, hs, dhA, dhB, out.Wxh, out.Whh, out.bh);
    return loss;
  };
}

/**
 * The loss alone, with the same forward kernels and preallocated buffers as
 * `createRnnGradient` (no allocation per call): the hand-written counterpart of a forward
 * pass.
 */
export function createRnnLoss(dims: RnnDims = RNN_DIMS): RnnLossFn {
  checkDims(dims);
  const { D, H, O, T } = dims;
  const hs = new Float64Array((T + 1) * H);
  const z = new Float64Array(O);
  return function loss(params, inputs) {
    checkShapes(dims, params, inputs);
    forwardSteps(D, H, T, params.Wxh, params.Whh, params.bh, inputs.x, hs);
    outputLogits(H, O, params.Why, params.by, hs, T * H, z);
    return softmaxCrossEntropy(O, z, inputs.y);
  };
}

/**
 * The loss by the textbook loops, sharing no code with the kernels above (allocates; for
 * tests, not for timing).
 */
export function rnnLoss(dims: RnnDims, params: RnnParams, inputs: RnnInputs): number {
  checkDims(dims);
  checkShapes(dims, params, inputs);
  const { D, H, O, T } = dims;
  let h = new Float64Array(H);
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(H);
    for (let i = 0; i < H; i++) {
      let s = params.bh[i];
      for (let k = 0; k < D; k++) s += params.Wxh[i * D + k] * inputs.x[t * D + k];
      for (let k = 0; k < H; k++) s += params.Whh[i * H + k] * h[k];
      next[i] = Math.tanh(s);
    }
    h = next;
  }
  const z = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let s = params.by[o];
    for (let k = 0; k < H; k++) s += params.Why[o * H + k] * h[k];
    z[o] = s;
  }
  let m = -Infinity;
  for (let o = 0; o < O; o++) m = Math.max(m, z[o]);
  let e = 0;
  for (let o = 0; o < O; o++) e += Math.exp(z[o] - m);
  const lse = m + Math.log(e);
  let loss = 0;
  for (let o = 0; o < O; o++) loss -= inputs.y[o] * (z[o] - lse);
  return loss;
}
