/**
 * The generated module, run in the page: made a function from its script form, called on the
 * model's example values, and shown as tables. Everything printed here is set as text, never
 * as HTML, whatever the model names its values.
 */

type Sizes = readonly (number | null)[];
type DimNames = readonly (number | string)[];
type Groups<T> = { params: Record<string, T>; inputs: Record<string, T>; values: Record<string, T> };

interface GeneratedModule {
  shapes: Groups<Sizes>;
  shapeNames: Groups<DimNames>;
  example?: () => { params: Record<string, Float64Array>; inputs: Record<string, Float64Array> };
  forward: (params: object, inputs: object) => { loss: number; values: Record<string, Float64Array> };
  gradient: (params: object, inputs: object) => { loss: number; gradients: Record<string, Float64Array> };
}

export interface Run {
  readonly module: GeneratedModule;
  readonly loss?: number;
  readonly values?: Record<string, Float64Array>;
  readonly gradients?: Record<string, Float64Array>;
  readonly params?: Record<string, Float64Array>;
  readonly inputs?: Record<string, Float64Array>;
  /** Why the module could not run on the example values (a run-time check it made). */
  readonly failure?: string;
}

/** Runs the module's script form (a function body returning its exports) and calls it on the example. */
export function runModule(script: string, runnable: boolean): Run {
  const module = new Function(script)() as GeneratedModule;
  if (!runnable || !module.example) return { module };
  try {
    const { params, inputs } = module.example();
    const forward = module.forward(params, inputs);
    const { gradients } = module.gradient(params, inputs);
    return { module, loss: forward.loss, values: forward.values, gradients, params, inputs };
  } catch (error) {
    return { module, failure: error instanceof Error ? error.message : String(error) };
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e6) return String(Number(x.toPrecision(6)));
  return x.toExponential(4);
}

const SHOWN = 96;

/** A tensor as rows when its last axis is known, else one line; long ones end in "… n more". */
export function formatTensor(data: Float64Array, sizes: Sizes | undefined): string {
  const shown = Array.from(data.subarray(0, SHOWN), formatNumber);
  const last = sizes && sizes.length >= 2 ? sizes[sizes.length - 1] : null;
  const width = Math.max(...shown.map((s) => s.length), 1);
  const rows: string[] = [];
  const per = last && last > 0 ? last : shown.length || 1;
  for (let i = 0; i < shown.length; i += per)
    rows.push(
      shown
        .slice(i, i + per)
        .map((s) => s.padStart(width))
        .join("  "),
    );
  if (data.length > SHOWN) rows.push(`… ${data.length - SHOWN} more`);
  return rows.join("\n");
}

const shapeText = (names: DimNames | undefined, sizes: Sizes | undefined): string => {
  if (!names || names.length === 0) return "scalar";
  const written = `[${names.join(", ")}]`;
  if (!sizes || names.every((n) => typeof n === "number")) return written;
  return `${written} = [${sizes.map((s) => s ?? "?").join(", ")}]`;
};

function table(header: readonly string[], rows: readonly (readonly [string, string][])[]): HTMLTableElement {
  const t = element("table", undefined, "data");
  const head = t.createTHead().insertRow();
  for (const h of header) head.append(element("th", h));
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [text, cls] of row) tr.append(element("td", text, cls));
  }
  return t;
}

export function renderShapes(panel: HTMLElement, module: GeneratedModule): void {
  const rows: [string, string][][] = [];
  const groups = [
    ["params", "param"],
    ["inputs", "input"],
    ["values", "value"],
  ] as const;
  for (const [group, kind] of groups)
    for (const [name, names] of Object.entries(module.shapeNames[group]))
      rows.push([
        [name, "name"],
        [kind, ""],
        [shapeText(names, module.shapes[group][name]), ""],
      ]);
  panel.replaceChildren(table(["name", "kind", "shape"], rows));
}

export function renderRun(panel: HTMLElement, run: Run | undefined, why?: string): void {
  if (!run || run.loss === undefined) {
    const reason = run?.failure
      ? `The module stopped on the example values: ${run.failure}`
      : (why ?? "The model has no example values to run on: add an example block.");
    panel.replaceChildren(element("p", reason, "hint"));
    return;
  }
  const sizes = run.module.shapes;
  const loss = element("p", "loss ", "loss");
  loss.append(element("output", formatNumber(run.loss)));
  const tensors = (record: Record<string, Float64Array>, group: Record<string, Sizes>) =>
    Object.entries(record).map(([name, data]): [string, string][] => [
      [name, "name"],
      [formatTensor(data, group[name]), "numbers"],
    ]);
  panel.replaceChildren(
    loss,
    element("h2", "Gradients at the example values"),
    table(["param", "∂loss/∂param"], tensors(run.gradients!, sizes.params)),
    element("h2", "Values"),
    table(["name", "value"], tensors(run.values!, sizes.values)),
    element("h2", "Example values"),
    table(["name", "value"], [...tensors(run.params!, sizes.params), ...tensors(run.inputs!, sizes.inputs)]),
  );
}
