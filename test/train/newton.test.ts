import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { loadModule } from "../../src/run.js";
import { compile } from "../../src/index.js";
import { newtonStates } from "../../src/train/newton.js";
import { compileOk, maxRelativeError, splitValues } from "../support/check.js";

/**
 * Newton's method: the module's Hessian against central differences of its gradient and
 * against the textbook's closed form for a logistic regression, one step on a quadratic
 * loss landing on the least-squares solution of the normal equations, the handout's worked
 * steps equal to the module's, and located refusals.
 */
type Module = Awaited<ReturnType<typeof loadModule>> & {
  hessian(p: Record<string, Float64Array>, i: Record<string, Float64Array>): Float64Array;
  newtonStep(p: Record<string, Float64Array>, i: Record<string, Float64Array>, lr?: number): number;
};
const example = readFileSync(new URL("../../examples/newton_logistic.nabla", import.meta.url), "utf8");
const clone = (r: Record<string, Float64Array>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));

describe("Newton's method", () => {
  it("the Hessian = central differences of the gradient = the textbook's logistic Hessian", async () => {
    const compiled = await compileOk(example);
    const mod = (await loadModule(compiled.module.javascript)) as Module;
    const data = splitValues(compiled, compiled.graph.example);
    const params = { w: Float64Array.of(0.3, -0.7), b: Float64Array.of(0.2) };
    const h = mod.hessian(params, data.inputs);
    const flat = (g: Record<string, Float64Array>) => [...g.w!, ...g.b!];
    const eps = 1e-5;
    const fd = new Float64Array(9);
    for (let j = 0; j < 3; j++) {
      const at = (s: number) => {
        const p = clone(params);
        if (j < 2) p.w![j]! += s;
        else p.b![0]! += s;
        return flat(mod.gradient(p, data.inputs).gradients);
      };
      const [plus, minus] = [at(eps), at(-eps)];
      for (let i = 0; i < 3; i++) fd[i * 3 + j] = (plus[i]! - minus[i]!) / (2 * eps);
    }
    expect(maxRelativeError({ h }, { h: fd })).toBeLessThan(1e-6);
    // The textbook's Hessian of the mean cross-entropy of a logistic regression:
    // H = (1/N) Aᵀ diag(p(1 − p)) A, with A the inputs and a column of ones for the bias.
    const X = compiled.graph.example.get("X")!.data;
    const rows = X.length / 2;
    const independent = new Float64Array(9);
    for (let r = 0; r < rows; r++) {
      const a = [X[r * 2]!, X[r * 2 + 1]!, 1];
      const p = 1 / (1 + Math.exp(-(0.3 * a[0]! - 0.7 * a[1]! + 0.2)));
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) independent[i * 3 + j]! += (p * (1 - p) * a[i]! * a[j]!) / rows;
    }
    expect(maxRelativeError({ h }, { h: independent })).toBeLessThan(1e-4);
  });

  it("one step on a squared error lands on the least-squares solution of the normal equations", async () => {
    const compiled = await compileOk(`
      dim N = 5
      input x: [N]
      target y: [N]
      param a
      param c
      loss L = sum((a * x + c - y)^2)
      example {
        x = [0, 1, 2, 3, 4.5]
        y = [1.1, 2.9, 5.2, 7.1, 9.8]
        a = 0
        c = 0
      }
      train newton()
    `);
    const mod = (await loadModule(compiled.module.javascript)) as Module;
    const data = splitValues(compiled, compiled.graph.example);
    mod.newtonStep(data.params, data.inputs);
    const [x, y] = [data.inputs.x!, data.inputs.y!];
    const n = x.length;
    const [sx, sy, sxx, sxy] = [0, 1, 2, 3].map((k) =>
      x.reduce((s, xi, i) => s + (k === 0 ? xi : k === 1 ? y[i]! : k === 2 ? xi * xi : xi * y[i]!), 0),
    ) as [number, number, number, number];
    const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const intercept = (sy - slope * sx) / n;
    expect(data.params.a![0]).toBeCloseTo(slope, 12);
    expect(data.params.c![0]).toBeCloseTo(intercept, 12);
  });

  it("the handout's worked steps are the module's steps", async () => {
    const compiled = await compileOk(example);
    const mod = (await loadModule(compiled.module.javascript)) as Module;
    const data = splitValues(compiled, compiled.graph.example);
    const states = newtonStates(
      compiled.gradient.hessian!,
      compiled.gradient.params,
      compiled.gradient.nodes,
      compiled.graph.example,
      1,
      3,
    );
    for (let k = 1; k <= 3; k++) {
      mod.newtonStep(data.params, data.inputs);
      expect(
        maxRelativeError(data.params, {
          w: states[k]!.values.get("w")!.data,
          b: states[k]!.values.get("b")!.data,
        }),
      ).toBeLessThan(1e-12);
    }
    expect(compiled.latex).toContain("H^{-1}");
  });

  it("refuses a singular Hessian at run time, and what it cannot do with the place", async () => {
    const compiled = await compileOk(`
      dim N = 3
      input x: [N]
      param a
      param unused
      loss L = sum((a * x)^2) + 0 * unused
      train newton()
    `);
    const mod = (await loadModule(compiled.module.javascript)) as Module;
    expect(() =>
      mod.newtonStep({ a: Float64Array.of(1), unused: Float64Array.of(2) }, { x: Float64Array.of(1, 2, 3) }),
    ).toThrow(/the Hessian is singular at these params/);
    const recurrent = await compile(
      "index t in 1..3\ninput x_t\nparam w\nh_0 = 0\nh_t = tanh(w*h_<t-1> + x_t)\nloss L = h_3^2\ntrain newton()",
      { file: "m.nabla" },
    );
    expect(recurrent.rendered).toMatch(
      /m\.nabla:7:1: error NB4002: Newton's method: second derivatives through a recurrence are not supported yet/,
    );
    const large = await compile("dim D = 20\nparam W: [D, D]\nloss L = sum(W .* W)\ntrain newton()", {
      file: "m.nabla",
    });
    expect(large.rendered).toMatch(
      /error NB4002: Newton's method needs the 400 × 400 Hessian over every param entry/,
    );
  });
});
