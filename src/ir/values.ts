import type { Statement } from "../syntax/ast.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import { formatShape, type TrainSettings } from "./types.js";
import type { Tensor } from "./tensor.js";
import { constantLiteral } from "./literals.js";
import { MAX_SIZE } from "./symbols.js";
import { COMMON_SETTINGS, isOptimizer, OPTIMIZERS } from "./optimisers.js";
import { closestName } from "../syntax/names.js";
import type { Span } from "../diagnostics/span.js";

/** A declared input, target, param or const as the `example` block sees it. */
export interface DeclaredValue {
  readonly name: string;
  readonly role: string;
  /** The full shape; a sequence's first axis is its index. */
  readonly shape: readonly (string | number)[];
  readonly sequence: boolean;
}

/**
 * Worked values: param initial values, overridden by the `example` block. Shapes are checked
 * against the declarations, and a free dim takes the size the values give it, consistently.
 * A sequence may be given whole (`x = [[…], […]]`) or step by step (`x_1 = […]`, `x_2 = […]`).
 */
export function lowerExample(
  statements: readonly Statement[],
  declared: readonly DeclaredValue[],
  diagnostics: Diagnostic[],
  inits: Map<string, Tensor>,
): Map<string, Tensor> {
  const values = new Map(inits);
  const bound = new Map<string, number>();
  const byName = new Map(declared.map((d) => [d.name, d]));
  const fits = (expected: readonly (string | number)[], actual: readonly number[]) =>
    actual.length === expected.length &&
    expected.every((d, i) => {
      if (typeof d === "number") return d === actual[i];
      const previous = bound.get(d);
      if (previous !== undefined) return previous === actual[i];
      bound.set(d, actual[i]!);
      return true;
    });
  const steps = new Map<string, Map<number, { values: number[]; shape: number[]; span: Span }>>();
  for (const s of statements) {
    if (s.kind !== "example") continue;
    for (const a of s.assignments) {
      const identifier = a.target.identifier;
      const step = /^(.+)_(\d+)$/.exec(identifier);
      const sequence = step && !a.target.subscript ? byName.get(step[1]!) : undefined;
      const target = sequence?.sequence ? sequence : byName.get(identifier);
      if (!target || a.target.subscript) {
        diagnostics.push(D.exampleUnknown(a.target.span, identifier));
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
      if (target === sequence) {
        const n = Number(step![2]);
        const rows = steps.get(target.name) ?? new Map();
        rows.set(n, { ...literal, span: a.value.span });
        steps.set(target.name, rows);
        continue;
      }
      if (!fits(target.shape, literal.shape)) {
        diagnostics.push(
          D.declaredShapeMismatch(
            a.value.span,
            identifier,
            formatShape(target.shape),
            formatShape(literal.shape),
          ),
        );
        continue;
      }
      values.set(identifier, {
        shape: literal.shape,
        data: Float64Array.from(literal.values),
      });
    }
  }
  for (const [name, rows] of steps) {
    const target = byName.get(name)!;
    let count = 0;
    for (const k of rows.keys()) count = Math.max(count, k);
    const first = [...rows.values()][0]!;
    // A step past the sequence's last is reported where it is written, before anything is built for it.
    const last = typeof target.shape[0] === "number" ? target.shape[0] : MAX_SIZE;
    if (count > last) {
      diagnostics.push(
        D.stepOutOfRange(
          rows.get(count)!.span,
          `'${name}' has steps 1..${last}; this value is for a step outside them`,
        ),
      );
      continue;
    }
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !rows.has(n));
    if (missing.length > 0) {
      const names = missing.map((n) => `${name}_${n}`);
      const shown = names.length > 6 ? [...names.slice(0, 5), `… (${names.length} in all)`] : names;
      diagnostics.push(
        D.declaredShapeMismatch(
          first.span,
          name,
          formatShape(target.shape),
          `steps 1..${count} without ${shown.join(", ")}`,
        ),
      );
      continue;
    }
    const ordered = Array.from({ length: count }, (_, i) => rows.get(i + 1)!);
    const bad = ordered.find((r) => !fits(target.shape.slice(1), r.shape));
    if (bad) {
      diagnostics.push(
        D.declaredShapeMismatch(bad.span, name, formatShape(target.shape.slice(1)), formatShape(bad.shape)),
      );
      continue;
    }
    if (!fits(target.shape.slice(0, 1), [count])) {
      diagnostics.push(
        D.declaredShapeMismatch(first.span, name, formatShape(target.shape), `${count} steps`),
      );
      continue;
    }
    values.set(name, {
      shape: [count, ...first.shape],
      data: Float64Array.from(ordered.flatMap((r) => r.values)),
    });
  }
  return values;
}

export function lowerTrain(
  s: Extract<Statement, { kind: "train" }>,
  diagnostics: Diagnostic[],
  /** A scalar `const` by name: `train sgd(lr = tau)` takes τ's value and prints it as τ. */
  constant: (name: string) => { value: number; name: string } | undefined = () => undefined,
): TrainSettings | undefined {
  if (!isOptimizer(s.optimizer)) {
    const known = Object.keys(OPTIMIZERS);
    diagnostics.push(
      D.unknownOptimizer(s.optimizerSpan ?? s.span, s.optimizer, known, closestName(s.optimizer, known)),
    );
    return undefined;
  }
  const optimizer = s.optimizer;
  const spec = OPTIMIZERS[optimizer];
  // Newton's step is a whole step (λ = 1) unless damped.
  let lr = spec.lr;
  let steps = 1;
  let lrName: string | undefined;
  let clip: number | undefined;
  let decay: number | undefined;
  let every: number | undefined;
  const hyper: Record<string, number> = Object.fromEntries(spec.hyper.map((h) => [h.name, h.value]));
  const known = [
    ...(optimizer === "newton" ? ["lr", "steps"] : COMMON_SETTINGS),
    ...spec.hyper.map((h) => h.name),
  ];
  for (const a of s.args) {
    const literal = constantLiteral(a.value);
    const named =
      a.value.kind === "name" && !a.value.name.subscript ? constant(a.value.name.identifier) : undefined;
    const v =
      named?.value ??
      (literal && literal !== "ragged" && literal.shape.length === 0 ? literal.values[0]! : undefined);
    const h = spec.hyper.find((x) => x.name === a.name);
    if (a.name === undefined || !known.includes(a.name)) {
      diagnostics.push(
        D.unknownTrainSetting(
          a.span,
          optimizer,
          a.name,
          known,
          a.name === undefined ? undefined : closestName(a.name, known),
        ),
      );
    } else if (a.name === "lr") {
      if (named) lrName = named.name;
      if (v !== undefined && v > 0 && Number.isFinite(v)) lr = v;
      else diagnostics.push(D.badTrain(a.value.span, "the learning rate lr must be a positive number"));
    } else if (a.name === "steps") {
      if (v !== undefined && Number.isInteger(v) && v >= 1 && v <= 1000) steps = v;
      else diagnostics.push(D.badTrain(a.value.span, "steps must be an integer from 1 to 1000"));
    } else if (a.name === "clip") {
      if (v !== undefined && v > 0 && Number.isFinite(v)) clip = v;
      else
        diagnostics.push(
          D.badTrain(a.value.span, "clip (the largest gradient norm) must be a positive number"),
        );
    } else if (a.name === "decay") {
      if (v !== undefined && v > 0 && v <= 1) decay = v;
      else
        diagnostics.push(
          D.badTrain(a.value.span, "decay (the learning rate's factor) must be a number in (0, 1]"),
        );
    } else if (a.name === "every") {
      if (v !== undefined && Number.isInteger(v) && v >= 1 && v <= 1000) every = v;
      else
        diagnostics.push(
          D.badTrain(a.value.span, "every (steps between decays) must be an integer from 1 to 1000"),
        );
    } else if (h) {
      if (v !== undefined && h.valid(v)) hyper[h.name] = v;
      else diagnostics.push(D.badTrain(a.value.span, `${h.name} must be ${h.range}`));
    }
  }
  if (every !== undefined && decay === undefined)
    diagnostics.push(D.badTrain(s.span, "every needs decay: the factor the learning rate is multiplied by"));
  return {
    optimizer,
    lr,
    steps,
    span: s.span,
    ...(lrName !== undefined ? { lrName } : {}),
    ...(spec.hyper.length > 0 ? { hyper } : {}),
    ...(clip !== undefined ? { clip } : {}),
    ...(decay !== undefined ? { schedule: { decay, every: every ?? 1 } } : {}),
  };
}
