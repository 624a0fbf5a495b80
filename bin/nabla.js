#!/usr/bin/env node
// The nabla command. It runs the bundled CLI (dist/cli/nabla.cjs, built by npm install's prepare
// script) compiled from V8's code cache beside it, so a cold start skips parsing and compiling
// the compiler's JavaScript; or the compiled one (dist/src/cli.js) where only tsc has run.
// Node 20 has no compile cache for modules (module.enableCompileCache is Node 22), hence the
// bundle is a CommonJS script run through vm.Script with its cached data. A cache that is
// missing or that this Node rejects (another V8 version) is written anew when the process
// ends; one that cannot be written only costs the speed.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const bundle = fileURLToPath(new URL("../dist/cli/nabla.cjs", import.meta.url));
if (!existsSync(bundle)) {
  await import("../dist/src/cli.js");
} else {
  const cacheFile = bundle.replace(/\.cjs$/, ".cache");
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The bundle keeps src/cli.ts's #! line, which only a file's first line may hold.
  const source = readFileSync(bundle, "utf8").replace(/^#!.*/, "");
  const script = new Script(Module.wrap(source), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected)
    process.once("exit", () => {
      try {
        const partial = `${cacheFile}.${process.pid}`;
        writeFileSync(partial, script.createCachedData());
        renameSync(partial, cacheFile);
      } catch {
        // A read-only install runs without the cache.
      }
    });
  // A script run by vm cannot import(): the generated modules `nabla run` and `nabla train`
  // load are imported here, in a real module, for the bundle (src/run.ts).
  globalThis[Symbol.for("nabla.import")] = (url) => import(url);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}
