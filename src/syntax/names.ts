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

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
