import type { Graph, NamedValue, Node, NodeId, ProjectNode } from "../ir/types.js";
import type { Helper } from "../ir/op.js";
import type { Gradient } from "../autodiff/reverse.js";
import { jsNumber } from "./emitter.js";
import { CodePlan } from "./plan.js";
import { codeNames, lossName } from "./names.js";
import { unflip } from "../ir/reversed.js";
import { getOp } from "../ir/registry.js";
import { plainDescent, updateRule } from "../train/update.js";
import { argumentHelpers, outCheck } from "./arguments.js";
import { key, layoutOf, prop, writesByName, type Layout } from "./named.js";
import { newtonFunctions, optimizerFunctions, updateExpression } from "./training.js";
import { wasmFields, wasmPreamble, type Precision, type Target } from "./wasm.js";
import { layOut, splitForms } from "./layout.js";
import { TYPES_BEGIN, TYPES_END } from "./tokens.js";

export interface GeneratedModule {
  /** The TypeScript module, laid out (codegen/layout.ts). */
  readonly typescript: string;
  /** The same module without type annotations, for running directly under Node or in a browser. */
  readonly javascript: string;
}

/**
 * The emitted module: typed Params/Inputs, `forward`, `gradient` (loss and every param's
 * gradient), an SGD step and shape metadata; no imports. Buffers live in a workspace
 * allocated once per set of run-time dims and reused between calls.
 */
export function generateModule(
  graph: Graph,
  gradient: Gradient,
  options: ModuleOptions = {},
): GeneratedModule {
  // Rendered and laid out once, the types marked: the JavaScript is the TypeScript without them.
  return splitForms(layOut(render(graph, gradient, "marked", options)));
}

export interface ModuleOptions {
  /**
   * "js" (the default): plain JavaScript. "wasm": the matrix products and convolutions run as
   * WebAssembly SIMD kernels embedded in the module (codegen/wasm.ts), the fused elementwise
   * loops as WebAssembly functions of the model's (wasm/elementwise.ts); the same API, an ES
   * module with a top-level await.
   */
  readonly target?: Target;
  /**
   * The WebAssembly module's workspace and kernels: "f64" (the default, f64x2) or "f32"
   * (Float32Array workspace, f32x4 kernels); its params, inputs and results are Float64Arrays
   * either way. Only with the "wasm" target.
   */
  readonly precision?: Precision;
}

/**
 * The module before layout: valid and runnable. The playground runs its script form as one
 * types.
 */
export function renderModule(
  graph: Graph,
  gradient: Gradient,
  form: ModuleForm,
  options: ModuleOptions = {},
): string {
  return render(graph, gradient, form, options);
}

/** The functions the model's ops call (erf), each once, from every graph the module runs. */
function opHelpers(nodes: readonly Node[]): Map<string, Helper> {
  const helpers = new Map<string, Helper>();
  const visit = (list: readonly Node[]) => {
    for (const n of list) {
      if (n.kind === "op")
        for (const [name, helper] of Object.entries(getOp(n.op).helpers ?? {})) helpers.set(name, helper);
      if (n.kind === "scan" || n.kind === "scan_adjoint") visit(n.body);
    }
  };
  visit(nodes);
  return helpers;
}

/**
 * What each block of the generated functions computes, as a comment above it: the model's
 * equations as written (a recurrence's loop lists its step equations), and for the
 * gradient, the derivative each block is.
 */
function headings(graph: Graph, gradient: Gradient, nodes: readonly Node[]): Map<NodeId, string> {
  const out = new Map<NodeId, string>();
  const add = (id: NodeId | null | undefined, text: string) => {
    if (id === null || id === undefined) return;
    out.set(id, out.has(id) ? `${out.get(id)}; ${text}` : text);
  };
  const loss = lossName(graph);
  // A recurrence's value is its scan's stack (a backward one's flipped back into the order of t).
  const scanOf = (id: NodeId): NodeId | undefined => {
    const n = nodes[unflip(nodes, id)]!;
    return n.kind === "project" ? n.scan : undefined;
  };
  for (const n of [...graph.named].sort((a, b) => a.span.start - b.span.start)) {
    if (n.written === undefined) continue;
    const scan = scanOf(n.node);
    add(scan ?? n.node, n.written);
  }
  for (const [param, g] of gradient.params) if (g !== null && !out.has(g)) add(g, `d${loss}/d${param}`);
  for (const n of graph.named) {
    const delta = gradient.adjoints.get(n.node);
    if (n.kind !== "loss" && delta !== undefined && !out.has(delta)) add(delta, `d${loss}/d${n.name}`);
  }
  for (const n of nodes)
    if (n.kind === "scan_adjoint") {
      const forward = nodes[n.forward] as Extract<Node, { kind: "scan" }>;
      const summed = [...gradient.params]
        .filter(
          ([, g]) => g !== null && nodes[g]!.kind === "project" && (nodes[g] as ProjectNode).scan === n.id,
        )
        .map(([param]) => `d${loss}/d${param}`);
      add(
        n.id,
        `backpropagation through time: d${loss}/d${forward.states.map((s) => `${s.name}_${forward.index}`).join(", ")} from the last step to the first${summed.length > 0 ? `, summing ${summed.join(", ")} over the steps` : ""}`,
      );
    }
  return out;
}

/**
 * How the module is written: TypeScript, an ES module, or a function body whose `return`
 * hands over what the module would export (the playground runs it with `new Function`, far
 * quicker than importing a module).
 */
export type ModuleForm = "typescript" | "javascript" | "script";

/** `marked`: the TypeScript with what only TypeScript has between markers (layout.ts splits the forms). */
function render(
  graph: Graph,
  gradient: Gradient,
  form: ModuleForm | "marked",
  options: ModuleOptions = {},
): string {
  const wasm = options.target === "wasm";
  const precision = options.precision ?? "f64";
  if (precision !== "f64" && !wasm) throw new Error(`precision ${precision} needs the wasm target`);
  if (wasm && form === "script")
    throw new Error("the WebAssembly module is an ES module (it awaits its instance): it has no script form");
  const typed = form === "typescript" || form === "marked";
  const typesOnly = (code: string) => (form === "marked" ? `${TYPES_BEGIN}${code}${TYPES_END}` : code);
  const T = (annotation: string) => (!typed || annotation === "" ? "" : typesOnly(annotation));
  const exports: string[] = [];
  const exported = (name: string) => {
    exports.push(name);
    return form === "script" ? "" : "export ";
  };
  const layout = layoutOf(graph);
  const hessian = gradient.hessian;
  const nodes = hessian?.nodes ?? gradient.nodes;
  const lossNode = graph.loss;
  const forwardRoots = [lossNode, ...layout.equations.map((e) => e.node)];
  const gradientRoots = [lossNode, ...[...gradient.params.values()].filter((g): g is NodeId => g !== null)];
  const productRoots = hessian ? [...hessian.product.values()].filter((g): g is NodeId => g !== null) : [];
  const plan = new CodePlan(
    nodes,
    layout.dimLocal,
    hessian ? [forwardRoots, gradientRoots, productRoots] : [forwardRoots, gradientRoots],
    codeNames(graph, gradient, nodes),
    headings(graph, gradient, nodes),
    wasm ? precision : undefined,
  );
  const emitter = plan.emitter;
  const shapeExpr = (n: Node) => emitter.size(n.shape);
  const dimsKey = layout.freeDims.map((_, i) => `d${i}`);

  const out: string[] = [];
  out.push(`// Generated by nabla. Do not edit: change the model and compile again.`);
  out.push(`/* eslint-disable */`);
  out.push(`${exported("modelName")}const modelName = ${key(graph.modelName)};`);
  // Sizes, null where the data sets them; the dims as the model names them alongside.
  const sizes = (n: NamedValue) =>
    nodes[n.node]!.shape.map((d) => (typeof d === "number" ? d : (graph.dims.get(d) ?? null)));
  const table = (f: (n: NamedValue) => unknown) => ({
    params: Object.fromEntries(layout.params.map((p) => [p.name, f(p)])),
    inputs: Object.fromEntries(layout.data.map((p) => [p.name, f(p)])),
    values: Object.fromEntries(layout.equations.map((p) => [p.name, f(p)])),
  });
  out.push(`/** Every param's, input's and named value's shape: sizes, null where the data sets them. */`);
  out.push(`${exported("shapes")}const shapes = ${JSON.stringify(table(sizes))}${T(" as const")};`);
  out.push(`/** The same shapes as the model writes them, with dim names. */`);
  out.push(
    `${exported("shapeNames")}const shapeNames = ${JSON.stringify(table((n) => n.declaredShape))}${T(" as const")};`,
  );
  const given = [...layout.params, ...layout.data].every((n) => graph.example.has(n.name));
  if (given) {
    const arrays = (list: readonly NamedValue[]) =>
      `{ ${list.map((n) => `${key(n.name)}: Float64Array.from([${Array.from(graph.example.get(n.name)!.data, jsNumber).join(", ")}])`).join(", ")} }`;
    out.push(
      `/** The model's example values, fresh arrays on each call: the numbers its handout works with. */`,
    );
    out.push(
      `${exported("example")}function example()${T(": { params: Params; inputs: Inputs }")} { return { params: ${arrays(layout.params)}, inputs: ${arrays(layout.data)} }; }`,
    );
  }
  out.push(
    `${exported("dims")}const dims = ${JSON.stringify(Object.fromEntries([...graph.dims].map(([k, v]) => [k, v ?? null])))}${T(" as const")};`,
  );
  out.push(
    `${exported("defaultLearningRate")}const defaultLearningRate = ${jsNumber(graph.train?.lr ?? 0.1)};`,
  );
  if (typed) {
    const interfaces = [
      `/** Trainable tensors, flat row-major Float64Arrays (a scalar is length 1). */`,
      `export interface Params { ${layout.params.map((p) => `${key(p.name)}: Float64Array;`).join(" ")} }`,
      `/** Inputs and targets, flat row-major. */`,
      `export interface Inputs { ${layout.data.map((p) => `${key(p.name)}: Float64Array;`).join(" ")} }`,
      `export interface Gradients { ${layout.params.map((p) => `${key(p.name)}: Float64Array;`).join(" ")} }`,
      `/** Sizes of the dims bound at run time; inferred from the inputs where they can be. */`,
      `export interface Dims { ${layout.freeDims.map((d) => `${key(d)}: number;`).join(" ")} }`,
      `export interface ForwardResult { loss: number; values: { ${layout.equations.map((e) => `${key(e.name)}: Float64Array;`).join(" ")} }; }`,
      `export interface GradientResult { loss: number; gradients: Gradients; }`,
    ];
    out.push(typesOnly(interfaces.join("\n\n")));
  }
  // Constant tensors go here once the bodies are known: scalars are inlined and need no array.
  const constsAt = out.length;

  // Free dims: each from the first tensor whose other dims are already known.
  const bindLines: string[] = [];
  const known = new Set<string>();
  const sources = [...layout.data, ...layout.params];
  for (let pass = 0; pass < layout.freeDims.length; pass++) {
    for (const d of layout.freeDims) {
      if (known.has(d)) continue;
      for (const s of sources) {
        const shape = nodes[s.node]!.shape;
        const unknown = shape.filter((x) => typeof x === "string" && !known.has(x));
        if (unknown.length !== 1 || unknown[0] !== d || shape.filter((x) => x === d).length !== 1) continue;
        const rest = emitter.size(shape.filter((x) => x !== d));
        const src = s.kind === "param" ? "params" : "inputs";
        bindLines.push(
          `const ${layout.dimLocal(d)} = given(dims, ${key(d)}) ?? ${prop(src, s.name)}.length / (${rest});`,
        );
        known.add(d);
        break;
      }
    }
  }
  for (const d of layout.freeDims) {
    if (!known.has(d))
      bindLines.push(`const ${layout.dimLocal(d)} = need(given(dims, ${key(d)}), ${key(d)});`);
    bindLines.push(
      `if (!Number.isInteger(${layout.dimLocal(d)}) || ${layout.dimLocal(d)} < 1) throw new Error(${key(`nabla: dim ${d} must be a positive integer: pass dims.${d}, or arrays whose lengths give it`)});`,
    );
  }
  const checks = sources.map((s) => {
    const src = s.kind === "param" ? "params" : "inputs";
    const n = nodes[s.node]!;
    return `check(${prop(src, s.name)}, ${shapeExpr(n)}, ${key(`${src}.${s.name}`)});`;
  });
  // Presence and type first, so that binding a dim reads only arrays that are there.
  const presence = [
    `object(params, "params");`,
    `object(inputs, "inputs");`,
    ...(layout.freeDims.length > 0 ? [`if (dims !== undefined) object(dims, "dims");`] : []),
    ...sources.map((s) => {
      const src = s.kind === "param" ? "params" : "inputs";
      return `array(${src}, ${key(s.name)}, ${key(src)});`;
    }),
  ];
  const needed = bindLines.some((l) => l.includes("need("));
  if (needed)
    out.push(`function need(value${T(": number | undefined")}, name${T(": string")})${T(": number")} {
  if (value === undefined) throw new Error("nabla: dim " + name + " cannot be inferred from the data; pass it in dims");
  return value;
}`);
  out.push(argumentHelpers(T, layout.freeDims.length > 0));
  // The WebAssembly preamble, once the functions are written: it declares the kernels they call.
  const preambleAt = out.length;
  for (const [name, helper] of opHelpers(nodes))
    out.push(`const ${name}${T(`: ${helper.type}`)} = ${helper.source};`);
  out.push(
    outCheck(
      T,
      layout.params.map((p) => p.name),
      layout.data.map((d) => d.name),
    ),
  );
  const dimsParam = `dims${T("?: Partial<Dims>")}`;
  // Unused parameters take a leading underscore, so the module passes --noUnusedParameters.
  const unused = (name: string, used: boolean) => (used ? name : `_${name}`);
  out.push(`/** Checks the data against the model's shapes and returns the run-time dims. */
${exported("bindDims")}function bindDims(params${T(": Params")}, inputs${T(": Inputs")}, ${unused("dims", layout.freeDims.length > 0)}${T("?: Partial<Dims>")})${T(": number[]")} {
  ${[...presence, ...bindLines, ...checks].join("\n")}
  return [${dimsKey.join(", ")}];
}`);

  // The workspace goes here once every function is emitted: it holds the arrays they name.
  const workspaceAt = out.length;

  // A param's gradient is computed straight into the caller's array when no other param shares
  // it (not with the WebAssembly target: a kernel may write it, and only into its memory).
  const writtenInPlace = new Map<NodeId, string>();
  for (const p of wasm ? [] : layout.params) {
    const g = gradient.params.get(p.name);
    if (g !== null && g !== undefined && writesByName(nodes[g]!) && !writtenInPlace.has(g))
      writtenInPlace.set(g, p.name);
  }
  const head = [
    `const [${dimsKey.join(", ")}] = bindDims(params, inputs, dims);`,
    `const w = buffers(${dimsKey.join(", ")});`,
  ].join("\n");
  const forwardReturn = () =>
    `return { loss: ${emitter.ref(lossNode)}[0], values: { ${layout.equations.map((e) => `${key(e.name)}: ${precision === "f64" ? `${emitter.ref(e.node)}.slice()` : `Float64Array.from(${emitter.ref(e.node)})`}`).join(", ")} } };`;
  const gradientReturn = () => {
    const writes = layout.params.map((p) => {
      const g = gradient.params.get(p.name);
      // With the WebAssembly target (f64) the caller may pass the workspace's own gradient
      // array, and no other view of the memory.
      const own = wasm && precision === "f64";
      const target = (mine: string) =>
        own ? `nablaArg(${prop("out", p.name)}, ${mine}, ${key(`out.${p.name}`)})` : prop("out", p.name);
      if (g === null || g === undefined) return `${target("undefined")}.fill(0);`;
      if (writtenInPlace.get(g) === p.name) return "";
      const copy = `${target(emitter.ref(g))}.set(${emitter.ref(g)});`;
      return own ? `if (${prop("out", p.name)} !== ${emitter.ref(g)}) ${copy}` : copy;
    });
    return `${writes.join("\n")}\nreturn { loss: ${emitter.ref(lossNode)}[0], gradients: out };`;
  };
  const forwardCode = plan.emitFunction(forwardRoots, new Map(), forwardReturn);
  const gradientCode = plan.emitFunction(gradientRoots, writtenInPlace, gradientReturn);
  const forwardPrologue = `${head}\n${forwardCode.prologue}`;
  const forwardBody = forwardCode.body;
  const gradientPrologue = `${head}\ncheckOut(out, params, inputs);\n${gradientCode.prologue}`;
  const gradientBody = gradientCode.body;

  out.push(`/** Evaluates the model: the loss and every named equation's value (fresh copies). */
${exported("forward")}function forward(params${T(": Params")}, inputs${T(": Inputs")}, ${dimsParam})${T(": ForwardResult")} {
  ${forwardPrologue}
  ${forwardBody}
  ${forwardCode.epilogue}
}`);

  out.push(`/** Fresh zeroed gradient arrays shaped like the params. */
${exported("zeroGradients")}function zeroGradients(params${T(": Params")})${T(": Gradients")} {
  object(params, "params");
  return { ${layout.params.map((p) => `${key(p.name)}: new Float64Array(array(params, ${key(p.name)}, "params").length)`).join(", ")} };
}
/** The loss and ∂loss/∂param for every param, by reverse mode; pass \`out\` to reuse arrays. */
${exported("gradient")}function gradient(params${T(": Params")}, inputs${T(": Inputs")}, out${T(": Gradients")} = zeroGradients(params), ${dimsParam})${T(": GradientResult")} {
  ${gradientPrologue}
  ${gradientBody}
  ${gradientCode.epilogue}
}
/** One step of gradient descent in place: p ← p − lr · ∂loss/∂p. */
${exported("sgdStep")}function sgdStep(params${T(": Params")}, gradients${T(": Gradients")}, lr${T(": number")} = defaultLearningRate)${T(": void")} {
  object(params, "params");
  object(gradients, "gradients");
  if (typeof lr !== "number" || !Number.isFinite(lr)) throw new Error("nabla: lr must be a finite number");
  ${layout.params.map((p) => `{ const p = array(params, ${key(p.name)}, "params"), g = array(gradients, ${key(p.name)}, "gradients"); if (g.length !== p.length) throw new Error(${key(`nabla: gradients.${p.name} has the wrong length for params.${p.name}`)}); for (let i = 0; i < p.length; i++) p[i] = ${updateExpression(updateRule())}; }`).join("\n")}
}
${
  plainDescent(graph.train)
    ? `/** Computes the gradient and takes one SGD step; returns the loss before the step. */
${exported("trainStep")}function trainStep(params${T(": Params")}, inputs${T(": Inputs")}, lr${T(": number")} = defaultLearningRate, ${dimsParam})${T(": number")} {
  const { loss, gradients } = gradient(params, inputs, undefined, dims);
  sgdStep(params, gradients, lr);
  return loss;
}`
    : optimizerFunctions(graph, layout, dimsParam, T, exported)
}`);

  if (wasm && precision === "f64") out.push(workspaceArrays(gradient, plan, layout, T, exported));
  if (hessian) out.push(newtonFunctions(graph, hessian, plan, layout, head, dimsParam, T, exported));
  // The workspace: every array the functions use, reallocated only when run-time dims change.
  const fields = plan.storage;
  const keyExpr = `${JSON.stringify("")}${dimsKey.map((d) => ` + "," + ${d}`).join("")}`;
  const workspace = `let workspace${T(": ReturnType<typeof allocate> | undefined")};
function allocate(${dimsKey.map((d) => `${d}${T(": number")}`).join(", ")}) {
  ${wasm ? wasmFields(fields) : fields.map((f) => `const ${f.name} = ${f.init};`).join("\n")}
  return { key: ${keyExpr}${fields.map((f) => `, ${f.name}`).join("")} };
}
function buffers(${dimsKey.map((d) => `${d}${T(": number")}`).join(", ")}) {
  const k = ${keyExpr};
  if (workspace === undefined || workspace.key !== k) workspace = allocate(${dimsKey.join(", ")});
  return workspace;
}`;
  out.splice(workspaceAt, 0, workspace);
  if (wasm) {
    const body = out.join("\n");
    out.splice(
      preambleAt,
      0,
      wasmPreamble(T, precision, (name) => body.includes(`${name}(`), plan.elementwise?.expressions ?? []),
    );
  }
  out.splice(constsAt, 0, ...plan.constDeclarations());
  if (form === "script") out.push(`return { ${exports.join(", ")} };`);
  return out.join("\n\n");
}

/**
 * With the WebAssembly target (f64): `workspaceArrays(dims)`, the workspace's own arrays for
 * the params, inputs and gradients, views of the kernels' memory. Passed to `gradient` they
 * are not copied in or out (the MLP's W1 and its gradient are 100 000 numbers each).
 */
function workspaceArrays(
  gradient: Gradient,
  plan: CodePlan,
  layout: Layout,
  T: (annotation: string) => string,
  exported: (name: string) => string,
): string {
  const nodes = gradient.hessian?.nodes ?? gradient.nodes;
  const fields = new Set(plan.storage.map((f) => f.name));
  const view = (id: NodeId) => {
    const name = plan.emitter.bufferOf(id);
    return fields.has(name) ? `w.${name}` : undefined;
  };
  const own = (list: readonly NamedValue[]) =>
    list.map(
      (n) =>
        `${key(n.name)}: ${view(n.node) ?? `new Float64Array(${plan.emitter.size(nodes[n.node]!.shape)})`}`,
    );
  const given = new Set<NodeId>();
  const gradients = layout.params.map((p) => {
    const g = gradient.params.get(p.name);
    const size = plan.emitter.size(nodes[p.node]!.shape);
    if (g === null || g === undefined || given.has(g) || !writesByName(nodes[g]!))
      return `${key(p.name)}: new Float64Array(${size})`;
    given.add(g);
    return `${key(p.name)}: ${view(g) ?? `new Float64Array(${size})`}`;
  });
  const dims = layout.freeDims.map(
    (d) =>
      `const ${layout.dimLocal(d)} = given(dims, ${key(d)});\nif (${layout.dimLocal(d)} === undefined || !Number.isInteger(${layout.dimLocal(d)}) || ${layout.dimLocal(d)} < 1) throw new Error(${key(`nabla: workspaceArrays needs dims.${d}, a positive integer`)});`,
  );
  return `/**
 * The workspace's own arrays for the params, inputs and gradients: views of the kernels' memory.
 * Fill the params and inputs, pass all three to gradient and nothing is copied in or out. They
 * stay valid until a call with other run-time dims reallocates the workspace.
 */
${exported("workspaceArrays")}function workspaceArrays(${layout.freeDims.length > 0 ? "dims" : "_dims"}${T("?: Partial<Dims>")})${T(": { params: Params; inputs: Inputs; gradients: Gradients }")} {
  ${layout.freeDims.length > 0 ? `if (dims !== undefined) object(dims, "dims");` : ""}
  ${dims.join("\n")}
  const w = buffers(${layout.freeDims.map((d) => layout.dimLocal(d)).join(", ")});
  return { params: { ${own(layout.params).join(", ")} }, inputs: { ${own(layout.data).join(", ")} }, gradients: { ${gradients.join(", ")} } };
}`;
}
