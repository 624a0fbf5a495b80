import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launchChromium as launch, skipWithoutChromium } from "../support/chromium.js";
import { compile } from "../../src/index.js";

const examples = join(import.meta.dirname, "../../examples");

// CI installs Debian's chromium (.ci/run); a developer machine without it skips, CI never does.
describe.skipIf(skipWithoutChromium)("the HTML handout in Chromium", () => {
  for (const name of ["next_word_rnn", "cnn_lecture", "sigmoid_2_2_2"]) {
    it(`${name}: every formula typeset by KaTeX, offline, and the page looks like a handout`, async () => {
      const source = readFileSync(join(examples, `${name}.nabla`), "utf8");
      const result = await compile(source, { file: `${name}.nabla` });
      const html = result.html!;
      // Self-contained: no stylesheet, script or font is fetched from anywhere.
      expect(html).not.toMatch(/<script|<link|(?:src|href)=["']?https?:|url\(["']?https?:/);
      const dir = mkdtempSync(join(tmpdir(), "nabla-html-"));
      const file = join(dir, `${name}.html`);
      writeFileSync(file, html);
      const browser = await launch();
      try {
        const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
        const requests: string[] = [];
        page.on("request", (r) => {
          if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
        });
        await page.goto(pathToFileURL(file).href);
        await page.evaluate(() => document.fonts.ready);
        const report = await page.evaluate(() => ({
          errors: document.querySelectorAll(".katex-error").length,
          formulas: document.querySelectorAll(".katex").length,
          // A formula that rendered has a size; one that failed silently would be empty.
          empty: [...document.querySelectorAll(".katex-html")].filter(
            (e) => e.getBoundingClientRect().width === 0,
          ).length,
          katexFont: document.fonts.check("16px KaTeX_Main"),
          headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
          tables: document.querySelectorAll("table").length,
          notes: document.querySelectorAll("aside.note").length,
        }));
        expect(report.errors).toBe(0);
        expect(report.formulas).toBeGreaterThan(30);
        expect(report.empty).toBe(0);
        expect(report.katexFont).toBe(true);
        expect(report.headings).toContain("The backward pass");
        expect(report.tables).toBeGreaterThan(0);
        expect(requests).toEqual([]);
        const shot = await page.screenshot({ fullPage: false });
        writeFileSync(join(dir, `${name}.png`), shot);
        // The first screen holds the title and typeset maths: many distinct colours of anti-aliased glyphs.
        expect(shot.length).toBeGreaterThan(40_000);
        const inked = await page.evaluate(async (png) => {
          const img = new Image();
          img.src = `data:image/png;base64,${png}`;
          await img.decode();
          const canvas = document.createElement("canvas");
          canvas.width = img.width;
          canvas.height = img.height;
          const g = canvas.getContext("2d")!;
          g.drawImage(img, 0, 0);
          const data = g.getImageData(0, 0, img.width, img.height).data;
          let dark = 0;
          for (let i = 0; i < data.length; i += 4) if (data[i]! < 128) dark++;
          return dark / (img.width * img.height);
        }, shot.toString("base64"));
        // Text covers a few percent of a page: neither blank nor a black box.
        expect(inked).toBeGreaterThan(0.01);
        expect(inked).toBeLessThan(0.3);
      } finally {
        await browser.close();
      }
    });
  }

  it("a model's names and numbers never reach the page as markup", async () => {
    const result = await compile(
      `model Evil\nparam w = 1\ninput x\nloss L = (w*x)^2\nexample { x = 2 }\nlecture "<script>alert(1)</script>" { "<img src=x onerror=alert(1)>" L = 4 }`,
      { file: "evil.nabla" },
    );
    expect(result.html).not.toContain("<script>alert");
    expect(result.html).not.toContain("<img src=x");
    expect(result.html).toContain("&#60;script&#62;");
  });
});
