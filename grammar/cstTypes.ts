import { generateCstDts } from "chevrotain";
import * as prettier from "prettier";
import { nablaParser } from "./parser.js";

/**
 * The CST's types, generated from the grammar by chevrotain's `generateCstDts`: one
 * `…CstChildren` type per rule, naming each token and subrule it may hold, so that the
 * CST → AST visitor (src/syntax/toAst.ts) reads children the grammar has. grammar/cst.ts
 * is this text; a test fails when the grammar changes and it was not regenerated
 * (`npm run grammar:cst`).
 */
export async function cstTypes(): Promise<string> {
  // Without the visitor interface, its import is unused (and the type check refuses unused names).
  const dts = generateCstDts(nablaParser.getGAstProductions(), { includeVisitorInterface: false }).replace(
    "ICstVisitor, ",
    "",
  );
  const header = "// Generated from grammar/parser.ts by `npm run grammar:cst`. Do not edit.\n";
  return prettier.format(header + dts, { parser: "typescript", printWidth: 100 });
}
