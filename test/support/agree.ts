import { expect } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { loadModule } from "../../src/run.js";
import { compileOk, finiteDifferences, maxRelativeError, splitValues } from "./check.js";
import { tfjsGradients } from "./tfjs.js";

/**
 * Compiles a model with an example block and checks its generated gradient at the example
 * against central differences and against TensorFlow.js's autodiff of the same model.
 */
export async function expectGradientsAgree(source: string): Promise<Awaited<ReturnType<typeof compileOk>>> {
  await tf.setBackend("cpu");
  const compiled = await compileOk(source);
  const mod = await loadModule(compiled.module.javascript);
  const data = splitValues(compiled, compiled.graph.example);
  const generated = mod.gradient(data.params, data.inputs);
  expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
  const independent = tfjsGradients(compiled.graph, compiled.graph.example);
  expect(Math.abs(independent.loss - generated.loss) / Math.max(1, Math.abs(generated.loss))).toBeLessThan(
    1e-5,
  );
  expect(maxRelativeError(generated.gradients, independent.gradients)).toBeLessThan(1e-4);
  return compiled;
}
