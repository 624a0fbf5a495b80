import type { Expr, SubscriptedName } from "../syntax/ast.js";
import type { Dim } from "./types.js";

/** An `index t in 1..T` declaration. */
export interface IndexInfo {
  readonly name: string;
  /** The number of steps: a size, or a dim bound at run time. */
  readonly length: Dim;
  /** The dim naming the last step (`T` in `1..T`), if any. */
  readonly upperDim?: string;
}

/** Which step a subscript names, relative to its index. */
export type StepRef =
  | { readonly kind: "current" }
  | { readonly kind: "lag"; readonly k: number }
  | { readonly kind: "lead"; readonly k: number }
  | { readonly kind: "fromEnd"; readonly k: number }
  | { readonly kind: "literal"; readonly n: number };

export type SubscriptAnalysis =
  | { readonly kind: "plain"; readonly name: string }
  | {
      readonly kind: "step";
      readonly base: string;
      readonly index?: string;
      readonly ref: StepRef;
    }
  | { readonly kind: "error"; readonly message: string };

/** index + offset, T + offset, or a plain integer. */
type Linear = {
  readonly anchor?: { kind: "index" | "end"; index: string };
  readonly offset: number;
};

function linear(e: Expr, indices: ReadonlyMap<string, IndexInfo>): Linear | undefined {
  switch (e.kind) {
    case "number":
      return Number.isInteger(e.value) ? { offset: e.value } : undefined;
    case "name": {
      if (e.name.subscript) return undefined;
      const id = e.name.identifier;
      if (indices.has(id)) return { anchor: { kind: "index", index: id }, offset: 0 };
      for (const info of indices.values())
        if (info.upperDim === id) return { anchor: { kind: "end", index: info.name }, offset: 0 };
      return undefined;
    }
    case "negate": {
      const x = linear(e.operand, indices);
      return x && !x.anchor ? { offset: -x.offset } : undefined;
    }
    case "binary": {
      if (e.operator !== "+" && e.operator !== "-") return undefined;
      const l = linear(e.left, indices);
      const r = linear(e.right, indices);
      if (!l || !r || r.anchor) return undefined;
      return {
        ...(l.anchor ? { anchor: l.anchor } : {}),
        offset: l.offset + (e.operator === "+" ? r.offset : -r.offset),
      };
    }
    default:
      return undefined;
  }
}

function toRef(l: Linear): { index?: string; ref: StepRef } {
  if (!l.anchor) return { ref: { kind: "literal", n: l.offset } };
  const index = l.anchor.index;
  if (l.anchor.kind === "end") return { index, ref: { kind: "fromEnd", k: -l.offset } };
  if (l.offset === 0) return { index, ref: { kind: "current" } };
  return {
    index,
    ref: l.offset < 0 ? { kind: "lag", k: -l.offset } : { kind: "lead", k: l.offset },
  };
}

/**
 * `h_t`, `h_<t-1>`, `h_T`, `h_<T-1>`, `h_3` and `h_0` name steps; `W_xh` is a plain name.
 * The part after the last underscore subscripts when it is an index, the dim bounding one,
 * or an integer; `_<…>` always subscripts.
 */
export function analyzeName(
  name: SubscriptedName,
  indices: ReadonlyMap<string, IndexInfo>,
): SubscriptAnalysis {
  if (name.subscript) {
    const l = linear(name.subscript, indices);
    if (!l)
      return {
        kind: "error",
        message: `the subscript of '${name.identifier}' must be an index plus or minus an integer (t, t-1), the last step (T, T-1), or an integer`,
      };
    return { kind: "step", base: name.identifier, ...toRef(l) };
  }
  const cut = name.identifier.lastIndexOf("_");
  if (cut > 0) {
    const suffix = name.identifier.slice(cut + 1);
    const base = name.identifier.slice(0, cut);
    if (indices.has(suffix)) return { kind: "step", base, index: suffix, ref: { kind: "current" } };
    for (const info of indices.values())
      if (info.upperDim === suffix)
        return {
          kind: "step",
          base,
          index: info.name,
          ref: { kind: "fromEnd", k: 0 },
        };
    if (/^\d+$/.test(suffix))
      return {
        kind: "step",
        base,
        ref: { kind: "literal", n: Number(suffix) },
      };
  }
  return { kind: "plain", name: name.identifier };
}

/** Calls such as `sum_t(...)` and `mean_t(...)`: a reduction over an index. */
export function indexReduction(
  callee: SubscriptedName,
  indices: ReadonlyMap<string, IndexInfo>,
): { op: "sum" | "mean"; index: string } | undefined {
  if (callee.subscript) return undefined;
  const m = /^(sum|mean)_([A-Za-z][A-Za-z0-9]*)$/.exec(callee.identifier);
  return m && indices.has(m[2]!) ? { op: m[1] as "sum" | "mean", index: m[2]! } : undefined;
}

/** Every expression node of `e`, depth first. */
export function* walk(e: Expr): Generator<Expr> {
  yield e;
  switch (e.kind) {
    case "tensor":
      for (const x of e.elements) yield* walk(x);
      break;
    case "call":
      for (const a of e.args) yield* walk(a.value);
      break;
    case "binary":
      yield* walk(e.left);
      yield* walk(e.right);
      break;
    case "negate":
    case "transpose":
      yield* walk(e.operand);
      break;
    default:
      break;
  }
}

/** Every name `e` refers to, including the callee of a call and the names inside subscripts. */
export function* referencedNames(e: Expr): Generator<SubscriptedName> {
  for (const x of walk(e)) {
    if (x.kind === "name") yield x.name;
    if (x.kind === "call") yield x.callee;
  }
}
