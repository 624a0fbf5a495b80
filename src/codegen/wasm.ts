import { GEMM, kernelModule, type Precision } from "../wasm/kernels.js";
import { CONV, CONV_FILTER } from "../wasm/conv.js";
import type { StorageField } from "./scan.js";
import { ELEMENTWISE, type Expression } from "../wasm/elementwise.js";

/**
 * What `--target wasm` adds to the module: the kernels' WebAssembly bytes (wasm/kernels.ts),
 * embedded as base64 and instantiated once when the module loads (a top-level await: no
 * import, no file, no network), and a workspace whose arrays are views of the kernels'
 * memory. The same graph as the JavaScript module: the ops whose kernels have a WebAssembly
 * form (matmul, outer, conv2d in every role) call it, everything else is the same JavaScript;
 * the plan differs only where a product would be fused into a JavaScript loop (plan.ts). The
 * fused elementwise loops whose ops all have a WebAssembly form are functions appended to
 * the kernels' module (wasm/elementwise.ts), one per distinct expression.
 */
export type Target = "js" | "wasm";

export const TARGETS: readonly Target[] = ["js", "wasm"];

export type { Precision };
export const PRECISIONS: readonly Precision[] = ["f64", "f32"];

/** The module-level identifiers the WebAssembly module declares (names.ts reserves them). */
export const WASM_IDENTIFIERS = [
  "nablaWasm",
  GEMM,
  CONV,
  CONV_FILTER,
  ELEMENTWISE,
  "nablaViews",
  "nablaArg",
  "workspaceArrays",
] as const;

/** The declarations: the instance, the kernels' entry points and the workspace's allocator. */
export function wasmPreamble(
  T: (annotation: string) => string,
  precision: Precision,
  calls: (name: string) => boolean,
  /** The model's fused elementwise expressions, each a function of the module (wasm/elementwise.ts). */
  elementwise: readonly Expression[] = [],
): string {
  const base64 = btoa(String.fromCharCode(...kernelModule(precision, elementwise)));
  const [array, size, simd] =
    precision === "f64" ? ["Float64Array", 8, "f64x2"] : ["Float32Array", 4, "f32x4"];
  const conv = (n: number) => `(${Array.from({ length: n }, (_, i) => `a${i}: number`).join(", ")}) => void`;
  return `/** The WebAssembly kernels (matrix products and convolutions, ${simd} SIMD), embedded; their memory holds the workspace${precision === "f32" ? ", in single precision (the params, inputs and results stay Float64Arrays)" : ""}. */
const nablaWasm = (await WebAssembly.instantiate(Uint8Array.from(atob("${base64}"), (c) => c.charCodeAt(0)))).instance.exports${T(` as unknown as { memory: WebAssembly.Memory; gemm: (c: number, a: number, b: number, m: number, n: number, k: number, sai: number, sap: number, sbp: number, sbj: number, beta: number) => void; conv: ${conv(25)}; convFilter: ${conv(16)} }`)};
/** C[m, n] = beta C + A B, A(i, p) at a + ${size} (i sai + p sap) and B(p, j) at b + ${size} (p sbp + j sbj): byte addresses in the memory. */
const ${GEMM} = nablaWasm.gemm;
${elementwise.length > 0 ? `/** The model's fused elementwise loops (${simd === "f64x2" ? "f64x2" : "f64x2, loading and storing float32"}): e_k(out, arrays…, scalars…, n), byte addresses, out[i] = the expression's value at i (src/wasm/elementwise.ts). */\nconst ${ELEMENTWISE} = nablaWasm${T(` as unknown as Record<string, (...args: number[]) => void>`)};\n` : ""}${calls(CONV) ? `/** out = Σ over input channels and taps of x · k: a convolution or (the filters flipped) an input's gradient; sizes, strides, paddings as arguments (src/wasm/conv.ts). */\nconst ${CONV} = nablaWasm.conv;\n` : ""}${calls(CONV_FILTER) ? `/** A convolution's filters' gradient: dk = Σ over the batch and positions of δ · x. */\nconst ${CONV_FILTER} = nablaWasm.convFilter;\n` : ""}
/**
 * Zeroed arrays of these lengths in the kernels' memory, 16-byte aligned. The memory grows
 * once, before any view is made: growing detaches the views made before it.
 */
function nablaViews(lengths${T(": number[]")})${T(`: ${array}[]`)} {
  const offsets${T(": number[]")} = [];
  let end = 0;
  for (const n of lengths) {
    offsets.push(end);
    end += Math.ceil(n / ${16 / size}) * 16;
  }
  const memory = nablaWasm.memory;
  if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  new Uint8Array(memory.buffer, 0, end).fill(0);
  return lengths.map((n, i) => new ${array}(memory.buffer, offsets[i], n));
}${
    precision === "f64"
      ? `
/** A caller's array, refused when it is a view of the memory other than the workspace's own \`mine\` (one from before a reallocation). */
function nablaArg(array${T(": Float64Array")}, mine${T(": Float64Array | undefined")}, name${T(": string")})${T(": Float64Array")} {
  if (array !== mine && array.buffer === nablaWasm.memory.buffer) throw new Error("nabla: " + name + " is a view of the module's memory but not the workspace's array: take arrays from workspaceArrays again after the run-time dims change");
  return array;
}`
      : ""
  }`;
}

/** The workspace's declarations in `allocate`: its own arrays in the memory, then the views of them. */
export function wasmFields(fields: readonly StorageField[]): string {
  const own = fields.filter((f) => f.length !== undefined);
  const views = fields.filter((f) => f.length === undefined);
  return [
    `const [${own.map((f) => f.name).join(", ")}] = nablaViews([${own.map((f) => f.length).join(", ")}]);`,
    ...views.map((f) => `const ${f.name} = ${f.init};`),
  ].join("\n");
}
