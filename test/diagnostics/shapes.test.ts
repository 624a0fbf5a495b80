import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SHAPE_PROBLEMS, problem, shapeDiagnostic } from "../../src/diagnostics/shapes.js";

const root = join(import.meta.dirname, "../..");
const sources = ["src/ops", "src/ir"].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(join(root, dir, f), "utf8")),
);
const documented = readFileSync(join(root, "docs/diagnostics.md"), "utf8");

describe("the shape rules' catalogue", () => {
  it("every entry is a way some rule fails, and its code is documented", () => {
    for (const [name, entry] of Object.entries(SHAPE_PROBLEMS)) {
      expect(
        sources.some((s) => s.includes(`"${name}"`)),
        `${name} is used by no rule`,
      ).toBe(true);
      expect(documented).toContain(`| ${entry.code} |`);
    }
  });

  it("the site supplies what the rule does not know: the function's name, the operator, the operands", () => {
    const at = { start: 0, end: 1, line: 2, column: 3 };
    const axis = problem("notAnAxis", { axis: 3, shape: [2, 4] });
    expect(shapeDiagnostic(axis, { op: "sum", operator: "sum", operands: [[2, 4]] }, at)).toEqual({
      code: "NB3004",
      span: at,
      message: "sum: axis 3 is not an axis of [2, 4]",
    });
    const inner = shapeDiagnostic(
      problem("innerDims"),
      {
        op: "matmul",
        operator: "*",
        operands: [
          [2, 3],
          [4, 5],
        ],
      },
      at,
    );
    expect(inner.message).toBe("matrix product of [2, 3] and [4, 5]: inner dimensions differ");
    expect(inner.code).toBe("NB3002");
    const fit = problem("windowFit", { what: "kernel", axis: "W", kernel: 5, size: 4, padding: 0 }, [
      "W′ = … < 1",
    ]);
    expect(shapeDiagnostic(fit, { op: "conv2d", operator: "conv2d", operands: [] }, at)).toMatchObject({
      code: "NB3008",
      message: "conv2d: the kernel of width 5 does not fit in the image's width 4",
      notes: ["W′ = … < 1"],
    });
  });
});
