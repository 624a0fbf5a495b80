/**
 * What the generated module checks of its caller's arguments before it runs: every argument
 * is there and of the right type and length, and the gradient arrays share no memory with the
 * arrays the gradient reads. A misused call throws an Error that names the argument. The checks
 * are a few comparisons per array per call, outside the loops.
 */

/** `T` writes a type annotation in the TypeScript module and nothing in the JavaScript one. */
type Annotate = (annotation: string) => string;

const key = (name: string) => JSON.stringify(name);

/** The helpers every module holds: `object`, `array`, `check`, `overlaps` and, with run-time dims, `given`. */
export function argumentHelpers(T: Annotate, freeDims: boolean): string {
  const lookup = T(" as Record<string, unknown>");
  const helpers = [
    `function object(value${T(": unknown")}, name${T(": string")})${T(": void")} {
  if (value === null || typeof value !== "object") throw new Error("nabla: " + name + " must be an object of Float64Arrays, one per name");
}`,
    // Own properties only: a name like "constructor" must not find Object.prototype's.
    `function array(holder${T(": object")}, name${T(": string")}, where${T(": string")})${T(": Float64Array")} {
  const value = Object.prototype.hasOwnProperty.call(holder, name) ? (holder${lookup})[name] : undefined;
  if (value === undefined) throw new Error("nabla: " + where + "." + name + " is missing");
  if (!(value instanceof Float64Array)) throw new Error("nabla: " + where + "." + name + " must be a Float64Array");
  return value;
}`,
    `function check(array${T(": Float64Array")}, length${T(": number")}, name${T(": string")})${T(": void")} {
  if (array.length !== length) throw new Error("nabla: " + name + " has " + array.length + " elements, expected " + length);
}`,
    `function overlaps(a${T(": Float64Array")}, b${T(": Float64Array")})${T(": boolean")} {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}`,
  ];
  if (freeDims)
    helpers.push(`function given(dims${T(": object | undefined")}, name${T(": string")})${T(": number | undefined")} {
  if (dims === undefined || !Object.prototype.hasOwnProperty.call(dims, name)) return undefined;
  const value = (dims${lookup})[name];
  if (typeof value !== "number") throw new Error("nabla: dims." + name + " must be a number");
  return value;
}`);
  return helpers.join("\n");
}

/**
 * `checkOut(out, params, inputs)`: the caller's gradient arrays are all there, as long as their
 * params, and overlap neither each other nor anything the gradient reads (a recurrent model
 * reads its params after it has begun writing the gradient).
 *
 * Whether two arrays overlap depends only on their buffers, offsets and lengths, and a typed
 * array's buffer and offset never change: a call with the same arrays of the same lengths as
 * the last call that passed (the usual training loop) skips the pairwise comparisons, a few
 * dozen getter calls that cost a small model's gradient several per cent.
 */
export function outCheck(T: Annotate, params: readonly string[], inputs: readonly string[]): string {
  const record = T(" as unknown as Record<string, Float64Array>");
  const arrays = [
    ...params.flatMap((name) => [`o[${key(name)}]${T("!")}`, `p[${key(name)}]${T("!")}`]),
    ...inputs.map((name) => `x[${key(name)}]${T("!")}`),
  ];
  const same =
    arrays.map((a, i) => `c[${2 * i}] === ${a} && c[${2 * i + 1}] === ${a}.length`).join(" && ") || "true";
  return `const paramNames = [${params.map(key).join(", ")}];
const inputNames = [${inputs.map(key).join(", ")}];
/** The arrays of the last call that passed checkOut, each followed by its length. */
let checkedOut${T(": (Float64Array | number)[] | undefined")};
function checkOut(out${T(": Gradients")}, params${T(": Params")}, inputs${T(": Inputs")})${T(": void")} {
  object(out, "out");
  const o = out${record};
  const p = params${record};
  const x = inputs${record};
  for (const name of paramNames) {
    const g = array(o, name, "out");
    check(g, p[name]${T("!")}.length, "out." + name);
  }
  const c = checkedOut;
  if (c !== undefined && ${same}) return;
  checkedOut = undefined;
  for (const name of paramNames) {
    const g = o[name]${T("!")};
    for (const other of paramNames) {
      if (overlaps(g, p[other]${T("!")})) throw new Error("nabla: out." + name + " shares memory with params." + other + "; pass separate arrays");
      if (other !== name && overlaps(g, o[other]${T("!")})) throw new Error("nabla: out." + name + " shares memory with out." + other);
    }
    for (const other of inputNames)
      if (overlaps(g, x[other]${T("!")})) throw new Error("nabla: out." + name + " shares memory with inputs." + other + "; pass separate arrays");
  }
  checkedOut = [${arrays.map((a) => `${a}, ${a}.length`).join(", ")}];
}`;
}
