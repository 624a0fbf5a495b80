import { describe, expect, it } from "vitest";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { chainModel, layeredModel } from "../../bench/scaling.js";
import { exampleBlock } from "../support/values.js";

// Compile time is measured by npm run bench:compile on these models; here they must compile
// at all (no recursion as deep as the model, no expression that doubles with each equation)
// and compute the right gradient.

/** Central differences of the module's own loss at a few entries, against its gradient there. */
async function checkEntries(source: string, probes: [string, number][]): Promise<{ latex: string }> {
  const compiled = await compile(source, { file: "scaling.nabla", html: false });
  if (!compiled.graph || !compiled.gradient || !compiled.module || compiled.latex === undefined)
    throw new Error(compiled.rendered);
  const mod = await loadModule(compiled.module.javascript);
  const { params, inputs } = mod.example();
  const { loss, gradients } = mod.gradient(params, inputs);
  expect(Number.isFinite(loss)).toBe(true);
  const h = 1e-6;
  for (const [name, i] of probes) {
    const p = (params as Record<string, Float64Array>)[name]!;
    const saved = p[i]!;
    p[i] = saved + h;
    const up = mod.forward(params, inputs).loss;
    p[i] = saved - h;
    const down = mod.forward(params, inputs).loss;
    p[i] = saved;
    const g = (gradients as Record<string, Float64Array>)[name]![i]!;
    expect(Math.abs(g - (up - down) / (2 * h)), `${name}[${i}]`).toBeLessThan(
      1e-6 * Math.max(1, Math.abs(g)),
    );
  }
  return { latex: compiled.latex };
}

describe("large models", () => {
  it("compiles 200 dense layers written out and gets every layer's gradient right", async () => {
    const layers = 200;
    const H = 8;
    const specs: Record<string, number[]> = { a0: [H], y: [H] };
    for (let l = 1; l <= layers; l++) Object.assign(specs, { [`W${l}`]: [H, H], [`b${l}`]: [H] });
    const source = `${layeredModel(layers, H)}${exampleBlock(specs, 7)}\n`;
    const probes: [string, number][] = [
      ["W1", 0],
      ["W1", 63],
      ["b1", 3],
      ["W100", 17],
      ["W200", 5],
      ["b200", 7],
    ];
    const { latex } = await checkEntries(source, probes);
    expect(latex).toMatch(/W_\{?200\}?/);
  }, 120_000);

  it("compiles a chain of 2,000 equations over shared params, the params' gradients summed over all of them", async () => {
    const { latex } = await checkEntries(chainModel(2000), [
      ["w", 0],
      ["b", 0],
    ]);
    expect(latex).toContain("x_{2000}");
  }, 120_000);
});
