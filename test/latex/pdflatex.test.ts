import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { compileOk } from "../support/check.js";
import { mulberry32, uniform } from "../../bench/workload.js";

const examples = join(import.meta.dirname, "../../examples");
const hasPdflatex = spawnSync("pdflatex", ["--version"]).status === 0;

/** Values written as nabla literals, rows of a matrix as nested lists. */
function literal(values: Float64Array, rows: number, cols: number): string {
  const row = (r: number) =>
    `[${Array.from(values.subarray(r * cols, (r + 1) * cols), (v) => v.toFixed(3)).join(", ")}]`;
  return rows === 1 && cols === values.length && cols > 0 && rows === 1
    ? row(0)
    : `[${Array.from({ length: rows }, (_, r) => row(r)).join(", ")}]`;
}

/** A 784-like MLP, scaled to a handout: 16 inputs, 64 hidden units, 10 classes, a batch of 4. */
function mlp64(): string {
  const random = mulberry32(64);
  const [n, d, h, k] = [4, 16, 64, 10];
  const onehot = new Float64Array(n * k);
  for (let i = 0; i < n; i++) onehot[i * k + (i % k)] = 1;
  return `model MLP64
dim N = ${n}, D = ${d}, H = ${h}, K = ${k}
input  X: [N, D]
target Y: [N, K]
param  W1: [D, H]
param  b1: [H]
param  W2: [H, K]
param  b2: [K]
A = relu(X*W1 + b1)
P = softmax(A*W2 + b2)
loss L = cross_entropy(P, Y) / N
example {
  X = ${literal(uniform(random, n * d, -1, 1), n, d)}
  Y = ${literal(onehot, n, k)}
  W1 = ${literal(uniform(random, d * h, -0.3, 0.3), d, h)}
  b1 = ${literal(uniform(random, h, -0.1, 0.1), 1, h)}
  W2 = ${literal(uniform(random, h * k, -0.3, 0.3), h, k)}
  b2 = ${literal(uniform(random, k, -0.1, 0.1), 1, k)}
}
train sgd(lr = 0.5, steps = 3)
`;
}

/** Runs pdflatex; returns its log and the number of pages. */
function typeset(latex: string): { log: string; status: number | null; pages: number; errors: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "nabla-tex-"));
  writeFileSync(join(dir, "handout.tex"), latex);
  const run = spawnSync(
    "pdflatex",
    ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "handout.tex"],
    {
      cwd: dir,
      encoding: "utf8",
    },
  );
  const log = existsSync(join(dir, "handout.log")) ? readFileSync(join(dir, "handout.log"), "latin1") : "";
  const pages = Number(/Output written on handout\.pdf \((\d+) pages?/.exec(log)?.[1] ?? 0);
  return { log, status: run.status, pages, errors: run.stdout.split("\n").filter((l) => l.startsWith("!")) };
}

/** Every box wider (or a page taller) than the page by more than 1 pt. */
function overfull(log: string): string[] {
  return [...log.matchAll(/Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\)[^\n]*/g)]
    .filter((m) => Number(m[1]) > 1)
    .map((m) => m[0]);
}

/** Names TeX reads in many ways: primes, scripts, accents, brackets, underscores in dims. */
const trickyNames = `model TrickyNames
dim a_b_c = 2, hidden_units = 3
index t in 1..3
input x_t: [a_b_c] "x'_{1}"
param W: [hidden_units, a_b_c] "W^{[1]}_{\\text{in}}"
param U: [hidden_units, hidden_units] "U''"
param b: [hidden_units] "\\hat{b}'"
param v: [hidden_units] "\\boldsymbol{v}^{\\top}"
h_0 = 0
h_t "h^{(1)}" = tanh(W*x_t + U*h_<t-1> + b)
yhat "\\hat{y}^{2}_{k}" = sum(v .* h_3)
loss L "\\mathcal{L}'" = (yhat - 1)^2
example {
  x = [[1, 0], [0, 1], [1, 1]]
  W = [[0.1, 0.2], [0.3, -0.1], [0, 0.2]]
  U = [[0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]]
  b = [0, 0.1, -0.1]
  v = [1, -1, 0.5]
}
`;

const sources: [string, () => string][] = [
  ...readdirSync(examples)
    .filter((f) => f.endsWith(".nabla"))
    .map((f): [string, () => string] => [f, () => readFileSync(join(examples, f), "utf8")]),
  ["an MLP with 64 hidden units", mlp64],
  ["a model whose names TeX reads in many ways", () => trickyNames],
];

// CI installs TeX Live (.ci/run); a developer machine without it skips, CI never does.
describe.skipIf(!hasPdflatex && !process.env.CI)(
  "handouts typeset with pdflatex, nothing off the page",
  () => {
    for (const [name, source] of sources) {
      it(name, async () => {
        const compiled = await compileOk(source(), name);
        const { log, status, pages, errors } = typeset(compiled.latex);
        expect(errors).toEqual([]);
        expect(status).toBe(0);
        expect(log).not.toMatch(/Undefined control sequence/);
        // One run of pdflatex is all a reader does: nothing may need a second one to come out right.
        expect(log).not.toMatch(/Rerun|have changed/);
        expect(overfull(log)).toEqual([]);
        // Long models get long handouts, not endless ones.
        expect(pages).toBeGreaterThan(0);
        expect(pages).toBeLessThanOrEqual(25);
      });
    }
  },
);
