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

const fuzzed = ["linear_chain", "next_word_rnn", "lstm", "cnn_lecture"].map((name) =>
  readFileSync(join(import.meta.dirname, `../../examples/${name}.nabla`), "utf8"),
);

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
  it("on examples with a slice deleted or a token inserted: an error with a place, or a model", () => {
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
      "x",
      "t-1",
      "_T",
      "1..",
      ",",
      "\n",
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...fuzzed),
        fc.nat(2000),
        fc.nat(20),
        fc.constantFrom(...tokens),
        (example, at, cut, insert) => {
          const where = at % (example.length + 1);
          const text = example.slice(0, where) + insert + example.slice(where + cut);
          const r = analyze(text);
          expect(r.graph !== undefined || r.diagnostics.length > 0).toBe(true);
          for (const d of r.diagnostics) {
            expect(d.span.line).toBeGreaterThanOrEqual(1);
            expect(d.span.column).toBeGreaterThanOrEqual(1);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
