/**
 * The benchmark Elman RNN on TensorFlow.js's pure-JavaScript CPU backend: the same loss as
 * the nabla model, the T steps unrolled into a chain of tf ops (h is a [1,H] row, so each
 * step is h ← tanh(x_t·Wxhᵀ + h·Whhᵀ + bh), with the transposes folded into `tf.matMul`),
 * gradients by `tf.valueAndGrads` through the whole unrolled chain.
 *
 * TF.js's CPU backend computes in float32 only (there is no float64 dtype), so its gradients
 * agree with the float64 implementations to about 1e-6 relative, not to rounding.
 * Call `initTfjsCpu` (./init.ts) first.
 */
import * as tf from "@tensorflow/tfjs";

import type { RnnDims } from "../handwritten/rnn.js";

export interface TfjsRnn {
  /** Forward + gradient; returns the loss. Gradients are materialized and then released. */
  step(): number;
  /** The loss and gradients as Float64Arrays (widened from float32), for checking. */
  evaluate(): { loss: number; gradients: Record<string, Float64Array> };
  /** Frees the tensors holding the parameters and data. */
  dispose(): void;
}

const NAMES = ["Wxh", "Whh", "bh", "Why", "by"] as const;

/** Uploads the parameters and data (narrowed to float32); x is split into T rows once. */
export function createTfjsRnn(
  dims: RnnDims,
  params: Record<string, Float64Array>,
  inputs: Record<string, Float64Array>,
): TfjsRnn {
  const { D, H, O, T } = dims;
  const f32 = (a: Float64Array | undefined) => Float32Array.from(a!);
  const Wxh = tf.tensor2d(f32(params.Wxh), [H, D], "float32");
  const Whh = tf.tensor2d(f32(params.Whh), [H, H], "float32");
  const bh = tf.tensor1d(f32(params.bh), "float32");
  const Why = tf.tensor2d(f32(params.Why), [O, H], "float32");
  const by = tf.tensor1d(f32(params.by), "float32");
  const X = tf.tensor2d(f32(inputs.x), [T, D], "float32");
  const xs = tf.split(X, T, 0) as tf.Tensor2D[]; // T tensors [1,D]
  const y = tf.tensor2d(f32(inputs.y), [1, O], "float32");
  const args = [Wxh, Whh, bh, Why, by];

  const loss = (...p: tf.Tensor[]): tf.Scalar => {
    const [wxh, whh, ch, why, cy] = p as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
    let h = tf.zeros([1, H]) as tf.Tensor2D;
    for (let t = 0; t < T; t++)
      h = tf.tanh(tf.add(tf.add(tf.matMul(xs[t]!, wxh, false, true), tf.matMul(h, whh, false, true)), ch));
    const logits = tf.add(tf.matMul(h, why, false, true), cy);
    return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits))));
  };
  const valueAndGrads = tf.valueAndGrads(loss);

  return {
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
          gradients[NAMES[i]!] = Float64Array.from(g.dataSync());
        });
        lossValue = value.dataSync()[0]!;
      });
      return { loss: lossValue, gradients };
    },
    dispose() {
      tf.dispose([...args, X, ...xs, y]);
    },
  };
}
