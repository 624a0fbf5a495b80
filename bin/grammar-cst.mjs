#!/usr/bin/env node
// Writes what is generated from the grammar: grammar/cst.ts (the CST's types) and
// docs/grammar/ (the railroad diagrams page, with the scripts it loads beside it).
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { cstTypes } from "../dist/grammar/cstTypes.js";
import { DIAGRAM_RESOURCES, diagramsPage } from "../dist/grammar/diagrams.js";

writeFileSync(new URL("../grammar/cst.ts", import.meta.url), await cstTypes());
const docs = fileURLToPath(new URL("../docs/grammar/", import.meta.url));
const chevrotain = fileURLToPath(new URL("../node_modules/chevrotain/diagrams/", import.meta.url));
mkdirSync(docs, { recursive: true });
writeFileSync(`${docs}index.html`, diagramsPage());
for (const [from, to] of DIAGRAM_RESOURCES) {
  mkdirSync(dirname(`${docs}${to}`), { recursive: true });
  copyFileSync(`${chevrotain}${from}`, `${docs}${to}`);
}
