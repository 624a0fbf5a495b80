import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { compile } from "../../src/index.js";
import { servePlayground, type Serving } from "../../src/playground/serve.js";
import { launchChromium, skipWithoutChromium } from "../support/chromium.js";
import { loadModule } from "../../src/run.js";

const root = join(import.meta.dirname, "../..");

/** A small model with a misspelt function: `tahn`. */
const MISSPELT = `model Neuron
dim N = 3
input x: [N]
target y
param w: [N]
h = tahn(w^T*x)
loss L = (h - y)^2
example {
  x = [1, 2, 3]
  y = 0.5
  w = [0.1, -0.2, 0.3]
}
`;

let site: Serving;
let browser: Browser;
/** Uncaught errors in any page a test opened: each test ends with none. */
const pageErrors: string[] = [];

async function open(address: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const remote: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(site.url) && !/^(data|blob):/.test(r.url())) remote.push(r.url());
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(site.url + address);
  await compiled(page, 1);
  // Offline: nothing but the page's own files is ever fetched.
  expect(remote).toEqual([]);
  return page;
}

/** Waits for the page's n-th compile to finish. */
const compiled = (page: Page, n: number) =>
  page.waitForFunction((k) => Number(document.body.dataset.compiles ?? 0) >= k, n, { timeout: 30_000 });

const compiles = (page: Page) => page.evaluate(() => Number(document.body.dataset.compiles ?? 0));

async function setSource(page: Page, text: string): Promise<void> {
  const before = await compiles(page);
  await page.click(".cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(text);
  await compiled(page, before + 1);
}

const editorText = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll(".cm-content .cm-line")].map((l) => l.textContent).join("\n"),
  );

describe.skipIf(skipWithoutChromium)("the playground in Chromium", () => {
  beforeAll(async () => {
    // The site as `npm run build:site` builds it, from the sources under test.
    const out = mkdtempSync(join(tmpdir(), "nabla-site-"));
    const built = spawnSync(process.execPath, [join(root, "bin/build-site.mjs"), "--out", out], {
      encoding: "utf8",
    });
    expect(built.status, built.stderr).toBe(0);
    site = await servePlayground(out);
    browser = await launchChromium();
  }, 120_000);
  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    site?.server.close();
  });

  it("type a model, see its diagnostic in the editor, fix it, see the gradient and the derivation", async () => {
    const page = await open("");
    await setSource(page, MISSPELT);
    expect(await page.getAttribute("body", "data-state")).toBe("errors");
    // Marked in the editor at the misspelt name, and listed with its code and hint.
    await page.waitForSelector(".cm-lintRange-error");
    expect(await page.textContent(".cm-lintRange-error")).toBe("tahn");
    const problem = await page.textContent("#problems li");
    expect(problem).toContain("6:5");
    expect(problem).toContain("unknown function 'tahn'");
    expect(problem).toContain("did you mean 'tanh'?");
    await page.click("#problems li");

    // Fix it: select the misspelt name and type the right one.
    const before = await compiles(page);
    await page.keyboard.press("Control+Home");
    for (let line = 0; line < 5; line++) await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Home");
    for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowRight");
    for (let i = 0; i < 4; i++) await page.keyboard.press("Shift+ArrowRight");
    await page.keyboard.insertText("tanh");
    await compiled(page, before + 1);
    expect(await page.getAttribute("body", "data-state")).toBe("ok");
    expect(await page.$(".cm-lintRange-error")).toBeNull();
    expect(await page.textContent("#problems")).toBe("");

    // The numbers are the generated module's, run in Node on the same model.
    const fixed = MISSPELT.replace("tahn", "tanh");
    expect(await editorText(page)).toBe(fixed);
    const module = await loadModule((await compile(fixed)).module!.javascript);
    const { params, inputs } = module.example();
    const expected = module.gradient(params, inputs);
    await page.click("#tab-run");
    const loss = Number(await page.textContent("#panel-run .loss output"));
    expect(loss).toBeCloseTo(expected.loss, 5);
    const gradientRow = await page.textContent("#panel-run table tbody tr td.numbers");
    const shown = gradientRow!.trim().split(/\s+/).map(Number);
    expect(shown).toHaveLength(3);
    shown.forEach((g, i) => expect(g).toBeCloseTo(expected.gradients.w[i]!, 5));

    // The derivation, typeset by KaTeX, derives ∂L/∂w.
    const derivation = page.frameLocator("#derivation");
    await expect.poll(() => derivation.locator(".katex").count()).toBeGreaterThan(10);
    const text = await derivation.locator("body").textContent();
    expect(text).toContain("Neuron");
    expect(text).toMatch(/∂L∂w|∂L\/∂w/);
    await page.close();
  });

  it("keeps the model in the address: a copied link opens the same model", async () => {
    const page = await open("#example=temperature_rnn");
    expect(await page.inputValue("#examples")).toBe("temperature_rnn");
    const edited = `${(await editorText(page)).trimEnd()}\n# edited in the playground\n`;
    await setSource(page, edited);
    await page.waitForFunction(() => location.hash.startsWith("#model="));
    expect(await page.inputValue("#examples")).toBe("");
    const address = await page.evaluate(() => location.hash);
    await page.close();
    const again = await open(address);
    expect(await editorText(again)).toBe(edited);
    expect(await again.getAttribute("body", "data-state")).toBe("ok");
    await again.close();
  });

  it("offers every example; choosing one compiles it and lists the shape of every name", async () => {
    const page = await open("");
    const names = await page.$$eval("#examples option", (o) => o.map((x) => (x as HTMLOptionElement).value));
    const examples = readdirSync(join(root, "examples"))
      .filter((f) => f.endsWith(".nabla"))
      .map((f) => f.replace(/\.nabla$/, ""));
    expect(names.filter((n) => n !== "").sort()).toEqual(examples.sort());
    const before = await compiles(page);
    await page.selectOption("#examples", "lstm");
    await compiled(page, before + 1);
    expect(await page.getAttribute("body", "data-state")).toBe("ok");
    await page.click("#tab-shapes");
    const rows = await page.$$eval("#panel-shapes tbody tr", (trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
    );
    const { graph } = (await compile(readFileSync(join(root, "examples/lstm.nabla"), "utf8"))) as {
      graph: { named: readonly { name: string; kind: string }[] };
    };
    // Every param, input and equation of the model, with its shape as written and its sizes.
    const named = graph.named.filter((n) => n.kind !== "const").map((n) => n.name);
    expect(rows.map((r) => r[0]).sort()).toEqual([...new Set(named)].sort());
    expect(rows.find((r) => r[0] === "Wf")?.[2]).toMatch(/^\[H, .+\] = \[\d+, \d+\]$/);
    await page.close();
  });

  it("shows the generated TypeScript formatted", async () => {
    const page = await open("#example=sigmoid_2_2_2_matrix");
    await page.click("#tab-typescript");
    await page.waitForFunction(() =>
      document.getElementById("typescript")!.textContent!.includes("export function gradient(\n"),
    );
    const code = (await page.textContent("#typescript"))!;
    expect(code).toContain("export function forward(");
    // Formatted: no line past prettier's width of 100 but for long literals.
    expect(code.split("\n").filter((l) => l.length > 100 && !l.includes("Float64Array.from"))).toEqual([]);
    await page.close();
  });

  it("puts nothing from the model into the page as markup", async () => {
    const page = await open("");
    const hostile = `${MISSPELT.replace("tahn", "tanh")}lecture "<img src=x onerror=window.parent.pwned=1>" {\n  "<script>window.parent.pwned=2</script> $\\href{javascript:window.parent.pwned=3}{x}$"\n  L = 1\n}\n`;
    await setSource(page, hostile);
    const derivation = page.frameLocator("#derivation");
    await expect.poll(() => derivation.locator("body").textContent()).toContain("<img src=x");
    expect(await page.getAttribute("body", "data-state")).toBe("ok");
    expect(await derivation.locator("img, script, a").count()).toBe(0);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    await page.close();
  });
});
