import { describe, it, expect } from "vitest";
import * as tf from "@tensorflow/tfjs";

import { initTfjsWasm, missingKernel, missingKernelReason, useTfjsBackend } from "../../bench/tfjs/init.js";
import { mulberry32, type Workload } from "../../bench/workload.js";
import { cnnSource, makeCnnData } from "../../bench/workloads/cnn.js";
import { makeRnnWorkload } from "../../bench/workloads/rnn.js";
import { createTfjsCnn } from "../../bench/tfjs/cnn.js";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { relativeError } from "./check.js";

async function generated(workload: Workload, data: ReturnType<Workload["makeData"]>) {
  const r = await compile(workload.nablaSource, { file: "model.nabla" });
  expect(r.rendered).toBe("");
  const mod = await loadModule(r.module!.javascript);
  return mod.gradient(data.params, data.inputs, undefined, data.dims);
}

describe("TF.js wasm backend in the bench", () => {
  it("initialises from node_modules with one thread, and switches backends synchronously", async () => {
    expect(await initTfjsWasm()).toBeUndefined();
    expect(tf.getBackend()).toBe("cpu");
    useTfjsBackend("wasm");
    expect(tf.getBackend()).toBe("wasm");
    useTfjsBackend("cpu");
    expect(tf.getBackend()).toBe("cpu");
  });

  it("runs the RNN's gradient on each backend, on that backend, within float32 rounding of the generated one", async () => {
    expect(await initTfjsWasm()).toBeUndefined();
    const workload = makeRnnWorkload("rnn-tfjs-test", { D: 3, H: 6, O: 5, T: 4 });
    const data = workload.makeData(mulberry32(11));
    const ref = await generated(workload, data);
    const held = (b: string) => tf.engine().findBackend(b)!.numDataIds();
    for (const [backend, other] of [
      ["wasm", "cpu"],
      ["cpu", "wasm"],
    ] as const) {
      const before = { mine: held(backend), other: held(other) };
      useTfjsBackend(backend);
      const runner = await workload.tfjs(data);
      const got = runner.evaluate();
      // the runner's tensors were created on its backend, and running it moved none elsewhere
      expect(held(backend)).toBeGreaterThan(before.mine);
      expect(held(other)).toBe(before.other);
      expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
      for (const [name, g] of Object.entries(ref.gradients))
        expect(relativeError(got.gradients[name]!, g as Float64Array), `${backend} ∂${name}`).toBeLessThan(
          1e-4,
        );
      runner.dispose?.();
    }
    useTfjsBackend("cpu");
  });

  it("runs the CNN on the wasm backend as a depth-1 conv3d (it has no conv2d filter gradient), within float32 rounding of the generated gradient", async () => {
    expect(await initTfjsWasm()).toBeUndefined();
    const dims = { C: 1, H: 6, W: 6, F: 2, K: 3 };
    const data = makeCnnData(mulberry32(3), dims);
    expect(cnnSource(dims)).toContain("conv2d");
    const r = await compile(cnnSource(dims), { file: "cnn.nabla" });
    const ref = (await loadModule(r.module!.javascript)).gradient(data.params, data.inputs);
    useTfjsBackend("wasm");
    // What the bench would find without the conv3d form: the missing kernel, named.
    let error: unknown;
    try {
      tf.tidy(() =>
        tf.grad((k: tf.Tensor4D) => tf.sum(tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, k, 1, "valid")))(
          tf.ones([3, 3, 1, 1]) as tf.Tensor4D,
        ),
      );
    } catch (err) {
      error = err;
    }
    expect(missingKernel(error)).toEqual({ kernel: "Conv2DBackpropFilter", backend: "wasm" });
    expect(missingKernelReason("Conv2DBackpropFilter")).toBe("no conv2d filter gradient");
    expect(missingKernel(new Error("something else"))).toBeUndefined();
    const model = createTfjsCnn(dims, data.params, data.inputs);
    const got = model.evaluate();
    model.dispose();
    useTfjsBackend("cpu");
    expect(model.viaConv3d).toBe(true);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    for (const [name, g] of Object.entries(ref.gradients))
      expect(relativeError(got.gradients[name]!, g as Float64Array), `wasm ∂${name}`).toBeLessThan(1e-4);
    // The cpu backend keeps conv2d.
    const onCpu = createTfjsCnn(dims, data.params, data.inputs);
    expect(onCpu.viaConv3d).toBe(false);
    onCpu.dispose();
  });
});
