import { describe, expect, it } from "vitest";
import {
  broadcastShapes,
  DimUnifier,
  sameShape,
  unifyDims,
  unifyShapes,
  withUnifier,
} from "../../src/ir/shapes.js";
import { analyze } from "../../src/index.js";

describe("solving for unknown sizes", () => {
  it("binds a variable where a rule requires equal dims, and only there", () => {
    const u = new DimUnifier();
    const [a, b] = [u.fresh(), u.fresh()];
    withUnifier(u, () => {
      expect(sameShape([a], ["H"])).toBe(false); // a question binds nothing
      expect(unifyDims(a, "H")).toBe(true);
      expect(sameShape([a], ["H"])).toBe(true);
      expect(unifyDims(a, 3)).toBe(false); // H is not 3
      expect(unifyShapes([b, a], [4, "H"])).toBe(true);
    });
    expect([u.resolve(a), u.resolve(b)]).toEqual(["H", 4]);
    // Outside solving, dims are compared as they are.
    expect(unifyDims("?0", "H")).toBe(false);
  });

  it("broadcasting binds a variable to a size other than 1 and leaves it against a 1", () => {
    const u = new DimUnifier();
    const [a, b] = [u.fresh(), u.fresh()];
    withUnifier(u, () => {
      expect(broadcastShapes([a, 3], ["N", 3])).toEqual(["N", 3]);
      expect(broadcastShapes([1, 3], [b, 3])).toEqual([b, 3]);
    });
    expect(u.resolve(a)).toBe("N");
    expect(u.resolve(b)).toBe(b);
  });

  it("a state of three axes that no declaration spells is solved from its step equation", () => {
    const r = analyze(`
      dim B = 2, P = 3, Q = 4, R = 5
      index t in 1..3
      input x_t: [B, P, R]
      param A: [Q, R]
      h_0 = 0
      h_t = tanh(x_t * A^T + h_<t-1>)
      loss L = sum(h_3)
    `);
    expect(r.rendered).toBe("");
    const h = r.graph!.named.find((n) => n.name === "h")!;
    // [B, P, Q] per step: a shape no declaration has, which a search over declared shapes missed.
    expect(h.declaredShape).toEqual([3, 2, 3, 4]);
  });
});
