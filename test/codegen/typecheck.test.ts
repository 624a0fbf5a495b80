import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { compileOk } from "../support/check.js";

const root = join(import.meta.dirname, "../..");
const examples = join(root, "examples");

describe("generated modules", () => {
  it("type-check under tsc --strict, together with code that uses their types", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-tsc-"));
    const files: string[] = [];
    for (const file of readdirSync(examples).filter((f) => f.endsWith(".nabla"))) {
      const stem = file.replace(/\.nabla$/, "");
      const compiled = await compileOk(readFileSync(join(examples, file), "utf8"), file);
      writeFileSync(join(dir, `${stem}.ts`), compiled.module.typescript);
      const params = compiled.graph.named.filter((n) => n.kind === "param").map((n) => n.name);
      // A consumer: the interfaces must describe what the functions take and return.
      writeFileSync(
        join(dir, `use_${stem}.ts`),
        `import { gradient, sgdStep, zeroGradients, shapes, type Params, type Inputs } from "./${stem}.js";
export function train(params: Params, inputs: Inputs): number {
  const out = zeroGradients(params);
  const { loss, gradients } = gradient(params, inputs, out);
  sgdStep(params, gradients, 0.01);
  const names: string[] = Object.keys(shapes.params);
  return loss + names.length + ${params.length === 0 ? "0" : `gradients[${JSON.stringify(params[0])}].length`};
}
`,
      );
      files.push(`${stem}.ts`, `use_${stem}.ts`);
    }
    const tsc = join(root, "node_modules/.bin/tsc");
    const args = [
      "--strict",
      "--noEmit",
      "--target",
      "es2022",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--noUnusedLocals",
      "--noUnusedParameters",
      "--types",
      "",
      ...files,
    ];
    let output = "";
    try {
      execFileSync(tsc, args, { cwd: dir, encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe("");
  });
});
