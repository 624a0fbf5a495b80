import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs";
import { loadModule } from "../../src/run.js";
import { mulberry32 } from "../../bench/workload.js";
import {
  compileOk,
  evaluatorGradient,
  finiteDifferences,
  maxRelativeError,
  splitValues,
} from "../support/check.js";
import { tfjsGradients } from "../support/tfjs.js";

interface Spec {
  batch: boolean;
  c: number;
  f: number;
  size: number;
  kernel: number;
  stride: number;
  padding: number;
  pool: "maxpool" | "avgpool" | "none";
  seed: number;
}

const spec: fc.Arbitrary<Spec> = fc.record({
  batch: fc.boolean(),
  c: fc.integer({ min: 1, max: 3 }),
  f: fc.integer({ min: 1, max: 3 }),
  size: fc.integer({ min: 4, max: 7 }),
  kernel: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  padding: fc.integer({ min: 0, max: 1 }),
  pool: fc.constantFrom("maxpool" as const, "avgpool" as const, "none" as const),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

const literal = (shape: number[], r: () => number): string =>
  shape.length === 0
    ? (2 * r() - 1).toFixed(3)
    : `[${Array.from({ length: shape[0]! }, () => literal(shape.slice(1), r)).join(", ")}]`;

/** A random convolutional model as source text: strides, padding, channels, filters, pooling, a batch or not. */
function source(s: Spec): string {
  const r = mulberry32(s.seed);
  const image = s.batch ? [2, s.c, s.size, s.size] : [s.c, s.size, s.size];
  const conv = Math.floor((s.size + 2 * s.padding - s.kernel) / s.stride) + 1;
  const pooled = s.pool === "none" || conv < 2 ? conv : Math.floor((conv - 2) / 1) + 1;
  const pool = s.pool === "none" || conv < 2 ? "A" : `${s.pool}(A, size=2, stride=1)`;
  const features = s.f * pooled * pooled;
  const lines = [
    `input x: [${image.join(", ")}]`,
    `param k: [${s.f}, ${s.c}, ${s.kernel}, ${s.kernel}]`,
    `param bk: [${s.f}, 1, 1]`,
    `param W: [${features}, 2]`,
    `A = tanh(conv2d(x, k, stride=${s.stride}, padding=${s.padding}) + bk)`,
    `P = ${pool}`,
    s.batch ? "z = flatten(P, from=1)*W" : "z = flatten(P)*W",
    "loss L = sum(z .* z) + sum(P)",
    "example {",
    `  x = ${literal(image, r)}`,
    `  k = ${literal([s.f, s.c, s.kernel, s.kernel], r)}`,
    `  bk = ${literal([s.f, 1, 1], r)}`,
    `  W = ${literal([features, 2], r)}`,
    "}",
  ];
  return lines.join("\n");
}

describe("random convolutional models, source to generated code", () => {
  it("match finite differences, the reference evaluator and TensorFlow.js", async () => {
    await tf.setBackend("cpu");
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const compiled = await compileOk(source(s), "conv.nabla");
        const mod = await loadModule(compiled.module.javascript);
        const values = compiled.graph.example;
        const data = splitValues(compiled, values);
        const generated = mod.gradient(data.params, data.inputs);
        expect(
          maxRelativeError(generated.gradients, evaluatorGradient(compiled, values).gradients),
        ).toBeLessThan(1e-12);
        expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-5);
        expect(
          maxRelativeError(generated.gradients, tfjsGradients(compiled.graph, values).gradients),
        ).toBeLessThan(1e-3);
      }),
      { numRuns: 30 },
    );
  });
});
