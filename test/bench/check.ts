import { expect } from "vitest";

/** max|a − b| / max|b| (the absolute difference when b is all zeros). */
export function relativeError(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Each listed entry of each param's gradient against central differences of `loss`, to
 * `absolute + 1e-6·|g|` (every entry unless `entries` picks some).
 */
export function expectCentralDifferences<N extends string>(
  params: Record<N, Float64Array>,
  names: readonly N[],
  loss: () => number,
  gradient: (name: N) => ArrayLike<number>,
  { absolute = 1e-9, entries }: { absolute?: number; entries?: (p: Float64Array) => number[] } = {},
): void {
  const h = 1e-5;
  for (const name of names) {
    const p = params[name];
    for (const i of entries?.(p) ?? p.keys()) {
      const saved = p[i]!;
      p[i] = saved + h;
      const up = loss();
      p[i] = saved - h;
      const down = loss();
      p[i] = saved;
      const fd = (up - down) / (2 * h);
      const g = gradient(name)[i]!;
      expect(Math.abs(fd - g), `∂${name}[${i}]: finite difference ${fd}, gradient ${g}`).toBeLessThan(
        absolute + 1e-6 * Math.abs(g),
      );
    }
  }
}
