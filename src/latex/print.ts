import type { Block, Diagram, Document, EquationRow, Inline, Table } from "../handout/document.js";
import { tikzDiagram } from "./tikz.js";

const TEXT_SPECIALS: Record<string, string> = {
  "\\": "\\textbackslash{}",
  "{": "\\{",
  "}": "\\}",
  _: "\\_",
  "^": "\\^{}",
  "#": "\\#",
  $: "\\$",
  "%": "\\%",
  "&": "\\&",
  "~": "\\textasciitilde{}",
  "<": "\\textless{}",
  ">": "\\textgreater{}",
  "|": "\\textbar{}",
  "\u2013": "--",
  "\u2014": "---",
  "\u2212": "\\ensuremath{-}",
  "\u2026": "\\dots{}",
  "\u2018": "`",
  "\u2019": "'",
  "\u201c": "``",
  "\u201d": "''",
  "\u00a0": "~",
  "\u03b4": "\\ensuremath{\\delta}",
  "\u03b7": "\\ensuremath{\\eta}",
  "\u03bb": "\\ensuremath{\\lambda}",
  "\u03c3": "\\ensuremath{\\sigma}",
  "\u03c4": "\\ensuremath{\\tau}",
  "\u2202": "\\ensuremath{\\partial}",
  "\u2299": "\\ensuremath{\\odot}",
  "\u00d7": "\\ensuremath{\\times}",
};

/**
 * Text as LaTeX text: specials escaped, and a character pdflatex cannot typeset (outside
 * Latin-1 and Latin Extended-A) replaced by "?", so that no name or source string can stop
 * the handout from compiling or reach TeX as a command.
 */
export function escapeLatexText(s: string): string {
  let out = "";
  for (const ch of s) {
    const special = TEXT_SPECIALS[ch];
    if (special !== undefined) out += special;
    else if (/[\x20-\x7e]/.test(ch)) out += ch;
    else if (/[\u00c0-\u017f]/.test(ch) && ch !== "\u00d7" && ch !== "\u00f7") out += ch;
    else if (ch === "\n" || ch === "\t") out += " ";
    else out += "?";
  }
  return out;
}

function inline(parts: readonly Inline[]): string {
  return parts
    .map((p) => {
      if ("text" in p) return escapeLatexText(p.text);
      if ("math" in p) return `$${p.math}$`;
      if ("strong" in p) return `\\textbf{${inline(p.strong)}}`;
      return `\\emph{${inline(p.emph)}}`;
    })
    .join("");
}

function equations(rows: readonly EquationRow[]): string {
  const lines = rows.map((r) => `${r.lhs} &${r.rel ?? "="} ${r.rhs}`);
  return `\\begin{align*}\n${lines.join(" \\\\\n")}\n\\end{align*}`;
}

/** Rows per tabular: a longer table continues in another under the same header, so no table outruns a page. */
const ROWS_PER_TABLE = 28;

/**
 * Tables are plain tabulars (a longtable needs a second run to align its columns); a long
 * one is cut into pieces of at most ROWS_PER_TABLE rows, each with the header.
 */
function table(t: Table): string {
  const row = (cells: readonly (readonly Inline[])[]) => cells.map(inline).join(" & ");
  const pieces: string[] = [];
  for (let start = 0; start < t.rows.length || start === 0; start += ROWS_PER_TABLE) {
    const rows = t.rows.slice(start, start + ROWS_PER_TABLE);
    const body = rows.map(
      (r, i) =>
        row(r) +
        " \\\\" +
        (t.groupAfter?.includes(start + i) && i < rows.length - 1 ? "\n\\addlinespace" : ""),
    );
    pieces.push(
      [
        "\\begin{center}\\small",
        `\\begin{tabular}{${t.columns.join("")}}`,
        "\\toprule",
        `${row(t.header)} \\\\`,
        "\\midrule",
        ...body,
        "\\bottomrule",
        "\\end{tabular}",
        "\\end{center}",
      ].join("\n"),
    );
    if (t.rows.length === 0) break;
  }
  return pieces.join("\n\n");
}

function block(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `\\${["section", "subsection", "subsubsection"][b.level - 1]}*{${inline(b.title)}}`;
    case "paragraph":
      return inline(b.content);
    case "equations":
      return equations(b.rows);
    case "table":
      return table(b);
    case "list":
      return `\\begin{itemize}\n${b.items.map((i) => `\\item ${inline(i)}`).join("\n")}\n\\end{itemize}`;
    case "note":
      return [
        `\\begin{nablanote}{${b.tone === "slip" ? "slipcolor" : "notecolor"}}{${inline(b.title)}}`,
        b.body.map(block).join("\n\n"),
        "\\end{nablanote}",
      ].join("\n");
    case "diagram":
      return diagram(b);
  }
}

function diagram(d: Diagram): string {
  return `\\begin{center}\n${tikzDiagram(d)}\n\n\\small ${inline(d.caption)}\n\\end{center}`;
}

const preamble = (
  title: string,
  subtitle: string | undefined,
  diagrams: boolean,
) => `\\documentclass[11pt,a4paper]{article}
\\usepackage[margin=2cm]{geometry}
\\usepackage{amsmath,amssymb}
\\usepackage{booktabs}
\\usepackage{xcolor}
${diagrams ? "\\usepackage{tikz}\n" : ""}\\setcounter{MaxMatrixCols}{30}
\\allowdisplaybreaks
\\setlength{\\parindent}{0pt}
\\setlength{\\emergencystretch}{3em}
\\setlength{\\parskip}{0.6ex plus 0.3ex}
\\definecolor{slipcolor}{rgb}{0.75,0.1,0.1}
\\definecolor{notecolor}{rgb}{0.1,0.3,0.6}
% A note: a coloured rule on the left, its title in bold; it may break across pages.
\\newenvironment{nablanote}[2]{\\par\\smallskip\\begin{list}{}{\\leftmargin=1.2em\\rightmargin=0pt}\\item[]\\makebox[0pt][r]{\\color{#1}\\rule[-0.5ex]{2pt}{2.5ex}\\hspace{0.8em}}\\textbf{\\color{#1}#2}\\par}{\\end{list}\\smallskip}
\\title{${escapeLatexText(title)}}
\\author{\\parbox{0.9\\textwidth}{\\centering ${subtitle ? `${escapeLatexText(subtitle)}\\\\[0.5ex] ` : ""}\\small Generated by nabla}}
\\date{}
\\begin{document}
\\maketitle`;

/** The handout as a LaTeX file for pdflatex. */
export function printLatex(doc: Document): string {
  const hasDiagram = doc.blocks.some((b) => b.kind === "diagram");
  return [preamble(doc.title, doc.subtitle, hasDiagram), ...doc.blocks.map(block), "\\end{document}\n"].join(
    "\n\n",
  );
}
