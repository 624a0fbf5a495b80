import type { Statement } from "../syntax/ast.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import { formatShape, type TrainSettings } from "./types.js";
import type { Tensor } from "./tensor.js";
import { constantLiteral } from "./lower.js";

type Declaration = Extract<Statement, { kind: "declaration" }>;

/**
 * Worked values: param initial values, overridden by the `example` block. Shapes are checked
 * against the declarations; a free dim takes the size the values give it, consistently.
 */
export function lowerExample(
  statements: readonly Statement[],
  declarations: ReadonlyMap<string, Declaration>,
  dims: ReadonlyMap<string, number | undefined>,
  diagnostics: Diagnostic[],
  inits: Map<string, Tensor>,
): Map<string, Tensor> {
  const values = new Map(inits);
  const bound = new Map<string, number>();
  for (const s of statements) {
    if (s.kind !== "example") continue;
    for (const a of s.assignments) {
      const name = a.target.identifier;
      const declaration = declarations.get(name);
      if (!declaration || a.target.subscript) {
        diagnostics.push(D.exampleUnknown(a.target.span, name));
        continue;
      }
      const literal = constantLiteral(a.value);
      if (literal === "ragged") {
        diagnostics.push(D.raggedLiteral(a.value.span));
        continue;
      }
      if (!literal) {
        diagnostics.push(D.exampleNotConstant(a.value.span));
        continue;
      }
      const declared = (declaration.shape ?? []).map((r) =>
        r.kind === "literal" ? r.value : (dims.get(r.name) ?? r.name),
      );
      const fits =
        literal.shape.length === declared.length &&
        declared.every((d, i) => {
          const actual = literal.shape[i]!;
          if (typeof d === "number") return d === actual;
          const previous = bound.get(d);
          if (previous !== undefined) return previous === actual;
          bound.set(d, actual);
          return true;
        });
      if (!fits) {
        diagnostics.push(
          D.declaredShapeMismatch(
            a.value.span,
            name,
            formatShape(declared),
            formatShape(literal.shape),
          ),
        );
        continue;
      }
      values.set(name, {
        shape: literal.shape,
        data: Float64Array.from(literal.values),
      });
    }
  }
  return values;
}

export function lowerTrain(
  s: Extract<Statement, { kind: "train" }>,
  diagnostics: Diagnostic[],
): TrainSettings | undefined {
  if (s.optimizer !== "sgd") {
    diagnostics.push(
      D.badTrain(
        s.span,
        `unknown optimiser '${s.optimizer}'; this release has 'sgd'`,
      ),
    );
    return undefined;
  }
  let lr = 0.1;
  let steps = 1;
  for (const a of s.args) {
    const literal = constantLiteral(a.value);
    const v =
      literal && literal !== "ragged" && literal.shape.length === 0
        ? literal.values[0]!
        : undefined;
    if (a.name === "lr") {
      if (v !== undefined && v > 0 && Number.isFinite(v)) lr = v;
      else
        diagnostics.push(
          D.badTrain(
            a.value.span,
            "the learning rate lr must be a positive number",
          ),
        );
    } else if (a.name === "steps") {
      if (v !== undefined && Number.isInteger(v) && v >= 1 && v <= 1000)
        steps = v;
      else
        diagnostics.push(
          D.badTrain(a.value.span, "steps must be an integer from 1 to 1000"),
        );
    } else {
      diagnostics.push(
        D.badTrain(
          a.span,
          `sgd takes named arguments lr and steps${a.name ? `, not '${a.name}'` : ""}`,
        ),
      );
    }
  }
  return { optimizer: "sgd", lr, steps };
}
