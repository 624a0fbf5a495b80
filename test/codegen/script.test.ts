import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { analyze } from "../../src/index.js";
import { renderModule } from "../../src/codegen/module.js";
import { loadModule } from "../../src/run.js";

const examples = join(import.meta.dirname, "../../examples");

describe("the module's script form (what the playground runs with new Function)", () => {
  it("returns exactly what the ES module exports, computing the same numbers", async () => {
    for (const file of readdirSync(examples).filter((f) => f.endsWith(".nabla"))) {
      const { graph, gradient } = analyze(readFileSync(join(examples, file), "utf8"));
      const script = new Function(renderModule(graph!, gradient!, "script"))() as Awaited<
        ReturnType<typeof loadModule>
      >;
      const module = await loadModule(renderModule(graph!, gradient!, "javascript"));
      expect(Object.keys(script).sort(), file).toEqual(Object.keys(module).sort());
      const { params, inputs } = module.example();
      const expected = module.gradient(params, inputs);
      const actual = script.gradient(params, inputs);
      expect(actual.loss, file).toBe(expected.loss);
      for (const [name, g] of Object.entries(expected.gradients))
        expect(Array.from(actual.gradients[name]!), `${file} ${name}`).toEqual(Array.from(g));
    }
  });
});
