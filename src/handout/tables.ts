import type { Tensor } from "../ir/tensor.js";
import type { Block, Inline, Table } from "./document.js";
import { math } from "./document.js";
import { formatNumber, structuralZeros } from "./numbers.js";

/** A quantity with one value per step of a recurrence. */
export interface StepRow {
  readonly label: string;
  readonly values: readonly Tensor[];
  /** Starts a new group of rows (a thin space before it). */
  readonly group?: boolean;
}

/** Step columns per table; longer recurrences are split, very long ones shown at both ends. */
const STEP_COLUMNS = 8;
const ENTRY_ROWS = 6;
/** Rows per table: what fits a page. */
const MAX_LINES = 40;

const entryLabel = (label: string, index: string) => `(${label})_{${index}}`;

/**
 * The steps of a recurrence as columns and each quantity as a row (a vector quantity as one
 * row per entry), so that the table's width depends on the number of steps shown, not on
 * the model's size.
 */
export function stepTable(index: string, rows: readonly StepRow[], digits: number): Block[] {
  const length = rows[0]?.values.length ?? 0;
  if (length === 0) return [];
  const lines: { label: string; cells: (number | undefined)[]; group: boolean }[] = [];
  for (const r of rows) {
    const first = structuralZeros(r.values[0]!);
    const size = first.data.length;
    const cell = (t: number, i: number) => structuralZeros(r.values[t]!).data[i];
    const shape = first.shape;
    if (size === 1) {
      lines.push({ label: r.label, cells: r.values.map((_, t) => cell(t, 0)), group: !!r.group });
      continue;
    }
    if (shape.length > 2 || (shape.length === 2 && size > 4)) continue;
    const entries = size <= ENTRY_ROWS ? Array.from({ length: size }, (_, i) => i) : [0, 1, -1, size - 1];
    entries.forEach((i, k) => {
      const name =
        i < 0
          ? "\\vdots"
          : entryLabel(
              r.label,
              shape.length === 2 ? `${Math.floor(i / shape[1]!) + 1}${(i % shape[1]!) + 1}` : String(i + 1),
            );
      lines.push({
        label: name,
        cells: r.values.map((_, t) => (i < 0 ? undefined : cell(t, i))),
        group: !!r.group && k === 0,
      });
    });
  }
  const chunks: (number | "gap")[][] = [];
  if (length <= STEP_COLUMNS * 3) {
    for (let s = 0; s < length; s += STEP_COLUMNS)
      chunks.push(Array.from({ length: Math.min(STEP_COLUMNS, length - s) }, (_, i) => s + i));
  } else chunks.push([0, 1, 2, 3, "gap", length - 4, length - 3, length - 2, length - 1]);
  // A table taller than a page is cut into several, at a group boundary where there is one.
  const pieces: (typeof lines)[] = [];
  let current: typeof lines = [];
  for (const l of lines) {
    if (current.length >= MAX_LINES || (l.group && current.length >= MAX_LINES - 12)) {
      pieces.push(current);
      current = [];
    }
    current.push(l);
  }
  if (current.length > 0) pieces.push(current);
  return chunks.flatMap((steps) => pieces.map((piece) => table(index, steps, piece, digits)));
}

interface Line {
  readonly label: string;
  readonly cells: readonly (number | undefined)[];
  readonly group: boolean;
}

function table(
  index: string,
  steps: readonly (number | "gap")[],
  lines: readonly Line[],
  digits: number,
): Table {
  const header: Inline[][] = [
    [math(index)],
    ...steps.map((s) => [math(s === "gap" ? "\\cdots" : String(s + 1))]),
  ];
  const body = lines.map((l) => [
    [math(l.label)],
    ...steps.map((s) => {
      if (s === "gap") return [math("\\cdots")];
      const v = l.cells[s];
      return [math(v === undefined ? "\\vdots" : formatNumber(v, digits))];
    }),
  ]);
  const groupAfter = lines.flatMap((l, i) => (l.group && i > 0 ? [i - 1] : []));
  return { kind: "table", columns: ["l", ...steps.map(() => "r" as const)], header, rows: body, groupAfter };
}
