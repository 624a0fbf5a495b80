import type { SubscriptedName } from "./ast.js";

/** How a written name splits into a base and a subscript. */
export type ResolvedName =
  | { readonly kind: "plain"; readonly name: string }
  | {
      readonly kind: "subscripted";
      readonly base: string;
      readonly subscript: string;
    };

/**
 * `h_t`, `h_T`, `h_3` and `h_<t-1>` are subscripts; `W_xh` and `O_out` are plain names:
 * the part after the last underscore must be a declared index, a dim bound to an index,
 * or an integer.
 */
export function resolveName(
  name: SubscriptedName,
  indices: ReadonlySet<string>,
  indexDims: ReadonlySet<string>,
): ResolvedName {
  if (name.subscript) return { kind: "subscripted", base: name.identifier, subscript: "<expr>" };
  const cut = name.identifier.lastIndexOf("_");
  if (cut > 0) {
    const suffix = name.identifier.slice(cut + 1);
    if (indices.has(suffix) || indexDims.has(suffix) || /^\d+$/.test(suffix)) {
      return {
        kind: "subscripted",
        base: name.identifier.slice(0, cut),
        subscript: suffix,
      };
    }
  }
  return { kind: "plain", name: name.identifier };
}

export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Edits between two names; two swapped letters (tahn, tanh) count as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}
