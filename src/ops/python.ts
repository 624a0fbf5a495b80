import { PREC, type Python, type TorchContext } from "../ir/op.js";

/**
 * Building Python expressions for the ops' `torch` rules (the PyTorch export). Python's
 * operators have the levels of PREC: + −, then * / @, unary −, **, atoms (names, literals,
 * calls, subscripts).
 */

/** An operand written where at least precedence `min` is needed: parenthesised below it. */
export const py = (x: Python, min: number): string => (x.prec < min ? `(${x.text})` : x.text);

export const atom = (text: string): Python => ({ text, prec: PREC.atom });

/** A call of a torch function: Python numbers among the operands become tensors. */
export const call = (fn: string, args: readonly Python[], ctx: TorchContext, ...extra: string[]): Python =>
  atom(`${fn}(${[...args.map((a) => ctx.tensor(a).text), ...extra].join(", ")})`);

/** A method of a tensor, `x.reshape(2, 3)`; a Python number becomes a tensor first. */
export const method = (x: Python, name: string, ctx: TorchContext, ...extra: string[]): Python =>
  atom(`${py(ctx.tensor(x), PREC.atom)}.${name}(${extra.join(", ")})`);

/** A left-associative binary operator: the left operand at its level, the right above it. */
export const infix = (a: Python, op: string, b: Python, prec: number): Python => ({
  text: `${py(a, prec)} ${op} ${py(b, prec + 1)}`,
  prec,
  ...(a.number && b.number ? { number: true } : {}),
});

export const negate = (x: Python): Python => ({
  text: `-${py(x, PREC.unary)}`,
  prec: PREC.unary,
  ...(x.number ? { number: true } : {}),
});

/** a ** b: the base is an atom (−a ** 2 is −(a ** 2) in Python), the exponent may be negated. */
export const power = (a: Python, b: Python): Python => ({
  text: `${py(a, PREC.atom)} ** ${py(b, PREC.unary)}`,
  prec: PREC.power,
  ...(a.number && b.number ? { number: true } : {}),
});

/** A Python tuple of dims, `(T, 4)`; `()` for a scalar's shape. */
export const tuple = (items: readonly string[]): string =>
  items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;

/**
 * An image op (conv2d, pooling) on nabla's layouts, which drop leading axes of size one
 * ([H, W], [C, H, W]), through torch's batched [N, C, H, W] function: `lift` axes of size one
 * added in front of the operand, and as many dropped from the result.
 */
export function imageCall(
  fn: string,
  x: Python,
  lift: number,
  rest: readonly string[],
  ctx: TorchContext,
): Python {
  const input =
    lift === 0
      ? ctx.tensor(x).text
      : `${py(ctx.tensor(x), PREC.atom)}[${Array<string>(lift).fill("None").join(", ")}]`;
  const out = `${fn}(${[input, ...rest].join(", ")})`;
  return atom(lift === 0 ? out : `${out}[${Array<string>(lift).fill("0").join(", ")}]`);
}
