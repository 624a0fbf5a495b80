import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compileOk } from "../support/check.js";
import { printIr } from "../../src/autodiff/print.js";

const examples = join(import.meta.dirname, "../../examples");

/** Golden files per stage, reviewed by eye when they change; CI fails on a missing or changed one. */
describe("golden outputs of every example", () => {
  for (const file of readdirSync(examples).filter((f) => f.endsWith(".nabla"))) {
    const name = file.replace(/\.nabla$/, "");
    it(name, async () => {
      const compiled = await compileOk(readFileSync(join(examples, file), "utf8"), file);
      const dir = join(import.meta.dirname, name);
      await expect(printIr(compiled.graph, compiled.gradient)).toMatchFileSnapshot(join(dir, "ir.txt"));
      await expect(compiled.module.typescript).toMatchFileSnapshot(join(dir, "module.ts"));
      await expect(compiled.latex).toMatchFileSnapshot(join(dir, "handout.tex"));
    });
  }
});
