/**
 * LaTeX names: the convention that turns `Wxh` into W_{xh}, `yhat` into \hat{y} and `eta`
 * into \eta, and the check that keeps a user's override to harmless math.
 */
const GREEK = new Set([
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

/** Why an override is not allowed, or undefined when it is safe math. */
export function checkLatexName(text: string): string | undefined {
  // ^^5c is TeX's spelling of a backslash: it would smuggle in any command.
  if (text.includes("^^")) return "'^^' is TeX's escape for characters and is not allowed";
  if (!/^[A-Za-z0-9_^{}\\ ',.+\-*()/=;:<>|]*$/.test(text))
    return `${JSON.stringify(text)} may only use letters, digits, _ ^ { } and a few math commands`;
  for (const m of text.matchAll(/\\([A-Za-z]+|.)/g)) {
    if (!ALLOWED_COMMANDS.has(m[1]!)) return `the command \\${m[1]} is not one of the allowed math commands`;
  }
  let depth = 0;
  for (const ch of text) {
    depth += ch === "{" ? 1 : ch === "}" ? -1 : 0;
    if (depth < 0) return "unbalanced braces";
  }
  return depth === 0 ? undefined : "unbalanced braces";
}

function base(name: string): string {
  if (GREEK.has(name)) return `\\${name}`;
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
  if (override !== undefined) return override;
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

function escapeText(s: string): string {
  return s.replace(/[\\{}_^#$%&~]/g, (c) => `\\${c}`);
}
