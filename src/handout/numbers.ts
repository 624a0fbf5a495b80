import type { Tensor } from "../ir/tensor.js";
import { PREC, type Latex } from "../ir/op.js";

/** How many significant digits the handout prints unless a lecture prints more. */
export const DEFAULT_DIGITS = 4;
const MAX_DIGITS = 15;

/**
 * A number as a lecture prints it: `digits` significant digits, no trailing zeros — but a
 * value that rounds to a whole number it is not (tanh(9.7) = 0.99999998…) keeps the digits
 * that show how far it is from it, so that 1 − h² can be checked by hand.
 */
export function formatNumber(v: number, digits = DEFAULT_DIGITS): string {
  // A handout prints the same numbers many times over (a value, then the steps that read it).
  let known = formatted.get(digits);
  if (known === undefined) formatted.set(digits, (known = new Map()));
  let text = known.get(v);
  if (text === undefined) {
    if (known.size >= FORMATTED_KEPT) known.clear();
    known.set(v, (text = format(v, digits)));
  }
  return text;
}
const formatted = new Map<number, Map<number, string>>();
const FORMATTED_KEPT = 50_000;

function format(v: number, digits: number): string {
  if (Number.isNaN(v)) return "\\mathrm{NaN}";
  if (!Number.isFinite(v)) return v > 0 ? "\\infty" : "-\\infty";
  if (v === 0 || Object.is(v, -0)) return "0";
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e5) {
    let p = digits;
    const rounded = (q: number) => Number(v.toPrecision(q));
    let shown = rounded(p);
    if (Number.isInteger(shown) && Math.abs(v - Math.round(v)) > 1e-12 * Math.max(1, abs)) {
      // Saturated: show the digits up to the first two that differ from the whole number.
      while (p < MAX_DIGITS && Number.isInteger(rounded(p))) p++;
      shown = rounded(Math.min(MAX_DIGITS, p + 1));
    }
    return String(shown);
  }
  const [mantissa, exponent] = v.toExponential(Math.max(0, digits - 1)).split("e");
  return `${Number(mantissa)} \\cdot 10^{${Number(exponent)}}`;
}

/** A worked number inside an expression: a negative one is parenthesised where a sum would be. */
export function numberLatex(v: number, digits = DEFAULT_DIGITS): Latex {
  const text = formatNumber(v, digits);
  const prec = text.startsWith("-") ? PREC.sum : text.includes("\\cdot") ? PREC.product : PREC.atom;
  return { text, prec, numeric: true };
}

/** A number as an operand of a printed formula: a negative number gets parentheses. */
export function operandNumber(v: number, digits = DEFAULT_DIGITS): string {
  const text = formatNumber(v, digits);
  return text.startsWith("-") || text.includes("\\cdot") ? `\\left(${text}\\right)` : text;
}

/**
 * Entries that are floating-point noise next to the tensor's other entries (1e-18 beside
 * 0.1: a sum that cancels exactly) are zero by structure and print as 0.
 */
export function structuralZeros(t: Tensor): Tensor {
  if (t.data.length < 2) return t;
  let max = 0;
  for (const v of t.data) max = Math.max(max, Math.abs(v));
  const floor = max * 1e-13;
  if (!t.data.some((v) => v !== 0 && Math.abs(v) < floor)) return t;
  return { shape: t.shape, data: t.data.map((v) => (Math.abs(v) < floor ? 0 : v)) };
}

/** Rows or columns beyond this are summarised: the first three, ⋯, the last two. */
const MAX_LINES = 8;

/** A row of more than this many numbers does not fit the page: its middle columns are left out. */
const MAX_COLUMNS = 7;

function shownIndices(n: number, max = MAX_LINES): (number | "gap")[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return [0, 1, 2, "gap", n - 2, n - 1];
}

/** Entries of a large tensor a summary leaves out. */
export function isSummarised(t: Tensor): boolean {
  const [rows, cols] = t.shape.length >= 2 ? t.shape.slice(-2) : [t.shape[0] ?? 1, 1];
  return (
    (rows ?? 1) > MAX_LINES || (cols ?? 1) > MAX_COLUMNS || t.data.length / ((rows ?? 1) * (cols ?? 1)) > 4
  );
}

/**
 * A scalar, a column vector or a matrix (rank 3: a row of matrices, one per leading index);
 * large ones summarised with ⋯ and ⋮ so that they fit the page.
 */
export function tensorLatex(t: Tensor, digits = DEFAULT_DIGITS): string {
  const clean = structuralZeros(t);
  const f = (v: number) => formatNumber(v, digits);
  if (clean.shape.length === 0) return f(clean.data[0]!);
  if (clean.shape.length === 1) {
    // A short vector lies on its side, transposed, as lectures print it: [0.24, 0.25, 0.25, 0.26]ᵀ.
    if (clean.shape[0]! === 1) return `\\begin{bmatrix} ${f(clean.data[0]!)} \\end{bmatrix}`;
    if (clean.shape[0]! <= 6)
      return `\\begin{bmatrix} ${Array.from(clean.data, f).join(" & ")} \\end{bmatrix}^{\\top}`;
    const entries = shownIndices(clean.shape[0]!).map((i) => (i === "gap" ? "\\vdots" : f(clean.data[i]!)));
    return `\\begin{bmatrix} ${entries.join(" \\\\ ")} \\end{bmatrix}`;
  }
  const [rows, cols] = clean.shape.slice(-2) as [number, number];
  const matrix = (offset: number) => {
    const colIdx = shownIndices(cols, MAX_COLUMNS);
    const lines = shownIndices(rows).map((r) =>
      r === "gap"
        ? colIdx.map((c) => (c === "gap" ? "\\ddots" : "\\vdots")).join(" & ")
        : colIdx.map((c) => (c === "gap" ? "\\cdots" : f(clean.data[offset + r * cols + c]!))).join(" & "),
    );
    return `\\begin{bmatrix} ${lines.join(" \\\\ ")} \\end{bmatrix}`;
  };
  if (clean.shape.length === 2) return matrix(0);
  // Higher ranks: the matrices of the leading indices stacked, each labelled, so the width stays one matrix's.
  const count = clean.data.length / (rows * cols);
  const leading = clean.shape.slice(0, -2);
  const label = (i: number) => {
    const idx: number[] = [];
    for (let k = leading.length - 1, r = i; k >= 0; k--) {
      idx.unshift((r % leading[k]!) + 1);
      r = Math.floor(r / leading[k]!);
    }
    return idx.join(",");
  };
  const shown =
    count <= 4
      ? Array.from({ length: count }, (_, i) => i as number | "gap")
      : [0, 1, "gap" as const, count - 1];
  const parts = shown.map((i) => (i === "gap" ? "\\vdots" : `{${matrix(i * rows * cols)}}_{[${label(i)}]}`));
  return `\\begin{array}{c} ${parts.join(" \\\\[2pt] ")} \\end{array}`;
}
