import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";

/** CI installs Debian's chromium (.ci/run): there a missing one fails; elsewhere its tests skip. */
export const skipWithoutChromium = !existsSync(CHROMIUM) && !process.env.CI;

/** Debian's Chromium, headless, with nothing that would reach the network. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
