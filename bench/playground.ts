/**
 * `npm run bench:playground` (also the end of `npm run bench`): how long the playground takes,
 * in Chromium, from an edit to every panel updated, on every example. Two edits: a comment
 * (the derivation's formulas are all typeset already) and a changed example value (every
 * worked number changes, so their formulas are typeset again). Reports medians in ms.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { servePlayground } from "../src/playground/serve.js";
import { launchChromium } from "../test/support/chromium.js";

const root = join(import.meta.dirname, "../..");
const EDITS = 7;
/** The examples transcribed from the lecture notes the project grew from. */
const SEEDS = new Set([
  "next_word_rnn",
  "temperature_rnn",
  "cnn_lecture",
  "cnn_lecture_bce",
  "sigmoid_2_2_2",
  "sigmoid_2_2_2_matrix",
  "linear_chain",
  "linear_neuron",
  "perceptron",
  "perceptron_learn",
  "matrix_two_layer",
  "deep_over_layers",
]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Timing {
  compile: number;
  update: number;
  derivation: number;
}

async function timedEdit(page: Page, text: string): Promise<Timing> {
  const before = await page.evaluate(() => [
    Number(document.body.dataset.compiles),
    Number(document.body.dataset.derivations),
  ]);
  await page.evaluate(() => (document.querySelector(".cm-content") as HTMLElement).focus());
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(text);
  await page.waitForFunction(
    ([c, d]) => Number(document.body.dataset.compiles) > c! && Number(document.body.dataset.derivations) > d!,
    before,
    { timeout: 60_000 },
  );
  if ((await page.getAttribute("body", "data-state")) !== "ok")
    throw new Error(`an edit broke the model:\n${text}`);
  return page.evaluate(() => ({
    compile: Number(document.body.dataset.compileMillis),
    update: Number(document.body.dataset.updateMillis),
    derivation: Number(document.body.dataset.derivationLatency),
  }));
}

/** The source with the example block's first decimal number changed by a small step. */
function withValueChanged(source: string, step: number): string {
  const at = source.search(/^example\s*\{/m);
  const decimal = at < 0 ? -1 : source.slice(at).search(/-?\d+\.\d+/);
  // A model with no decimal example value gets a comment edit instead.
  if (decimal < 0) return `${source}\n# value ${step}\n`;
  const rest = source.slice(at).replace(/-?\d+\.\d+/, (n) => String(Number(n) + 0.01 * step));
  return source.slice(0, at) + rest;
}

async function main(): Promise<void> {
  const site = mkdtempSync(join(tmpdir(), "nabla-bench-site-"));
  const built = spawnSync(process.execPath, [join(root, "bin/build-site.mjs"), "--out", site], {
    encoding: "utf8",
  });
  if (built.status !== 0) throw new Error(built.stderr);
  const serving = await servePlayground(site);
  const browser = await launchChromium();
  const examples = readdirSync(join(root, "examples"))
    .filter((f) => f.endsWith(".nabla"))
    .map((f) => f.replace(/\.nabla$/, ""));
  console.log(
    `\n== playground in Chromium, median of ${EDITS} edits (ms): compile; edit → diagnostics, run, shapes`,
  );
  console.log(`   and code updated; edit → derivation typeset (in a worker) and shown`);
  console.log(`  ${"example".padEnd(22)} ${"comment edit".padStart(24)} ${"value edit".padStart(24)}`);
  console.log(
    `  ${"".padEnd(22)} ${"compile/update/deriv.".padStart(24)} ${"compile/update/deriv.".padStart(24)}`,
  );
  const seedUpdates: number[] = [];
  try {
    for (const name of examples) {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      await page.goto(`${serving.url}#example=${name}`);
      await page.waitForFunction(
        () => document.body.dataset.state === "ok" && document.body.dataset.derivations,
        undefined,
        { timeout: 60_000 },
      );
      const source = await page.evaluate(() =>
        [...document.querySelectorAll(".cm-content .cm-line")].map((l) => l.textContent).join("\n"),
      );
      const comment: Timing[] = [];
      const value: Timing[] = [];
      for (let i = 1; i <= EDITS; i++) comment.push(await timedEdit(page, `${source}\n# edit ${i}\n`));
      for (let i = 1; i <= EDITS; i++) value.push(await timedEdit(page, withValueChanged(source, i)));
      const cell = (xs: Timing[]) =>
        (["compile", "update", "derivation"] as const)
          .map((k) => median(xs.map((x) => x[k])).toFixed(0))
          .join(" / ");
      if (SEEDS.has(name))
        seedUpdates.push(median(comment.map((x) => x.update)), median(value.map((x) => x.update)));
      console.log(
        `  ${(SEEDS.has(name) ? "* " : "  ") + name.padEnd(20)} ${cell(comment).padStart(22)} ${cell(value).padStart(22)}`,
      );
      await page.close();
    }
  } finally {
    await browser.close();
    serving.server.close();
  }
  console.log(
    `  * an example from the lecture notes; their slowest update after an edit: ${Math.max(...seedUpdates).toFixed(1)} ms (target: under 50 ms)`,
  );
}

await main();
