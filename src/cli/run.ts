import { runCompiled, type RunOutput } from "../run.js";
import type { Graph } from "../ir/types.js";
import { gradientCheck, GRADCHECK_TOLERANCE, type ParamCheck } from "../gradcheck.js";
import { readSource, compileFile, readValues, asValuesProblem, type ModuleChoice } from "./files.js";

/* nabla run and nabla gradcheck: the generated module run on the example values (or a values file). */

function formatValue(value: unknown, indent: string): string {
  if (typeof value === "number") return formatNumber(value);
  const rows = value as unknown[];
  if (rows.every((r) => typeof r === "number"))
    return `[${rows.map((r) => formatNumber(r as number)).join(", ")}]`;
  return `[\n${rows.map((r) => `${indent}  ${formatValue(r, `${indent}  `)}`).join(",\n")}\n${indent}]`;
}

const formatNumber = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString());

function printTable(output: RunOutput): void {
  const lines = [`loss = ${formatNumber(output.loss)}`, "", "values:"];
  for (const [name, v] of Object.entries(output.values)) lines.push(`  ${name} = ${formatValue(v, "  ")}`);
  lines.push("", "gradients:");
  for (const [name, v] of Object.entries(output.gradients))
    lines.push(`  d loss / d ${name} = ${formatValue(v, "  ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

export async function commandRun(
  file: string,
  valuesFile: string | undefined,
  json: boolean,
  target: ModuleChoice = { target: "js" },
): Promise<number> {
  const values = readValues(valuesFile);
  const compiled = await compileFile(file, readSource(file), false, target);
  if (!compiled) return 1;
  let output: RunOutput;
  try {
    output = await runCompiled(compiled.graph, compiled.module.javascript, values);
  } catch (error) {
    throw asValuesProblem(error, valuesFile ?? file);
  }
  // JSON has no Infinity or NaN: they are written as the strings "Infinity", "-Infinity" and "NaN", not as null.
  if (json)
    process.stdout.write(
      `${JSON.stringify(output, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))}\n`,
    );
  else printTable(output);
  const problem = nonFinite(compiled.graph, output);
  if (problem) process.stderr.write(`nabla: warning: ${problem}\n`);
  return 0;
}

export async function commandGradcheck(file: string, valuesFile: string | undefined): Promise<number> {
  const values = readValues(valuesFile);
  const compiled = await compileFile(file, readSource(file));
  if (!compiled) return 1;
  let checks: ParamCheck[];
  try {
    checks = await gradientCheck(compiled.graph, compiled.module.javascript, values);
  } catch (error) {
    throw asValuesProblem(error, valuesFile ?? file);
  }
  const width = Math.max(5, ...checks.map((c) => c.name.length));
  const rows = checks.map(
    (c) =>
      `  ${c.name.padEnd(width)}  ${String(c.entries).padStart(7)}  ${c.absolute.toExponential(1).padStart(9)}  ${c.relative.toExponential(1).padStart(9)}  ${c.ok ? "ok" : "DIFFERS"}`,
  );
  const wrong = checks.filter((c) => !c.ok);
  process.stdout.write(
    `${file}: the generated gradient against central differences (h = 1e-6·max(1, |θ|)), tolerance ${GRADCHECK_TOLERANCE.toExponential(0)} relative\n  ${"param".padEnd(width)}  ${"entries".padStart(7)}  ${"max |Δ|".padStart(9)}  ${"relative".padStart(9)}\n${rows.join("\n")}\n${
      wrong.length === 0
        ? "every gradient agrees"
        : `${wrong.map((c) => c.name).join(", ")} ${wrong.length === 1 ? "differs" : "differ"} (near a kink — relu at 0, a tie in a max — the difference quotient can disagree by design)`
    }\n`,
  );
  return wrong.length === 0 ? 0 : 4;
}

/** Where the forward pass first stops being finite, for a warning after a run. */
function nonFinite(graph: Graph, output: RunOutput): string | undefined {
  const finite = (v: unknown): boolean => (Array.isArray(v) ? v.every(finite) : Number.isFinite(v as number));
  const badGradients = Object.entries(output.gradients)
    .filter(([, g]) => !finite(g))
    .map(([name]) => name);
  if (Number.isFinite(output.loss) && badGradients.length === 0) return undefined;
  const first = graph.named.find(
    (n) => (n.kind === "equation" || n.kind === "loss") && !finite(output.values[n.name]),
  );
  const what = Number.isFinite(output.loss)
    ? `the gradient of ${badGradients.map((n) => `'${n}'`).join(", ")} is not finite`
    : `the loss is ${output.loss}`;
  return `${what}${first ? `; the first value that is not finite is '${first.name}' (line ${first.span.line})` : ""}`;
}
