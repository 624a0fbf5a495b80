import type { Attrs, Dim, Shape } from "../ir/types.js";
import { unifyDims } from "../ir/shapes.js";
import { problem, type ShapeProblem } from "../diagnostics/shapes.js";
import { formatShape } from "../ir/types.js";
import type { ShapeResult } from "../ir/op.js";

/**
 * Sizes for the image operations: every variant is the batched four-axis case with axes
 * of size one, and output sizes follow ⌊(size + 2·padding − kernel)/stride⌋ + 1.
 */
export interface ConvDims {
  readonly n: Dim;
  readonly c: Dim;
  readonly h: number;
  readonly w: number;
  readonly f: Dim;
  readonly kh: number;
  readonly kw: number;
  readonly ho: number;
  readonly wo: number;
  readonly out: Shape;
}

/**
 * A convolution's stride and padding per axis, [H, W]: one number for both, or a pair (a
 * 1-D convolution is a 1-high image padded and strided along W only).
 */
const perAxis = (v: Attrs[string] | undefined, fallback: number): [number, number] =>
  Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v ?? fallback), Number(v ?? fallback)];
export const strides = (attrs: Attrs) => perAxis(attrs.stride, 1);
export const paddings = (attrs: Attrs) => perAxis(attrs.padding, 0);
export const stride = (attrs: Attrs) => strides(attrs)[0];
export const padding = (attrs: Attrs) => paddings(attrs)[0];
export const windowSizes = (attrs: Attrs) => perAxis(attrs.size, 2);
export const windowSize = (attrs: Attrs) => windowSizes(attrs)[0];

/** ⌊(size + 2·padding − kernel)/stride⌋ + 1, or the arithmetic that shows why it does not fit. */
export function outputSize(
  what: "kernel" | "window",
  axis: "H" | "W",
  size: number,
  kernel: number,
  s: number,
  p: number,
): number | { error: ShapeProblem } {
  const span = size + 2 * p - kernel;
  const formula =
    what === "kernel"
      ? `${axis}′ = ⌊(${axis} + 2·padding − ${what})/stride⌋ + 1 = ⌊(${size} + 2·${p} − ${kernel})/${s}⌋ + 1`
      : `${axis}′ = ⌊(${axis} − ${what})/stride⌋ + 1 = ⌊(${size} − ${kernel})/${s}⌋ + 1`;
  if (span < 0)
    return { error: problem("windowFit", { what, axis, kernel, size, padding: p }, [`${formula} < 1`]) };
  return Math.floor(span / s) + 1;
}

export function checkAttrs(
  attrs: Attrs,
  names: readonly ("stride" | "padding" | "size")[],
): { error: ShapeProblem } | undefined {
  for (const name of names) {
    for (const v of perAxis(attrs[name], name === "padding" ? 0 : name === "size" ? 2 : 1)) {
      const ok = Number.isInteger(v) && (name === "padding" ? v >= 0 : v >= 1);
      if (!ok) return { error: problem("positiveInteger", { name, value: v }) };
    }
  }
  return undefined;
}

export function convDims(x: Shape, k: Shape, attrs: Attrs): ConvDims | { error: ShapeProblem } {
  const bad = checkAttrs(attrs, ["stride", "padding"]);
  if (bad) return bad;
  const rank = x.length;
  const expectedKernel = rank === 2 ? 2 : 4;
  if (rank < 2 || rank > 4 || k.length !== expectedKernel) {
    return { error: problem("conv2dShapes", { x, k }) };
  }
  const [h, w] = [x[rank - 2], x[rank - 1]];
  const [kh, kw] = [k[k.length - 2], k[k.length - 1]];
  if (typeof h !== "number" || typeof w !== "number" || typeof kh !== "number" || typeof kw !== "number") {
    return { error: problem("convFixed") };
  }
  const c = rank >= 3 ? x[rank - 3]! : 1;
  if (rank >= 3 && !unifyDims(k[1]!, c)) return { error: problem("channels", { channels: c, k }) };
  const [[sh, sw], [ph, pw]] = [strides(attrs), paddings(attrs)];
  const ho = outputSize("kernel", "H", h, kh, sh, ph);
  if (typeof ho !== "number") return ho;
  const wo = outputSize("kernel", "W", w, kw, sw, pw);
  if (typeof wo !== "number") return wo;
  const n = rank === 4 ? x[0]! : 1;
  const f = k.length === 4 ? k[0]! : 1;
  const out: Shape = rank === 2 ? [ho, wo] : rank === 3 ? [f, ho, wo] : [n, f, ho, wo];
  return { n, c, h, w, f, kh, kw, ho, wo, out };
}

export interface PoolDims {
  readonly lead: readonly Dim[];
  readonly h: number;
  readonly w: number;
  readonly ho: number;
  readonly wo: number;
  readonly out: Shape;
}

export function poolDims(x: Shape, attrs: Attrs): PoolDims | { error: ShapeProblem } {
  const bad = checkAttrs(attrs, ["size", "stride"]);
  if (bad) return bad;
  if (x.length < 2) return { error: problem("poolRank", { x }) };
  const [h, w] = [x[x.length - 2], x[x.length - 1]];
  if (typeof h !== "number" || typeof w !== "number") return { error: problem("poolFixed") };
  const [[kh, kw], [sh, sw]] = [windowSizes(attrs), strides(attrs)];
  const ho = outputSize("window", "H", h, kh, sh, 0);
  if (typeof ho !== "number") return ho;
  const wo = outputSize("window", "W", w, kw, sw, 0);
  if (typeof wo !== "number") return wo;
  const lead = x.slice(0, -2);
  return { lead, h, w, ho, wo, out: [...lead, ho, wo] };
}

export const asShape = (r: ConvDims | PoolDims | { error: ShapeProblem }): ShapeResult =>
  "error" in r ? r : { shape: r.out };

/** A gradient op's shape: `result`, once `operand` matches the forward op's output `d.out`. */
export function gradientShape(
  d: ConvDims | PoolDims | { error: ShapeProblem },
  operand: Shape,
  result: () => Shape,
  what = "the forward output",
): ShapeResult {
  if ("error" in d) return d;
  return formatShape(d.out) === formatShape(operand)
    ? { shape: result() }
    : { error: problem("forwardMismatch", { operand, what, out: d.out }) };
}
export const num = (d: Dim, dims: ReadonlyMap<string, number>) => (typeof d === "number" ? d : dims.get(d)!);
