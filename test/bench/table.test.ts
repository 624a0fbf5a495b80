import { describe, it, expect } from "vitest";

import {
  formatMs,
  formatTable,
  ISSUE_11_BASELINE_2026_11_30,
  TABLE_COLUMNS,
  TABLE_RATIOS,
  TABLE_ROWS,
  type RowResults,
} from "../../bench/table.js";
import { cnnWorkload } from "../../bench/workloads/cnn.js";
import { mlpWorkload } from "../../bench/workloads/mlp.js";
import { rnnLargeWorkload, rnnWorkload } from "../../bench/workloads/rnn.js";

/** The cells of a markdown table line, trimmed. */
const cells = (line: string) =>
  line
    .replace(/^\|\s*/, "")
    .replace(/\s*\|$/, "")
    .split(/\s+\|\s+/);

describe("bench summary table", () => {
  it("formats milliseconds to three significant figures, never in exponent notation", () => {
    expect(formatMs(20.24)).toBe("20.2");
    expect(formatMs(0.12191)).toBe("0.122");
    expect(formatMs(103.4)).toBe("103");
    expect(formatMs(5.9)).toBe("5.90");
    expect(formatMs(0.000123456)).toBe("0.000123");
    expect(formatMs(1234.4)).toBe("1234");
    // rounding into the next decade keeps three figures
    expect(formatMs(99.96)).toBe("100");
    expect(formatMs(0.99996)).toBe("1.00");
    expect(formatMs(9.9996)).toBe("10.0");
    expect(formatMs(0)).toBe("0");
  });

  it("prints each cell as new (old), a reason where there is no figure, and the ratios of both", () => {
    const results: Record<string, RowResults> = {
      a: { x: { median: 3 }, y: { median: 2 } },
      b: { x: { median: 0.5 }, y: { missing: "no conv2d filter gradient" } },
    };
    const table = formatTable(results, {
      rows: [
        { workload: "a", label: "Row A" },
        { workload: "b", label: "Row B" },
        { workload: "c", label: "Row C" },
      ],
      columns: [
        { key: "x", title: "X" },
        { key: "y", title: "Y" },
      ],
      ratios: [{ title: "X / Y", numerator: "x", denominator: "y" }],
      baseline: { a: { x: "10", y: "4" }, b: { x: "0.25" } },
    });
    const lines = table.split("\n");
    expect(lines).toHaveLength(5);
    expect(cells(lines[0]!)).toEqual(["workload", "X", "Y", "X / Y"]);
    expect(lines[1]).toBe("|---|---|---|---|");
    expect(cells(lines[2]!)).toEqual(["Row A", "3.00 (10)", "2.00 (4)", "1.50 (2.50)"]);
    expect(cells(lines[3]!)).toEqual(["Row B", "0.500 (0.25)", "– no conv2d filter gradient (–)", "– (–)"]);
    expect(cells(lines[4]!)).toEqual(["Row C", "not run (–)", "not run (–)", "– (–)"]);
  });

  it("has the nabla wasm column, with no old figure", () => {
    const table = formatTable({ mlp: { generated: { median: 2 }, nablaWasm: { median: 1.234 } } });
    const [header, , , mlp] = table.split("\n");
    expect(cells(header!).slice(0, 3)).toEqual(["workload", "nabla", "nabla wasm"]);
    expect(cells(mlp!).slice(0, 3)).toEqual(["MLP 784-128-10 b32", "2.00 (2.82)", "1.23 (–)"]);
  });

  it("escapes a | in a reason so the row keeps its columns", () => {
    const table = formatTable(
      { a: { x: { missing: "a | b" } } },
      {
        rows: [{ workload: "a", label: "A" }],
        columns: [{ key: "x", title: "X" }],
        ratios: [],
        baseline: {},
      },
    );
    expect(table.split("\n")[2]).toBe("| A | – a \\| b (–) |");
  });

  it("has issue 11's rows and columns, every row a bench workload with an old figure in every column", () => {
    const names = [rnnLargeWorkload, mlpWorkload, cnnWorkload, rnnWorkload].map((w) => w.name);
    expect(TABLE_ROWS.map((r) => r.workload)).toEqual(["rnn-large", "mlp", "cnn", "rnn"]);
    for (const row of TABLE_ROWS) {
      expect(names).toContain(row.workload);
      // Every column but nabla wasm's, which the issue's table did not have.
      for (const c of TABLE_COLUMNS.filter((c) => c.key !== "nablaWasm"))
        expect(Number(ISSUE_11_BASELINE_2026_11_30[row.workload]![c.key])).toBeGreaterThan(0);
    }
    expect(TABLE_COLUMNS.map((c) => c.title)).toEqual([
      "nabla",
      "nabla wasm",
      "best hand-written JS",
      "TF.js wasm",
      "PyTorch f64",
      "PyTorch f32",
    ]);
    const keys = new Set(TABLE_COLUMNS.map((c) => c.key));
    for (const r of TABLE_RATIOS) {
      expect(keys).toContain(r.numerator);
      expect(keys).toContain(r.denominator);
    }
  });

  it("computes the old ratios from the baseline's figures", () => {
    // issue 11: RNN L nabla 20.2, hand-written 17.1, TF.js wasm 103 → 1.18 and 5.10
    const line = formatTable({}).split("\n")[2]!;
    // The ratios are the last cells; those against nabla wasm have no old figure.
    expect(cells(line).slice(-TABLE_RATIOS.length)).toEqual(["– (1.18)", "– (5.10)", "– (–)", "– (–)"]);
  });
});
