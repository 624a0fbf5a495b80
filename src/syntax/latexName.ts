/**
 * A name's LaTeX. The spelling a model may give a name ("W^{[1]}", "\hat{y}_t") is read by a
 * small grammar of harmless maths when the source is read and written back by nabla, so that
 * nothing TeX would reinterpret reaches a handout; without one, the convention turns `Wxh`
 * into W_{xh}, `yhat` into \hat{y} and `eta` into \eta.
 */
export const GREEK: ReadonlySet<string> = new Set([
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "zeta",
  "eta",
  "theta",
  "iota",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "pi",
  "rho",
  "sigma",
  "tau",
  "upsilon",
  "phi",
  "chi",
  "psi",
  "omega",
  "Gamma",
  "Delta",
  "Theta",
  "Lambda",
  "Xi",
  "Pi",
  "Sigma",
  "Upsilon",
  "Phi",
  "Psi",
  "Omega",
]);
const ALLOWED_COMMANDS = new Set([
  ...GREEK,
  "varepsilon",
  "vartheta",
  "varphi",
  "hat",
  "bar",
  "tilde",
  "vec",
  "dot",
  "mathbf",
  "mathrm",
  "mathit",
  "mathcal",
  "boldsymbol",
  "prime",
  "ell",
  "top",
  "star",
  "ast",
  "frac",
  "partial",
  "text",
  "cdot",
  "times",
  "tanh",
  "log",
  "exp",
  "max",
  "min",
  "sum",
  "le",
  "ge",
  "leq",
  "geq",
  "approx",
  "quad",
  ",",
  ";",
]);

/** Commands that take one argument ({…} or one symbol); \frac takes two. The rest take none. */
const ONE_ARGUMENT = new Set([
  "hat",
  "bar",
  "tilde",
  "vec",
  "dot",
  "mathbf",
  "mathrm",
  "mathit",
  "mathcal",
  "boldsymbol",
  "text",
]);
const TWO_ARGUMENTS = new Set(["frac"]);
/** Longest LaTeX spelling a model may give a name. */
export const MAX_LATEX_NAME = 80;

/**
 * A LaTeX spelling of a name, parsed by the small grammar of what one may contain and
 * written back by nabla: symbols (letters, digits, , . + - * ( ) [ ] / = ; : < > | ! ?) and primes after them,
 * whitelisted commands with their arguments, {groups}, and at most one superscript and one
 * subscript per symbol, each with its argument. Anything TeX would read otherwise — ^^
 * escapes, another command, a brace out of place, a double or empty script — is an error,
 * so every accepted spelling typesets and none can run a command.
 */
export function parseLatexName(text: string): { latex: string } | { error: string } {
  if (text.includes("^^")) return { error: "'^^' is TeX's escape for characters and is not allowed" };
  if (text.length > MAX_LATEX_NAME) return { error: `a LaTeX name of at most ${MAX_LATEX_NAME} characters` };
  let i = 0;
  const fail = (error: string) => {
    throw new Error(error);
  };
  const skipSpaces = () => {
    while (text[i] === " ") i++;
  };
  // One argument of a command or a script: a {group} or a single symbol.
  const argument = (what: string): string => {
    skipSpaces();
    if (text[i] === "{") {
      i++;
      const inner = sequence("}");
      if (text[i] !== "}") fail("unbalanced braces");
      i++;
      return `{${inner}}`;
    }
    const a = atom();
    if (a === undefined) fail(`${what} needs an argument`);
    return `{${a}}`;
  };
  const atom = (): string | undefined => {
    const c = text[i];
    if (c === undefined || c === "}" || c === "^" || c === "_") return undefined;
    if (c === "{") return argument("a group");
    if (c === "\\") {
      const m = /^\\([A-Za-z]+|[,;])/.exec(text.slice(i));
      if (!m) fail(`'\\${text[i + 1] ?? ""}' is not one of the allowed math commands`);
      const name = m![1]!;
      if (!ALLOWED_COMMANDS.has(name)) fail(`the command \\${name} is not one of the allowed math commands`);
      i += m![0].length;
      if (name === "text") {
        skipSpaces();
        const t = /^\{([A-Za-z0-9 .,-]*)\}/.exec(text.slice(i));
        if (!t) fail("\\text takes {words}: letters, digits, spaces and - only");
        i += t![0].length;
        return `\\text{${t![1]}}`;
      }
      const args = TWO_ARGUMENTS.has(name) ? 2 : ONE_ARGUMENT.has(name) ? 1 : 0;
      let out = `\\${name}`;
      for (let k = 0; k < args; k++) out += argument(`\\${name}`);
      return args === 0 && /^[A-Za-z]/.test(name) ? `${out} ` : out;
    }
    if (/[A-Za-z0-9,.+\-*()[\]/=;:<>|!?]/.test(c)) {
      i++;
      return c;
    }
    if (c === " ") {
      i++;
      return " ";
    }
    return fail(`${JSON.stringify(c)} may not appear in a LaTeX name`);
  };
  // Symbols with their scripts until `end`: a script must follow a symbol, once each.
  const sequence = (end?: string): string => {
    let out = "";
    let canScript = false;
    let hasSup = false;
    let hasSub = false;
    // Primes are TeX's superscript \prime: x'^2 merges the two, but x^2', x'_1' and x'_1^2 are double superscripts.
    let primed = false;
    let afterPrime = false;
    while (i < text.length && text[i] !== end) {
      const c = text[i]!;
      if (c === "}") fail("unbalanced braces");
      if (c === "^" || c === "_" || c === "'") {
        if (!canScript) fail(`'${c}' must follow a symbol`);
        const superscript = c !== "_";
        if (superscript && (hasSup || (primed && !afterPrime)))
          fail(
            c === "'"
              ? "a prime comes before the superscript: x'^2, not x^2'"
              : "a symbol has at most one superscript",
          );
        if (c === "_" && hasSub) fail("a symbol has at most one subscript");
        i++;
        if (c === "'") {
          [primed, afterPrime] = [true, true];
          out += c;
          continue;
        }
        if (c === "^") hasSup = true;
        else hasSub = true;
        afterPrime = false;
        out += c + argument(c === "^" ? "a superscript" : "a subscript");
        continue;
      }
      const a = atom()!;
      out += a;
      canScript = a !== " ";
      afterPrime = false;
      if (a !== " ") [hasSup, hasSub, primed] = [false, false, false];
    }
    return out;
  };
  try {
    // A command word is ended by a space only where a letter follows: \sigma_{t}, \sigma h.
    const latex = sequence()
      .trim()
      .replace(/(\\[A-Za-z]+) (?![A-Za-z])/g, "$1");
    if (i < text.length) fail("unbalanced braces");
    if (latex === "") fail("an empty LaTeX name");
    return { latex };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Why an override is not allowed, or undefined when it is safe math. */
export function checkLatexName(text: string): string | undefined {
  const parsed = parseLatexName(text);
  return "error" in parsed ? parsed.error : undefined;
}

function base(name: string): string {
  if (GREEK.has(name)) return `\\${name}`;
  // A Greek letter numbered: sigma2 → σ_2, as x2 → x_2.
  const greek = /^([A-Za-z]+?)(\d+)$/.exec(name);
  if (greek && GREEK.has(greek[1]!)) return `\\${greek[1]}_{${greek[2]}}`;
  if (name.length > 3 && name.endsWith("hat")) return `\\hat{${base(name.slice(0, -3))}}`;
  if (name.length === 1) return name;
  // A lower-case word stays a word (net, out); otherwise the first letter carries the rest
  // as a subscript: Wxh → W_{xh}, W1 → W_{1}, xL → x_{L}, h2 → h_{2}.
  if (/^[a-z]{3,}$/.test(name)) return `\\mathrm{${name}}`;
  const m = /^([A-Za-z])([A-Za-z0-9]+)$/.exec(name);
  if (m) return `${m[1]}_{${m[2]}}`;
  return `\\mathrm{${name.replace(/_/g, "\\_")}}`;
}

/** `O_out` → O_{out}, `Wxh` → W_{xh}, `eta` → \eta, `yhat` → \hat{y}. */
export function latexName(name: string, override?: string): string {
  if (override !== undefined) {
    // What reaches the handout is nabla's own rewriting of the spelling, never the text as given.
    const parsed = parseLatexName(override);
    return "latex" in parsed ? parsed.latex : `\\mathrm{${escapeText(name)}}`;
  }
  const parts = name.split("_");
  if (parts.length === 2 && parts[0] && parts[1]) {
    // A head word written before an explicit subscript stays a word: in_h1 is in_{h1}, not i_{n,h1}.
    const head =
      /^[a-z]{2,}$/.test(parts[0]) && !GREEK.has(parts[0]) ? `\\mathrm{${parts[0]}}` : base(parts[0]);
    const sub = escapeText(parts[1]);
    const m = /^(.*)_\{(.*)\}$/.exec(head);
    return m ? `${m[1]}_{${m[2]},${sub}}` : `${head}_{${sub}}`;
  }
  if (GREEK.has(name) || name.endsWith("hat") || /^[A-Za-z][A-Za-z0-9]*$/.test(name)) return base(name);
  return `\\mathrm{${escapeText(name)}}`;
}

/** A dim in a shape or a range: its name as written, set upright when it is longer than a letter. */
export function dimLatex(dim: string | number): string {
  if (typeof dim === "number") return String(dim);
  return dim.length === 1 ? dim : `\\mathrm{${escapeText(dim)}}`;
}

function escapeText(s: string): string {
  return s.replace(/[\\{}_^#$%&~]/g, (c) => `\\${c}`);
}
