import type { Statement } from "../syntax/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import type { Node, NodeId } from "./types.js";
import type { Tensor } from "./tensor.js";
import { getOp } from "./registry.js";

/**
 * Integer data in the example block checked where it is used as indices: each value a whole
 * number from 0 to the bound of the op that reads it (a table's rows, the number of classes),
 * so that the worked example never reads outside a table. The generated module checks the
 * same at run time.
 */
export function checkIndexData(
  outer: readonly Node[],
  example: ReadonlyMap<string, Tensor>,
  statements: readonly Statement[],
  report: (d: Diagnostic) => void,
): void {
  const checked = new Set<string>();
  const inputOf = (
    list: readonly Node[],
    id: NodeId,
    outerList: boolean,
  ): Extract<Node, { kind: "input" }> | undefined => {
    const n = list[id]!;
    if (n.kind === "input" && outerList) return n.integer ? n : undefined;
    if (!outerList && (n.kind === "slice" || n.kind === "outer")) return inputOf(outer, n.source, true);
    return undefined;
  };
  const visit = (list: readonly Node[], outerList: boolean) => {
    for (const n of list) {
      if (n.kind === "scan" || n.kind === "scan_adjoint") visit(n.body, false);
      if (n.kind !== "op") continue;
      const def = getOp(n.op);
      if (!def.indexBound) continue;
      const bound = def.indexBound(
        n.args.map((a) => list[a]!.shape),
        n,
      );
      for (const a of n.args) {
        const input = inputOf(list, a, outerList);
        const value = input && example.get(input.name);
        if (!input || !value || typeof bound !== "number" || checked.has(`${input.name}<${bound}`)) continue;
        checked.add(`${input.name}<${bound}`);
        const bad = value.data.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= bound);
        if (bad >= 0)
          report(
            D.badIndexData(
              spanOf(statements, input.name) ?? input.span,
              input.name,
              value.data[bad]!,
              bad,
              bound,
            ),
          );
      }
    }
  };
  visit(outer, true);
}

/** Where the example block gives a value for `name`. */
function spanOf(statements: readonly Statement[], name: string): Span | undefined {
  for (const s of statements)
    if (s.kind === "example") for (const a of s.assignments) if (a.target.identifier === name) return a.span;
  return undefined;
}
