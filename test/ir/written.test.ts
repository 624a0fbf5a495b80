import { describe, expect, it } from "vitest";
import { analyze } from "../../src/index.js";

describe("an equation's text as written (the generated code's comments, the language server's hover)", () => {
  it("keeps brackets at either end of the right-hand side", () => {
    const { graph, rendered } = analyze(
      "input x\ntarget y\nparam w\nz = (w*x - y)\nd = (1 - z) .* (z + 1)\nloss L = (z - y)^2 / (2*d)\n",
    );
    expect(rendered).toBe("");
    const written = new Map(graph!.named.map((n) => [n.name, n.written]));
    expect(written.get("z")).toBe("z = (w*x - y)");
    expect(written.get("d")).toBe("d = (1 - z) .* (z + 1)");
    expect(written.get("L")).toBe("loss L = (z - y)^2 / (2*d)");
  });
});
