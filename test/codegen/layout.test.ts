import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { layOut } from "../../src/codegen/layout.js";
import { renderModule } from "../../src/codegen/module.js";
import { analyze } from "../../src/analyze.js";

const examples = join(import.meta.dirname, "../../examples");
const WIDTH = 100;

/** The program's syntax tree by prettier's own parser, without positions or comments' placement. */
async function tree(code: string): Promise<unknown> {
  const { ast } = await (
    prettier as unknown as { __debug: { parse: (t: string, o: object) => Promise<{ ast: unknown }> } }
  ).__debug.parse(code, { parser: "babel-ts" });
  return JSON.parse(
    JSON.stringify(ast, (key, value: unknown) =>
      [
        "start",
        "end",
        "loc",
        "range",
        "extra",
        "__contentEnd",
        "leadingComments",
        "trailingComments",
        "innerComments",
      ].includes(key)
        ? undefined
        : key === "comments"
          ? (value as { value: string }[]).map((c) => c.value.replace(/\s+/g, " "))
          : value,
    ),
  );
}

/** The code without whitespace, brackets and a comma before a closing bracket: what the layout may change. */
const squeezed = (code: string) =>
  code
    .replace(/\s+/g, "")
    .replace(/,([}\])])/g, "$1")
    .replace(/[()]/g, "");

describe("the generated module's layout", () => {
  const modules = readdirSync(examples)
    .filter((f) => f.endsWith(".nabla"))
    .map((file) => ({ file, source: readFileSync(join(examples, file), "utf8") }));

  it("changes only whitespace and brackets: every example's module parses to the same tree, in both forms", async () => {
    for (const { file, source } of modules) {
      const { graph, gradient } = await analyze(source);
      for (const form of ["typescript", "javascript"] as const) {
        const raw = renderModule(graph!, gradient!, form);
        const laid = layOut(raw);
        // Compared as booleans: the modules are too long to print when they differ.
        expect(squeezed(laid) === squeezed(raw), `${file} ${form}: more than whitespace changed`).toBe(true);
        const same = JSON.stringify(await tree(laid)) === JSON.stringify(await tree(raw));
        expect(same, `${file} ${form}: the syntax tree changed`).toBe(true);
      }
    }
  });

  it("indents blocks, keeps lines within 100 columns but for long strings and comments, and is stable", async () => {
    for (const { file, source } of modules) {
      const { graph, gradient } = await analyze(source);
      const laid = layOut(renderModule(graph!, gradient!, "typescript"));
      const long = laid
        .split("\n")
        .filter((l) => l.length > WIDTH && !/^\s*(\/\/|\/\*\*)|"[^"]{40,}"/.test(l));
      if (long.length > 0) expect.fail(`${file}: lines past ${WIDTH} columns:\n${long.join("\n")}`);
      expect(layOut(laid), file).toBe(laid);
      // Every line inside n braces is indented by at least 2n spaces.
      let depth = 0;
      for (const line of laid.split("\n")) {
        const code = line.replace(/"(\\.|[^"\\])*"/g, '""').replace(/\/\/.*$/, "");
        if (code.trim() === "") continue;
        const closes = code.trimStart().startsWith("}") ? 1 : 0;
        const indent = line.length - line.trimStart().length;
        if (indent < 2 * (depth - closes)) expect.fail(`${file}: under-indented: ${line}`);
        depth += (code.match(/{/g) ?? []).length - (code.match(/}/g) ?? []).length;
      }
      expect(depth, file).toBe(0);
    }
  });

  it("lays out statements, blocks, objects, arrays and calls as a reader expects", () => {
    const code = `function f(a: number): number[] { if (a > 0) { return [1,2]; } else { return []; } }
const o = {"a":[1,2],"b":{"c":"}{;"}};
const long = call(${Array.from({ length: 12 }, (_, i) => `argument${i}`).join(", ")});
const numbers = Float64Array.from([${Array.from({ length: 40 }, (_, i) => (i - 20) / 8).join(", ")}]);
for (let i = 0; i < 3; i++) total += i; // a trailing comment
const { x, y } = w;
const r = /[}{]\\//g, t = \`a \${ {b: 1}.b } }\`;`;
    expect(layOut(code)).toBe(`function f(a: number): number[] {
  if (a > 0) {
    return [1, 2];
  } else {
    return [];
  }
}
const o = { "a": [1, 2], "b": { "c": "}{;" } };
const long = call(
  argument0,
  argument1,
  argument2,
  argument3,
  argument4,
  argument5,
  argument6,
  argument7,
  argument8,
  argument9,
  argument10,
  argument11
);
const numbers = Float64Array.from([
  -2.5, -2.375, -2.25, -2.125, -2, -1.875, -1.75, -1.625, -1.5, -1.375, -1.25, -1.125, -1, -0.875,
  -0.75, -0.625, -0.5, -0.375, -0.25, -0.125, 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1,
  1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2, 2.125, 2.25, 2.375,
]);
for (let i = 0; i < 3; i++) total += i; // a trailing comment
const { x, y } = w;
const r = /[}{]\\//g, t = \`a \${ {b: 1}.b } }\`;
`);
  });

  it("puts a one-statement body that does not fit below its header, and breaks long expressions before an operator", () => {
    const message = '"' + "m".repeat(70) + '"';
    expect(layOut(`if (value === undefined) throw new Error(${message});`)).toBe(
      `if (value === undefined)\n  throw new Error(${message});\n`,
    );
    const sum = Array.from({ length: 12 }, (_, i) => `w${i} * x[o + ${i}]`).join(" + ");
    const laid = layOut(`s += ${sum};`);
    expect(laid.split("\n").every((l) => l.length <= WIDTH)).toBe(true);
    expect(laid.replace(/\s+/g, "")).toBe(`s+=${sum};`.replace(/\s+/g, ""));
    expect(laid.split("\n")[1]).toMatch(/^ {2}\+ w\d/);
  });
});
