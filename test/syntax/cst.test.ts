import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { cstTypes } from "../../grammar/cstTypes.js";

// The CST → AST visitor reads children by the generated types: they must be the grammar's.
describe("the CST's types", () => {
  it("are the ones the grammar generates (npm run grammar:cst after changing the grammar)", async () => {
    const committed = readFileSync(new URL("../../grammar/cst.ts", import.meta.url), "utf8");
    expect(committed).toBe(await cstTypes());
  });
});
