import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { allOps } from "../../src/ops/registry.js";
import { differentiate } from "../../src/autodiff/reverse.js";
import { Evaluator } from "../../src/ir/evaluate.js";
import { generateModule } from "../../src/codegen/module.js";
import { loadModule } from "../../src/run.js";
import { mulberry32 } from "../../bench/workload.js";
import { buildCase, cases, type Case } from "../support/opCases.js";

function checkCase(opName: string, c: Case, seed: number): void {
  const { graph, values } = buildCase(opName, c, mulberry32(seed));
  const gradient = differentiate(graph);
  const ev = new Evaluator(gradient.nodes, values);
  for (const [name, g] of gradient.params) {
    const v = values.get(name)!;
    const symbolic = g === null ? new Float64Array(v.data.length) : ev.value(g).data;
    for (let i = 0; i < v.data.length; i++) {
      const h = 1e-6;
      const saved = v.data[i]!;
      const at = (x: number) => {
        const copy = new Map(values);
        const data = Float64Array.from(v.data);
        data[i] = x;
        copy.set(name, { shape: v.shape, data });
        return new Evaluator(graph.nodes, copy).value(graph.loss).data[0]!;
      };
      const numeric = (at(saved + h) - at(saved - h)) / (2 * h);
      expect(Math.abs(symbolic[i]! - numeric), `${opName} d/d${name}[${i}]`).toBeLessThan(
        1e-5 * Math.max(1, Math.abs(numeric)),
      );
    }
  }
}

describe("every op's vector-Jacobian product matches central differences", () => {
  it("covers every registered op", () => {
    expect(
      allOps()
        .map((d) => d.name)
        .filter((n) => !(n in cases)),
    ).toEqual([]);
  });
  for (const [opName, list] of Object.entries(cases)) {
    it(opName, () => {
      list.forEach((c) =>
        fc.assert(
          fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => checkCase(opName, c, seed)),
          { numRuns: 12 },
        ),
      );
    });
  }
});

describe("every op's generated code agrees with its reference evaluator", () => {
  for (const [opName, list] of Object.entries(cases)) {
    it(opName, async () => {
      for (const [k, c] of list.entries()) {
        const { graph, values } = buildCase(opName, c, mulberry32(1234 + k));
        const gradient = differentiate(graph);
        const mod = await loadModule((await generateModule(graph, gradient)).javascript);
        const params = Object.fromEntries([...values].map(([name, t]) => [name, Float64Array.from(t.data)]));
        const result = mod.gradient(params, {});
        const ev = new Evaluator(gradient.nodes, values);
        expect(result.loss).toBeCloseTo(ev.value(graph.loss).data[0]!, 12);
        for (const [name, g] of gradient.params) {
          const expected = g === null ? new Float64Array(values.get(name)!.data.length) : ev.value(g).data;
          const actual = result.gradients[name]!;
          for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 12);
        }
      }
    });
  }
});
