/**
 * The generated module's tokens and brackets, for its layout (layout.ts): words, strings,
 * comments and punctuation with the whitespace the emitter put before each, grouped by
 * brackets, a `{` told apart as a block or an object by what precedes it; brackets the
 * emitter wrote around what needs none are dropped here.
 */

/**
 * Around what only the TypeScript form has (annotations, interfaces): the emitter writes the
 * module once with these, the layout keeps them as tokens, and `splitForms` makes the two.
 */
export const TYPES_BEGIN = "\u0001";
export const TYPES_END = "\u0002";

/** Classes, not object literals: V8 then sees two shapes, and `instanceof` is one check. */
export class Token {
  constructor(
    readonly kind: "word" | "string" | "comment" | "punct",
    readonly text: string,
    /** Whether the emitter put whitespace before it, and how many line breaks. */
    readonly spaced: boolean,
    readonly breaks: number,
  ) {}
}

export class Group {
  /** The group on one line, once the layout has asked (null: it cannot be). */
  flat: string | null | undefined = undefined;
  constructor(
    readonly kind: "block" | "object" | "paren" | "bracket",
    readonly open: Token,
    readonly close: Token | undefined,
    readonly children: Node[],
  ) {}
}

export type Node = Token | Group;

export const isGroup = (n: Node): n is Group => n instanceof Group;
const CLOSERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
/** Letters, digits, `_`, `$` and `.`: one word (a.b.c and 0.5 are one each). */
function isWordChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c === 46
  );
}
/** Operators of more than one character, longest first; `>>` stays two, to close type arguments. */
const OPERATORS = [
  "===",
  "!==",
  "**=",
  "<=",
  ">=",
  "==",
  "!=",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&&",
  "||",
  "??",
  "=>",
  "++",
  "--",
  "**",
];
const OPERATOR_START = "=!<>+-*/%&|?";

const OPERATOR_SECOND = new Set(OPERATORS.map((o) => o.charCodeAt(1)));

/** The length of the operator at i: the longest of OPERATORS there, else 1. */
function operatorLength(code: string, i: number): number {
  if (!OPERATOR_SECOND.has(code.charCodeAt(i + 1))) return 1;
  for (const o of OPERATORS) if (code.startsWith(o, i)) return o.length;
  return 1;
}
/** After these a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = new Set(["return", "typeof", "case", "do", "else", "in", "of", "throw", "void"]);
/** A `{` after these opens a block, elsewhere an object (or object type). */
const BEFORE_BLOCK = new Set([")", "]", "=>", "else", "try", "finally", "do", ">", TYPES_END]);
const NOT_BEFORE_BLOCK = new Set([
  ...["return", "typeof", "in", "of", "case", "throw", "yield", "await"],
  ...["const", "let", "var", "import", "export", "as", "satisfies"],
]);

export function tokenize(code: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < code.length) {
    const start = i;
    let breaks = 0;
    for (let c = code.charCodeAt(i); c === 32 || c === 10 || c === 9 || c === 13; c = code.charCodeAt(++i))
      if (c === 10) breaks++;
    if (i >= code.length) break;
    const spaced = i > start;
    const c = code[i]!;
    const from = i;
    let kind: Token["kind"];
    if (c === "/" && code[i + 1] === "/") {
      while (i < code.length && code[i] !== "\n") i++;
      kind = "comment";
    } else if (c === "/" && code[i + 1] === "*") {
      const end = code.indexOf("*/", i + 2);
      i = end < 0 ? code.length : end + 2;
      kind = "comment";
    } else if (c === '"' || c === "'") {
      i = skipQuoted(code, i);
      kind = "string";
    } else if (c === "`") {
      i = skipTemplate(code, i);
      kind = "string";
    } else if (c === "/" && regexMayStart(tokens[tokens.length - 1])) {
      i = skipRegex(code, i);
      kind = "string";
    } else if (isWordChar(code.charCodeAt(i))) {
      while (i < code.length && isWordChar(code.charCodeAt(i))) i++;
      // A number's exponent sign belongs to the number (1e-7).
      const first = code.charCodeAt(from);
      const last = code.charCodeAt(i - 1);
      if (
        first >= 48 &&
        first <= 57 &&
        (last === 101 || last === 69) &&
        (code[i] === "+" || code[i] === "-") &&
        /^[0-9][0-9.]*[eE]$/.test(code.slice(from, i))
      ) {
        i++;
        while (i < code.length && isWordChar(code.charCodeAt(i))) i++;
      }
      kind = "word";
    } else {
      i += OPERATOR_START.includes(c) ? operatorLength(code, i) : 1;
      kind = "punct";
    }
    tokens.push(new Token(kind, code.slice(from, i), spaced, breaks));
  }
  return tokens;
}

function skipQuoted(code: string, i: number): number {
  const quote = code[i++];
  while (i < code.length && code[i] !== quote) i += code[i] === "\\" ? 2 : 1;
  return i + 1;
}

function skipTemplate(code: string, i: number): number {
  i++;
  while (i < code.length && code[i] !== "`") {
    if (code[i] === "\\") i += 2;
    else if (code[i] === "$" && code[i + 1] === "{") i = skipBraces(code, i + 1);
    else i++;
  }
  return i + 1;
}

/** Past the `}` that closes the `{` at i, across strings and templates inside. */
function skipBraces(code: string, i: number): number {
  let depth = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (c === '"' || c === "'") i = skipQuoted(code, i);
    else if (c === "`") i = skipTemplate(code, i);
    else {
      if (c === "{") depth++;
      else if (c === "}" && --depth === 0) return i + 1;
      i++;
    }
  }
  return i;
}

function regexMayStart(previous: Token | undefined): boolean {
  if (previous === undefined) return true;
  if (previous.kind === "word") return BEFORE_REGEX.has(previous.text);
  return previous.kind === "punct" && !")]}".includes(previous.text);
}

function skipRegex(code: string, i: number): number {
  let inClass = false;
  i++;
  while (i < code.length && (inClass || code[i] !== "/")) {
    if (code[i] === "\\") i++;
    else if (code[i] === "[") inClass = true;
    else if (code[i] === "]") inClass = false;
    i++;
  }
  i++;
  while (i < code.length && /[a-z]/.test(code[i]!)) i++;
  return i;
}

/** An assignment inside an expression keeps its brackets: `(state.step += 1)`. */
const ASSIGNMENTS = new Set(["=", "+=", "-=", "*=", "/=", "%=", "**="]);
/** After these a bracketed expression alone needs no brackets: `x = (a + b);`, `f((a), b)`. */
const SLOT_BEFORE = new Set([...ASSIGNMENTS, "(", ",", "[", "return"]);
const SLOT_AFTER = new Set([";", ",", ")", "]"]);

/**
 * The emitter brackets every operand it composes, `(i0) * 2`, `((lr * g[i]))`; a reader does
 * not. Drops brackets around a lone name, number or bracketed expression, and around a whole
 * expression that stands alone in its slot; never a call's, a header's or an arrow's.
 */
function withoutRedundantParens(children: readonly Node[], closer: string | undefined): Node[] {
  const inBrackets = closer === ")" || closer === "]";
  const out: Node[] = [];
  children.forEach((n, k) => {
    if (!isGroup(n) || n.kind !== "paren" || n.close === undefined || n.children.length === 0)
      return out.push(n);
    const before = out[out.length - 1];
    const after = children[k + 1];
    const previous = before === undefined ? undefined : isGroup(before) ? before.close?.text : before.text;
    const next = after === undefined ? undefined : text(after).text;
    const call =
      previous !== undefined &&
      (`)]>${TYPES_END}`.includes(previous) || (isWord(before!) && previous !== "return"));
    const arrow = next === "=>" || next === ":";
    const member = next !== undefined && next.startsWith(".") && /^[0-9]/.test(text(n.children[0]!).text);
    if (call || arrow || member || n.children.some(isComment)) return out.push(n);
    const lone =
      n.children.length === 1 &&
      (isGroup(n.children[0]!) ? n.children[0]!.kind === "paren" : n.children[0]!.kind !== "punct");
    const slot =
      (previous === undefined ? inBrackets : SLOT_BEFORE.has(previous)) &&
      (next === undefined ? inBrackets : SLOT_AFTER.has(next)) &&
      !n.children.some((c) => !isGroup(c) && (c.text === "," || ASSIGNMENTS.has(c.text))) &&
      !(isGroup(n.children[0]!) && n.children[0]!.kind !== "paren");
    if (!lone && !slot) return out.push(n);
    const [first, ...rest] = n.children;
    out.push(respaced(first!, n.open), ...rest);
  });
  return out;
}

/** Whether nodes[k] is the bracketed header of an `if`, `for` or `while`. */
export function isHeader(nodes: readonly Node[], k: number): boolean {
  const keyword = nodes[k - 1];
  return keyword !== undefined && !isGroup(keyword) && ["if", "for", "while"].includes(keyword.text);
}

const isWord = (n: Node) => !isGroup(n) && n.kind === "word";

/** A node moved into its bracket's place, with the bracket's spacing. */
function respaced(n: Node, like: Token): Node {
  const moved = (t: Token) => new Token(t.kind, t.text, like.spaced, like.breaks);
  return isGroup(n) ? new Group(n.kind, moved(n.open), n.close, n.children) : moved(n);
}

/** Brackets into groups; a `{` is a block or an object by the token before it. */
export function group(tokens: readonly Token[]): Node[] {
  let at = 0;
  const until = (closer: string | undefined): { children: Node[]; close: Token | undefined } => {
    const children: Node[] = [];
    let previous: Token | undefined;
    while (at < tokens.length) {
      const t = tokens[at++]!;
      if (t.kind === "punct" && t.text === closer)
        return { children: withoutRedundantParens(children, closer), close: t };
      if (t.kind === "punct" && CLOSERS[t.text] !== undefined) {
        const inner = until(CLOSERS[t.text]);
        children.push(new Group(kindOf(t.text, previous), t, inner.close, inner.children));
        previous = inner.close;
      } else {
        children.push(t);
        if (t.kind !== "comment") previous = t;
      }
    }
    return { children, close: undefined };
  };
  return until(undefined).children;
}

function kindOf(open: string, previous: Token | undefined): Group["kind"] {
  if (open === "(") return "paren";
  if (open === "[") return "bracket";
  if (
    previous === undefined ||
    (previous.kind === "punct" && (previous.text === ";" || previous.text === "}"))
  )
    return "block";
  if (BEFORE_BLOCK.has(previous.text)) return "block";
  if (previous.kind === "word" && !NOT_BEFORE_BLOCK.has(previous.text) && /^[A-Za-z_$]/.test(previous.text))
    return "block";
  return "object";
}

export const text = (n: Node): Token => (isGroup(n) ? n.open : n);
export const isComment = (n: Node | undefined) => n !== undefined && !isGroup(n) && n.kind === "comment";
export const isLineComment = (n: Node | undefined) => isComment(n) && (n as Token).text.startsWith("//");
