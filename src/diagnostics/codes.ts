import type { Span } from "./span.js";
import type { Diagnostic } from "./diagnostic.js";

/**
 * The catalogue of diagnostics. Codes are stable: tests and users rely on them.
 * NB1xxx syntax, NB2xxx names and structure, NB3xxx shapes, NB4xxx not supported yet,
 * NB5xxx worked values and training settings.
 */
const make = (code: string, span: Span, message: string, notes?: string[]): Diagnostic =>
  notes && notes.length > 0 ? { code, span, message, notes } : { code, span, message };

export const lexError = (span: Span, text: string) =>
  make("NB1001", span, `unexpected character ${JSON.stringify(text)}`);
export const syntaxError = (span: Span, message: string) => make("NB1002", span, message);
export const tooDeep = (span: Span, limit: number) =>
  make(
    "NB1003",
    span,
    `expression nested more than ${limit} levels deep (brackets, calls and signs); split it into named equations`,
  );
export const tooLong = (span: Span, operands: number, limit: number) =>
  make(
    "NB1004",
    span,
    `expression with ${operands} operands; at most ${limit} in one expression: split it into named equations`,
  );

export const nameTooLong = (span: Span, length: number, limit: number) =>
  make("NB1005", span, `a name of ${length} characters; names have at most ${limit}`);

export const unknownName = (span: Span, name: string, suggestion?: string) =>
  make("NB2001", span, `unknown name '${name}'${suggestion ? `; did you mean '${suggestion}'?` : ""}`);
export const unknownE = (span: Span) =>
  make("NB2001", span, "unknown name 'e'; the exponential is written exp(x) (e^x in lecture notes)");
export const duplicateDefinition = (span: Span, name: string, previousLine: number) =>
  make("NB2002", span, `'${name}' is already defined on line ${previousLine}`);
export const unknownDim = (span: Span, name: string) =>
  make("NB2003", span, `unknown dim '${name}'; declare it with 'dim ${name}' or 'dim ${name} = <size>'`);
export const unknownFunction = (span: Span, name: string, suggestion?: string) =>
  make("NB2004", span, `unknown function '${name}'${suggestion ? `; did you mean '${suggestion}'?` : ""}`);
export const badArguments = (span: Span, message: string) => make("NB2005", span, message);
export const cycle = (span: Span, names: readonly string[], hint?: string) =>
  // An initial value is kept as h_<0>; the model writes it h_0.
  make(
    "NB2006",
    span,
    `equations form a cycle: ${names.map((n) => n.replace(/_<(\d+)>$/, "_$1")).join(" -> ")}${hint ? `; ${hint}` : ""}`,
  );
export const missingLoss = (span: Span) =>
  make(
    "NB2007",
    span,
    "the model has no loss; mark exactly one scalar equation with 'loss', e.g. 'loss L = mse(yhat, y)'",
  );
export const multipleLosses = (span: Span, first: string) =>
  make("NB2008", span, `a model has exactly one loss, and '${first}' is already the loss`);
export const equationForDeclared = (span: Span, name: string, role: string) =>
  make(
    "NB2009",
    span,
    `'${name}' is declared as ${role === "input" ? "an" : "a"} ${role}, so it cannot also be defined by an equation`,
  );
export const unsafeLatex = (span: Span, detail: string) =>
  make("NB2010", span, `LaTeX name not allowed: ${detail}`);
export const missingValue = (span: Span, name: string) =>
  make("NB2011", span, `const '${name}' needs a value, e.g. 'const ${name} = 0.1'`);
export const invalidDim = (span: Span, detail: string) => make("NB2012", span, detail);

export const badSubscript = (span: Span, message: string) => make("NB2014", span, message);
export const missingInitialValue = (span: Span, name: string, needed: readonly string[], later = false) => {
  // A long lag needs many: the first few name the pattern.
  const shown = needed.length > 6 ? [...needed.slice(0, 5), `… (${needed.length} in all)`] : needed;
  const what = later
    ? `reads later steps, so it runs backwards and needs the value${needed.length > 1 ? "s" : ""} after the last step`
    : `reads earlier steps, so it needs the initial value${needed.length > 1 ? "s" : ""}`;
  return make("NB2015", span, `'${name}' ${what} ${shown.join(", ")}, e.g. '${needed.at(-1)} = 0'`);
};
export const futureStep = (span: Span, name: string, hint?: string) =>
  make(
    "NB2016",
    span,
    `'${name}' refers to a future step: a recurrence can only read steps already computed${hint ? `; ${hint}` : ""}`,
  );
export const stepOutOfRange = (span: Span, message: string) => make("NB2017", span, message);
export const stepContext = (span: Span, message: string) => make("NB2018", span, message);
export const badIndex = (span: Span, message: string) => make("NB2019", span, message);
export const badStepDefinition = (span: Span, message: string) => make("NB2020", span, message);

export const lossNotScalar = (span: Span, shape: string) =>
  make(
    "NB3003",
    span,
    `the loss must be a scalar, but this expression has shape ${shape}; reduce it with sum(...) or mean(...)`,
  );
/** Shape problems an op's rule finds are in shapes.ts; this one is found outside the rules. */
export const rankError = (span: Span, message: string) => make("NB3004", span, message);
export const declaredShapeMismatch = (span: Span, name: string, declared: string, actual: string) =>
  make("NB3005", span, `'${name}' is declared with shape ${declared}, but its value has shape ${actual}`);
export const stateShape = (span: Span, message: string) => make("NB3007", span, message);
export const raggedLiteral = (span: Span) =>
  make("NB3006", span, "tensor literal rows have different lengths");

export const exampleUnknown = (span: Span, name: string) =>
  make("NB5001", span, `example value for '${name}', which is not an input, target, param or const`);
export const exampleNotConstant = (span: Span) =>
  make("NB5002", span, "example values must be numbers or tensor literals of numbers");
export const badTrain = (span: Span, message: string) => make("NB5003", span, message);
export const unknownOptimizer = (span: Span, name: string, known: readonly string[], suggestion?: string) =>
  make(
    "NB5008",
    span,
    `unknown optimiser '${name}'${suggestion ? `; did you mean '${suggestion}'?` : ""} (nabla has ${known.map((k) => `'${k}'`).join(", ")})`,
  );
export const unknownTrainSetting = (
  span: Span,
  optimizer: string,
  name: string | undefined,
  known: readonly string[],
  suggestion?: string,
) =>
  make(
    "NB5009",
    span,
    `${name ? `unknown setting '${name}' for ${optimizer}` : `${optimizer} takes named settings`}${suggestion ? `; did you mean '${suggestion}'?` : ""} (${optimizer} takes ${known.join(", ")})`,
  );
export const unsupported = (span: Span, message: string) => make("NB4002", span, message);
export const noTorchForm = (span: Span, op: string) =>
  make(
    "NB4003",
    span,
    `the PyTorch export has no form for '${op}' here (an operation nabla uses only for gradients, which torch.autograd computes itself)`,
  );
export const badLecture = (span: Span, message: string) => make("NB5004", span, message);
export const exportNeedsExample = (span: Span, kind: string, name: string) =>
  make(
    "NB5007",
    span,
    `the PyTorch export writes the example's values, and the example block gives none for ${kind} '${name}'`,
  );
export const badIndexData = (span: Span, name: string, value: number, entry: number, bound: number) =>
  make(
    "NB5006",
    span,
    `'${name}' holds ${value} at entry ${entry + 1}, but it indexes 0..${bound - 1}: integer data are whole numbers from 0`,
  );
export const valueTooLarge = (span: Span, name: string, entries: number, limit: number) =>
  make(
    "NB5005",
    span,
    `'${name}' would be filled with ${entries.toLocaleString("en")} entries; a value written in the model holds at most ${limit.toLocaleString("en")}: pass larger values at run time`,
  );
