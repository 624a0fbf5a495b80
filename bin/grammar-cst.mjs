#!/usr/bin/env node
// Writes grammar/cst.ts, the CST's types generated from the grammar.
import { writeFileSync } from "node:fs";
import { cstTypes } from "../dist/grammar/cstTypes.js";

writeFileSync(new URL("../grammar/cst.ts", import.meta.url), await cstTypes());
