/**
 * The summary table `npm run bench` prints at the end: issue 11's table (median ms of one
 * forward + gradient, one thread), each cell "new (old)", where old is the issue's figure.
 * Pure formatting, no timing: bench/run.ts collects the medians and calls `formatTable`.
 *
 * Adding a column (e.g. "nabla wasm", once `--target wasm` exists): append it to
 * `TABLE_COLUMNS` with the key its implementation reports under in bench/run.ts (see the
 * HOOK there); it has no old figure, so its cells read "new (–)". A ratio against it is one
 * more entry in `TABLE_RATIOS`.
 */

/** A measured median, or why there is none (e.g. "not installed", "no conv2d filter gradient"). */
export type Cell = { readonly median: number } | { readonly missing: string };

/** One workload's cells, by column key. */
export type RowResults = Readonly<Record<string, Cell>>;

export interface TableColumn {
  /** The implementation's key in bench/run.ts ("generated", "handwritten", "tfjsWasm", …). */
  readonly key: string;
  readonly title: string;
}

export interface TableRow {
  /** The workload's name in bench/run.ts. */
  readonly workload: string;
  readonly label: string;
}

/** A ratio of two columns' medians, printed as a column of its own. */
export interface TableRatio {
  readonly title: string;
  readonly numerator: string;
  readonly denominator: string;
}

/** Issue 11's rows, in its order. */
export const TABLE_ROWS: readonly TableRow[] = [
  { workload: "rnn-large", label: "RNN D128 H256 T100" },
  { workload: "mlp", label: "MLP 784-128-10 b32" },
  { workload: "cnn", label: "CNN 28×28, 8 filters" },
  { workload: "rnn", label: "RNN D32 H64 T50" },
];

/**
 * Issue 11's columns. To add "nabla wasm": `{ key: "nablaWasm", title: "nabla wasm" }` after
 * "nabla", and its implementation in bench/run.ts's IMPLEMENTATIONS under the same key.
 */
export const TABLE_COLUMNS: readonly TableColumn[] = [
  { key: "generated", title: "nabla" },
  { key: "nablaWasm", title: "nabla wasm" },
  { key: "handwritten", title: "best hand-written JS" },
  { key: "tfjsWasm", title: "TF.js wasm" },
  { key: "torchF64", title: "PyTorch f64" },
  { key: "torchF32", title: "PyTorch f32" },
];

export const TABLE_RATIOS: readonly TableRatio[] = [
  { title: "nabla / hand-written", numerator: "generated", denominator: "handwritten" },
  { title: "TF.js wasm / nabla", numerator: "tfjsWasm", denominator: "generated" },
  { title: "TF.js wasm / nabla wasm", numerator: "tfjsWasm", denominator: "nablaWasm" },
  { title: "nabla wasm / PyTorch f64", numerator: "nablaWasm", denominator: "torchF64" },
];

/**
 * The baseline: issue 11's measurements from 2026-11-30 (median ms of one forward +
 * gradient, one thread, 3 interleaved rounds; PyTorch with OpenBLAS), written exactly as the
 * issue prints them. Printed in brackets beside each new figure; never overwritten by a run.
 */
export const ISSUE_11_BASELINE_2026_11_30: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "rnn-large": { generated: "20.2", handwritten: "17.1", tfjsWasm: "103", torchF64: "14.0", torchF32: "5.9" },
  mlp: { generated: "2.82", handwritten: "2.90", tfjsWasm: "6.15", torchF64: "0.52", torchF32: "0.28" },
  cnn: { generated: "0.122", handwritten: "0.089", tfjsWasm: "0.76", torchF64: "0.122", torchF32: "0.108" },
  rnn: { generated: "0.71", handwritten: "0.57", tfjsWasm: "6.6", torchF64: "1.25", torchF32: "1.07" },
};

/** Three significant figures, never in exponent notation: 20.24 → "20.2", 0.1219 → "0.122", 1234.5 → "1235". */
export function formatMs(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (x === 0) return "0";
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  const s = x.toFixed(digits);
  // toFixed can round up into the next decade (99.96 → "100.0"): keep three figures.
  return Math.abs(Number(s)) >= 10 ** (3 - digits) && digits > 0 ? x.toFixed(digits - 1) : s;
}

/** "new (old)"; a missing new figure reads "– reason". */
function cellText(cell: Cell | undefined, old: string | undefined): string {
  const now = cell === undefined ? "not run" : "median" in cell ? formatMs(cell.median) : `– ${cell.missing}`;
  return `${now} (${old ?? "–"})`;
}

const median = (cell: Cell | undefined): number | undefined =>
  cell !== undefined && "median" in cell ? cell.median : undefined;

function ratioText(a: number | undefined, b: number | undefined): string | undefined {
  return a === undefined || b === undefined || !(b > 0) ? undefined : formatMs(a / b);
}

/** Escapes what would break a markdown table cell. */
const escapeCell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * Issue 11's table as markdown, one line per row: for each row and column "new (old)", then
 * the ratio columns, also "new (old)" (old computed from the baseline's figures). Workloads
 * absent from `results` read "not run".
 */
export function formatTable(
  results: Readonly<Record<string, RowResults>>,
  options: {
    rows?: readonly TableRow[];
    columns?: readonly TableColumn[];
    ratios?: readonly TableRatio[];
    baseline?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  } = {},
): string {
  const rows = options.rows ?? TABLE_ROWS;
  const columns = options.columns ?? TABLE_COLUMNS;
  const ratios = options.ratios ?? TABLE_RATIOS;
  const baseline = options.baseline ?? ISSUE_11_BASELINE_2026_11_30;
  const titles = ["workload", ...columns.map((c) => c.title), ...ratios.map((r) => r.title)];
  const lines = [`| ${titles.join(" | ")} |`, `|${titles.map(() => "---").join("|")}|`];
  for (const row of rows) {
    const now = results[row.workload];
    const old = baseline[row.workload] ?? {};
    const oldMs = (key: string) => (old[key] === undefined ? undefined : Number(old[key]));
    const cells = [row.label];
    for (const c of columns) cells.push(cellText(now?.[c.key], old[c.key]));
    for (const r of ratios) {
      const a = ratioText(median(now?.[r.numerator]), median(now?.[r.denominator]));
      const b = ratioText(oldMs(r.numerator), oldMs(r.denominator));
      cells.push(`${a ?? "–"} (${b ?? "–"})`);
    }
    lines.push(`| ${cells.map(escapeCell).join(" | ")} |`);
  }
  return lines.join("\n");
}
