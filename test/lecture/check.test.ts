import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { analyze } from "../../src/index.js";
import { checkLecture, type ItemCheck, type LectureReport } from "../../src/lecture/check.js";

const examples = join(import.meta.dirname, "../../examples");

function check(source: string): LectureReport {
  const a = analyze(source);
  if (!a.graph || !a.gradient) throw new Error(a.rendered);
  return checkLecture(a.graph, a.gradient)!;
}
const example = (name: string) => check(readFileSync(join(examples, `${name}.nabla`), "utf8"));
const wrong = (r: LectureReport) =>
  r.items.filter((c) => c.verdict === "differs" || c.verdict === "formula-differs").map((c) => label(c));
const label = (c: ItemCheck) => `${c.item.label}${c.item.after > 0 ? `@${c.item.after}` : ""}`;
const find = (r: LectureReport, l: string) => r.items.find((c) => label(c) === l && c.verdict !== "defined")!;

// The expectations below come from an independent recomputation of every printed number
// (plain Python, double precision), not from nabla's output.
describe("the seed lectures' printed numbers", () => {
  it("the 2-2-2 network: eight values truncated instead of rounded, nothing else wrong", () => {
    const r = example("sigmoid_2_2_2");
    expect(wrong(r).sort()).toEqual(
      ["L_o1", "L_o2", "dsig_o1", "in_o1", "out_h1", "out_h2", "w5@1", "w6@1"].sort(),
    );
    for (const l of wrong(r)) expect(find(r, l).causes).toEqual([{ kind: "truncated" }]);
  });

  it("the next-word RNN: dL/dWhz uses h_1 for h_3, its update follows from it, and gradient does flow back", () => {
    const r = example("next_word_rnn");
    expect(find(r, "dL/dWhz").causes).toEqual([{ kind: "operand", wrote: "h_1", meant: "h_3" }]);
    expect(find(r, "Whz@1").causes).toEqual([{ kind: "follows", from: "dL/dWhz" }]);
    // Its dL/dh_3 = 0 sums yhat - y (entries adding to 0) without the factor W_hz; the zeros after it follow.
    expect(find(r, "dL/dh_3").causes).toEqual([{ kind: "operand", wrote: "1", meant: "Whz" }]);
    for (const l of ["dL/dh_2", "dL/dWhh", "dL/dWxh"])
      expect(find(r, l).causes).toEqual([{ kind: "follows", from: "dL/dh_3" }]);
    expect(find(r, "dL/dWhh").correct.data[0]).toBeCloseTo(0.029723, 5);
    expect(find(r, "L").verdict).toBe("differs");
    for (const l of ["a_1", "h_1", "a_2", "h_2", "a_3", "h_3", "z", "yhat", "dL/dz"])
      expect(find(r, l).verdict).toBe("agrees");
  });

  it("the linear chain: the slide's formula for dE/dw^{L-1} has x^L where x^{L-2} belongs; all 32 table entries are right", () => {
    const r = example("linear_chain");
    expect(wrong(r)).toEqual(["dE/dw1"]);
    expect(find(r, "dE/dw1").causes).toEqual([{ kind: "operand", wrote: "x2", meant: "x0" }]);
    expect(r.items.filter((c) => c.item.after > 0 && c.verdict === "agrees")).toHaveLength(32);
  });

  it("the single neuron: every number right, the double-precision 1.09 included", () => {
    const r = example("linear_neuron");
    expect(r.wrong).toBe(0);
    expect(find(r, "xL@1").correct.data[0]).toBeCloseTo(1.095, 12);
  });

  it("the matrix sheet: its updates divide by N K = 9, not N = 3, from its own rounded deltas", () => {
    const r = example("matrix_two_layer");
    expect(find(r, "W2_update").causes).toEqual([{ kind: "operand", wrote: "N*K", meant: "N" }]);
    expect(find(r, "W1_update").causes[0]).toMatchObject({ kind: "operand", wrote: "N*K", meant: "N" });
    expect(find(r, "O_in").causes).toEqual([{ kind: "rounded", from: ["H_out"], truncated: false }]);
    expect(find(r, "dE/dW2").verdict).toBe("formula-agrees");
  });

  it("the CNN: sigmoid and BCE named, softmax and CE computed; dL/dh' is dL/dh; two entries of dL/dk wrong", () => {
    const r = example("cnn_lecture");
    expect(find(r, "yhat").causes).toEqual([{ kind: "operand", wrote: "sigmoid", meant: "softmax" }]);
    expect(find(r, "L").causes).toEqual([{ kind: "operand", wrote: "bce", meant: "cross_entropy" }]);
    expect(find(r, "dL/dhr").causes).toEqual([{ kind: "other", label: "d/dh" }]);
    const k = find(r, "dL/dk");
    expect(k.entries.filter((e) => !e.ok).map((e) => e.index)).toEqual([4, 6]);
    expect(find(r, "dL/dW[1]").causes).toEqual([{ kind: "missing", printed: 3, total: 4, left: [4] }]);
    // Its second row leaves out the third entry and flips the sign of the fourth.
    expect(find(r, "dL/dW[2]").causes).toEqual([
      { kind: "missing", printed: 3, total: 4, left: [3] },
      { kind: "entries", at: [4], cause: "sign" },
    ]);
  });

  it("the temperature RNN: every number right, its zeros only approximately zero", () => {
    const r = example("temperature_rnn");
    expect(r.wrong).toBe(0);
    expect(
      r.items
        .filter((c) => c.verdict === "negligible")
        .map(label)
        .sort(),
    ).toEqual(["dL/da_1", "dL/da_2", "dL/da_3", "dL/dWhh", "dL/dWxh"].sort());
    expect(find(r, "dL/dWxh").correct.data[0]).toBeCloseTo(4.65703e-7, 11);
  });
});

describe("slips the checker recognises", () => {
  const model = (lecture: string) => `input x
target y
param w = 0.8
param b = 1
z = w*x + b
loss E = (z - y)^2
example { x = 1.5  y = 0.5 }
train sgd(lr = 0.1, steps = 1)
lecture { ${lecture} }`;
  // z = 2.2, dE/dw = 2 (z - y) x = 5.1, dE/db = 3.4, w after one step = 0.29.

  it("a sign, a factor, a truncation, a rounding within the printed digits", () => {
    const r = check(model("dE/dw = -5.1  dE/db = 6.8  z = 2.19  after 1 { w = 0.29 }"));
    expect(find(r, "dE/dw").causes).toEqual([{ kind: "sign" }]);
    expect(find(r, "dE/db").causes).toEqual([{ kind: "factor", factor: 2 }]);
    expect(find(r, "z").verdict).toBe("differs");
    expect(find(r, "w@1").verdict).toBe("agrees");
  });

  it("a formula with the wrong operand, and one that is right", () => {
    const r = check(model("dE/dw = 2*(z - y)*w  dE/db = 2*(z - y)"));
    expect(find(r, "dE/dw").causes).toEqual([{ kind: "operand", wrote: "w", meant: "x" }]);
    expect(find(r, "dE/db").verdict).toBe("formula-agrees");
  });

  it("an update made with the lecture's own wrong gradient", () => {
    const r = check(model("dE/dw = 5.5  after 1 { w = 0.25 }"));
    expect(find(r, "w@1").causes).toEqual([{ kind: "follows", from: "dE/dw" }]);
  });

  it("a bad lecture block is reported where it is written", () => {
    const a = analyze(model("dL/dw = 1  q = 3  dE/dv = 2"), { file: "m.nabla" });
    expect(a.graph).toBeUndefined();
    expect(a.diagnostics.map((d) => [d.code, d.span.line])).toEqual([
      ["NB5004", 9],
      ["NB2001", 9],
      ["NB2001", 9],
    ]);
  });
});
