import { compile, type CompileResult } from "../../src/index.js";
import type { LoadedModule } from "../../src/run.js";
import { Evaluator } from "../../src/ir/evaluate.js";
import type { Tensor } from "../../src/ir/tensor.js";

export async function compileOk(
  source: string,
  file = "model.nabla",
): Promise<Required<Pick<CompileResult, "graph" | "gradient" | "module" | "latex">>> {
  const r = await compile(source, { file });
  if (!r.graph || !r.gradient || !r.module || r.latex === undefined)
    throw new Error(`expected a clean compile:\n${r.rendered}`);
  return {
    graph: r.graph,
    gradient: r.gradient,
    module: r.module,
    latex: r.latex,
  };
}

export interface Data {
  params: Record<string, Float64Array>;
  inputs: Record<string, Float64Array>;
}

/** Splits worked values into the module's params and inputs. */
export function splitValues(
  compiled: Awaited<ReturnType<typeof compileOk>>,
  values: ReadonlyMap<string, Tensor>,
): Data {
  const params: Record<string, Float64Array> = {};
  const inputs: Record<string, Float64Array> = {};
  for (const n of compiled.graph.named) {
    const v = values.get(n.name);
    if (n.kind === "param") params[n.name] = Float64Array.from(v!.data);
    if (n.kind === "input" || n.kind === "target") inputs[n.name] = Float64Array.from(v!.data);
  }
  return { params, inputs };
}

/** Central differences of the generated module's own forward loss. */
export function finiteDifferences(mod: LoadedModule, data: Data, h = 1e-6): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, p] of Object.entries(data.params)) {
    const g = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const saved = p[i]!;
      p[i] = saved + h;
      const up = mod.forward(data.params, data.inputs).loss;
      p[i] = saved - h;
      const down = mod.forward(data.params, data.inputs).loss;
      p[i] = saved;
      g[i] = (up - down) / (2 * h);
    }
    out[name] = g;
  }
  return out;
}

/** The reference evaluator's gradient: the IR run op by op, independent of the emitted code. */
export function evaluatorGradient(
  compiled: Awaited<ReturnType<typeof compileOk>>,
  values: ReadonlyMap<string, Tensor>,
) {
  const ev = new Evaluator(compiled.gradient.nodes, values);
  const out: Record<string, Float64Array> = {};
  for (const [name, g] of compiled.gradient.params) {
    const size = values.get(name)!.data.length;
    out[name] = g === null ? new Float64Array(size) : Float64Array.from(ev.value(g).data);
  }
  return { loss: ev.value(compiled.graph.loss).data[0]!, gradients: out };
}

/** max |a - b| / max(1, |b|) over all entries. */
export function maxRelativeError(
  a: Record<string, ArrayLike<number>>,
  b: Record<string, ArrayLike<number>>,
): number {
  let worst = 0;
  for (const k of Object.keys(b)) {
    const x = a[k]!;
    const y = b[k]!;
    if (x.length !== y.length) return Infinity;
    for (let i = 0; i < y.length; i++)
      worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  }
  return worst;
}
