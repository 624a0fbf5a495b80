import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { compile } from "../../src/index.js";
import { expectGradientsAgree } from "../support/agree.js";

/**
 * concat and slice as a user writes them: the textbook's W [h_{t-1}; x_t] inside a
 * recurrence, heads side by side, a part of a vector. Checked against central differences
 * and TensorFlow.js (tf.concat, tf.slice and its autodiff).
 */
const uses = [
  "sum(C .* concat(A, B))",
  "sum(C2 .* concat(A, A, axis = 0))",
  "sum(slice(A, 1, 3) .* slice(B, 0, 2))",
  "sum(slice(concat(A, B), 2, 5, axis = 1) .^ 2)",
];

describe("concat and slice", () => {
  for (const use of uses)
    it(`${use}: code = finite differences = TensorFlow.js`, async () => {
      await expectGradientsAgree(`
        dim N = 2
        param A: [N, 3]
        param B: [N, 3]
        param C: [N, 6]
        param C2: [4, 3]
        loss L = ${use.replace(".^ 2", "^2")} + 0 * (sum(A) + sum(B) + sum(C) + sum(C2))
        example {
          A = [[0.5, -1, 2], [1.5, 0.3, -0.7]]
          B = [[0.2, 0.4, -0.6], [1, -2, 0.1]]
          C = [[1, 2, 3, 4, 5, 6], [-1, 0.5, 2, -3, 0.25, 1]]
          C2 = [[1, -1, 2], [0.5, 3, -2], [1, 1, 1], [-0.5, 2, 0.3]]
        }
      `);
    });

  it("an LSTM written with W [h_{t-1}; x_t]: code = finite differences = TensorFlow.js", async () => {
    const source = readFileSync(new URL("../../examples/lstm_concat.nabla", import.meta.url), "utf8");
    const compiled = await expectGradientsAgree(source);
    expect(compiled.latex).toContain("\\begin{bmatrix} h_{t-1} \\\\ x_{t} \\end{bmatrix}");
  });

  const errors = async (body: string) =>
    (await compile(`dim N\nparam A: [2, 3]\nparam B: [3, 3]\ninput X: [N, 3]\n${body}`, { file: "m.nabla" }))
      .rendered ?? "";

  it("locate what does not fit", async () => {
    expect(await errors("loss L = sum(concat(A, B))")).toMatch(
      /m\.nabla:5:14: error NB\d+: concat: concat along axis 1 needs the other axes equal, got \[2, 3\] and \[3, 3\]/,
    );
    expect(await errors("loss L = sum(concat(X, A, axis = 0))")).toMatch(
      /error NB\d+: concat: concat needs fixed sizes along the axis it joins/,
    );
    expect(await errors("loss L = sum(slice(A, 2, 4))")).toMatch(
      /m\.nabla:5:14: error NB\d+: slice: slice from 2 to 4 \(entries from..to−1, counted from 0\) does not fit axis 1 of \[2, 3\], of size 3/,
    );
  });
});
