import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadModule } from "../../src/run.js";
import { Evaluator } from "../../src/ir/evaluate.js";
import {
  compileOk,
  evaluatorGradient,
  finiteDifferences,
  maxRelativeError,
  splitValues,
} from "../support/check.js";
import { tfjsGradients } from "../support/tfjs.js";

const dir = join(import.meta.dirname, "../../examples");
const examples = readdirSync(dir).filter((f) => f.endsWith(".nabla"));

describe("every example's gradient", () => {
  it("has examples", () => expect(examples.length).toBeGreaterThanOrEqual(5));
  for (const file of examples) {
    it(`${file}: generated code = reference evaluator = finite differences = TensorFlow.js`, async () => {
      await tf.setBackend("cpu");
      const compiled = await compileOk(readFileSync(join(dir, file), "utf8"), file);
      const values = compiled.graph.example;
      const mod = await loadModule(compiled.module.javascript);
      const data = splitValues(compiled, values);
      const generated = mod.gradient(data.params, data.inputs);
      const reference = evaluatorGradient(compiled, values);
      // forward() computes every named value itself (its own fusion plan): each must be the evaluator's.
      const forward = mod.forward(data.params, data.inputs);
      const evaluator = new Evaluator(compiled.gradient.nodes, values);
      for (const n of compiled.graph.named.filter((v) => v.kind === "equation" || v.kind === "loss"))
        expect(
          maxRelativeError({ [n.name]: forward.values[n.name]! }, { [n.name]: evaluator.value(n.node).data }),
          n.name,
        ).toBeLessThan(1e-12);
      expect(generated.loss).toBeCloseTo(reference.loss, 10);
      expect(maxRelativeError(generated.gradients, reference.gradients)).toBeLessThan(1e-12);
      expect(maxRelativeError(generated.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-5);
      const independent = tfjsGradients(compiled.graph, values);
      expect(
        Math.abs(independent.loss - generated.loss) / Math.max(1, Math.abs(generated.loss)),
      ).toBeLessThan(1e-4);
      expect(maxRelativeError(generated.gradients, independent.gradients)).toBeLessThan(1e-3);
    });
  }
});
