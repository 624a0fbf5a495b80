import type { Graph } from "./ir/types.js";
import { sizeOf, toNested, type Tensor } from "./ir/tensor.js";

/** The shape of a compiled module as `nabla run` and the tests use it. */
export interface LoadedModule {
  forward(
    params: Record<string, Float64Array>,
    inputs: Record<string, Float64Array>,
    dims?: Record<string, number>,
  ): {
    loss: number;
    values: Record<string, Float64Array>;
  };
  gradient(
    params: Record<string, Float64Array>,
    inputs: Record<string, Float64Array>,
    out?: Record<string, Float64Array>,
    dims?: Record<string, number>,
  ): { loss: number; gradients: Record<string, Float64Array> };
  sgdStep(params: Record<string, Float64Array>, gradients: Record<string, Float64Array>, lr?: number): void;
}

/**
 * Imports generated JavaScript as an ES module, without touching the file system. The bundled
 * command runs as a vm script, which cannot import(): bin/nabla.js lends it its own.
 */
export async function loadModule(javascript: string): Promise<LoadedModule> {
  const url = `data:text/javascript;base64,${Buffer.from(javascript, "utf8").toString("base64")}`;
  const lent = (globalThis as { [IMPORT]?: (url: string) => Promise<unknown> })[IMPORT];
  return (await (lent ? lent(url) : import(url))) as LoadedModule;
}
const IMPORT = Symbol.for("nabla.import");

export class ValuesError extends Error {}

/** Nested arrays (or a number) to a tensor, checking that rows are regular and entries finite numbers. */
export function fromNested(value: unknown, name: string): Tensor {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float64Array(sizeOf(shape));
  let k = 0;
  // Each entry is named by its path (X[2][0]), so a ragged row is found without counting.
  const walk = (v: unknown, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new ValuesError(`${path} must be a finite number, found ${JSON.stringify(v) ?? String(v)}`);
      data[k++] = v;
      return;
    }
    if (!Array.isArray(v))
      throw new ValuesError(
        `${path} must be an array of ${shape[axis]}, as ${name}[0${"][0".repeat(axis - 1)}] is`,
      );
    if (v.length !== shape[axis])
      throw new ValuesError(
        `${path} has ${v.length} entries where ${axis === 0 ? "" : `${name}[0${"][0".repeat(axis - 1)}]`}${axis === 0 ? "the first row says" : " has"} ${shape[axis]}: the rows of '${name}' differ in length`,
      );
    v.forEach((x, i) => walk(x, axis + 1, `${path}[${i}]`));
  };
  walk(value, 0, name);
  return { shape, data };
}

export interface RunOutput {
  readonly loss: number;
  readonly values: Record<string, unknown>;
  readonly gradients: Record<string, unknown>;
}

/** The module's arguments from worked values: the example, overridden by a values file's. */
export interface BoundValues {
  readonly params: Record<string, Float64Array>;
  readonly inputs: Record<string, Float64Array>;
  readonly dims: Record<string, number>;
}

export function bindValues(graph: Graph, overrides: ReadonlyMap<string, Tensor>): BoundValues {
  const values = new Map(graph.example);
  for (const [k, v] of overrides) values.set(k, v);
  const declared = new Map(
    graph.named.filter((n) => n.kind !== "equation" && n.kind !== "loss").map((n) => [n.name, n]),
  );
  for (const k of overrides.keys()) {
    if (!declared.has(k) || declared.get(k)!.kind === "const") {
      // The example block's spelling of one step (x_1) is not a values file's: a sequence is one array over t.
      const base = /^(.+)_\d+$/.exec(k)?.[1];
      const hint =
        base && declared.has(base)
          ? `; a sequence is given whole, one array over its steps: "${base}": [[…step 1…], […step 2…], …]`
          : "";
      throw new ValuesError(
        `the values file gives '${k}', which is not an input, target or param of the model${hint}`,
      );
    }
  }
  const params: Record<string, Float64Array> = {};
  const inputs: Record<string, Float64Array> = {};
  const dims: Record<string, number> = {};
  for (const n of declared.values()) {
    if (n.kind === "const") continue;
    const v = values.get(n.name);
    if (!v)
      throw new ValuesError(
        `no value for ${n.kind} '${n.name}': give it in the model's example block or the values file`,
      );
    const shape = graph.nodes[n.node]!.shape;
    if (v.shape.length !== shape.length || shape.some((d, i) => typeof d === "number" && d !== v.shape[i])) {
      const sizes = shape.map((d) => (typeof d === "number" ? d : (graph.dims.get(d) ?? d)));
      const declared = `[${n.declaredShape.join(", ")}]`;
      const withSizes = `[${sizes.join(", ")}]`;
      throw new ValuesError(
        `'${n.name}' has shape [${v.shape.join(", ")}], but the model declares ${declared}${declared === withSizes ? "" : ` = ${withSizes}`}`,
      );
    }
    shape.forEach((d, i) => {
      if (typeof d !== "string") return;
      if (dims[d] !== undefined && dims[d] !== v.shape[i]) {
        throw new ValuesError(`dim ${d} is ${dims[d]} from one value but ${v.shape[i]} from '${n.name}'`);
      }
      dims[d] = v.shape[i]!;
    });
    (n.kind === "param" ? params : inputs)[n.name] = Float64Array.from(v.data);
  }
  return { params, inputs, dims };
}

/**
 * Runs a compiled module on worked values: the model's `example` block, overridden by
 * `overrides` (from a values file), keyed by declared names.
 */
export async function runCompiled(
  graph: Graph,
  javascript: string,
  overrides: ReadonlyMap<string, Tensor>,
): Promise<RunOutput> {
  const { params, inputs, dims } = bindValues(graph, overrides);
  const mod = await loadModule(javascript);
  const fwd = mod.forward(params, inputs, dims);
  const grad = mod.gradient(params, inputs, undefined, dims);
  const concrete = (node: number) =>
    graph.nodes[node]!.shape.map((d) => (typeof d === "number" ? d : dims[d]!));
  const outValues: Record<string, unknown> = {};
  for (const n of graph.named) {
    if (n.kind === "equation" || n.kind === "loss")
      outValues[n.name] = toNested(concrete(n.node), fwd.values[n.name]!);
  }
  const outGradients: Record<string, unknown> = {};
  for (const n of graph.named)
    if (n.kind === "param") outGradients[n.name] = toNested(concrete(n.node), grad.gradients[n.name]!);
  return { loss: grad.loss, values: outValues, gradients: outGradients };
}
