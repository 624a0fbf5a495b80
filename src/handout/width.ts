import type { EquationRow } from "./document.js";

/** Width of the text block in em of the 11 pt body font (A4, 2 cm margins: 482 pt). */
export const TEXT_WIDTH_EM = 43;
/** What a displayed row may take: the text width less a margin for align's column gap. */
export const ROW_WIDTH_EM = 40;

const COMMAND_WIDTH: Record<string, number> = {
  left: 0.4,
  right: 0.4,
  ",": 0.17,
  ";": 0.28,
  quad: 1,
  qquad: 2,
  cdot: 0.8,
  odot: 1.1,
  sum: 1.4,
  partial: 0.6,
  top: 0.7,
  mathbf: 0,
  mathrm: 0,
  mathit: 0,
  operatorname: 0,
  hat: 0,
  bar: 0,
  tilde: 0,
  vec: 0,
  boldsymbol: 0,
  dots: 1.2,
  cdots: 1.2,
  vdots: 0.5,
  ddots: 1.2,
  leftarrow: 1.6,
  approx: 1.1,
  neq: 1.1,
  in: 1,
  times: 1,
  mathbb: 0,
  underbrace: 0,
};

interface Cursor {
  readonly s: string;
  i: number;
}

function group(c: Cursor): string {
  // Reads {…} (or one token) starting at c.i and returns its contents.
  if (c.s[c.i] !== "{") {
    if (c.s[c.i] === "\\") {
      const m = /^\\([A-Za-z]+|.)/.exec(c.s.slice(c.i))!;
      c.i += m[0].length;
      return m[0];
    }
    return c.s[c.i++] ?? "";
  }
  let depth = 0;
  const start = c.i;
  for (; c.i < c.s.length; c.i++) {
    if (c.s[c.i] === "\\") {
      c.i++;
      continue;
    }
    if (c.s[c.i] === "{") depth++;
    if (c.s[c.i] === "}" && --depth === 0) {
      c.i++;
      return c.s.slice(start + 1, c.i - 1);
    }
  }
  return c.s.slice(start + 1);
}

function matrixWidth(body: string): number {
  const rows = splitTop(body, "\\\\");
  const columns: number[] = [];
  for (const row of rows)
    splitTop(row, "&").forEach((cell, j) => (columns[j] = Math.max(columns[j] ?? 0, estimateWidth(cell))));
  return columns.reduce((a, b) => a + b, 0) + columns.length * 1.0 + 0.8;
}

/** Splits at a separator that is not inside braces or an environment. */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.startsWith("\\begin", i)) depth++;
    if (s.startsWith("\\end", i)) depth--;
    if (s[i] === "\\" && !s.startsWith(sep, i)) {
      i++;
      continue;
    }
    if (s[i] === "{") depth++;
    else if (s[i] === "}") depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      out.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** A command's name at a backslash (sticky: matched where it stands, the rest not copied). */
const COMMAND = /\\([A-Za-z]+|.)/y;

/** An estimate of the typeset width of LaTeX maths, in em; generous rather than tight. */
export function estimateWidth(latex: string): number {
  // Worked numbers are estimated in every row that shows them: a long formula's width is kept.
  if (latex.length < 64) return measure(latex);
  let w = measured.get(latex);
  if (w === undefined) {
    if (measured.size >= MEASURED_KEPT) measured.clear();
    measured.set(latex, (w = measure(latex)));
  }
  return w;
}
const measured = new Map<string, number>();
const MEASURED_KEPT = 5_000;

function measure(latex: string): number {
  const c: Cursor = { s: latex, i: 0 };
  let w = 0;
  while (c.i < latex.length) {
    const ch = latex[c.i]!;
    if (ch === "\\") {
      COMMAND.lastIndex = c.i;
      const m = COMMAND.exec(latex)!;
      const name = m[1]!;
      c.i += m[0].length;
      if (name === "frac") {
        const num = group(c);
        const den = group(c);
        w += Math.max(estimateWidth(num), estimateWidth(den)) * 0.85 + 0.3;
      } else if (name === "begin") {
        const env = group(c);
        const end = latex.indexOf(`\\end{${env}}`, c.i);
        const body = latex.slice(c.i, end < 0 ? latex.length : end);
        c.i = end < 0 ? latex.length : end + `\\end{${env}}`.length;
        w += matrixWidth(body);
      } else if (name === "text") {
        w += group(c).length * 0.5;
      } else if (name === "sqrt") {
        w += estimateWidth(group(c)) + 1;
      } else {
        w += COMMAND_WIDTH[name] ?? 0.8;
      }
    } else if (ch === "^" || ch === "_") {
      c.i++;
      w += estimateWidth(group(c)) * 0.7;
    } else if (ch === "{" || ch === "}") {
      c.i++;
    } else if ("+-=<>".includes(ch)) {
      c.i++;
      w += 1.3;
    } else if (ch === " ") {
      c.i++;
    } else if ("()[],.|'".includes(ch)) {
      c.i++;
      w += 0.35;
    } else {
      c.i++;
      w += /[A-Z]/.test(ch) ? 0.7 : 0.5;
    }
  }
  return w;
}

/** Top-level terms of a sum, each with its sign: `a - b + c` → [a, - b, + c]. */
export function sumParts(latex: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < latex.length; i++) {
    if (latex.startsWith("\\left", i)) {
      depth++;
      i += 4;
      continue;
    }
    if (latex.startsWith("\\right", i)) {
      depth--;
      i += 5;
      continue;
    }
    if (latex.startsWith("\\begin", i)) depth++;
    if (latex.startsWith("\\end", i)) depth--;
    if (latex[i] === "\\") {
      i++;
      continue;
    }
    if (latex[i] === "{") depth++;
    else if (latex[i] === "}") depth--;
    else if (
      depth === 0 &&
      (latex[i] === "+" || latex[i] === "-") &&
      i > start &&
      latex.slice(start, i).trim() !== ""
    ) {
      // A sign after an operator or an opening is unary, not a break point.
      let end = i;
      while (end > 0 && /\s/.test(latex[end - 1]!)) end--;
      if (
        "=+-({,&".includes(latex[end - 1]!) ||
        (end >= 5 && latex.startsWith("\\cdot", end - 5)) ||
        (end >= 5 && latex.startsWith("\\odot", end - 5))
      )
        continue;
      parts.push(latex.slice(start, i).trim());
      start = i;
    }
  }
  parts.push(latex.slice(start).trim());
  return parts.filter((p) => p !== "");
}

/**
 * Rows whose right side is wider than the page are broken at the top-level + and − of their
 * sums onto continuation lines, as a lecture breaks a long equation.
 */
export function breakRows(rows: readonly EquationRow[], width = ROW_WIDTH_EM): EquationRow[] {
  const out: EquationRow[] = [];
  for (const row of rows) {
    const lhs = estimateWidth(row.lhs) + 1.5;
    if (lhs + estimateWidth(row.rhs) <= width) {
      out.push(row);
      continue;
    }
    const parts = sumParts(row.rhs);
    let line = "";
    // A line's width is its terms' (the terms are whole, a space is nothing): added up, not re-read.
    let lineWidth = 0;
    let first = true;
    const flush = () => {
      out.push(first ? { ...row, rhs: line } : { lhs: "", rel: "\\phantom{=}", rhs: `\\quad ${line}` });
      first = false;
      line = "";
      lineWidth = 0;
    };
    for (const part of parts) {
      const partWidth = estimateWidth(part);
      if (line !== "" && lhs + lineWidth + partWidth + (first ? 0 : 1) > width) flush();
      line = line === "" ? part : `${line} ${part}`;
      lineWidth += partWidth;
    }
    if (line !== "") flush();
  }
  return out;
}
