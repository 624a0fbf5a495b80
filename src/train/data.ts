import { CsvError, parse } from "csv-parse/sync";
import type { Graph, NamedValue } from "../ir/types.js";
import type { Tensor } from "../ir/tensor.js";
import { fromNested, ValuesError } from "../run.js";
import { closestName } from "../syntax/names.js";

/** A data file that cannot be used: the message starts with the file (and line, for a CSV row). */
export class DataError extends Error {}

/** The inputs and targets the data gives, each with the batch dim as its first axis. */
export interface Batched {
  /** The dim declared without a size that is the first axis of every input and target the data gives. */
  readonly batchDim: string;
  /** The inputs and targets read from the data file, in declaration order. */
  readonly names: readonly string[];
}

/** A data set: one tensor per batched input or target, all with the same number of rows. */
export interface DataSet {
  readonly rows: number;
  readonly tensors: ReadonlyMap<string, Tensor>;
}

/**
 * The batch dim of a model: a dim declared without a size (`dim N`) that is the first axis of
 * every input and target; a model without one cannot be trained on a data set.
 */
export function batchedInputs(graph: Graph): Batched {
  const data = graph.named.filter((n) => n.kind === "input" || n.kind === "target");
  const first = (n: NamedValue) => graph.nodes[n.node]!.shape[0];
  const candidates = new Set(
    data.map(first).filter((d): d is string => typeof d === "string" && graph.dims.get(d) === undefined),
  );
  const batchDim = [...candidates].find((d) => data.every((n) => first(n) === d));
  if (data.length === 0 || batchDim === undefined)
    throw new DataError(
      `${graph.modelName} has no batch dim: training on a data set needs a dim declared without a size (dim N) as the first axis of every input and target (input X: [N, D], target y: [N] int)`,
    );
  return { batchDim, names: data.map((n) => n.name) };
}

/** The declared sizes of a value's axes after the batch axis: numbers, or a dim bound at run time. */
function rowShape(graph: Graph, name: string): readonly (number | string)[] {
  const n = graph.named.find((v) => v.name === name)!;
  return graph.nodes[n.node]!.shape.slice(1).map((d) =>
    typeof d === "number" ? d : (graph.dims.get(d) ?? d),
  );
}

const isInteger = (graph: Graph, name: string) => {
  const n = graph.named.find((v) => v.name === name)!;
  const node = graph.nodes[n.node]!;
  return node.kind === "input" && node.integer === true;
};

/**
 * The CSV columns of a batched input: one column per entry of a row, named by the input and
 * the entry's position counted from 1 (`X_1`, `X_2` for X: [N, 2]; `X_1_2` for the second
 * entry of the first row of X: [N, 2, 3]), or the bare name for an input with one entry per row.
 */
export function csvColumns(graph: Graph, name: string): string[] {
  const shape = rowShape(graph, name);
  const unsized = shape.find((d) => typeof d === "string");
  if (unsized !== undefined)
    throw new DataError(
      `'${name}' has the dim ${unsized} without a size after its batch axis: a CSV row has a fixed number of columns, give the data as JSON`,
    );
  let names = [name];
  for (const size of shape as number[]) {
    const next: string[] = [];
    for (const prefix of names) for (let i = 1; i <= size; i++) next.push(`${prefix}_${i}`);
    names = next;
  }
  return names;
}

/** Reads a data set from a .csv or .json file's text. */
export function readData(graph: Graph, batched: Batched, file: string, text: string): DataSet {
  return /\.csv$/i.test(file) ? readCsv(graph, batched, file, text) : readJson(graph, batched, file, text);
}

function readJson(graph: Graph, batched: Batched, file: string, text: string): DataSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new DataError(
      `${file}: expected an object with one array of rows per input and target: ${batched.names.map((n) => `"${n}"`).join(", ")}`,
    );
  const given = parsed as Record<string, unknown>;
  for (const key of Object.keys(given))
    if (!batched.names.includes(key)) {
      const close = closestName(key, batched.names);
      throw new DataError(
        `${file}: '${key}' is not an input or target of ${graph.modelName}${close ? `; did you mean '${close}'?` : ""} (the data gives ${batched.names.join(", ")})`,
      );
    }
  const tensors = new Map<string, Tensor>();
  let rows: number | undefined;
  let rowsFrom = "";
  for (const name of batched.names) {
    if (!Object.hasOwn(given, name))
      throw new DataError(
        `${file}: no rows for '${name}' (the data gives every input and target: ${batched.names.join(", ")})`,
      );
    let t: Tensor;
    try {
      t = fromNested(given[name], name);
    } catch (error) {
      if (error instanceof ValuesError) throw new DataError(`${file}: ${error.message}`);
      throw error;
    }
    const expected = rowShape(graph, name);
    if (
      t.shape.length !== expected.length + 1 ||
      expected.some((d, i) => typeof d === "number" && d !== t.shape[i + 1])
    )
      throw new DataError(
        `${file}: '${name}' has shape [${t.shape.join(", ")}], but a row of it is [${expected.join(", ")}] (the model declares ${name}: [${batched.batchDim}${expected.map((d) => `, ${d}`).join("")}])`,
      );
    checkIntegers(graph, name, t.data, () => `${file}: '${name}'`);
    if (rows === undefined) {
      rows = t.shape[0]!;
      rowsFrom = name;
    } else if (t.shape[0] !== rows)
      throw new DataError(`${file}: '${name}' has ${t.shape[0]} rows but '${rowsFrom}' has ${rows}`);
    tensors.set(name, t);
  }
  if (!rows) throw new DataError(`${file}: no rows`);
  return { rows, tensors };
}

function checkIntegers(graph: Graph, name: string, data: Float64Array, where: () => string): void {
  if (!isInteger(graph, name)) return;
  const bad = data.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0)
    throw new DataError(
      `${where()} is int data (whole numbers from 0), found ${data[bad]} at entry ${bad} of it`,
    );
}

function readCsv(graph: Graph, batched: Batched, file: string, text: string): DataSet {
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(text, {
      comment: "#",
      comment_no_infix: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines;
      const message = error.message
        .replace(
          /^Invalid Record Length: expect (\d+), got (\d+) on line \d+$/,
          "a row of $2 fields where the header has $1",
        )
        .replace(/ at line \d+$| on line \d+$/, "");
      throw new DataError(`${file}${line ? `:${line}` : ""}: ${message}`);
    }
    throw error;
  }
  const records = parsed.map((p) => p.record);
  // The line each record ends on (one line but for a quoted field with a line break in it).
  const lines = parsed.map((p) => p.info.lines);
  const header = records[0];
  if (!header) throw new DataError(`${file}: empty: expected a header row naming the columns`);
  const columns = new Map(batched.names.map((n) => [n, csvColumns(graph, n)]));
  const expected = [...columns.values()].flat();
  const convention = `one column per entry, counted from 1: ${describeColumns(columns)}`;
  for (const h of header)
    if (!expected.includes(h)) {
      const close = closestName(h, expected);
      throw new DataError(
        `${file}:${lines[0] ?? 1}: unknown column '${h}'${close ? `; did you mean '${close}'?` : ""} (${graph.modelName} reads ${convention})`,
      );
    }
  const position = new Map(header.map((h, i) => [h, i]));
  const missing = expected.filter((c) => !position.has(c));
  if (missing.length > 0)
    throw new DataError(
      `${file}:${lines[0] ?? 1}: no column ${missing.map((c) => `'${c}'`).join(", ")} (${graph.modelName} reads ${convention})`,
    );
  const rows = records.length - 1;
  if (rows === 0) throw new DataError(`${file}: a header but no rows`);
  const tensors = new Map<string, Tensor>();
  for (const [name, cols] of columns) {
    const data = new Float64Array(rows * cols.length);
    const at = cols.map((c) => position.get(c)!);
    const integer = isInteger(graph, name);
    for (let r = 0; r < rows; r++) {
      const record = records[r + 1]!;
      for (let c = 0; c < cols.length; c++) {
        const cell = record[at[c]!]!;
        const v = cell === "" ? NaN : Number(cell);
        if (!Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0)))
          throw new DataError(
            `${file}:${lines[r + 1] ?? "?"}: column '${cols[c]}' ${cell === "" ? "is empty" : `is '${cell}'`}, expected ${integer ? "a whole number from 0 (int data)" : "a finite number"}`,
          );
        data[r * cols.length + c] = v;
      }
    }
    const shape = [rows, ...(rowShape(graph, name) as number[])];
    tensors.set(name, { shape, data });
  }
  return { rows, tensors };
}

function describeColumns(columns: ReadonlyMap<string, string[]>): string {
  return [...columns.values()]
    .map((cols) =>
      cols.length <= 3 ? cols.join(", ") : `${cols[0]}, ${cols[1]}, … ${cols[cols.length - 1]}`,
    )
    .join(", ");
}
