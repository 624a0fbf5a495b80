/**
 * Python text that is safe whatever the model says: identifiers that shadow nothing, number
 * literals valid for every float, comments that end where they should. Model text reaches
 * the module only through these functions.
 */

/**
 * What a model's name must not become in the module: Python's keywords and soft keywords,
 * the builtins and modules the module reads, and its own names.
 */
const PYTHON_RESERVED = new Set(
  [
    "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type _",
    "abs all any bool dict enumerate float getattr hasattr int isinstance len list map max min object print range round set setattr slice str sum super tuple zip",
    "json math torch nn F self params inputs Model EXAMPLE_PARAMS example_inputs values main model loss grad make_optimizer train_step CLIP_NORM optimizer scheduler",
  ]
    .join(" ")
    .split(" "),
);

/**
 * Attributes of nn.Module (torch 1.13 and later releases): a param or buffer named `forward`,
 * `training` or `to` would replace the module's own.
 */
const MODULE_ATTRIBUTES = new Set(
  [
    "T_destination add_module apply bfloat16 buffers children cpu cuda double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules named_buffers named_children named_modules named_parameters parameters register_backward_hook register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook register_load_state_dict_post_hook register_module register_parameter requires_grad_ set_extra_state share_memory state_dict to to_empty train training type xpu zero_grad",
    "compile mtia set_submodule call_super_init register_full_backward_pre_hook register_state_dict_pre_hook register_state_dict_post_hook register_load_state_dict_pre_hook smart_apply",
    "values",
  ]
    .join(" ")
    .split(" "),
);

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Hands out Python identifiers, each once: a model's name as it is where it is free, with
 * trailing underscores where it would shadow something or is taken (`lambda` → `lambda_`).
 */
export class PythonNames {
  private readonly taken = new Set<string>();

  constructor(private readonly attributes = false) {}

  /** A numbered local (`tmp1`, `tmp2`): the first number free. */
  fresh(prefix: string): string {
    let k = 1;
    while (this.isTaken(`${prefix}${k}`)) k++;
    return this.claim(`${prefix}${k}`);
  }

  private isTaken(name: string): boolean {
    return (
      PYTHON_RESERVED.has(name) || (this.attributes && MODULE_ATTRIBUTES.has(name)) || this.taken.has(name)
    );
  }

  claim(base: string): string {
    let name = IDENTIFIER.test(base) ? base : "value";
    while (this.isTaken(name)) name += "_";
    this.taken.add(name);
    return name;
  }
}

/** A float literal valid in Python for every number: `2.0`, `1e-09`, `float("inf")`. */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'float("nan")';
  if (value === Infinity) return 'float("inf")';
  if (value === -Infinity) return '-float("inf")';
  if (Object.is(value, -0)) return "-0.0";
  const text = String(value);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** Text for a `#` comment: on one line whatever it held (a comment ends at a line break). */
export const commentText = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, " ").trim();

/** A Python string literal (JSON's escapes are Python's, for the characters JSON escapes). */
export const pythonString = (text: string): string => JSON.stringify(text);

/**
 * A nested list literal of a tensor's entries, one row of the first axis per line when it is
 * long; integer data as ints.
 */
export function nestedList(nested: unknown, integer: boolean, indent: string): string {
  const entry = (v: number) => (integer ? String(Math.round(v)) : pythonFloat(v));
  const flat = (v: unknown): string =>
    Array.isArray(v) ? `[${v.map(flat).join(", ")}]` : entry(v as number);
  const oneLine = flat(nested);
  if (!Array.isArray(nested) || oneLine.length + indent.length <= 96) return oneLine;
  return `[\n${nested.map((row) => `${indent}    ${flat(row)},`).join("\n")}\n${indent}]`;
}

/**
 * The file name a model's module is imported by (`from my_model import Model`): the model
 * file's stem with what Python does not allow in a module name made `_`.
 */
export function pythonModuleName(stem: string): string {
  const name = stem.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(name) || name === "" ? `model_${name}` : name;
}
