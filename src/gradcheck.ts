import type { Graph } from "./ir/types.js";
import type { Tensor } from "./ir/tensor.js";
import { bindValues, loadModule } from "./run.js";

/** Largest relative difference between the generated gradient and central differences that passes. */
export const GRADCHECK_TOLERANCE = 1e-6;

export interface ParamCheck {
  readonly name: string;
  readonly entries: number;
  /** max |generated − central difference| over the entries, and that over max(|central difference|, 1). */
  readonly absolute: number;
  readonly relative: number;
  readonly ok: boolean;
}

/**
 * The generated gradient of every param against central finite differences of the generated
 * forward pass, (L(θ + h) − L(θ − h)) / 2h with h = 1e-6 · max(1, |θ|), at the example values
 * (or a values file's). Near a kink (relu at 0, a tie in a max) the two may differ by design.
 */
export async function gradientCheck(
  graph: Graph,
  javascript: string,
  overrides: ReadonlyMap<string, Tensor>,
): Promise<ParamCheck[]> {
  const { params, inputs, dims } = bindValues(graph, overrides);
  const mod = await loadModule(javascript);
  const { gradients } = mod.gradient(params, inputs, undefined, dims);
  const loss = () => mod.forward(params, inputs, dims).loss;
  return Object.entries(params).map(([name, theta]) => {
    let absolute = 0;
    let scale = 1;
    for (let i = 0; i < theta.length; i++) {
      const saved = theta[i]!;
      const h = 1e-6 * Math.max(1, Math.abs(saved));
      theta[i] = saved + h;
      const up = loss();
      theta[i] = saved - h;
      const down = loss();
      theta[i] = saved;
      const central = (up - down) / (2 * h);
      absolute = Math.max(absolute, Math.abs(gradients[name]![i]! - central));
      scale = Math.max(scale, Math.abs(central));
    }
    const relative = absolute / scale;
    return { name, entries: theta.length, absolute, relative, ok: relative <= GRADCHECK_TOLERANCE };
  });
}
