import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { compileOk } from "../support/check.js";

const examples = join(import.meta.dirname, "../../examples");
const hasPdflatex = spawnSync("pdflatex", ["--version"]).status === 0;

// CI installs TeX Live (.ci/run); a developer machine without it skips, CI never does.
describe.skipIf(!hasPdflatex && !process.env.CI)("handouts compile with pdflatex", () => {
  for (const file of readdirSync(examples).filter((f) => f.endsWith(".nabla"))) {
    it(file, async () => {
      const compiled = await compileOk(readFileSync(join(examples, file), "utf8"), file);
      const dir = mkdtempSync(join(tmpdir(), "nabla-tex-"));
      writeFileSync(join(dir, "handout.tex"), compiled.latex);
      const run = spawnSync(
        "pdflatex",
        ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "handout.tex"],
        { cwd: dir, encoding: "utf8" },
      );
      const errors = run.stdout.split("\n").filter((l) => l.startsWith("!"));
      expect(errors).toEqual([]);
      expect(run.status).toBe(0);
      expect(existsSync(join(dir, "handout.pdf"))).toBe(true);
      const log = readFileSync(join(dir, "handout.log"), "utf8");
      expect(log).not.toMatch(/Undefined control sequence/);
      void execFileSync;
    });
  }
});
