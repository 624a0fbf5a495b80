import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { analyze } from "../../src/index.js";

const dir = join(import.meta.dirname, "../bad");
const cases = readdirSync(dir).filter((f) => f.endsWith(".nabla"));

describe("bad models get located, coded diagnostics", () => {
  for (const file of cases) {
    it(file, async () => {
      const result = analyze(readFileSync(join(dir, file), "utf8"), {
        file: `bad/${file}`,
      });
      expect(result.diagnostics.length).toBeGreaterThan(0);
      expect(result.graph).toBeUndefined();
      for (const d of result.diagnostics) expect(d.code).toMatch(/^NB\d{4}$/);
      await expect(`${result.rendered}\n`).toMatchFileSnapshot(
        join(dir, file.replace(/\.nabla$/, ".expected")),
      );
    });
  }
});

const example = readFileSync(join(import.meta.dirname, "../../examples/linear_chain.nabla"), "utf8");

describe("the front end never throws", () => {
  it("on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const r = analyze(text);
        expect(r.graph !== undefined || r.diagnostics.length > 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
  it("on an example with a slice deleted or a token inserted", () => {
    const tokens = [
      "*",
      "+",
      "(",
      ")",
      "[",
      "]",
      "=",
      "_<",
      ">",
      "^T",
      "loss",
      "param",
      "x0",
      "1..",
      ",",
      "\n",
    ];
    fc.assert(
      fc.property(fc.nat(example.length), fc.nat(20), fc.constantFrom(...tokens), (at, cut, insert) => {
        const text = example.slice(0, at) + insert + example.slice(at + cut);
        const r = analyze(text);
        for (const d of r.diagnostics) {
          expect(d.span.line).toBeGreaterThanOrEqual(1);
          expect(d.span.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
