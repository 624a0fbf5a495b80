import { describe, expect, it } from "vitest";
import { analyze, compile, type Analysis } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { checkLecture } from "../../src/lecture/check.js";
import { compileOk } from "../support/check.js";

/**
 * The inputs that once crashed, hung or exhausted memory, one class at a time: each now ends
 * with a clear result in a few seconds and bounded memory.
 */
const SECONDS = 5;

function timed<T>(run: () => T): T {
  const start = performance.now();
  const result = run();
  expect((performance.now() - start) / 1000).toBeLessThan(SECONDS);
  return result;
}

const codes = (r: Analysis) => [...new Set(r.diagnostics.map((d) => d.code))];

describe("nesting and length", () => {
  const cases: [string, string, string][] = [
    ["210 brackets", "param w\nloss L = " + "(".repeat(210) + "w" + ")".repeat(210), "NB1003"],
    ["155 nested calls", "param w\nloss L = " + "tanh(".repeat(155) + "w" + ")".repeat(155), "NB1003"],
    ["188 nested lists", "param w\nloss L = sum(" + "[".repeat(188) + "w" + "]".repeat(188) + ")", "NB1003"],
    ["1,054 signs", "param w\nloss L = " + "-".repeat(1054) + "w", "NB1003"],
    ["a sum of 1,992 terms", "param w\nloss L = " + Array(1992).fill("w").join(" + "), "NB1004"],
  ];
  for (const [name, source, code] of cases)
    it(`${name}: ${code} on line 2`, () => {
      const r = timed(() => analyze(source));
      expect(codes(r)).toEqual([code]);
      expect(r.diagnostics[0]!.span.line).toBe(2);
    });

  it("a long but allowed sum compiles, its module formatted or, past the formatter's depth, as generated", async () => {
    const source = `dim D = 2
param W: [D, D]
input x: [D]
param b: [D]
z = ${Array(500).fill("(W*x + b)").join(" + ")}
loss L = sum(z)
example { x = [1, 2]  W = [[1, 0], [0, 1]]  b = [0, 0] }`;
    const compiled = await compileOk(source);
    const mod = await loadModule(compiled.module.javascript);
    const params = { W: Float64Array.of(1, 0, 0, 1), b: Float64Array.of(0, 0) };
    const { loss, gradients } = mod.gradient(params, { x: Float64Array.of(1, 2) });
    expect(loss).toBe(1500);
    expect([...gradients.b!]).toEqual([500, 500]);
  });

  it("a name longer than 64 characters: NB1005", () => {
    const long = "w".repeat(5000);
    const r = timed(() => analyze(`param ${long}\nloss L = ${long}^2`));
    expect(codes(r)).toEqual(["NB1005"]);
    expect(r.rendered.length).toBeLessThan(2000);
  });
});

describe("steps far back", () => {
  for (const lag of ["100000000", "10000000", "4294967296"])
    it(`h_<t-${lag}> over 3 steps: NB2017, one short message`, () => {
      const r = timed(() => analyze(`index t in 1..3\nparam w\nh_0 = 0\nh_t = w*h_<t-${lag}>\nloss L = h_3`));
      expect(codes(r)).toEqual(["NB2017"]);
      expect(r.rendered.length).toBeLessThan(500);
    });

  it("an initial value defined by itself is a cycle, not a stack overflow", () => {
    const r = timed(() => analyze("index t in 1..3\nparam w\nh_0 = h_0\nh_t = w*h_<t-1>\nloss L = h_3"));
    expect(codes(r)).toEqual(["NB2006"]);
    expect(r.diagnostics[0]!.message).toContain("h_0 -> h_0");
  });
});

describe("diagnostics", () => {
  it("on one 42 KB line are rendered with a window of the line each, at most 50 of them", () => {
    const r = timed(() =>
      analyze(
        "param w\nloss L = " +
          Array(6)
            .fill("(" + Array(500).fill("q").join("+") + ")")
            .join("*"),
      ),
    );
    expect(r.diagnostics).toHaveLength(3000);
    expect(r.rendered.length).toBeLessThan(20_000);
    expect(r.rendered).toContain("… and 2950 more");
  });

  it("after 5,000 syntax errors stop at the first 40", () => {
    const r = timed(() => analyze("param w\nloss L = " + "(w w) + ".repeat(5000) + "w"));
    expect(r.diagnostics.length).toBeLessThanOrEqual(41);
    expect(r.diagnostics.at(-1)!.message).toMatch(/more syntax errors follow/);
  });

  it("count a lone CR as a line break and show that line", () => {
    const r = analyze("param w\rparam v\rloss L = q", { file: "cr.nabla" });
    expect(r.diagnostics[0]!.span).toMatchObject({ line: 3, column: 10 });
    expect(r.rendered).toContain("3 | loss L = q");
  });
});

describe("a recurrence over a million steps", () => {
  const source =
    "index t in 1..1000000\nparam a = 0.5\nh_0 = 1\nh_t = tanh(a*h_<t-1>) + 0.1\nloss L = h_1000000";

  it("compiles without working through its steps, and the handout says why", async () => {
    const start = performance.now();
    const r = await compile(source);
    expect((performance.now() - start) / 1000).toBeLessThan(4 * SECONDS);
    expect(r.module).toBeDefined();
    expect(r.latex).toContain("1,000,000 steps");
    expect(process.memoryUsage().heapUsed).toBeLessThan(1e9);
  });

  it("is not checked against a lecture block: its numbers would not be printed", () => {
    const r = analyze(`${source}\nlecture { L = 0.5 }`);
    expect(r.graph).toBeDefined();
    expect(timed(() => checkLecture(r.graph!, r.gradient!))).toBeUndefined();
  });
});

describe("LaTeX names", () => {
  const override = (latex: string) => analyze(`param w: [2] "${latex}"\nloss L = sum(w^2)`);
  it("that would make TeX read a file, run a command or fail are refused: NB2010", () => {
    for (const latex of [
      "^^5cinput^^7b^^2fetc^^2fhostname^^7d",
      "^^5cmessage{x}",
      "\\\\input{/etc/hostname}",
      "\\\\immediate\\\\write18{id}",
      "a^b^c",
      "^",
      "_",
      "x_",
      "a__b",
      "\\\\hat",
      "\\\\mathbf",
    ])
      expect(codes(override(latex)), latex).toEqual(["NB2010"]);
  });
});

describe("values that overflow the compiler", () => {
  it("an example value for step 10^27 of a 3-step sequence: NB2017, nothing built for it", () => {
    const r = timed(() =>
      analyze(
        "index t in 1..3\ninput x_t\nparam w = 1\nh_0 = 0\nh_t = w*x_t + h_<t-1>\nloss L = h_3\nexample { x_1 = 1  x_1000000000000000000000000000 = 2 }",
      ),
    );
    expect(codes(r)).toEqual(["NB2017"]);
  });
  it("a lecture number with 200 decimals: NB5004", () => {
    const r = timed(() => analyze("param w = 1\nloss L = w^2\nlecture { L = 1e-200 }"));
    expect(codes(r)).toEqual(["NB5004"]);
  });
  it("a dim of 1e308 is refused: NB2012", () => {
    const r = timed(() => analyze("dim H = 1e308\nparam W: [H] = 0\nloss L = sum(W)"));
    expect(codes(r)).toEqual(["NB2012"]);
  });
  it("a value filled with 2^24 entries is refused: NB5005", () => {
    const r = timed(() => analyze("dim H = 4096\nparam W: [H, H] = 0\nloss L = sum(W)"));
    expect(codes(r)).toEqual(["NB5005"]);
  });
});
