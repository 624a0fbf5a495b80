import type { Cause, ItemCheck, LectureReport } from "./check.js";

const list = (values: ArrayLike<number>, format: (v: number, i: number) => string) => {
  const cells = Array.from(values, format);
  return cells.length === 1 ? cells[0]! : `[${cells.join(", ")}]`;
};

function cause(c: Cause, check: ItemCheck): string {
  switch (c.kind) {
    case "truncated":
      return "digits cut off instead of rounded";
    case "sign":
      return "wrong sign";
    case "factor":
      return `${c.factor >= 1 ? Math.round(c.factor) : `1/${Math.round(1 / c.factor)}`} times the correct value`;
    case "operand":
      return check.verdict === "formula-differs"
        ? `the formula has ${c.wrote} where ${c.meant} belongs`
        : c.wrote === "1"
          ? `the factor ${c.meant} is left out`
          : `computed with ${c.wrote} where ${c.meant} belongs${c.rounded ? `, from its own rounded ${c.rounded.join(", ")}` : ""}`;
    case "rounded":
      return `recomputed from the lecture's own rounded ${c.from.join(", ")}${c.truncated ? " and truncated" : ""}`;
    case "follows":
      return `follows from the lecture's ${c.from} above`;
    case "zero":
      return "printed as 0, but the value is not 0";
    case "last-digit":
      return "off in the last digit: rounded intermediates";
    case "missing":
      return `${c.printed} of ${c.total} entries printed; missing ${c.left.map((i) => entryName(check.correct.shape, i)).join(", ")}`;
    case "other":
      return `the printed numbers are ${c.label.replace(/^d\/d/, "the gradient of ")}`;
    case "entries":
      return `entr${c.at.length === 1 ? "y" : "ies"} ${c.at.map((i) => entryName(check.correct.shape, i)).join(", ")}: ${c.cause === "truncated" ? "truncated" : c.cause === "last-digit" ? "off in the last digit" : c.cause === "sign" ? "wrong sign" : "no single slip found"}`;
  }
}

/** A 1-based row-major entry number as (row, column), counted from 1. */
export function entryName(shape: readonly number[], flat: number): string {
  const idx: number[] = [];
  let r = flat - 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    idx.unshift((r % shape[k]!) + 1);
    r = Math.floor(r / shape[k]!);
  }
  return `(${idx.join(",")})`;
}

/** The lecture check as `nabla check` prints it: one line per printed quantity, located. */
export function describeLecture(file: string, report: LectureReport): string {
  const lines: string[] = [];
  const checked = report.items.filter((c) => c.verdict !== "defined");
  for (const c of checked) {
    const at = `${file}:${c.item.span.line}:${c.item.span.column}`;
    const name = `${c.item.label}${c.item.after > 0 ? ` after step ${c.item.after}` : ""}`;
    const correct = list(c.correct.data, (v) => String(Number(v.toPrecision(6))));
    const p = c.item.printed;
    const formula = c.formulaValue ? list(c.formulaValue.data, (v) => String(Number(v.toPrecision(6)))) : "";
    const printed = p
      ? list(p.values, (v, i) => v.toFixed(p.decimals[i]!))
      : `its formula ${c.item.formula?.text ?? ""}`;
    const why = c.causes.map((x) => cause(x, c)).join("; ");
    switch (c.verdict) {
      case "agrees":
      case "formula-agrees":
        lines.push(`${at}: ok     ${name} = ${printed}`);
        break;
      case "negligible":
        lines.push(`${at}: ~0     ${name} = 0 is ${correct}: negligible, but not zero`);
        break;
      case "formula-differs":
        lines.push(
          `${at}: WRONG  ${name}: the lecture's formula ${c.item.formula?.text ?? ""} gives ${formula}, correct is ${correct}${why ? ` (${why})` : ""}`,
        );
        break;
      default:
        lines.push(
          `${at}: WRONG  ${name}: the lecture prints ${printed}, correct is ${correct}${why ? ` (${why})` : ""}`,
        );
    }
  }
  const numbers = checked.filter((c) => c.item.printed);
  const formulas = checked.filter((c) => !c.item.printed);
  const count = (list: readonly ItemCheck[], what: string) => {
    const wrong = list.filter((c) => c.verdict === "differs" || c.verdict === "formula-differs").length;
    if (wrong > 0)
      return `${wrong} of the ${list.length} ${what}s the lecture prints ${wrong === 1 ? "is" : "are"} wrong`;
    if (list.length === 1) return `the ${what} the lecture prints is right`;
    return `${list.length === 2 ? "both" : `all ${list.length}`} ${what}s the lecture prints are right`;
  };
  const parts = [
    numbers.length > 0 ? count(numbers, "number") : "",
    formulas.length > 0 ? count(formulas, "formula") : "",
  ];
  lines.push(`${file}: ${parts.filter((p) => p !== "").join("; ")}`);
  return lines.join("\n");
}
