import { describe, expect, it } from "vitest";
import { loadModule, type LoadedModule } from "../../src/run.js";
import { compileOk } from "../support/check.js";

/** The generated module under misuse: every wrong call throws an Error that names the argument. */
const dense = `dim N, D = 2
input X: [N, D]
target Y: [N]
param w: [D]
param b
loss L = sum((X*w + b - Y)^2)`;

const recurrent = `index t in 1..3
input x_t
param w = 0.5
param u = 0.3
h_0 = 0
h_t = tanh(w*x_t + u*h_<t-1>)
loss L = h_3^2`;

const load = async (source: string) => loadModule((await compileOk(source)).module.javascript);
const f = (...v: number[]) => Float64Array.from(v);
// The module's functions take typed records; misuse passes what the types would refuse.
const loose = (mod: LoadedModule) => mod as unknown as Record<string, (...args: unknown[]) => unknown>;

describe("the generated module checks its arguments", () => {
  const params = () => ({ w: f(0.5, -0.25), b: f(0.1) });
  const inputs = () => ({ X: f(1, 2, 3, 4, 5, 6), Y: f(1, 0, 1) });

  it("params and inputs: present, objects, Float64Arrays of the right length", async () => {
    const m = loose(await load(dense));
    expect(() => m.gradient!(null, inputs())).toThrow("nabla: params must be an object");
    expect(() => m.forward!(params(), undefined)).toThrow("nabla: inputs must be an object");
    expect(() => m.gradient!({ w: f(1, 2) }, inputs())).toThrow("nabla: params.b is missing");
    expect(() => m.gradient!(params(), { X: f(1, 2) })).toThrow("nabla: inputs.Y is missing");
    expect(() => m.gradient!({ w: [1, 2], b: f(0) }, inputs())).toThrow(
      "nabla: params.w must be a Float64Array",
    );
    expect(() => m.gradient!({ w: f(1, 2, 3), b: f(0) }, inputs())).toThrow(
      "nabla: params.w has 3 elements, expected 2",
    );
    expect(() => m.zeroGradients!(null)).toThrow("nabla: params must be an object");
  });

  it("out: every gradient array there, as long as its param", async () => {
    const m = loose(await load(dense));
    expect(() => m.gradient!(params(), inputs(), null)).toThrow("nabla: out must be an object");
    expect(() => m.gradient!(params(), inputs(), { w: f(0, 0) })).toThrow("nabla: out.b is missing");
    expect(() => m.gradient!(params(), inputs(), { w: f(0), b: f(0) })).toThrow(
      "nabla: out.w has 1 elements, expected 2",
    );
  });

  it("out: sharing no memory with the params, the inputs or another gradient", async () => {
    const m = loose(await load(recurrent));
    const p = { w: f(0.5), u: f(0.3) };
    const x = { x: f(1, -1, 0.5) };
    expect(() => m.gradient!(p, x, { w: p.w, u: f(0) })).toThrow("nabla: out.w shares memory with params.w");
    const shared = f(0);
    expect(() => m.gradient!(p, x, { w: shared, u: shared })).toThrow(
      "nabla: out.w shares memory with out.u",
    );
    const buffer = new Float64Array(3);
    expect(() => m.gradient!(p, x, { w: f(0), u: buffer.subarray(0, 1) }, undefined)).not.toThrow();
    expect(() => m.gradient!(p, { x: buffer }, { w: f(0), u: buffer.subarray(2, 3) })).toThrow(
      "nabla: out.u shares memory with inputs.x",
    );
    // Views of one buffer that do not overlap are separate arrays, and give the same gradient.
    const packed = new Float64Array(2);
    const fresh = (m.gradient!(p, x) as { gradients: Record<string, Float64Array> }).gradients;
    m.gradient!(p, x, { w: packed.subarray(0, 1), u: packed.subarray(1, 2) });
    expect([...packed]).toEqual([fresh.w![0], fresh.u![0]]);
  });

  it("out: checked again whenever an array differs from the last call's that passed", async () => {
    // The module remembers the arrays of the last call that passed, and skips the pairwise
    // comparisons for the same arrays: any other array (or object holding them) is checked.
    const m = loose(await load(recurrent));
    const p = { w: f(0.5), u: f(0.3) };
    const x = { x: f(1, -1, 0.5) };
    const out = { w: f(0), u: f(0) };
    expect(() => m.gradient!(p, x, out)).not.toThrow();
    expect(() => m.gradient!(p, x, out)).not.toThrow();
    expect(() => m.gradient!(p, x, { w: p.w, u: out.u })).toThrow("nabla: out.w shares memory with params.w");
    expect(() => m.gradient!(p, x, out)).not.toThrow();
    out.u = out.w;
    expect(() => m.gradient!(p, x, out)).toThrow("nabla: out.w shares memory with out.u");
    out.u = f(0);
    expect(() => m.gradient!(p, x, out)).not.toThrow();
    const buffer = f(1, -1, 0.5);
    out.w = buffer.subarray(2, 3);
    expect(() => m.gradient!(p, x, out)).not.toThrow();
    expect(() => m.gradient!(p, { x: buffer }, out)).toThrow("nabla: out.w shares memory with inputs.x");
    const q = { w: out.u, u: f(0.3) };
    expect(() => m.gradient!(q, x, out)).toThrow("nabla: out.u shares memory with params.w");
    // A failed check remembers nothing: the same bad call throws again.
    expect(() => m.gradient!(q, x, out)).toThrow("nabla: out.u shares memory with params.w");
  });

  it("sgdStep: gradients present and as long as their params, a finite learning rate", async () => {
    const m = loose(await load(dense));
    expect(() => m.sgdStep!(params())).toThrow("nabla: gradients must be an object");
    expect(() => m.sgdStep!(params(), { w: f(0, 0) })).toThrow("nabla: gradients.b is missing");
    expect(() => m.sgdStep!(params(), { w: f(0), b: f(0) })).toThrow(
      "nabla: gradients.w has the wrong length for params.w",
    );
    expect(() => m.sgdStep!(params(), { w: f(0, 0), b: f(0) }, Number.NaN)).toThrow(
      "nabla: lr must be a finite number",
    );
  });

  it("dims: own properties only, so dims named like Object.prototype members bind", async () => {
    const m = loose(
      await load(`dim constructor, toString, valueOf = 2
input X: [constructor, valueOf]
param w: [valueOf]
param v: [toString]
loss L = sum(X*w) + sum(v^2)`),
    );
    const p = { w: f(1, 2), v: f(3, 4) };
    const x = { X: f(1, 1, 2, 2, 3, 3) };
    for (const dims of [undefined, {}, { constructor: 3 }]) {
      const { loss } = m.gradient!(p, x, undefined, dims) as { loss: number };
      expect(loss).toBe(3 + 6 + 9 + 25);
    }
    expect(() => m.gradient!(p, x, undefined, { constructor: "3" })).toThrow(
      "nabla: dims.constructor must be a number",
    );
  });

  it("params named like Object.prototype members are read as the caller's own", async () => {
    const m = loose(await load("param constructor = 2\nparam toString = 3\nloss L = constructor * toString"));
    expect(() => m.gradient!({ toString: f(3) }, {})).toThrow("nabla: params.constructor is missing");
    const { loss } = m.gradient!({ constructor: f(2), toString: f(3) }, {}) as { loss: number };
    expect(loss).toBe(6);
  });
});
