import type { Expr } from "../syntax/ast.js";
import type { Shape } from "./types.js";

/** A tensor literal's shape and row-major values, "ragged" when rows differ, undefined when not constant. */
export function constantLiteral(e: Expr): { shape: number[]; values: number[] } | "ragged" | undefined {
  if (e.kind === "number") return { shape: [], values: [e.value] };
  if (e.kind === "negate") {
    const inner = constantLiteral(e.operand);
    return inner && inner !== "ragged" ? { shape: inner.shape, values: inner.values.map((v) => -v) } : inner;
  }
  if (e.kind !== "tensor") return undefined;
  const parts = e.elements.map(constantLiteral);
  if (parts.some((p) => p === undefined)) return undefined;
  if (parts.some((p) => p === "ragged")) return "ragged";
  const ok = parts as { shape: number[]; values: number[] }[];
  const first = ok[0];
  if (first && ok.some((p) => p.shape.join(",") !== first.shape.join(","))) return "ragged";
  return {
    shape: [ok.length, ...(first?.shape ?? [])],
    values: ok.flatMap((p) => p.values),
  };
}

/** A constant broadcast to `shape` (a scalar fills it); undefined when the shapes do not fit. */
export function expandConstant(value: Float64Array, from: Shape, to: Shape): Float64Array | undefined {
  if (from.join(",") === to.join(",")) return value;
  if (from.length === 0 && to.every((d) => typeof d === "number")) {
    return new Float64Array((to as number[]).reduce((a, b) => a * b, 1)).fill(value[0]!);
  }
  return undefined;
}
