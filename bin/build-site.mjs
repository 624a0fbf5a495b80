#!/usr/bin/env node
// Bundles the playground (playground/main.ts with the compiler, CodeMirror and KaTeX) into a
// static site: `npm run build:site [-- --out <dir>]`, dist/site by default. esbuild does the
// bundling: TypeScript, CSS with KaTeX's fonts, and the formatter split into a chunk the page
// loads only when it formats, all offline.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outFlag = process.argv.indexOf("--out");
const out = resolve(
  outFlag >= 0 && process.argv[outFlag + 1] ? process.argv[outFlag + 1] : join(root, "dist/site"),
);

/** `import examples from "nabla:examples"`: every example model's text, by name, read at build time. */
const examplesPlugin = {
  name: "nabla-examples",
  setup(b) {
    b.onResolve({ filter: /^nabla:examples$/ }, () => ({ path: "examples", namespace: "nabla-examples" }));
    b.onLoad({ filter: /.*/, namespace: "nabla-examples" }, () => {
      const folder = join(root, "examples");
      const files = readdirSync(folder)
        .filter((f) => f.endsWith(".nabla"))
        .sort();
      const models = Object.fromEntries(
        files.map((f) => [f.replace(/\.nabla$/, ""), readFileSync(join(folder, f), "utf8")]),
      );
      return { contents: `export default ${JSON.stringify(models)};`, loader: "js" };
    });
  },
};

mkdirSync(out, { recursive: true });
await build({
  entryPoints: {
    playground: join(root, "playground/main.ts"),
    "derivation-worker": join(root, "playground/derivation-worker.ts"),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
  assetNames: "fonts/[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  plugins: [examplesPlugin],
  logLevel: "warning",
});
copyFileSync(join(root, "playground/index.html"), join(out, "index.html"));
process.stdout.write(`playground written to ${out}\n`);
