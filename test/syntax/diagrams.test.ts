import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launchChromium, skipWithoutChromium } from "../support/chromium.js";
import { DIAGRAM_RESOURCES, diagramsPage } from "../../grammar/diagrams.js";
import { nablaParser } from "../../grammar/parser.js";

const root = join(import.meta.dirname, "../..");
const page = join(root, "docs/grammar/index.html");

describe("the grammar's railroad diagrams (docs/grammar)", () => {
  it("are the ones the grammar generates, with chevrotain's scripts beside them (npm run grammar:cst)", () => {
    expect(readFileSync(page, "utf8")).toBe(diagramsPage());
    for (const [from, to] of DIAGRAM_RESOURCES)
      expect(readFileSync(join(root, "docs/grammar", to), "utf8")).toBe(
        readFileSync(join(root, "node_modules/chevrotain/diagrams", from), "utf8"),
      );
  });

  // CI installs Debian's chromium (.ci/run); a developer machine without it skips, CI never does.
  it.skipIf(skipWithoutChromium)("draw one diagram per rule in Chromium, offline", async () => {
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const remote: string[] = [];
      tab.on("request", (r) => {
        if (!r.url().startsWith("file:")) remote.push(r.url());
      });
      await tab.goto(pathToFileURL(page).href);
      await tab.waitForSelector("svg.railroad-diagram");
      const drawn = await tab.locator("svg.railroad-diagram").count();
      expect(drawn).toBe(Object.keys(nablaParser.getGAstProductions()).length);
      expect(remote).toEqual([]);
      if (process.env.NABLA_SCREENSHOT) await tab.screenshot({ path: process.env.NABLA_SCREENSHOT });
    } finally {
      await browser.close();
    }
  });
});
