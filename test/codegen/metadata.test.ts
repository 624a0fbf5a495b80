import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { compileOk, splitValues } from "../support/check.js";

const source = (name: string) =>
  readFileSync(new URL(`../../examples/${name}.nabla`, import.meta.url), "utf8");

/** A generated module's exports, by import of its JavaScript. */
async function exportsOf(javascript: string): Promise<Record<string, unknown>> {
  return (await import(
    `data:text/javascript;base64,${Buffer.from(javascript).toString("base64")}`
  )) as Record<string, unknown>;
}

describe("what a generated module tells an embedder", () => {
  it("example() gives the example's params and inputs, fresh arrays each call", async () => {
    const compiled = await compileOk(source("layer_norm"));
    const mod = await exportsOf(compiled.module.javascript);
    const example = mod.example as () => {
      params: Record<string, Float64Array>;
      inputs: Record<string, Float64Array>;
    };
    const expected = splitValues(compiled, compiled.graph.example);
    expect(example()).toEqual(expected);
    const first = example();
    first.params.W![0] = 99;
    expect(example().params.W![0]).toBe(expected.params.W![0]);
    const gradient = mod.gradient as (p: unknown, x: unknown) => { loss: number };
    expect(gradient(example().params, example().inputs).loss).toBe(
      gradient(expected.params, expected.inputs).loss,
    );
  });

  it("shapes holds sizes (null where the data sets them) and shapeNames the dims as written", async () => {
    const fixed = await exportsOf((await compileOk(source("layer_norm"))).module.javascript);
    expect((fixed.shapes as { params: unknown }).params).toEqual({ W: [3, 3], gamma: [3], beta: [3] });
    expect((fixed.shapeNames as { params: unknown }).params).toEqual({
      W: ["D", "D"],
      gamma: ["D"],
      beta: ["D"],
    });
    const batch = await exportsOf((await compileOk(source("bars_lenet"))).module.javascript);
    expect((batch.shapes as { inputs: Record<string, unknown> }).inputs.X).toEqual([null, 1, 6, 6]);
    expect((batch.shapeNames as { inputs: Record<string, unknown> }).inputs.X).toEqual(["N", "C", 6, 6]);
  });

  it("a model whose example leaves a value out exports no example()", async () => {
    const compiled = await compileOk(`
      dim N = 2
      input x: [N]
      param w: [N]
      loss L = sum(w .* x)
      example { w = [1, 2] }`);
    expect((await exportsOf(compiled.module.javascript)).example).toBeUndefined();
  });
});
