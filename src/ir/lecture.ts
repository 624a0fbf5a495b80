import type { Expr, LectureEntry, Statement, SubscriptedName } from "../syntax/ast.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import * as D from "../diagnostics/codes.js";
import { constantLiteral } from "./literals.js";
import { lowerExpr, type ExprHost } from "./expr.js";
import type { Lecture, LectureItem, LectureQuantity, LectureVariant, NodeId } from "./types.js";
import type { Lowering } from "./lower.js";
import { parseLatexName } from "../syntax/latexName.js";

/** Functions a lecture may name where the computation used another of the same family. */
const FAMILIES = [
  ["sigmoid", "softmax", "tanh", "relu"],
  ["cross_entropy", "bce", "mse"],
];
/** The search for a slip stops here: a formula with more operands is checked but not explained. */
const MAX_VARIANTS = 240;

/** More digits than a double holds are not a lecture's: 1e-200 would ask for 200. */
const MAX_DECIMALS = 20;

/** Digits after the decimal point as printed: "0.111" → 3, "2" → 0, "1.5e-3" → 4. */
function decimals(text: string): number {
  const [mantissa, exponent] = text.toLowerCase().split("e");
  const after = mantissa!.includes(".") ? mantissa!.split(".")[1]!.length : 0;
  return Math.max(0, after - Number(exponent ?? 0));
}

function printedNumbers(e: Expr): number[] | undefined {
  if (e.kind === "number") return [decimals(e.text)];
  if (e.kind === "negate") return printedNumbers(e.operand);
  if (e.kind === "tensor") {
    const out: number[] = [];
    for (const x of e.elements) {
      const d = printedNumbers(x);
      if (!d) return undefined;
      out.push(...d);
    }
    return out;
  }
  return undefined;
}

/** Every name read by an expression, in order: the operands a slip may have swapped. */
function names(e: Expr, out: SubscriptedName[] = []): SubscriptedName[] {
  switch (e.kind) {
    case "name":
      out.push(e.name);
      break;
    case "binary":
      names(e.left, out);
      names(e.right, out);
      break;
    case "negate":
    case "transpose":
      names(e.operand, out);
      break;
    case "call":
      for (const a of e.args) names(a.value, out);
      break;
    case "tensor":
      for (const x of e.elements) names(x, out);
      break;
  }
  return out;
}

function calls(e: Expr, out: Extract<Expr, { kind: "call" }>[] = []): Extract<Expr, { kind: "call" }>[] {
  if (e.kind === "call") {
    out.push(e);
    for (const a of e.args) calls(a.value, out);
  } else if (e.kind === "binary") {
    calls(e.left, out);
    calls(e.right, out);
  } else if (e.kind === "negate" || e.kind === "transpose") calls(e.operand, out);
  return out;
}

/** `N` or a product of dims `N*K` as an expression at `at`'s place. */
function nameOrProduct(candidate: string, at: SubscriptedName): Expr {
  const name = (identifier: string): Expr => ({
    kind: "name",
    name: { identifier, span: at.span },
    span: at.span,
  });
  const [a, b] = candidate.split("*");
  return b === undefined
    ? name(a!)
    : { kind: "binary", operator: "*", left: name(a!), right: name(b), span: at.span };
}

/** A copy of `e` with `target` (compared by identity) replaced by `by`. */
function replace(e: Expr, target: object, by: Expr): Expr {
  if (e === target) return by;
  switch (e.kind) {
    case "binary":
      return { ...e, left: replace(e.left, target, by), right: replace(e.right, target, by) };
    case "negate":
    case "transpose":
      return { ...e, operand: replace(e.operand, target, by) };
    case "call":
      return { ...e, args: e.args.map((a) => ({ ...a, value: replace(a.value, target, by) })) };
    case "tensor":
      return { ...e, elements: e.elements.map((x) => replace(x, target, by)) };
    default:
      return e;
  }
}

function findNameExpr(e: Expr, name: SubscriptedName): Expr | undefined {
  if (e.kind === "name" && e.name === name) return e;
  const children: Expr[] =
    e.kind === "binary"
      ? [e.left, e.right]
      : e.kind === "negate" || e.kind === "transpose"
        ? [e.operand]
        : e.kind === "call"
          ? e.args.map((a) => a.value)
          : e.kind === "tensor"
            ? [...e.elements]
            : [];
  for (const c of children) {
    const found = findNameExpr(c, name);
    if (found) return found;
  }
  return undefined;
}

/**
 * A `lecture` block resolved against the model: each entry's quantity (a value, a gradient,
 * or a quantity the lecture defines by a formula), its printed numbers with their digits, and
 * for a formula the variants with one operand or function changed — how the checker finds
 * which slip a wrong formula or number is.
 */
export function lowerLecture(
  host: Lowering,
  statement: Extract<Statement, { kind: "lecture" }>,
  lossName: string | undefined,
  report: (d: Diagnostic) => void,
): Lecture {
  const definitions = new Map<string, NodeId>();
  const latexNames = new Map<string, string>();
  const scoped: ExprHost = {
    get builder() {
      return host.builder;
    },
    report: (d) => host.report(d),
    reference: (name) =>
      (name.subscript ? undefined : definitions.get(name.identifier)) ?? host.reference(name),
    reduction: (call) => host.reduction(call),
    integer: (id) => host.integer(id),
    dimSize: (name) => host.dimSize(name),
  };
  const known = (identifier: string) => definitions.has(identifier) || host.knows(identifier);
  const items: LectureItem[] = [];
  for (const e of statement.entries) {
    const item = lowerEntry(e);
    if (item) items.push(item);
  }
  return {
    ...(statement.source !== undefined ? { source: statement.source } : {}),
    items,
    remarks: statement.remarks,
  };

  function lowerEntry(e: LectureEntry): LectureItem | undefined {
    const printed = printedNumbers(e.value);
    const isFormula = printed === undefined;
    let quantity: LectureQuantity;
    let name = e.quantity.name;
    let label = e.quantity.name;
    if (e.wrt) {
      const loss = e.quantity.name.startsWith("d") ? e.quantity.name.slice(1) : undefined;
      const of = e.wrt.name.startsWith("d") ? e.wrt.name.slice(1) : undefined;
      if (loss === undefined || of === undefined || loss !== lossName) {
        report(
          D.badLecture(
            e.quantity.span,
            `a derivative is written d${lossName ?? "L"}/dX, with the model's loss ${lossName ?? "L"} and a name X of the model`,
          ),
        );
        return undefined;
      }
      if (!known(of)) {
        report(D.unknownName(e.wrt.span, of));
        return undefined;
      }
      const node = lowerExpr(scoped, {
        kind: "name",
        name: { identifier: of, span: e.wrt.span },
        span: e.wrt.span,
      });
      if (node === null) return undefined;
      quantity = { kind: "gradient", of: node };
      name = of;
      label = `${e.quantity.name}/${e.wrt.name}`;
    } else if (known(e.quantity.name)) {
      const node = lowerExpr(scoped, {
        kind: "name",
        name: { identifier: e.quantity.name, span: e.quantity.span },
        span: e.quantity.span,
      });
      if (node === null) return undefined;
      quantity = definitions.has(e.quantity.name) ? { kind: "definition", node } : { kind: "value", node };
    } else if (isFormula && e.after === 0 && !e.entry) {
      const node = lowerExpr(scoped, e.value);
      if (node === null) return undefined;
      definitions.set(e.quantity.name, node);
      quantity = { kind: "definition", node };
    } else {
      report(D.unknownName(e.quantity.span, e.quantity.name));
      return undefined;
    }
    const entry = e.entry ? { entry: e.entry } : {};
    if (e.latex) {
      // What is kept is nabla's own writing of the spelling, never the text as given.
      const parsed = parseLatexName(e.latex.text);
      if ("error" in parsed) report(D.unsafeLatex(e.latex.span, parsed.error));
      else latexNames.set(name, parsed.latex);
    }
    const note = e.note !== undefined ? { note: e.note } : {};
    const latex = latexNames.get(name);
    const base = {
      label: `${label}${e.entry ? `[${e.entry.join(",")}]` : ""}`,
      name,
      ...(latex !== undefined ? { latex } : {}),
      quantity,
      after: e.after,
      ...entry,
      ...note,
      span: e.span,
    };
    if (!isFormula) {
      const literal = constantLiteral(e.value);
      if (!literal || literal === "ragged") {
        report(D.raggedLiteral(e.value.span));
        return undefined;
      }
      if (printed.some((d) => d > MAX_DECIMALS)) {
        report(
          D.badLecture(e.value.span, `a printed number has at most ${MAX_DECIMALS} digits after the point`),
        );
        return undefined;
      }
      return { ...base, printed: { shape: literal.shape, values: literal.values, decimals: printed } };
    }
    if (quantity.kind === "definition" && definitions.get(e.quantity.name) === quantity.node && !e.wrt) {
      // The definition itself: nothing printed to check.
      return {
        ...base,
        formula: { node: quantity.node, text: sourceText(e.value), variants: variants(e.value) },
      };
    }
    const node = lowerExpr(scoped, e.value);
    if (node === null) return undefined;
    return { ...base, formula: { node, text: sourceText(e.value), variants: variants(e.value) } };
  }

  /** The formula with one name replaced by another of the model, or one function by another of its family. */
  function variants(formula: Expr): LectureVariant[] {
    const out: LectureVariant[] = [];
    const saved = host.muted;
    host.muted = [];
    try {
      const candidates = host.candidateNames();
      for (const occurrence of names(formula)) {
        const target = findNameExpr(formula, occurrence);
        if (!target) continue;
        const dims = host.isDim(occurrence.identifier) ? host.dimProducts() : [];
        for (const candidate of [...candidates, ...dims]) {
          if (candidate === occurrence.identifier || out.length >= MAX_VARIANTS) continue;
          const by = nameOrProduct(candidate, occurrence);
          const node = lowerExpr(scoped, replace(formula, target, by));
          if (node !== null && (host.muted ?? []).length === 0)
            out.push({ wrote: occurrence.identifier, meant: candidate, node });
          host.muted = [];
        }
      }
      for (const call of calls(formula)) {
        const family = FAMILIES.find((f) => f.includes(call.callee.identifier));
        for (const other of family ?? []) {
          if (other === call.callee.identifier || out.length >= MAX_VARIANTS) continue;
          const node = lowerExpr(
            scoped,
            replace(formula, call, { ...call, callee: { ...call.callee, identifier: other } }),
          );
          if (node !== null && (host.muted ?? []).length === 0)
            out.push({ wrote: call.callee.identifier, meant: other, node });
          host.muted = [];
        }
      }
    } finally {
      host.muted = saved;
    }
    return out;
  }

  /** The formula as written: an expression's span leaves out its outer brackets, which are put back. */
  function sourceText(e: Expr): string {
    let [start, end] = [e.span.start, e.span.end];
    const count = (c: string) => host.source.slice(start, end).split(c).length - 1;
    while (count("(") > count(")") && host.source.slice(end).trimStart().startsWith(")"))
      end = host.source.indexOf(")", end) + 1;
    while (count(")") > count("(") && host.source.slice(0, start).trimEnd().endsWith("("))
      start = host.source.lastIndexOf("(", start - 1);
    return host.source.slice(start, end);
  }
}
