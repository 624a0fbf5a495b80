import type { Span } from "./span.js";
import type { Diagnostic } from "./diagnostic.js";

/**
 * The shape rules' catalogue: every way an op can reject its operands' shapes, with its
 * code and its message. A rule returns an entry's name and arguments (`problem("notAnAxis",
 * { axis, shape })`); the place that built the op adds the span, the operator as written
 * and the operands' shapes, and turns it into a diagnostic here. Nothing else chooses a
 * code for a shape problem.
 */
type Shape = readonly (string | number)[];
const fmt = (s: Shape) => `[${s.join(", ")}]`;
const pair = (a: Shape, b: Shape) => `${fmt(a)} and ${fmt(b)}`;

/** What the rule does not know: how the op was written and what it was given. */
export interface ShapeSite {
  /** The op (`conv2d`, `add`) and how the model wrote it (`conv2d`, `+`). */
  readonly op: string;
  readonly operator: string;
  readonly operands: readonly Shape[];
}

interface Entry<A> {
  readonly code: string;
  readonly message: (args: A, site: ShapeSite) => string;
}

/** A problem a function's rule finds names the function (conv2d: …); an operator's (*) speaks for itself. */
const named =
  (code: string) =>
  <A>(text: (args: A) => string): Entry<A> => ({
    code,
    message: (args, site) => (/^[A-Za-z]/.test(site.operator) ? `${site.op}: ${text(args)}` : text(args)),
  });
/** An operand of the wrong rank or kind. */
const rank = named("NB3004");

const notSequence = (what: string) =>
  rank<{ shape: Shape }>((a) => `${what} ${fmt(a.shape)}: not a sequence`);

export const SHAPE_PROBLEMS = {
  broadcast: {
    code: "NB3001",
    message: (a: { shapes: readonly Shape[] }, site) =>
      `shapes ${a.shapes.map(fmt).join(" and ")} do not broadcast for '${site.operator}'`,
  } satisfies Entry<{ shapes: readonly Shape[] }>,
  innerDims: {
    code: "NB3002",
    message: (_: Record<string, never>, site) =>
      `matrix product of ${pair(site.operands[0]!, site.operands[1]!)}: inner dimensions differ`,
  } satisfies Entry<Record<string, never>>,
  /** A kernel or window larger than the (padded) image, with the size arithmetic as notes. */
  windowFit: named("NB3008")<{
    what: "kernel" | "window";
    axis: "H" | "W";
    kernel: number;
    size: number;
    padding: number;
  }>((a) => {
    const side = a.axis === "H" ? "height" : "width";
    return `the ${a.what} of ${side} ${a.kernel} does not fit in the image's ${side} ${a.size}${a.padding > 0 ? ` (padded by ${a.padding} on each side)` : ""}`;
  }),
  matmulRank: rank<{ a: Shape; b: Shape }>(
    (a) =>
      `a matrix product multiplies vectors, matrices and stacks of matrices ([B, m, k]), got ${pair(a.a, a.b)}`,
  ),
  stacks: rank<{ a: Shape; b: Shape }>(
    (a) =>
      `a batched matrix product multiplies stacks of matrices [B…, m, k] and [B…, k, n] with the same leading axes (or one matrix shared by the stack), got ${pair(a.a, a.b)}`,
  ),
  stackCounts: rank<{ a: Shape; b: Shape }>(
    (a) => `the stacks hold ${String(a.a[0])} and ${String(a.b[0])} matrices: ${pair(a.a, a.b)}`,
  ),
  stackAxes: rank<{ a: Shape; b: Shape }>(
    (a) => `the stacks' leading axes differ, ${pair(a.a.slice(0, -2), a.b.slice(0, -2))}: ${pair(a.a, a.b)}`,
  ),
  outerVectors: rank<Record<string, never>>(() => "outer product needs two vectors"),
  permuteAxes: rank<{ shape: Shape; axes: readonly number[] }>(
    (a) => `permute needs each axis of ${fmt(a.shape)} once, numbered from 0: got [${a.axes.join(", ")}]`,
  ),
  sameShape: rank<{ what: string; a: Shape; b: Shape }>(
    (a) => `${a.what} needs two operands of the same shape, got ${pair(a.a, a.b)}`,
  ),
  operandCount: rank<{ name: string; count: number }>((a) => `${a.name} takes ${a.count} operands`),
  notAnAxis: rank<{ axis: unknown; shape: Shape }>(
    (a) => `axis ${String(a.axis)} is not an axis of ${fmt(a.shape)}`,
  ),
  concatRank: rank<{ a: Shape; b: Shape }>(
    (a) => `concat joins values of one rank along an axis, got ${pair(a.a, a.b)}`,
  ),
  concatFixed: rank<{ a: Shape; b: Shape }>(
    (a) => `concat needs fixed sizes along the axis it joins, got ${pair(a.a, a.b)}`,
  ),
  concatOthers: rank<{ axis: number; a: Shape; b: Shape }>(
    (a) => `concat along axis ${a.axis} needs the other axes equal, got ${pair(a.a, a.b)}`,
  ),
  sliceFixed: rank<{ shape: Shape }>((a) => `slice needs a fixed size along its axis, got ${fmt(a.shape)}`),
  sliceRange: rank<{ from: number; to: number; axis: number; shape: Shape; size: number }>(
    (a) =>
      `slice from ${a.from} to ${a.to} (entries from..to−1, counted from 0) does not fit axis ${a.axis} of ${fmt(a.shape)}, of size ${a.size}`,
  ),
  conv2dShapes: rank<{ x: Shape; k: Shape }>(
    (a) =>
      `conv2d takes an image [H, W] with a kernel [kh, kw], or [C, H, W] or [N, C, H, W] with filters [F, C, kh, kw]; got ${pair(a.x, a.k)}`,
  ),
  conv1dShapes: rank<{ x: Shape; k: Shape }>(
    (a) =>
      `conv1d takes a signal [L] with a kernel [kw], or [C, L] or [N, C, L] with filters [F, C, kw]; got ${pair(a.x, a.k)}`,
  ),
  convFixed: rank<Record<string, never>>(() => "image and kernel heights and widths must be fixed sizes"),
  channels: rank<{ channels: string | number; k: Shape }>(
    (a) => `the image has ${a.channels} channels but the filters ${fmt(a.k)} expect ${String(a.k[1])}`,
  ),
  positiveInteger: rank<{ name: string; value: number }>(
    (a) =>
      `${a.name} must be ${a.name === "padding" ? "a non-negative" : "a positive"} integer, got ${a.value}`,
  ),
  poolRank: rank<{ x: Shape }>((a) => `pooling needs an image of at least two axes, got ${fmt(a.x)}`),
  poolFixed: rank<Record<string, never>>(() => "image heights and widths must be fixed sizes"),
  forwardMismatch: rank<{ operand: Shape; what: string; out: Shape }>(
    (a) => `${fmt(a.operand)} does not match ${a.what} ${fmt(a.out)}`,
  ),
  tableRows: rank<{ table: Shape }>((a) => `indexing needs a table with rows, got ${fmt(a.table)}`),
  onehotClasses: rank<Record<string, never>>(() => "onehot needs a number of classes, a positive integer"),
  flattenFrom: rank<{ shape: Shape }>((a) => `'from' must be an axis of ${fmt(a.shape)}`),
  flattenFixed: rank<Record<string, never>>(() => "the flattened axes must have fixed sizes"),
  reshape: rank<{ from: Shape; to: Shape }>((a) => `cannot reshape ${fmt(a.from)} to ${fmt(a.to)}`),
  sumTo: rank<{ from: Shape; to: Shape }>((a) => `cannot sum ${fmt(a.from)} down to ${fmt(a.to)}`),
  broadcastTo: rank<{ from: Shape; to: Shape }>((a) => `cannot broadcast ${fmt(a.from)} to ${fmt(a.to)}`),
  stepOf: notSequence("a step of"),
  sumOverSteps: notSequence("a sum over steps of"),
  stepsReversed: rank<{ shape: Shape }>((a) => `the steps of ${fmt(a.shape)} in reverse: not a sequence`),
  delayInits: rank<{ shape: Shape; inits: readonly Shape[] }>(
    (a) => `the steps of ${fmt(a.shape)} delayed, with initial values ${a.inits.map(fmt).join(", ")}`,
  ),
} as const;

type Catalogue = typeof SHAPE_PROBLEMS;
export type ShapeProblemName = keyof Catalogue;
type ArgsOf<K extends ShapeProblemName> = Parameters<Catalogue[K]["message"]>[0];

/** A rule's rejection: a catalogue entry and its arguments, and the arithmetic behind a size. */
export type ShapeProblem = {
  [K in ShapeProblemName]: { readonly name: K; readonly args: ArgsOf<K>; readonly notes?: readonly string[] };
}[ShapeProblemName];

export const problem = <K extends ShapeProblemName>(
  name: K,
  ...[args, notes]: ArgsOf<K> extends Record<string, never>
    ? [args?: ArgsOf<K>, notes?: readonly string[]]
    : [args: ArgsOf<K>, notes?: readonly string[]]
): ShapeProblem => ({ name, args: args ?? {}, ...(notes ? { notes } : {}) }) as ShapeProblem;

/** The diagnostic for a rule's rejection where the op was built. */
export function shapeDiagnostic(p: ShapeProblem, site: ShapeSite, span: Span): Diagnostic {
  const entry = SHAPE_PROBLEMS[p.name] as Entry<unknown>;
  const message = entry.message(p.args, site);
  return p.notes && p.notes.length > 0
    ? { code: entry.code, span, message, notes: [...p.notes] }
    : { code: entry.code, span, message };
}
