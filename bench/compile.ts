/**
 * `npm run bench:compile` (also part of `npm run bench`): how long compiling takes. Warm: in
 * one process, every example's front end (parse, IR, gradient), module (generated and
 * formatted) and handout (built, printed as LaTeX and HTML), median of 5 runs after one
 * warm-up. Cold: `nabla compile` of a seed example as a new process, median of 5.
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
import { checkLecture } from "../src/lecture/check.js";

const root = join(import.meta.dirname, "../..");
const RUNS = 5;
/** What the target is stated for: module + handout of every example in a warm process. */
const WARM_TARGET_MS = 50;
const COLD_TARGET_MS = 400;
const COLD_EXAMPLE = "next_word_rnn";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

async function warm(source: string): Promise<{ front: number; module: number; handout: number }> {
  const [analysis, front] = await timed(() => analyze(source));
  const { graph, gradient } = analysis;
  if (!graph || !gradient) throw new Error(analysis.rendered);
  const [, module] = await timed(() => generateModule(graph, gradient));
  const [, handout] = await timed(() => {
    const document = buildHandout(graph, gradient, checkLecture(graph, gradient));
    return [printLatex(document), printHtml(document)];
  });
  return { front, module, handout };
}

async function main(): Promise<void> {
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
    await warm(source);
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await warm(source));
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
  const out = mkdtempSync(join(tmpdir(), "nabla-bench-compile-"));
  const cold: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const [r, ms] = await timed(() =>
      spawnSync(
        process.execPath,
        [join(root, "bin/nabla.js"), "compile", `examples/${COLD_EXAMPLE}.nabla`, "-o", out],
        {
          cwd: root,
          encoding: "utf8",
        },
      ),
    );
    if (r.status !== 0) throw new Error(r.stderr);
    cold.push(ms);
  }
  console.log(
    `== cold: nabla compile examples/${COLD_EXAMPLE}.nabla as a new process, median of ${RUNS}: ${median(cold).toFixed(0)} ms (target: under ${COLD_TARGET_MS} ms)`,
  );
}

await main();
