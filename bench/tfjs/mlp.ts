/**
 * The benchmark MLP on TensorFlow.js's pure-JavaScript CPU backend: the same loss as the
 * nabla model (sum over the batch of −Y ⊙ log softmax), gradients by `tf.valueAndGrads`.
 *
 * TF.js's CPU backend computes in float32 only (there is no float64 dtype), so its gradients
 * agree with the float64 implementations to about 1e-6 relative, not to rounding.
 * Call `initTfjsCpu` (./init.ts) first.
 */
import * as tf from "@tensorflow/tfjs";

import { MLP_DIMS } from "../handwritten/mlp.js";

const { D, H, K } = MLP_DIMS;

export interface TfjsMlp {
  /** Forward + gradient; returns the loss. Gradients are materialized and then released. */
  step(): number;
  /** The loss and gradients as Float64Arrays (widened from float32), for checking. */
  evaluate(): { loss: number; gradients: Record<string, Float64Array> };
  /** Frees the tensors holding the parameters and data. */
  dispose(): void;
}

/** Uploads the parameters and data (narrowed to float32). */
export function createTfjsMlp(
  n: number,
  params: Record<string, Float64Array>,
  inputs: Record<string, Float64Array>,
): TfjsMlp {
  const W1 = tf.tensor2d(Float32Array.from(params.W1!), [D, H], "float32");
  const b1 = tf.tensor1d(Float32Array.from(params.b1!), "float32");
  const W2 = tf.tensor2d(Float32Array.from(params.W2!), [H, K], "float32");
  const b2 = tf.tensor1d(Float32Array.from(params.b2!), "float32");
  const X = tf.tensor2d(Float32Array.from(inputs.X!), [n, D], "float32");
  const Y = tf.tensor2d(Float32Array.from(inputs.Y!), [n, K], "float32");
  const args = [W1, b1, W2, b2];

  const loss = (...p: tf.Tensor[]): tf.Scalar => {
    const [w1, c1, w2, c2] = p as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
    const hid = tf.sigmoid(tf.add(tf.matMul(X, w1), c1));
    const logits = tf.add(tf.matMul(hid, w2), c2);
    return tf.neg(tf.sum(tf.mul(Y, tf.logSoftmax(logits))));
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
      const names = ["W1", "b1", "W2", "b2"];
      const gradients: Record<string, Float64Array> = {};
      let lossValue = NaN;
      tf.tidy(() => {
        const { value, grads } = valueAndGrads(args);
        grads.forEach((g, i) => {
          gradients[names[i]!] = Float64Array.from(g.dataSync());
        });
        lossValue = value.dataSync()[0]!;
      });
      return { loss: lossValue, gradients };
    },
    dispose() {
      tf.dispose([...args, X, Y]);
    },
  };
}
