#!/usr/bin/env node
// Bundles the command line (src/cli.ts and the compiler) into dist/cli/nabla.cjs, what
// bin/nabla.js runs: one file to load instead of some 700 (chevrotain imports lodash-es a
// function a file), which takes a cold `nabla compile` from about 1.2 s to a third of that.
// What only one command needs (KaTeX for --html, the trainer's, the server's and the language
// server's libraries) stays outside, required when that command runs. esbuild does the
// bundling, offline. It is CommonJS so that bin/nabla.js can run it from V8's code cache (Node
// 20 caches no ES module's code), which a first compile here writes (dist/cli/nabla.cache).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/cli");
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { nabla: join(root, "src/cli.ts") },
  outdir: out,
  bundle: true,
  format: "cjs",
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
  outExtension: { ".js": ".cjs" },
  // The compiler finds its package from its own address (src/paths.ts, html/print.ts).
  define: { "import.meta.url": "nablaBundleUrl" },
  banner: { js: 'const nablaBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: false,
  logLevel: "warning",
});

// The code cache: what a compile of the default example compiles, cached by bin/nabla.js as it exits.
const scratch = mkdtempSync(join(tmpdir(), "nabla-cache-"));
const warm = spawnSync(
  process.execPath,
  [join(root, "bin/nabla.js"), "compile", join(root, "examples/next_word_rnn.nabla"), "-o", scratch],
  { encoding: "utf8" },
);
rmSync(scratch, { recursive: true, force: true });
if (warm.status !== 0) throw new Error(`the bundled CLI failed its first compile:\n${warm.stderr}`);
