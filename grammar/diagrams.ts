import { createSyntaxDiagramsCode } from "chevrotain";
import { nablaParser } from "./parser.js";

/**
 * The grammar's railroad diagrams as one HTML page, by chevrotain's
 * `createSyntaxDiagramsCode`. The page reads its scripts and stylesheet from beside it
 * (docs/grammar/, copied from chevrotain's package), never from a CDN, so it works offline.
 * docs/grammar/index.html is this text; a test fails when the grammar changed and it was
 * not regenerated (`npm run grammar:cst`).
 */
export function diagramsPage(): string {
  return createSyntaxDiagramsCode(nablaParser.getSerializedGastProductions(), {
    resourceBase: "./",
    css: "./diagrams.css",
  });
}

/** The files the page loads, from chevrotain's package, by their names beside the page. */
export const DIAGRAM_RESOURCES = [
  ["diagrams.css", "diagrams.css"],
  ["vendor/railroad-diagrams.js", "vendor/railroad-diagrams.js"],
  ["src/diagrams_builder.js", "src/diagrams_builder.js"],
  ["src/diagrams_behavior.js", "src/diagrams_behavior.js"],
  ["src/main.js", "src/main.js"],
] as const;
