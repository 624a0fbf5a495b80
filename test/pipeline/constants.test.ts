import { describe, expect, it } from "vitest";
import { loadModule } from "../../src/run.js";
import { compile } from "../../src/index.js";
import { compileOk, finiteDifferences, maxRelativeError } from "../support/check.js";

/** Constants defined entry by entry from their positions: `const M[i, j]: [T, T] = …`. */
describe("constants defined entry by entry", () => {
  const masked = (dims: string) => `
    dim ${dims}, D = 2
    input X: [T, D]
    S = X * X^T
    param w
    const M[i, j]: [T, T] = where(j <= i, 0, -1e9)
    const U[i, j]: [T, T] = (i < j) .* (i - j)
    A = softmax(w * S + M)
    loss L = sum(A .* A) + w * sum(U)
  `;
  const scores = (t: number) => Float64Array.from({ length: t * 2 }, (_, e) => Math.cos(e * 1.3) * 2);

  it("a causal mask zeroes the weights above the diagonal, with fixed or run-time T alike", async () => {
    const free = await loadModule((await compileOk(masked("T"))).module.javascript);
    for (const t of [1, 3, 5]) {
      const fixed = await loadModule((await compileOk(masked(`T = ${t}`))).module.javascript);
      const params = { w: Float64Array.of(0.7) };
      const a = free.forward(params, { X: scores(t) }).values.A!;
      const b = fixed.forward(params, { X: scores(t) }).values.A!;
      expect([...a]).toEqual([...b]);
      for (let i = 0; i < t; i++) {
        let row = 0;
        for (let j = 0; j < t; j++) {
          if (j > i) expect(a[i * t + j]).toBe(0);
          row += a[i * t + j]!;
        }
        expect(row).toBeCloseTo(1, 12);
      }
      // sum over i < j of (i − j) = −(t³ − t)/6, read through the gradient of w's linear term.
      const data = { params: { w: Float64Array.of(0.7) }, inputs: { X: scores(t) } };
      const { gradients } = free.gradient(data.params, data.inputs);
      expect(maxRelativeError(gradients, finiteDifferences(free, data))).toBeLessThan(1e-6);
      const withoutMask = free.forward({ w: Float64Array.of(0) }, { X: scores(t) }).loss;
      const uniform = Array.from({ length: t }, (_, i) => 1 / (i + 1)).reduce((s, p) => s + p, 0);
      expect(withoutMask).toBeCloseTo(uniform, 12);
      expect(free.forward({ w: Float64Array.of(1) }, { X: new Float64Array(t * 2) }).loss).toBeCloseTo(
        uniform - (t ** 3 - t) / 6,
        10,
      );
    }
  });

  const errors = async (source: string) => (await compile(source, { file: "m.nabla" })).rendered ?? "";

  it("reject what is not a constant, with the place", async () => {
    expect(
      await errors("dim T = 3\nparam W: [T, T]\nconst M[i, j]: [T, T] = W + i\nloss L = sum(M)"),
    ).toMatch(
      /m\.nabla:3:25: error NB2005: 'M' is a constant: its entries may depend on their positions, numbers and dims, not on 'W'/,
    );
    expect(await errors("dim T = 3\nparam W[i]: [T]\nloss L = sum(W)")).toMatch(
      /m\.nabla:2:9: error NB2005: only a const may be defined entry by entry/,
    );
    expect(await errors("dim T = 3\nconst M[i]: [T, T] = i\nloss L = sum(M)")).toMatch(
      /m\.nabla:2:9: error NB2005: 'M\[i\]' names 1 position: give it a shape of 1 axis/,
    );
    expect(await errors("dim T = 3\nconst M[i, i]: [T, T] = i\nloss L = sum(M)")).toMatch(
      /m\.nabla:2:12: error NB2005: 'i' names two axes of 'M'/,
    );
    expect(await errors("dim T = 3\nconst M[i, j]: [T, T] = (i < k)\nloss L = sum(M)")).toMatch(
      /m\.nabla:2:30: error NB2001: unknown name 'k'/,
    );
  });
});
