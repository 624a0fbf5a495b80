#!/usr/bin/env node
// The nabla command: the bundled CLI (npm install builds dist/ through the prepare script), or
// the compiled one where only tsc has run.
import { existsSync } from "node:fs";

const bundled = new URL("../dist/cli/nabla.js", import.meta.url);
await import(existsSync(bundled) ? bundled.href : "../dist/src/cli.js");
