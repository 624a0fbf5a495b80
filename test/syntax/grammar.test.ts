import { describe, expect, it } from "vitest";
import { Lexer } from "chevrotain";
import { NablaParser } from "../../grammar/parser.js";
import { allTokens } from "../../grammar/tokens.js";

// Every run builds the lexer and parser without chevrotain's checks of the grammar itself;
// here they run, so a grammar change that breaks them fails.
describe("the grammar", () => {
  it("passes chevrotain's validations of the parser (no ambiguity, no left recursion)", () => {
    expect(() => new NablaParser(true)).not.toThrow();
    expect(new NablaParser(true).definitionErrors).toEqual([]);
  });

  it("passes chevrotain's validations of the token definitions", () => {
    const lexer = new Lexer(allTokens, { positionTracking: "full", deferDefinitionErrorsHandling: true });
    expect(lexer.lexerDefinitionErrors).toEqual([]);
  });
});
