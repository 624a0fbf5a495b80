#!/usr/bin/env node
// Bundles the command line (src/cli.ts and the compiler) into dist/cli/, what bin/nabla.js runs:
// one file to load instead of some 700 (chevrotain imports lodash-es a function a file), which
// takes a cold `nabla compile` from about 1.2 s to a third of that. What only one command
// needs (KaTeX for --html, the trainer's, the server's and the language server's libraries)
// stays outside, loaded when that command runs. esbuild does the bundling, offline.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/cli");
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { nabla: join(root, "src/cli.ts") },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: [
    "katex",
    "csv-parse",
    "csv-parse/*",
    "cli-progress",
    "vscode-languageserver",
    "vscode-languageserver/*",
    "vscode-languageserver-textdocument",
  ],
  outExtension: { ".js": ".js" },
  chunkNames: "chunks/[name]-[hash]",
  sourcemap: false,
  logLevel: "warning",
});
