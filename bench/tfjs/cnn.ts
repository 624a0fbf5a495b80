/**
 * The benchmark CNN on TensorFlow.js's pure-JavaScript CPU backend: the same loss as the
 * nabla model, gradients by `tf.valueAndGrads`, in TF's own layouts: the image NHWC
 * [1,H,W,C], the filters [3,3,C,F] for `tf.conv2d` (valid, stride 1), the bias [F]
 * broadcast over the channels-last axis, `tf.maxPool` 2×2 stride 2 (valid), the pooled map
 * flattened channels-last ((i·PW + j)·F + f) into a dense kernel [N,K] — i.e. W's columns
 * permuted to match, as a Keras-style Flatten + Dense would have them.
 *
 * The parameters are converted to these layouts once when uploaded, and `evaluate` converts
 * the gradients back to nabla's layouts (k [F,C,3,3], W [K,N]) on the host; the timed `step`
 * does no layout work. On a backend without conv2d's filter gradient (TF.js 4.22's wasm
 * backend) the convolution is the same one as a depth-1 `tf.conv3d` (image [1,1,H,W,C],
 * filters [1,3,3,C,F]), whose filter gradient that backend has; the filters' data and
 * gradient are the same numbers in the same order either way.
 *
 * TF.js's CPU backend computes in float32 only (there is no float64 dtype), so its gradients
 * agree with the float64 implementations to about 1e-6 relative, not to rounding.
 * Call `initTfjsCpu` (./init.ts) first.
 */
import * as tf from "@tensorflow/tfjs";

import { cnnShape, type CnnDims } from "../handwritten/cnn.js";

export interface TfjsCnn {
  /** Whether the convolution runs as a depth-1 conv3d (a backend without conv2d's filter gradient). */
  readonly viaConv3d: boolean;
  /** Forward + gradient; returns the loss. Gradients are materialized and then released. */
  step(): number;
  /** The loss and gradients as Float64Arrays in nabla's layouts, for checking. */
  evaluate(): { loss: number; gradients: Record<string, Float64Array> };
  /** Frees the tensors holding the parameters and data. */
  dispose(): void;
}

const NAMES = ["k", "bk", "W", "b"] as const;

/** Uploads the parameters and data (narrowed to float32, converted to TF's layouts). */
export function createTfjsCnn(
  dims: CnnDims,
  params: Record<string, Float64Array>,
  inputs: Record<string, Float64Array>,
): TfjsCnn {
  const { C, H, W: IW, F, K } = dims;
  const { PH, PW, N } = cnnShape(dims);
  const xSrc = inputs.x!;
  const kSrc = params.k!;
  const wSrc = params.W!;

  // x [C,H,W] → NHWC [1,H,W,C]
  const xs = new Float32Array(C * H * IW);
  for (let c = 0; c < C; c++) for (let p = 0; p < H * IW; p++) xs[p * C + c] = xSrc[c * H * IW + p]!;
  // k [F,C,3,3] → [3,3,C,F]; index maps shared with the conversion back
  const kIndex = (f: number, c: number, uv: number) => (uv * C + c) * F + f;
  const ks = new Float32Array(F * C * 9);
  for (let f = 0; f < F; f++)
    for (let c = 0; c < C; c++)
      for (let uv = 0; uv < 9; uv++) ks[kIndex(f, c, uv)] = kSrc[(f * C + c) * 9 + uv]!;
  // W [K,N] with column (f·PH + i)·PW + j → [N,K] with row (i·PW + j)·F + f
  const wIndex = (r: number, f: number, ij: number) => (ij * F + f) * K + r;
  const ws = new Float32Array(K * N);
  for (let r = 0; r < K; r++)
    for (let f = 0; f < F; f++)
      for (let ij = 0; ij < PH * PW; ij++) ws[wIndex(r, f, ij)] = wSrc[r * N + f * PH * PW + ij]!;

  const viaConv3d = tf.getKernel("Conv2DBackpropFilter", tf.getBackend()) === undefined;
  const x = viaConv3d
    ? tf.tensor5d(xs, [1, 1, H, IW, C], "float32")
    : tf.tensor4d(xs, [1, H, IW, C], "float32");
  const y = tf.tensor2d(Float32Array.from(inputs.y!), [1, K], "float32");
  const k = viaConv3d
    ? tf.tensor5d(ks, [1, 3, 3, C, F], "float32")
    : tf.tensor4d(ks, [3, 3, C, F], "float32");
  const bk = tf.tensor1d(Float32Array.from(params.bk!), "float32");
  const W = tf.tensor2d(ws, [N, K], "float32");
  const b = tf.tensor1d(Float32Array.from(params.b!), "float32");
  const args = [k, bk, W, b];

  const loss = (...p: tf.Tensor[]): tf.Scalar => {
    const [kk, ck, ww, cb] = p as [tf.Tensor, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
    const conv = viaConv3d
      ? tf.reshape(tf.conv3d(x as tf.Tensor5D, kk as tf.Tensor5D, 1, "valid"), [1, H - 2, IW - 2, F])
      : tf.conv2d(x as tf.Tensor4D, kk as tf.Tensor4D, 1, "valid");
    const A = tf.relu(tf.add(conv, ck));
    const P = tf.maxPool(A as tf.Tensor4D, 2, 2, "valid");
    const logits = tf.add(tf.matMul(tf.reshape(P, [1, N]), ww), cb);
    return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits))));
  };
  const valueAndGrads = tf.valueAndGrads(loss);

  /** Gradients from TF's layouts back to nabla's. */
  function toNabla(name: (typeof NAMES)[number], g: Float32Array): Float64Array {
    if (name === "k") {
      const out = new Float64Array(F * C * 9);
      for (let f = 0; f < F; f++)
        for (let c = 0; c < C; c++)
          for (let uv = 0; uv < 9; uv++) out[(f * C + c) * 9 + uv] = g[kIndex(f, c, uv)]!;
      return out;
    }
    if (name === "W") {
      const out = new Float64Array(K * N);
      for (let r = 0; r < K; r++)
        for (let f = 0; f < F; f++)
          for (let ij = 0; ij < PH * PW; ij++) out[r * N + f * PH * PW + ij] = g[wIndex(r, f, ij)]!;
      return out;
    }
    return Float64Array.from(g);
  }

  return {
    viaConv3d,
    step() {
      return tf.tidy(() => {
        const { value, grads } = valueAndGrads(args);
        for (const g of grads) g.dataSync();
        return value.dataSync()[0]!;
      });
    },
    evaluate() {
      const gradients: Record<string, Float64Array> = {};
      let lossValue = NaN;
      tf.tidy(() => {
        const { value, grads } = valueAndGrads(args);
        grads.forEach((g, i) => {
          const name = NAMES[i]!;
          gradients[name] = toNabla(name, g.dataSync() as Float32Array);
        });
        lossValue = value.dataSync()[0]!;
      });
      return { loss: lossValue, gradients };
    },
    dispose() {
      tf.dispose([...args, x, y]);
    },
  };
}
