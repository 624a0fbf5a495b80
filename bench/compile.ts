/**
 * `npm run bench:compile` (also part of `npm run bench`): how long compiling takes. Warm: in
 * one process, every example's front end (parse, IR, gradient), module (generated and
 * laid out) and handout (built, printed as LaTeX and HTML), median of 5 runs after one
 * warm-up. Scaling: the same for models of 50 to 200 layers and 500 to 2,000 equations
 * (bench/scaling.ts), with how much the time grows when the model doubles. Cold: `nabla
 * compile` of a seed example as a new process, median of 5.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyze } from "../src/analyze.js";
import { generateModule } from "../src/codegen/module.js";
import { buildHandout } from "../src/handout/build.js";
import { printLatex } from "../src/latex/print.js";
import { printHtml } from "../src/html/print.js";
import { forgetTypeset } from "../src/html/body.js";
import { checkLecture } from "../src/lecture/check.js";
import { chainModel, layeredModel } from "./scaling.js";

const root = join(import.meta.dirname, "../..");
const RUNS = 5;
/** What the issue's target is stated for: module + handout of every example in a warm process. */
const WARM_TARGET_MS = 50;
const COLD_TARGET_MS = 400;
const COLD_EXAMPLE = "next_word_rnn";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Whether compile time grows faster than the model: each size's time, and the growth when it doubles. */
function scaling(): void {
  const families = [
    { name: "dense layers", unit: "layer", sizes: [50, 100, 200], source: (n: number) => layeredModel(n) },
    { name: "equations", unit: "equation", sizes: [500, 1000, 2000], source: (n: number) => chainModel(n) },
  ];
  console.log(
    `\n== compile time (ms) as the model grows: median of 3 after a warm-up, formulas typeset anew each run`,
  );
  console.log(
    `  ${"model".padEnd(22)} ${"front end".padStart(10)} ${"module".padStart(10)} ${"handout".padStart(10)} ${"total".padStart(10)} ${"per unit".padStart(10)} ${"×time/×size".padStart(12)}`,
  );
  for (const family of families) {
    let previous: { size: number; total: number } | undefined;
    for (const size of family.sizes) {
      const source = family.source(size);
      warm(source);
      // Each run typesets its formulas anew: a model of thousands of equations has more than the
      // cache keeps, so a cached run would time the cache's size, not the compiler's growth.
      const runs = [0, 1, 2].map(() => {
        forgetTypeset();
        return warm(source);
      });
      const total = median(runs.map((r) => r.front + r.module + r.handout));
      const growth = previous ? (total / previous.total / (size / previous.size)).toFixed(2) : "";
      console.log(
        `  ${`${size} ${family.name}`.padEnd(22)} ${median(runs.map((r) => r.front))
          .toFixed(0)
          .padStart(10)} ${median(runs.map((r) => r.module))
          .toFixed(0)
          .padStart(10)} ${median(runs.map((r) => r.handout))
          .toFixed(0)
          .padStart(
            10,
          )} ${total.toFixed(0).padStart(10)} ${(total / size).toFixed(2).padStart(10)} ${growth.padStart(12)}`,
      );
      previous = { size, total };
    }
  }
  console.log("  ×time/×size: 1 when the time grows as the model does; above 1, faster");
}

function warm(source: string): { front: number; module: number; handout: number } {
  const clock = () => performance.now();
  let started = clock();
  const { graph, gradient, rendered } = analyze(source);
  const front = clock() - started;
  if (!graph || !gradient) throw new Error(rendered);
  started = clock();
  generateModule(graph, gradient);
  const module = clock() - started;
  started = clock();
  const document = buildHandout(graph, gradient, checkLecture(graph, gradient));
  printLatex(document);
  printHtml(document);
  return { front, module, handout: clock() - started };
}

function main(): void {
  const examples = readdirSync(join(root, "examples"))
    .filter((f) => f.endsWith(".nabla"))
    .map((f) => f.replace(/\.nabla$/, ""));
  console.log(`\n== compile time (ms), warm: one process, median of ${RUNS} after a warm-up`);
  console.log(
    `  ${"example".padEnd(22)} ${"front end".padStart(10)} ${"module".padStart(10)} ${"handout".padStart(10)} ${"total".padStart(10)}`,
  );
  let slowest = 0;
  for (const name of examples) {
    const source = readFileSync(join(root, "examples", `${name}.nabla`), "utf8");
    warm(source);
    const runs = Array.from({ length: RUNS }, () => warm(source));
    const front = median(runs.map((r) => r.front));
    const module = median(runs.map((r) => r.module));
    const handout = median(runs.map((r) => r.handout));
    const total = median(runs.map((r) => r.front + r.module + r.handout));
    slowest = Math.max(slowest, total);
    console.log(
      `  ${name.padEnd(22)} ${front.toFixed(1).padStart(10)} ${module.toFixed(1).padStart(10)} ${handout.toFixed(1).padStart(10)} ${total.toFixed(1).padStart(10)}`,
    );
  }
  console.log(
    `  slowest total ${slowest.toFixed(0)} ms (target: under ${WARM_TARGET_MS} ms for every example)`,
  );
  scaling();
  const out = mkdtempSync(join(tmpdir(), "nabla-bench-compile-"));
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const r = spawnSync(
      process.execPath,
      [join(root, "bin/nabla.js"), "compile", `examples/${COLD_EXAMPLE}.nabla`, "-o", out],
      { cwd: root, encoding: "utf8" },
    );
    const ms = performance.now() - started;
    if (r.status !== 0) throw new Error(r.stderr);
    cold.push(ms);
  }
  console.log(
    `== cold: nabla compile examples/${COLD_EXAMPLE}.nabla as a new process, median of ${RUNS}: ${median(cold).toFixed(0)} ms (target: under ${COLD_TARGET_MS} ms)`,
  );
}

main();
