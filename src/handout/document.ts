/**
 * The handout as a document: headings, paragraphs, aligned equations, tables, notes and
 * pictures. The handout builder produces it once; the LaTeX and HTML printers render it, so
 * both renderings say the same thing. Maths is LaTeX (the subset KaTeX reads); text is plain
 * text that each printer escapes.
 */

export type Inline =
  | { readonly text: string }
  | { readonly math: string }
  | { readonly strong: readonly Inline[] }
  | { readonly emph: readonly Inline[] };

export interface EquationRow {
  /** Maths on the left of the relation; empty for a continuation line. */
  readonly lhs: string;
  /** "=" unless given: \approx, \leftarrow, … */
  readonly rel?: string;
  readonly rhs: string;
}

export type Align = "l" | "c" | "r";

export interface Table {
  readonly kind: "table";
  readonly columns: readonly Align[];
  readonly header: readonly (readonly Inline[])[];
  readonly rows: readonly (readonly (readonly Inline[])[])[];
  /** Rows after which a thin rule separates groups (0-based row indices). */
  readonly groupAfter?: readonly number[];
}

export interface DiagramNode {
  readonly id: string;
  /** Centre, in centimetres, y growing downwards. */
  readonly x: number;
  readonly y: number;
  readonly label: string;
  readonly role: "input" | "param" | "value" | "loss" | "const";
}

export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  /** Drawn dashed: a value carried to the next step of a recurrence. */
  readonly carried?: boolean;
}

export interface Diagram {
  readonly kind: "diagram";
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
  readonly caption: readonly Inline[];
}

export type Block =
  | { readonly kind: "heading"; readonly level: 1 | 2 | 3; readonly title: readonly Inline[] }
  | { readonly kind: "paragraph"; readonly content: readonly Inline[] }
  | { readonly kind: "equations"; readonly rows: readonly EquationRow[] }
  | Table
  | { readonly kind: "list"; readonly items: readonly (readonly Inline[])[] }
  /** A framed remark: where the lecture's printed value is wrong, a convention the numbers rely on. */
  | {
      readonly kind: "note";
      readonly tone: "slip" | "convention";
      readonly title: readonly Inline[];
      readonly body: readonly Block[];
    }
  | Diagram;

export interface Document {
  readonly title: string;
  /** Where the model comes from: the lecture it follows. */
  readonly subtitle?: string;
  readonly blocks: readonly Block[];
}

/** Shorthands the builder writes with. */
export const text = (t: string): Inline => ({ text: t });
export const math = (m: string): Inline => ({ math: m });
export const para = (...content: Inline[]): Block => ({ kind: "paragraph", content });
export const heading = (level: 1 | 2 | 3, ...title: Inline[]): Block => ({ kind: "heading", level, title });

/**
 * A paragraph from a template where `$…$` marks maths: `prose("We write $\\delta_v$ for …")`.
 * Dollar signs never come from a model: the builder writes every template itself.
 */
export function prose(template: string): Inline[] {
  return template.split("$").map((part, i) => (i % 2 === 1 ? math(part) : text(part)));
}
