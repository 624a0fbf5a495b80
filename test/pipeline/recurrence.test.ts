import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadModule } from "../../src/run.js";
import { mulberry32 } from "../../bench/workload.js";
import { compileOk, finiteDifferences, maxRelativeError } from "../support/check.js";

const elman = (steps: number) => `
  dim D = 3, H = 4, O = 2, T = ${steps}
  index t in 1..T
  input  x_t: [D]
  target y: [O]
  param  Wxh: [H, D]
  param  Whh: [H, H]
  param  Why: [O, H]
  h_0 = 0
  h_t = tanh(Wxh*x_t + Whh*h_<t-1>)
  loss L = sum((Why*h_T - y)^2)
`;

describe("a recurrence is never unrolled", () => {
  it("T = 3 and T = 100000 give the same IR and the same code apart from the constant", async () => {
    const short = await compileOk(elman(3));
    const long = await compileOk(elman(100000));
    expect(long.gradient.nodes.length).toBe(short.gradient.nodes.length);
    // Only numeric literals may differ: T itself and sizes folded from it (T·D).
    const shape = (code: string) => code.replace(/\b\d+\b/g, "#");
    expect(shape(long.module.typescript)).toBe(shape(short.module.typescript));
    expect(long.module.typescript).toContain("100000");
    expect(long.module.typescript.length).toBeLessThan(short.module.typescript.length + 200);
  });
});

interface Spec {
  d: number;
  h: number;
  steps: number;
  act: "tanh" | "sigmoid" | "softplus";
  bias: boolean;
  lag2: boolean;
  perStep: boolean;
  seed: number;
}

const spec: fc.Arbitrary<Spec> = fc.record({
  d: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 3 }),
  steps: fc.integer({ min: 1, max: 4 }),
  act: fc.constantFrom("tanh" as const, "sigmoid" as const, "softplus" as const),
  bias: fc.boolean(),
  lag2: fc.boolean(),
  perStep: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

const vec = (n: number, r: () => number) =>
  `[${Array.from({ length: n }, () => (2 * r() - 1).toFixed(3)).join(", ")}]`;
const mat = (m: number, n: number, r: () => number) =>
  `[${Array.from({ length: m }, () => vec(n, r)).join(", ")}]`;

/** The same model twice: as a recurrence over t, and written out step by step with plain names. */
function sources(s: Spec): { recurrent: string; unrolled: string } {
  const r = mulberry32(s.seed);
  const xs = Array.from({ length: s.steps }, () => vec(s.d, r));
  const ys = Array.from({ length: s.steps }, () => vec(2, r));
  const params = {
    Wxh: mat(s.h, s.d, r),
    Whh: mat(s.h, s.h, r),
    Wskip: mat(s.h, s.h, r),
    b: vec(s.h, r),
    Why: mat(2, s.h, r),
  };
  const declarations = [
    `dim D = ${s.d}, H = ${s.h}, O = 2, T = ${s.steps}`,
    "param Wxh: [H, D]",
    "param Whh: [H, H]",
    ...(s.lag2 ? ["param Wskip: [H, H]"] : []),
    ...(s.bias ? ["param b: [H]"] : []),
    "param Why: [O, H]",
  ];
  const paramValues = [
    `Wxh = ${params.Wxh}`,
    `Whh = ${params.Whh}`,
    ...(s.lag2 ? [`Wskip = ${params.Wskip}`] : []),
    ...(s.bias ? [`b = ${params.b}`] : []),
    `Why = ${params.Why}`,
  ];
  const step = (x: string, prev: string, prev2: string) =>
    `${s.act}(Wxh*${x} + Whh*${prev}${s.lag2 ? ` + Wskip*${prev2}` : ""}${s.bias ? " + b" : ""})`;
  const recurrent = [
    ...declarations,
    "index t in 1..T",
    "input x_t: [D]",
    s.perStep ? "target y_t: [O]" : "target y: [O]",
    "const h0: [H] = 0",
    "h_0 = h0",
    ...(s.lag2 ? ["h_<-1> = h0"] : []),
    `h_t = ${step("x_t", "h_<t-1>", "h_<t-2>")}`,
    s.perStep ? "loss L = sum_t(sum((Why*h_t - y_t)^2))" : "loss L = sum((Why*h_T - y)^2)",
    "example {",
    ...xs.map((x, i) => `  x_${i + 1} = ${x}`),
    ...(s.perStep ? ys.map((y, i) => `  y_${i + 1} = ${y}`) : [`  y = ${ys[0]}`]),
    ...paramValues.map((p) => `  ${p}`),
    "}",
  ].join("\n");
  const hs = (i: number) => (i >= 1 ? `h${i}` : "h0");
  const unrolled = [
    ...declarations,
    ...xs.map((_, i) => `input x${i + 1}: [D]`),
    ...(s.perStep ? ys.map((_, i) => `target y${i + 1}: [O]`) : ["target y: [O]"]),
    "const h0: [H] = 0",
    ...xs.map((_, i) => `h${i + 1} = ${step(`x${i + 1}`, hs(i), hs(i - 1))}`),
    s.perStep
      ? `loss L = ${xs.map((_, i) => `sum((Why*h${i + 1} - y${i + 1})^2)`).join(" + ")}`
      : `loss L = sum((Why*h${s.steps} - y)^2)`,
    "example {",
    ...xs.map((x, i) => `  x${i + 1} = ${x}`),
    ...(s.perStep ? ys.map((y, i) => `  y${i + 1} = ${y}`) : [`  y = ${ys[0]}`]),
    ...paramValues.map((p) => `  ${p}`),
    "}",
  ].join("\n");
  return { recurrent, unrolled };
}

async function gradientOf(source: string) {
  const compiled = await compileOk(source);
  const mod = await loadModule(compiled.module.javascript);
  const params: Record<string, Float64Array> = {};
  const inputs: Record<string, Float64Array> = {};
  for (const n of compiled.graph.named) {
    const v = compiled.graph.example.get(n.name);
    if (n.kind === "param") params[n.name] = Float64Array.from(v!.data);
    if (n.kind === "input" || n.kind === "target") inputs[n.name] = Float64Array.from(v!.data);
  }
  return mod.gradient(params, inputs);
}

describe("the backward recurrence", () => {
  it("gives the gradient of the same model unrolled by hand", async () => {
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const { recurrent, unrolled } = sources(s);
        const a = await gradientOf(recurrent);
        const b = await gradientOf(unrolled);
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-12 * Math.max(1, Math.abs(b.loss)));
        expect(maxRelativeError(a.gradients, b.gradients)).toBeLessThan(1e-12);
      }),
      { numRuns: 40 },
    );
  });
});

describe("a sequence length bound at run time", () => {
  it("is read from the data, call after call", async () => {
    const compiled = await compileOk(`
      dim D = 2, H = 3, T
      index t in 1..T
      input  x_t: [D]
      param  Wxh: [H, D]
      param  Whh: [H, H]
      h_0 = 0
      h_t = tanh(Wxh*x_t + Whh*h_<t-1>)
      loss L = mean_t(sum(h_t .* h_t))
    `);
    const mod = await loadModule(compiled.module.javascript);
    const r = mulberry32(5);
    const params = {
      Wxh: Float64Array.from({ length: 6 }, () => r() - 0.5),
      Whh: Float64Array.from({ length: 9 }, () => r() - 0.5),
    };
    for (const steps of [2, 5, 1]) {
      const inputs = {
        x: Float64Array.from({ length: steps * 2 }, () => 2 * r() - 1),
      };
      const { gradients } = mod.gradient(params, inputs);
      expect(maxRelativeError(gradients, finiteDifferences(mod, { params, inputs }))).toBeLessThan(1e-6);
      expect(mod.forward(params, inputs).values.h!.length).toBe(steps * 3);
    }
  });
});

describe("a step that copies a value (teacher forcing: c_t = x_t)", () => {
  for (const copy of ["x_t", "h_<t-1>", "w"])
    it(`c_t = ${copy}: the handout names the copy, and the gradient is the finite differences'`, async () => {
      const compiled = await compileOk(`
        index t in 1..3
        input x_t
        param w = 0.5
        c_t = ${copy}
        h_0 = 0.2
        h_t = tanh(w*c_t + h_<t-1>)
        loss L = h_3^2
        example { x = [1, -2, 0.5] }
      `);
      expect(compiled.latex).toMatch(/c_\{t\} &= |c_\{1\} &= /);
      const mod = await loadModule(compiled.module.javascript);
      const data = { params: { w: Float64Array.of(0.5) }, inputs: { x: Float64Array.of(1, -2, 0.5) } };
      const { gradients } = mod.gradient(data.params, data.inputs);
      expect(maxRelativeError(gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
    });
});
