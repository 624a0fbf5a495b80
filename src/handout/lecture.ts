import type { LectureItem } from "../ir/types.js";
import type { Tensor } from "../ir/tensor.js";
import { latexName, parseLatexName } from "../syntax/latexName.js";
import type { Cause, ItemCheck, LectureReport } from "../lecture/check.js";
import { entryName } from "../lecture/describe.js";
import type { Block, Inline } from "./document.js";
import { heading, math, para, prose, text } from "./document.js";
import type { HandoutContext } from "./context.js";
import { formatNumber, tensorLatex } from "./numbers.js";
import { breakRows } from "./width.js";
import { partial } from "./derivation.js";
import { withSubscript } from "./recurrence.js";

const FUNCTIONS: Record<string, string> = {
  sigmoid: "\\sigma",
  softmax: "\\operatorname{softmax}",
  tanh: "\\tanh",
  relu: "\\operatorname{ReLU}",
  cross_entropy: "\\operatorname{CE}",
  bce: "\\operatorname{BCE}",
  mse: "\\operatorname{MSE}",
};

/** A name of the model (or a step of a sequence, a dim product, a function) as the handout writes it. */
export function nameLatex(ctx: HandoutContext, name: string): string {
  if (FUNCTIONS[name]) return FUNCTIONS[name]!;
  const defined = ctx.graph.lecture?.items.find((i) => i.name === name && i.latex !== undefined);
  if (defined) return defined.latex!;
  if (name.includes("*"))
    return name
      .split("*")
      .map((n) => nameLatex(ctx, n))
      .join("\\,");
  const named = ctx.graph.named.find((n) => n.name === name);
  if (named) return ctx.symbol(named.node) ?? latexName(name, named.latex);
  const step = /^(.*)_(\d+)$/.exec(name);
  if (step) {
    const base = ctx.graph.named.find((n) => n.name === step[1]);
    if (base) return withSubscript(latexName(base.name, base.latex), step[2]!);
  }
  return latexName(name);
}

/** The quantity an item is about: ∂L/∂W_hz, h_1, (∂L/∂k)_{2,2}; `inline` writes ∂L/∂W with a slash. */
export function quantityLatex(ctx: HandoutContext, item: LectureItem, inline = false): string {
  const x = nameLatex(ctx, item.name);
  let q =
    item.quantity.kind === "gradient"
      ? inline
        ? `\\partial ${ctx.lossSymbol}/\\partial ${x}`
        : partial(ctx.lossSymbol, x)
      : x;
  if (item.entry) q = `\\left(${q}\\right)_{${item.entry.join(",")}}`;
  return q;
}

/** "after step k" for a value the lecture prints after some steps of gradient descent. */
const afterText = (item: LectureItem) => (item.after > 0 ? ` after step ${item.after}` : "");

/** Numbers as the lecture printed them (its digits), a vector or matrix on one line. */
function printedCells(item: LectureItem): string[] {
  const p = item.printed!;
  return p.values.map((v, i) => v.toFixed(p.decimals[i]!));
}

function correctCells(check: ItemCheck): string[] {
  const p = check.item.printed;
  const digits = (i: number) => Math.max(4, (p?.decimals[i] ?? 2) + 2);
  return Array.from(check.correct.data, (v, i) => formatNumber(v, digits(i)));
}

const printedLatex = (item: LectureItem) => compact(printedCells(item), item.printed!.shape);
const correctLatex = (check: ItemCheck) => compact(correctCells(check), check.correct.shape);

/** A table cell: a number, or a small matrix (a vector as a column) so that the table stays narrow. */
function cellLatex(cells: readonly string[], shape: readonly number[]): string {
  if (cells.length === 1) return cells[0]!;
  const cols = shape.length >= 2 ? shape[shape.length - 1]! : 1;
  const rows: string[] = [];
  for (let r = 0; r < cells.length; r += cols) rows.push(cells.slice(r, r + cols).join(" & "));
  return `\\begin{pmatrix} ${rows.join(" \\\\ ")} \\end{pmatrix}`;
}

/** (a, b, c) for a vector, rows separated by semicolons for a matrix; long ones cut with …. */
function compact(cells: readonly string[], shape: readonly number[]): string {
  const limit = 6;
  const shown = cells.length > limit ? [...cells.slice(0, limit - 1), "\\dots"] : [...cells];
  if (cells.length === 1) return shown[0]!;
  const cols = shape[shape.length - 1] ?? cells.length;
  if (shape.length >= 2 && cols > 1 && cells.length <= limit) {
    const rows: string[] = [];
    for (let r = 0; r < cells.length; r += cols) rows.push(shown.slice(r, r + cols).join(",\\allowbreak "));
    return `(${rows.join(";\\ ")})`;
  }
  return `(${shown.join(",\\allowbreak ")})`;
}

const VERDICT: Record<ItemCheck["verdict"], string> = {
  agrees: "\\checkmark",
  negligible: "\\approx",
  differs: "\\times",
  "formula-agrees": "\\checkmark",
  "formula-differs": "\\times",
  defined: "",
};

/** Why a printed value is wrong, in words, as far as the checker found it. */
function causeProse(ctx: HandoutContext, check: ItemCheck, cause: Cause): Inline[] {
  switch (cause.kind) {
    case "truncated":
      return prose("the digits are cut off instead of rounded (truncation).");
    case "sign":
      return prose("the sign is wrong.");
    case "factor":
      return prose(`the printed values are $${formatFactor(cause.factor)}$ times the correct ones.`);
    case "operand":
      if (cause.wrote === "1")
        return prose(
          `the factor $${nameLatex(ctx, cause.meant)}$ is left out: without it the printed numbers come out.`,
        );
      return check.verdict === "formula-differs"
        ? prose(
            `the formula has $${nameLatex(ctx, cause.wrote)}$ where $${nameLatex(ctx, cause.meant)}$ belongs; with $${nameLatex(ctx, cause.meant)}$ it is correct.`,
          )
        : prose(
            `the lecture computed it with $${nameLatex(ctx, cause.wrote)}$ where $${nameLatex(ctx, cause.meant)}$ belongs${cause.rounded ? `, from its own rounded ${cause.rounded.map((r) => `$${nameLatex(ctx, r)}$`).join(", ")}` : ""}; that reproduces every printed number.`,
          );
    case "rounded":
      return prose(
        `recomputed from the lecture's own rounded ${cause.from.map((f) => `$${nameLatex(ctx, f)}$`).join(", ")}, it is what the lecture prints${cause.truncated ? " once truncated" : ""}: the lecture carried rounded intermediate values.`,
      );
    case "follows":
      return check.item.quantity.kind === "gradient"
        ? prose(
            `it carries on the lecture's own $${labelQuantity(ctx, cause.from)} = 0$ above: nothing flows back from a 0.`,
          )
        : prose("it is the update made with the lecture's own wrong gradient above.");
    case "zero":
      return prose("the lecture says it is 0, but it is not: gradient does flow here.");
    case "last-digit":
      return prose(
        "it differs by a few units in the last digit printed: intermediate values were rounded (or truncated) along the way.",
      );
    case "missing":
      return prose(
        `the lecture prints ${cause.printed} of its ${cause.total} entries, leaving out ${cause.left.map((i) => `$${entryName(check.correct.shape, i)}$`).join(", ")}.`,
      );
    case "other":
      return prose(
        `the printed numbers are $${partial(ctx.lossSymbol, nameLatex(ctx, cause.label.replace(/^d\/d/, "")))}$, another quantity's.`,
      );
    case "entries":
      return prose(
        `${cause.at.length === 1 ? "the entry" : "the entries"} ${cause.at.map((i) => `$${entryName(check.correct.shape, i)}$`).join(", ")} ${cause.at.length === 1 ? "is" : "are"} ${cause.cause === "truncated" ? "truncated instead of rounded" : cause.cause === "last-digit" ? "off by a few units in the last digit (rounded intermediates)" : cause.cause === "sign" ? "printed with the wrong sign" : `wrong with no single slip that explains ${cause.at.length === 1 ? "it" : "them"}`}.`,
      );
  }
}

function formatFactor(f: number): string {
  return f >= 1 ? String(Math.round(f)) : `\\tfrac{1}{${Math.round(1 / f)}}`;
}

/** A remark under a derivation step: the lecture's printed value beside the correct one, and the likely slip. */
export function slipNote(ctx: HandoutContext, check: ItemCheck): Block {
  const q = quantityLatex(ctx, check.item);
  const after = afterText(check.item);
  const body: Inline[] = [];
  if (check.verdict === "formula-differs") {
    const formula = ctx.lectureFormulas().definition(check.item.formula!.node);
    body.push(
      ...prose(
        `The lecture writes $${q} = ${formula}$${after}, which gives $${tensorCompact(check.formulaValue!)}$; the correct value is $${tensorCompact(check.correct)}$. `,
      ),
    );
  } else if (check.verdict === "negligible") {
    body.push(
      ...prose(
        `The lecture prints $${q} = 0$; it is $${correctLatex(check)}$: negligible at the digits printed, but not zero.`,
      ),
    );
  } else {
    body.push(
      ...prose(
        `The lecture prints $${q} = ${printedLatex(check.item)}$; the correct value is $${correctLatex(check)}$. `,
      ),
    );
  }
  if (check.causes.length > 0 && check.verdict !== "negligible") {
    body.push(text("Likely cause: "));
    check.causes.forEach((c, i) =>
      body.push(...(i > 0 ? [text(" Also, ")] : []), ...causeProse(ctx, check, c)),
    );
  } else if (check.verdict === "differs" || check.verdict === "formula-differs")
    body.push(text("The checker found no single slip that explains it."));
  if (check.item.note) body.push(text(` The lecture: \u201c${check.item.note}\u201d.`));
  return {
    kind: "note",
    tone: check.verdict === "negligible" ? "convention" : "slip",
    title: [text(check.verdict === "negligible" ? "The lecture rounds to 0" : "Where the lecture is wrong")],
    body: [para(...body)],
  };
}

function tensorCompact(t: Tensor): string {
  return compact(
    Array.from(t.data, (v) => formatNumber(v)),
    t.shape,
  );
}

/** The lecture's numbers, each beside the correct one, and every slip explained. */
export function lectureSection(
  ctx: HandoutContext,
  report: LectureReport,
  placed: ReadonlySet<ItemCheck>,
): Block[] {
  const blocks: Block[] = [heading(1, text("The lecture's numbers, checked"))];
  const checked = report.items.filter((c) => c.verdict !== "defined");
  const numbers = checked.filter((c) => c.item.printed);
  const formulas = checked.filter((c) => !c.item.printed);
  const wrongNumbers = numbers.filter((c) => c.verdict === "differs").length;
  const wrongFormulas = formulas.filter((c) => c.verdict === "formula-differs").length;
  const negligible = numbers.filter((c) => c.verdict === "negligible").length;
  const count = (n: number, of: number, what: string) =>
    n > 0
      ? n === of && of === 2
        ? `both ${what}s are wrong`
        : `${n} of the ${of} ${what}s ${n === 1 ? "is" : "are"} wrong`
      : of === 1
        ? `the ${what} is right`
        : `${of === 2 ? "both" : `all ${of}`} ${what}s are right`;
  const capitalize = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);
  const summary = [
    numbers.length > 0 ? count(wrongNumbers, numbers.length, "printed number") : undefined,
    formulas.length > 0 ? count(wrongFormulas, formulas.length, "formula") : undefined,
  ].filter((x) => x !== undefined);
  blocks.push(
    para(
      ...prose(
        `${report.source ? `The lecture (${report.source})` : "The lecture"} prints the ${formulas.length > 0 ? "numbers and formulas" : "numbers"} below. Each number is compared with the correct value to the digits the lecture prints (a value printed with 3 decimals must be within $0.0005$ of it; a bare 0 claims the value is zero)${formulas.length > 0 ? ", each formula with the correct quantity" : ""}. ${capitalize(summary.join("; "))}${negligible > 0 ? `; ${negligible} printed as 0 ${negligible === 1 ? "is" : "are"} tiny but not zero ($\\approx$)` : ""}.${wrongNumbers + wrongFormulas > 0 ? " Each wrong one ($\\times$) is explained where the handout derives it." : ""}`,
      ),
    ),
  );
  // What the lecture defines in its own names, with the correct values, so that each can be recomputed.
  const defined = report.items.filter((c) => c.verdict === "defined");
  if (defined.length > 0) {
    const f = ctx.lectureFormulas();
    blocks.push(para(text("The lecture's own quantities, as it defines them, with their correct values:")), {
      kind: "equations",
      rows: breakRows(
        defined.map((c) => ({
          lhs: nameLatex(ctx, c.item.name),
          rhs: `${f.definition(c.item.formula!.node)} = ${tensorLatex(c.correct, ctx.digits)}`,
        })),
      ),
    });
  }
  // The "after step" column only when the lecture prints values after some steps.
  const steps = checked.some((c) => c.item.after > 0);
  blocks.push({
    kind: "table",
    columns: steps ? ["l", "c", "l", "l", "c"] : ["l", "l", "l", "c"],
    header: [
      [text("quantity")],
      ...(steps ? [[text("after step")]] : []),
      [text("the lecture prints")],
      [text("correct")],
      [text("")],
    ],
    rows: checked.map((c) => [
      [math(quantityLatex(ctx, c.item, true))],
      ...(steps ? [[text(c.item.after > 0 ? String(c.item.after) : "")]] : []),
      [
        math(
          c.item.printed
            ? cellLatex(printedCells(c.item), c.item.printed.shape)
            : ctx.lectureFormulas().definition(c.item.formula!.node),
        ),
      ],
      [math(cellLatex(correctCells(c), c.correct.shape))],
      [math(VERDICT[c.verdict])],
    ]),
  });
  for (const c of checked)
    if (
      (c.verdict === "differs" || c.verdict === "formula-differs" || c.verdict === "negligible") &&
      !placed.has(c)
    )
      blocks.push(slipNote(ctx, c));
  return blocks;
}

/** What the model's lecture block says in words: reconstructed values, assumptions, conventions. */
export function remarks(ctx: HandoutContext): Block[] {
  const lecture = ctx.graph.lecture;
  if (!lecture || lecture.remarks.length === 0) return [];
  return [
    {
      kind: "note",
      tone: "convention",
      title: [text(lecture.source ? `About the lecture (${lecture.source})` : "About the lecture")],
      body: lecture.remarks.map((r) => para(...remarkInlines(r))),
    },
  ];
}

/** A remark's text, with $…$ spans as maths when they are safe LaTeX (the names' rules) and as text otherwise. */
function remarkInlines(remark: string): Inline[] {
  return remark.split("$").map((part, i) => {
    if (i % 2 === 0) return text(part);
    const parsed = parseLatexName(part);
    return "latex" in parsed ? math(parsed.latex) : text(`$${part}$`);
  });
}

/** A lecture item's label (dL/dh_3) as LaTeX. */
function labelQuantity(ctx: HandoutContext, label: string): string {
  const item = ctx.graph.lecture?.items.find((i) => i.label === label);
  return item ? quantityLatex(ctx, item, true) : label;
}
