/** TensorFlow.js set-up shared by the TF.js versions of the workloads. */
import * as tf from "@tensorflow/tfjs";

let initialized = false;

/**
 * Selects TF.js's pure-JavaScript CPU backend (single-threaded, float32 only; no native
 * tfjs-node, no WebGL), once. Returns the tfjs-core version.
 */
export async function initTfjsCpu(): Promise<string> {
  if (!initialized) {
    // PROD silences the "install tfjs-node" hint and skips debug-only checks.
    tf.env().set("PROD", true);
    if (!(await tf.setBackend("cpu"))) throw new Error("TensorFlow.js: the cpu backend is not available");
    await tf.ready();
    initialized = true;
  }
  return tf.version_core;
}
