import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import katex from "katex";
import { dimLatex, latexName, MAX_LATEX_NAME, parseLatexName } from "../../src/syntax/latexName.js";
import { mulberry32 } from "../../bench/workload.js";

const hasPdflatex = spawnSync("pdflatex", ["--version"]).status === 0;

describe("a LaTeX spelling of a name", () => {
  it("is refused when TeX would read it as anything but the maths of a name", () => {
    const refused = [
      "^^5cinput^^7b^^2fetc^^2fhostname^^7d",
      "^^5cmessage{x}",
      "\\input{/etc/hostname}",
      "\\immediate\\write18{id}",
      "\\def\\x{1}",
      "\\catcode`\\^=7",
      "\\csname input\\endcsname",
      "a^b^c",
      "x^2^3",
      "x^2'",
      "a_b_c",
      "^",
      "_",
      "x_",
      "a__b",
      "\\hat",
      "\\mathbf",
      "\\frac{1}",
      "{a",
      "a}",
      "x_{",
      "\\",
      "\\text{\\input{x}}",
      "$x$",
      "a&b",
      "a#1",
      "%",
      "~",
      " ",
      "",
      "x".repeat(MAX_LATEX_NAME + 1),
    ];
    for (const name of refused) expect(parseLatexName(name), JSON.stringify(name)).toHaveProperty("error");
  });

  it("is written back in nabla's own form when it is accepted", () => {
    const written: [string, string][] = [
      ["x^{L-1}", "x^{L-1}"],
      ["\\hat{y}_4", "\\hat{y}_{4}"],
      ["h'_t", "h'_{t}"],
      ["x'^2", "x'^{2}"],
      ["\\sigma_{\\tanh}", "\\sigma_{\\tanh}"],
      ["\\sigma h", "\\sigma h"],
      ["|a_t| \\ge 9", "|a_{t}| \\ge 9"],
      ["W_{2}\\text{-update}", "W_{2}\\text{-update}"],
      ["\\frac{1}{N}", "\\frac{1}{N}"],
    ];
    for (const [name, latex] of written) expect(parseLatexName(name)).toEqual({ latex });
  });

  it("that is refused never reaches the handout: the name is printed as text", () => {
    expect(latexName("w", "^^5cinput{x}")).toBe("\\mathrm{w}");
    expect(latexName("w", "\\hat{w}")).toBe("\\hat{w}");
  });

  it("of a dim is upright when it is longer than a letter, and never a double subscript", () => {
    expect(dimLatex("D")).toBe("D");
    expect(dimLatex("a_b_c")).toBe("\\mathrm{a\\_b\\_c}");
    expect(dimLatex(3)).toBe("3");
  });

  /** Random spellings from pieces that TeX reads in many ways; what is accepted must typeset. */
  const PIECES = [
    "x",
    "W",
    "1",
    "'",
    "^",
    "_",
    "{",
    "}",
    " ",
    "(",
    "|",
    "[",
    "]",
    "!",
    "-",
    "/",
    "\\hat",
    "\\frac",
    "\\sigma",
    "\\mathbf",
    "\\text{ab}",
    "\\top",
    "\\,",
    "\\partial",
    "^^",
    "\\input",
    "\\relax",
    "\\",
    "\\hat{",
    "\\frac{",
    "''",
    "\\sum",
    "\\;",
    "\\ge",
    "\\mathcal",
    "\\vec",
  ];
  const accepted = (() => {
    const random = mulberry32(Number(process.env.NABLA_NAMES_SEED ?? 8));
    const out = new Set<string>();
    for (let k = 0; k < 40_000; k++) {
      let name = "";
      const length = 1 + Math.floor(random() * 10);
      for (let j = 0; j < length; j++) name += PIECES[Math.floor(random() * PIECES.length)];
      const parsed = parseLatexName(name);
      if ("latex" in parsed) out.add(parsed.latex);
    }
    return [...out];
  })();

  it("that is accepted renders in KaTeX without an error", () => {
    expect(accepted.length).toBeGreaterThan(500);
    for (const latex of accepted)
      expect(
        () => katex.renderToString(latex, { throwOnError: true, strict: "ignore" }),
        latex,
      ).not.toThrow();
  });

  it.skipIf(!hasPdflatex)("that is accepted typesets under pdflatex", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-names-"));
    const lines = accepted.map((latex) => `$${latex}$\\par`);
    writeFileSync(
      join(dir, "names.tex"),
      `\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n${lines.join("\n")}\n\\end{document}\n`,
    );
    const run = spawnSync(
      "pdflatex",
      ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "names.tex"],
      { cwd: dir, encoding: "utf8" },
    );
    const log = readFileSync(join(dir, "names.log"), "utf8");
    const error = /^! .*\n(?:.*\n){0,3}/m.exec(log)?.[0];
    expect(error, error).toBeUndefined();
    expect(run.status).toBe(0);
  });
});
