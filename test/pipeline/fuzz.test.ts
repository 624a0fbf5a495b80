import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyze, compile, type Analysis } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { mulberry32 } from "../../bench/workload.js";

/**
 * A seeded mutator over every example and every bad model: slices cut, repeated and moved,
 * tokens put in (one or hundreds at a time), line endings changed, two files spliced. Each
 * input must come back as a model or as diagnostics located in the source — never an
 * exception — within a bounded time and heap; the models among them compile in full.
 */
const root = join(import.meta.dirname, "../..");
const read = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".nabla"))
    .map((f) => readFileSync(join(root, dir, f), "utf8"));
const seeds = [...read("examples"), ...read("test/bad")];

const TOKENS = [
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "-",
  "+",
  "*",
  ".*",
  "^",
  "^T",
  "_",
  "_<t-1>",
  "_<t-100000000>",
  "_<t-4294967296>",
  "t-1",
  "1..",
  "..",
  ",",
  "=",
  ":",
  "\n",
  "\r",
  "\r\n",
  "\t",
  " ",
  "0",
  "1e309",
  "-0",
  "1e-320",
  "9".repeat(40),
  "tanh(",
  "sum(",
  "softmax(",
  "log(",
  "exp(",
  "conv2d(",
  "maxpool(",
  "w",
  "x",
  "h",
  "constructor",
  "__proto__",
  "toString",
  "loss",
  "param",
  "input",
  "target",
  "dim",
  "index",
  "model",
  "example",
  "train",
  "lecture",
  "after",
  '"',
  '"^^5cinput^^7b/etc/hostname^^7d"',
  '"\\input{/etc/hostname}"',
  '"a^b^c"',
  '"\\hat"',
  '"x_"',
  '"{"',
  '"</script><script>alert(1)</script>"',
  "#",
  "é",
  "\u0000",
  "\u2028",
];

type Mutation = (text: string, random: () => number, other: string) => string;
const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const at = (random: () => number, text: string) => Math.floor(random() * (text.length + 1));

const MUTATIONS: readonly Mutation[] = [
  // Cut a slice.
  (t, r) => {
    const i = at(r, t);
    return t.slice(0, i) + t.slice(i + 1 + Math.floor(r() * 40));
  },
  // Put a token in.
  (t, r) => {
    const i = at(r, t);
    return t.slice(0, i) + pick(r, TOKENS) + t.slice(i);
  },
  // Put a token in many times: nesting, long sums, long lines.
  (t, r) => {
    const i = at(r, t);
    const n = 1 + Math.floor(r() * 400);
    return t.slice(0, i) + pick(r, TOKENS).repeat(n) + t.slice(i);
  },
  // Repeat a slice.
  (t, r) => {
    const i = at(r, t);
    const piece = t.slice(i, i + 1 + Math.floor(r() * 60));
    return t.slice(0, i) + piece.repeat(2 + Math.floor(r() * 30)) + t.slice(i);
  },
  // Move a line.
  (t, r) => {
    const lines = t.split("\n");
    const [line] = lines.splice(Math.floor(r() * lines.length), 1);
    lines.splice(Math.floor(r() * (lines.length + 1)), 0, line!);
    return lines.join("\n");
  },
  // Change the line endings.
  (t, r) => t.replace(/\n/g, pick(r, ["\r", "\r\n", "\n\n", " "])),
  // Change a number.
  (t, r) =>
    t.replace(/\d+(\.\d+)?/, () =>
      pick(r, ["0", "-1", "1e308", "100000000", "0.000001", "3.5", "4294967296"]),
    ),
  // Splice two files.
  (t, r, other) => t.slice(0, at(r, t)) + other.slice(at(r, other)),
];

function mutate(random: () => number): string {
  let text = pick(random, seeds);
  const rounds = 1 + Math.floor(random() * 3);
  for (let k = 0; k < rounds; k++) text = pick(random, MUTATIONS)(text, random, pick(random, seeds));
  return text;
}

/** Writes a failing input where it can be read and run again. */
function keep(text: string): string {
  const file = join(tmpdir(), `nabla-fuzz-${SEED}.nabla`);
  writeFileSync(file, text);
  return file;
}

/** Every diagnostic names a place inside the source it came from. */
function expectLocated(result: Analysis, text: string): void {
  const lines = text.replace(/\r\n?/g, "\n").split("\n").length;
  expect(result.graph !== undefined || result.diagnostics.length > 0).toBe(true);
  for (const d of result.diagnostics) {
    expect(d.code).toMatch(/^NB\d{4}$/);
    expect(d.message).not.toMatch(/internal error/i);
    expect(d.span.line).toBeGreaterThanOrEqual(1);
    expect(d.span.line).toBeLessThanOrEqual(lines);
    expect(d.span.column).toBeGreaterThanOrEqual(1);
    expect(d.span.start).toBeLessThanOrEqual(text.length + 1);
  }
  // At most 50 diagnostics are rendered, each with a bounded excerpt.
  expect(result.rendered.length).toBeLessThan(100_000);
}

// NABLA_FUZZ_INPUTS, NABLA_FUZZ_SEED and NABLA_FUZZ_COMPILES run a longer search (npm run fuzz).
const INPUTS = Number(process.env.NABLA_FUZZ_INPUTS ?? 2500);
const SEED = Number(process.env.NABLA_FUZZ_SEED ?? 20261130);
const COMPILES = Number(process.env.NABLA_FUZZ_COMPILES ?? 40);
/** Generous bounds: they catch a hang or a blow-up, not a slow machine. */
const SECONDS_PER_INPUT = 5;
const HEAP_BYTES = 1.5e9;

describe(`${INPUTS} fuzzed sources`, () => {
  it("come back as a model or located diagnostics, in bounded time and memory; the models compile", async () => {
    const random = mulberry32(SEED);
    const models: string[] = [];
    let diagnosed = 0;
    for (let k = 0; k < INPUTS; k++) {
      const text = mutate(random);
      const start = performance.now();
      let result: Analysis;
      try {
        result = analyze(text, { file: "fuzz.nabla" });
      } catch (error) {
        throw new Error(`analyze threw on input ${k}: ${String(error)}; the input is in ${keep(text)}`);
      }
      const seconds = (performance.now() - start) / 1000;
      if (seconds > SECONDS_PER_INPUT)
        throw new Error(`input ${k} took ${seconds.toFixed(1)} s: ${keep(text)}`);
      expectLocated(result, text);
      expect(process.memoryUsage().heapUsed).toBeLessThan(HEAP_BYTES);
      if (result.graph) models.push(text);
      else diagnosed++;
    }
    expect(diagnosed).toBeGreaterThan(INPUTS / 2);
    // The models among them, in full: module, lecture check and handout.
    const distinct = [...new Set(models)].slice(0, COMPILES);
    for (const text of distinct) {
      const start = performance.now();
      const result = await compile(text, { file: "fuzz.nabla" }).catch((error: unknown) => {
        throw new Error(`compile threw: ${String(error)}; the input is in ${keep(text)}`);
      });
      expect((performance.now() - start) / 1000).toBeLessThan(4 * SECONDS_PER_INPUT);
      expect(result.module).toBeDefined();
      expect(result.latex).not.toContain("^^");
      const mod = await loadModule(result.module!.javascript);
      expect(typeof mod.gradient).toBe("function");
    }
    expect(distinct.length).toBeGreaterThan(Math.min(10, COMPILES - 1));
  });
});
