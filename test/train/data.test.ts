import { describe, expect, it } from "vitest";
import { analyze } from "../../src/index.js";
import { batchedInputs, csvColumns, DataError, readData } from "../../src/train/data.js";

const IMAGES = `model Images
dim N, K = 2
input X: [N, 2, 3]
target y: [N] int
param W: [6, K]
P = softmax(flatten(X, from=1)*W)
loss L = cross_entropy(P, y) / N
example {
  X = [[[1, 2, 3], [4, 5, 6]]]
  y = [1]
  W = [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]
}
`;

const graph = () => {
  const a = analyze(IMAGES, { file: "images.nabla" });
  expect(a.rendered ?? "").toBe("");
  return a.graph!;
};

describe("training data", () => {
  it("finds the batch dim and names a CSV column per entry of a row, counted from 1", () => {
    const g = graph();
    const batched = batchedInputs(g);
    expect(batched).toEqual({ batchDim: "N", names: ["X", "y"] });
    expect(csvColumns(g, "X")).toEqual(["X_1_1", "X_1_2", "X_1_3", "X_2_1", "X_2_2", "X_2_3"]);
    expect(csvColumns(g, "y")).toEqual(["y"]);
  });

  it("reads CSV rows in row-major order, columns in any order, skipping comments and blank lines", () => {
    const g = graph();
    const csv = "# two images\ny,X_1_1,X_1_2,X_1_3,X_2_1,X_2_2,X_2_3\n1,1,2,3,4,5,6\n\n0,7,8,9,10,11,12\n";
    const set = readData(g, batchedInputs(g), "d.csv", csv);
    expect(set.rows).toBe(2);
    expect(set.tensors.get("X")).toEqual({
      shape: [2, 2, 3],
      data: Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    });
    expect([...set.tensors.get("y")!.data]).toEqual([1, 0]);
    expect(() => readData(g, batchedInputs(g), "d.csv", csv.replace("\n0,7", "\n-1,7"))).toThrow(
      /^d\.csv:5: column 'y' is '-1', expected a whole number from 0 \(int data\)$/,
    );
  });

  it("reads JSON rows and names what does not fit", () => {
    const g = graph();
    const b = batchedInputs(g);
    const set = readData(
      g,
      b,
      "d.json",
      JSON.stringify({
        X: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
        y: [1],
      }),
    );
    expect(set.rows).toBe(1);
    expect(set.tensors.get("X")!.shape).toEqual([1, 2, 3]);
    const bad = (value: unknown) => () => readData(g, b, "d.json", JSON.stringify(value));
    expect(
      bad({
        X: [
          [
            [1, 2],
            [4, 5],
          ],
        ],
        y: [1],
      }),
    ).toThrow(/d\.json: 'X' has shape \[1, 2, 2\], but a row of it is \[2, 3\]/);
    expect(
      bad({
        X: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
        y: [1],
        Y: [2],
      }),
    ).toThrow(/'Y' is not an input or target of Images; did you mean 'y'\?/);
    expect(
      bad({
        X: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
      }),
    ).toThrow(/no rows for 'y'/);
    expect(
      bad({
        X: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
        y: [0.5],
      }),
    ).toThrow(/'y' is int data/);
    expect(bad([1, 2])).toThrow(DataError);
  });

  it("refuses a model without a batch dim", () => {
    const a = analyze("model M\ninput x\ntarget y\nparam w\nloss L = (w*x - y)^2\n", { file: "m.nabla" });
    expect(() => batchedInputs(a.graph!)).toThrow(/M has no batch dim/);
  });
});
