import { describe, expect, it } from "vitest";
import * as typescript from "prettier/plugins/typescript";
import { readFileSync } from "node:fs";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { MODULE_IDENTIFIERS } from "../../src/codegen/names.js";
import { allOps } from "../../src/ir/registry.js";
import { compileOk, finiteDifferences, maxRelativeError, splitValues } from "../support/check.js";

const NUMBERED = /^[a-z]+\d+(_\d+)*$|^K\d+(_\d+)*$/;
const HELPERS = new Set(allOps().flatMap((op) => Object.keys(op.helpers ?? {})));
const BUFFER_HOLDERS = new Set(["forward", "gradient", "hessianVectorProduct"]);

interface EstreeNode {
  type: string;
  [key: string]: unknown;
}

/** Identifiers bound by a declaration's pattern (`a`, `{ a, b }`, `[d0]`). */
function bound(pattern: EstreeNode | null): string[] {
  if (!pattern) return [];
  if (pattern.type === "Identifier") return [pattern.name as string];
  if (pattern.type === "ObjectPattern")
    return (pattern.properties as EstreeNode[]).flatMap((p) => bound(p.value as EstreeNode));
  if (pattern.type === "ArrayPattern") return (pattern.elements as EstreeNode[]).flatMap(bound);
  if (pattern.type === "AssignmentPattern") return bound(pattern.left as EstreeNode);
  return [];
}

/**
 * The identifiers a module declares itself, other than the arrays named after the model
 * (bound from `w`, `params`, `inputs` or `out`) and numbered locals: at its top level, and
 * in the functions that hold the model's arrays. Parsed with prettier's TypeScript parser.
 */
async function ownIdentifiers(source: string): Promise<Set<string>> {
  const program = (await typescript.parsers.typescript.parse(source, {})) as unknown as EstreeNode;
  const out = new Set<string>();
  const bindsArray = (init: EstreeNode | null): boolean =>
    init !== null &&
    ((init.type === "Identifier" && /^(w|params|inputs|out)$/.test(init.name as string)) ||
      (init.type === "MemberExpression" &&
        (init.object as EstreeNode).type === "Identifier" &&
        /^(params|inputs|out|w)$/.test((init.object as EstreeNode).name as string)) ||
      // The WebAssembly module's check of a caller's array: nablaArg(params["W"], w.W, …).
      (init.type === "CallExpression" &&
        ((init.callee as EstreeNode).name as string) === "nablaArg" &&
        bindsArray((init.arguments as EstreeNode[])[0]!)));
  const inHolder = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(inHolder);
    if (node === null || typeof node !== "object") return;
    const n = node as EstreeNode;
    if (n.type === "VariableDeclarator" && !bindsArray(n.init as EstreeNode | null))
      bound(n.id as EstreeNode).forEach((x) => out.add(x));
    if (n.type === "FunctionDeclaration")
      (n.params as EstreeNode[]).flatMap(bound).forEach((x) => out.add(x));
    for (const [key, child] of Object.entries(n))
      if (key !== "parent" && key !== "loc" && key !== "range") inHolder(child);
  };
  for (const statement of program.body as EstreeNode[]) {
    const s = statement.type === "ExportNamedDeclaration" ? (statement.declaration as EstreeNode) : statement;
    if (!s) continue;
    if (s.type === "FunctionDeclaration") {
      const name = (s.id as EstreeNode).name as string;
      out.add(name);
      if (BUFFER_HOLDERS.has(name)) inHolder(s);
    } else if (s.type === "VariableDeclaration")
      (s.declarations as EstreeNode[]).forEach((d) => bound(d.id as EstreeNode).forEach((x) => out.add(x)));
    else if (s.type === "TSInterfaceDeclaration" || s.type === "TSTypeAliasDeclaration")
      out.add((s.id as EstreeNode).name as string);
  }
  return new Set([...out].filter((x) => !NUMBERED.test(x)));
}

const everyPath = `
  dim N, T = 3, D = 2
  index t in 1..T
  input x_t: [N, D]
  target y: [N]
  param W: [D, D]
  param u: [D]
  h_0 = 0
  h_t = tanh(h_<t-1>*W + x_t)
  loss L = sum((h_T*u - y)^2) / N
  example {
    x = [[[1, 0], [0, 1]], [[0.5, 0.5], [1, -1]], [[0, 0.2], [0.3, 0]]]
    y = [1, 0]
    W = [[0.1, 0.2], [-0.3, 0.4]]
    u = [0.5, -0.5]
  }`;

describe("the generated module's names", () => {
  it("arrays are named after the model: values, gradients, δs, a recurrence's steps", async () => {
    const { module } = await compileOk(everyPath);
    const code = module.typescript;
    for (const declared of ["const x = inputs", "const W = params", "dL_dW", "dL_du", "h_steps", "h_t"])
      expect(code).toContain(declared);
    // The JavaScript step reads h_{t−1} in place, in h_steps; the WebAssembly one copies it
    // into a buffer of its own, named after it.
    expect(code).not.toContain("h_prev");
    expect((await compile(everyPath, { target: "wasm" })).module!.typescript).toContain("h_prev");
    expect(code).toContain("// h_t = tanh(h_<t-1>*W + x_t)");
    expect(code).toContain("// loss L = sum((h_T*u - y)^2) / N");
    expect(code).toContain(
      "// backpropagation through time: dL/dh_t from the last step to the first, summing dL/dW",
    );
  });

  it("the list of the module's own identifiers is complete", async () => {
    const newton = readFileSync(new URL("../../examples/newton_logistic.nabla", import.meta.url), "utf8");
    const attention = readFileSync(
      new URL("../../examples/transformer_block.nabla", import.meta.url),
      "utf8",
    );
    for (const source of [everyPath, newton, attention]) {
      for (const target of ["js", "wasm"] as const) {
        const { module } = await compile(source, { target });
        const missing = [...(await ownIdentifiers(module!.typescript))].filter(
          (x) => !MODULE_IDENTIFIERS.includes(x) && !HELPERS.has(x),
        );
        expect(missing).toEqual([]);
      }
    }
  });

  it("a model may name its values after JavaScript's keywords and globals, and after the module's own names", async () => {
    const taken = [
      "Math",
      "Float64Array",
      "undefined",
      "new",
      "class",
      "this",
      "w",
      "params",
      "inputs",
      "out",
    ];
    const more = ["forward", "gradient", "check", "buffers", "bindDims", "v3", "K1", "i0", "ar3", "dL_dW"];
    const names = [...taken, ...more];
    const source = `
      dim N = 3, D = 2
      input X: [N, D]
      target y: [N]
      param W: [D]
      ${names.map((n, i) => `${n} = ${i === 0 ? "tanh(X*W)" : `${names[i - 1]} * 0.9 + 0.1`}`).join("\n")}
      loss L = sum((${names.at(-1)} - y)^2)
      example {
        X = [[1, 2], [0.5, -1], [0, 1]]
        y = [0.3, -0.2, 0.5]
        W = [0.2, -0.4]
      }`;
    const r = await compile(source);
    expect(r.rendered).toBe("");
    const compiled = await compileOk(source);
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    const { gradients } = mod.gradient(data.params, data.inputs);
    expect(maxRelativeError(gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
    const values = mod.forward(data.params, data.inputs).values;
    expect(Object.keys(values)).toEqual([...names, "L"]);
  });
});
