import type { CstNode, IRecognitionException, IToken } from "chevrotain";
import { nablaLexer } from "../../grammar/tokens.js";
import { MAX_SYNTAX_ERRORS, nablaParser, TooManySyntaxErrors } from "../../grammar/parser.js";
import { tokenSpan, type Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { lexError, nameTooLong, syntaxError, tooDeep } from "../diagnostics/codes.js";
import type { Program, Statement } from "./ast.js";
import { AstBuilder } from "./toAst.js";

/**
 * Source text → AST: lexing, the limits checked on the tokens before anything recurses
 * (nesting, name length), chevrotain's parse with its recovered errors described in words,
 * and the CST → AST visitor (toAst.ts).
 */
/** Nesting allowed in an expression: brackets, calls and signs, each a level. */
const MAX_DEPTH = 64;

const OPENERS = new Set(["LParen", "LBracket", "LBrace", "SubscriptOpen"]);
const CLOSERS = new Set(["RParen", "RBracket", "RBrace", "RAngle"]);
const BEFORE_SIGN = new Set([
  "LParen",
  "LBracket",
  "Comma",
  "Equals",
  "Plus",
  "Minus",
  "Star",
  "Slash",
  "Hadamard",
  "Caret",
  "SubscriptOpen",
  "RAngle",
  "GreaterEqual",
  "Less",
  "LessEqual",
  "EqualEqual",
  "NotEqual",
]);

/** The first token nested deeper than MAX_DEPTH, counting a run of signs (- - - x) as nesting too. */
function tooDeepAt(tokens: readonly IToken[]): IToken | undefined {
  let depth = 0;
  let signs = 0;
  let previous: string | undefined;
  for (const t of tokens) {
    const type = t.tokenType.name;
    if (OPENERS.has(type)) depth++;
    else if (CLOSERS.has(type)) depth = Math.max(0, depth - 1);
    if (type === "Minus" && (previous === undefined || BEFORE_SIGN.has(previous))) signs++;
    else if (type !== "Minus") signs = 0;
    if (depth + signs > MAX_DEPTH) return t;
    previous = type;
  }
  return undefined;
}

/** Longest name a model may use. */
export const MAX_NAME = 64;

const astBuilder = new AstBuilder();

const KEYWORDS = new Set([
  "model",
  "dim",
  "index",
  "input",
  "target",
  "param",
  "const",
  "loss",
  "example",
  "train",
  "lecture",
]);

/** `**` for a power, `h_{t-1}` for a step, `Loss` for `loss`: what lecture notes write that nabla spells otherwise. */
function notationHints(
  source: string,
  tokens: readonly IToken[],
  unexpected: readonly number[],
): Diagnostic[] {
  const hints: Diagnostic[] = [];
  tokens.forEach((t, i) => {
    const next = tokens[i + 1];
    const type = t.tokenType.name;
    if (type === "Star" && next?.tokenType.name === "Star" && next.startOffset === t.endOffset! + 1)
      hints.push(syntaxError(tokenSpan(t), "'**' is not a power in nabla: write '^', as in (y - yhat)^2"));
    const lineStart = i === 0 || tokens[i - 1]!.endLine !== t.startLine;
    if (
      type === "Identifier" &&
      lineStart &&
      t.image !== t.image.toLowerCase() &&
      KEYWORDS.has(t.image.toLowerCase()) &&
      next?.tokenType.name === "Identifier" &&
      next.startLine === t.startLine
    )
      hints.push(
        syntaxError(
          tokenSpan(t),
          `keywords are lower-case: write '${t.image.toLowerCase()}', not '${t.image}'`,
        ),
      );
  });
  // `dim N = 2 D = 3`: a comma left out between dims.
  let dimLine: number | undefined;
  tokens.forEach((t, i) => {
    if (t.tokenType.name === "Dim") dimLine = t.startLine;
    else if (t.startLine !== dimLine) return;
    const next = tokens[i + 1];
    const type = t.tokenType.name;
    if (
      (type === "NumberLiteral" || type === "Identifier") &&
      next?.tokenType.name === "Identifier" &&
      next.startLine === dimLine
    )
      hints.push(
        syntaxError(
          tokenSpan(next),
          `dims are separated by commas: write ', ${next.image}' (dim N = 2, D = 3)`,
        ),
      );
  });
  // `h_{t-1}`: the lexer stops at the `_` (a name does not end in one); strings and comments,
  // where LaTeX's W_{xh} belongs, are tokens of their own and never get here.
  for (const offset of unexpected) {
    if (source[offset] !== "_" || source[offset + 1] !== "{") continue;
    const name = tokens.find((t) => t.tokenType.name === "Identifier" && t.endOffset === offset - 1);
    const close = source.indexOf("}", offset);
    if (!name || close < 0 || source.slice(offset, close).includes("\n")) continue;
    const step = source.slice(offset + 2, close).trim();
    const written = `${name.image}_{${source.slice(offset + 2, close)}}`;
    const instead = /^[A-Za-z][A-Za-z0-9]*$/.test(step) ? `${name.image}_${step}` : `${name.image}_<${step}>`;
    hints.push(
      syntaxError(
        spanAt(source, name.startOffset, close + 1 - name.startOffset),
        `a step is written '${instead}' in nabla, not '${written}'`,
      ),
    );
  }
  return hints.sort((a, b) => a.span.start - b.span.start);
}

/** The last '(' before `offset` that no ')' in the whole file closes. */
function unclosed(tokens: readonly IToken[], offset: number): IToken | undefined {
  const open: IToken[] = [];
  for (const t of tokens) {
    if (t.tokenType.name === "LParen") open.push(t);
    else if (t.tokenType.name === "RParen") open.pop();
  }
  return open.filter((t) => t.startOffset < offset).at(-1);
}

/** The span of `length` characters at `offset` of `source`. */
function spanAt(source: string, offset: number, length: number): Span {
  const before = source.slice(0, offset);
  const line = before.split("\n").length;
  return { start: offset, end: offset + length, line, column: offset - before.lastIndexOf("\n") };
}

/** Where an error with no token of its own is reported: just past the end of the file. */
const fallbackSpan = (source: string): Span => spanAt(source, source.length, 1);

/** Parses source text; syntax errors go to `diagnostics` and the AST holds what could be recovered. */
export function parseProgram(source: string, diagnostics: Diagnostic[]): Program {
  const lexed = nablaLexer.tokenize(source);
  for (const e of lexed.errors) {
    diagnostics.push(
      lexError(
        {
          start: e.offset,
          end: e.offset + e.length,
          line: e.line ?? 1,
          column: e.column ?? 1,
        },
        source.slice(e.offset, e.offset + e.length),
      ),
    );
  }
  // Deep nesting would exhaust the parser's (and every later stage's) recursion: refuse it first.
  const deep = tooDeepAt(lexed.tokens);
  if (deep) {
    diagnostics.push(tooDeep(tokenSpan(deep), MAX_DEPTH));
    return { statements: [] };
  }
  // A name is printed in diagnostics, code and handouts: one longer than a line cannot be typeset.
  const long = lexed.tokens.find((t) => t.tokenType.name === "Identifier" && t.image.length > MAX_NAME);
  if (long) {
    diagnostics.push(nameTooLong(tokenSpan(long), long.image.length, MAX_NAME));
    return { statements: [] };
  }
  // Notations of lecture notes that nabla spells otherwise: one hint each, instead of the
  // syntax errors they would set off.
  const hints = notationHints(
    source,
    lexed.tokens,
    lexed.errors.map((e) => e.offset),
  );
  if (hints.length > 0) {
    diagnostics.splice(0, diagnostics.length, ...hints);
    return { statements: [] };
  }
  nablaParser.input = lexed.tokens;
  let cst: CstNode | undefined;
  try {
    cst = nablaParser.program();
  } catch (e) {
    if (!(e instanceof TooManySyntaxErrors)) throw e;
  }
  for (const e of nablaParser.errors) {
    const t = e.token;
    const real = !Number.isNaN(t.startOffset) && !t.isInsertedInRecovery && t.tokenType.name !== "EOF";
    // A bracket left open is reported where it opens, not where the parser noticed.
    const open = /Expecting token of type --> RParen <--/.test(e.message)
      ? unclosed(lexed.tokens, real ? t.startOffset : source.length)
      : undefined;
    if (open) {
      const found = real ? `'${t.image}' on line ${t.startLine}` : "the end of the file";
      diagnostics.push(syntaxError(tokenSpan(open), `'(' is not closed: ')' expected before ${found}`));
      continue;
    }
    const span = real ? tokenSpan(t) : fallbackSpan(source);
    diagnostics.push(syntaxError(span, describeSyntaxError(e)));
  }
  if (cst === undefined) {
    // Parsing stopped at the error limit: the errors found so far are the report.
    const last = diagnostics[diagnostics.length - 1];
    if (last)
      diagnostics.push({
        ...last,
        message: `more syntax errors follow; the first ${MAX_SYNTAX_ERRORS} are reported`,
      });
    return { statements: [] };
  }
  astBuilder.problems = [];
  const program = astBuilder.visit(cst) as Program;
  diagnostics.push(...astBuilder.problems);
  // dim declarations with several items come back as arrays.
  return { statements: program.statements.flat() as Statement[] };
}

const TOKEN_TEXT: Record<string, string> = {
  RParen: "')'",
  LParen: "'('",
  RBracket: "']'",
  LBracket: "'['",
  RBrace: "'}'",
  LBrace: "'{'",
  RAngle: "'>'",
  GreaterEqual: "'>='",
  LessEqual: "'<='",
  Less: "'<'",
  EqualEqual: "'=='",
  NotEqual: "'!='",
  Equals: "'='",
  Colon: "':'",
  Comma: "','",
  Range: "'..'",
  Identifier: "a name",
  NumberLiteral: "a number",
  In: "'in'",
};

const RULE_TEXT: Record<string, string> = {
  program: "a declaration or an equation",
  statement: "a declaration or an equation",
  primary: "an expression",
  unary: "an expression",
  expression: "an expression",
  dimRef: "a dim name or a size",
  indexDecl: "a range such as 1..T",
  varDecl: "'input', 'target', 'param' or 'const'",
};

function describeSyntaxError(e: IRecognitionException): string {
  const token = e.token;
  const found = token.tokenType.name === "EOF" ? "end of file" : `'${token.image}'`;
  const expected = /Expecting token of type --> (\w+) <--/.exec(e.message)?.[1];
  if (expected === "Identifier" && /^[a-z]+$/.test(token.image) && token.tokenType.name !== "Identifier") {
    return `'${token.image}' is a keyword and cannot be used as a name`;
  }
  if (expected) return `expected ${TOKEN_TEXT[expected] ?? expected} but found ${found}`;
  const rule = e.context?.ruleStack?.[e.context.ruleStack.length - 1];
  const wanted =
    e.name === "NotAllInputParsedException" ? RULE_TEXT.program : rule ? RULE_TEXT[rule] : undefined;
  return wanted ? `unexpected ${found}; expected ${wanted}` : `unexpected ${found}`;
}
