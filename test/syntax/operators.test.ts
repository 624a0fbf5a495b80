import { describe, expect, it } from "vitest";
import { parseProgram } from "../../src/syntax/parse.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";

/** The AST of one equation's right-hand side, without positions. */
function rhs(expression: string): unknown {
  const diagnostics: Diagnostic[] = [];
  const program = parseProgram(`y = ${expression}\n`, diagnostics);
  expect(diagnostics).toEqual([]);
  const equation = program.statements.find((s) => s.kind === "equation");
  return JSON.parse(
    JSON.stringify(equation && "value" in equation ? equation.value : undefined, (k, v) =>
      k === "span" || k === "text" ? undefined : v,
    ),
  );
}

describe("operator spellings", () => {
  it("MATLAB's ./ and .^ mean / and ^, as textbooks copying MATLAB write them", () => {
    expect(rhs("a ./ b")).toEqual(rhs("a / b"));
    expect(rhs("W.^2")).toEqual(rhs("W^2"));
    expect(rhs("-a.^2 ./ (2*s)")).toEqual(rhs("-a^2 / (2*s)"));
    expect(rhs("a ⊙ b")).toEqual(rhs("a .* b"));
  });

  it(".^T raises to a dim named T; only ^T transposes", () => {
    expect(rhs("A.^T")).toEqual(rhs("A^(T)"));
    expect(rhs("A.^T")).not.toEqual(rhs("A^T"));
  });
});
