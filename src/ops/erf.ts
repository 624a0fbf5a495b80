/**
 * The error function to double precision, written once: the reference evaluator calls it and
 * the generated module carries its source (JavaScript has no Math.erf).
 *
 * For |x| < 3, erf(x) = 2/√π · e^{−x²} · Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·5···(2n+1)), a series of
 * positive terms (no cancellation). For 3 ≤ |x| < 6, erf(x) = 1 − erfc(x) with erfc by its
 * continued fraction e^{−x²}/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))), evaluated by Lentz's
 * method. Past 6, erfc(x) < 2·10⁻¹⁷ and erf(x) is ±1 in double precision.
 */
export function nablaErf(x: number): number {
  const ax = Math.abs(x);
  if (!(ax < 6)) return Number.isNaN(x) ? x : Math.sign(x);
  let r: number;
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
    }
    r = 1.1283791670955126 * Math.exp(-x2) * sum;
  } else {
    const tiny = 1e-300;
    let f = ax;
    let c = ax;
    let d = 0;
    for (let k = 1; k < 200; k++) {
      const a = k / 2;
      d = ax + a * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = ax + a / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / (1.7724538509055159 * f);
  }
  return x < 0 ? -r : r;
}
