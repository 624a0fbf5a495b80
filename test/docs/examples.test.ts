import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { analyze } from "../../src/index.js";
import { checkLecture } from "../../src/lecture/check.js";
import { describeLecture } from "../../src/lecture/describe.js";

const root = join(import.meta.dirname, "../..");
const examples = join(root, "examples");

/** The first fenced block after a heading of the page. */
function blockAfter(page: string, heading: string): string | undefined {
  const at = page.indexOf(`\n${heading}\n`);
  if (at < 0) return undefined;
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(page.slice(at));
  return m?.[1];
}

/** Whether `quoted` is `source` with some runs of lines replaced by a line "...". */
function quotes(quoted: string, source: string): boolean {
  const escape = (l: string) => l.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = quoted
    .trim()
    .split("\n")
    .map((l) => (l.trim() === "..." ? "(?:[^\\n]*\\n)*?" : `${escape(l)}\\n`))
    .join("");
  return new RegExp(`^${pattern}$`).test(`${source.trim()}\n`);
}

// The example pages quote the model files and what nabla check says of their lectures; a
// changed model or a changed verdict must change the page too, so that page and handout agree.
describe("the example pages agree with the examples", () => {
  for (const file of readdirSync(examples).filter((f) => f.endsWith(".nabla"))) {
    const name = file.replace(/\.nabla$/, "");
    it(name, () => {
      const pagePath = join(root, "docs/examples", `${name}.md`);
      expect(existsSync(pagePath)).toBe(true);
      const page = readFileSync(pagePath, "utf8");
      const source = readFileSync(join(examples, file), "utf8");
      // A page may elide lines of a large model with "...", but every other line is the file's.
      const quoted = blockAfter(page, "## The model file") ?? "";
      expect(quotes(quoted, source), `docs/examples/${name}.md quotes an outdated ${file}`).toBe(true);
      const a = analyze(source, { file: `examples/${file}` });
      const report = checkLecture(a.graph!, a.gradient!);
      if (report)
        expect(blockAfter(page, "## What `nabla check` says")?.trim()).toBe(
          describeLecture(`examples/${file}`, report),
        );
    });
  }
});
