/**
 * The generated module's layout: one statement a line, blocks indented by two spaces, an
 * object, array or argument list kept on one line when it fits in 100 columns and otherwise
 * one entry a line (numbers filled), blank lines where the emitter put them.
 *
 * Why not prettier: formatting took 90% of compiling (the LSTM's module 150–340 ms of a
 * 160–350 ms compile; dprint's and Biome's WebAssembly builds 55–80 ms), and an interactive
 * tool compiles on every keystroke. The emitter's text is a small subset of TypeScript
 * that it wrote itself, so laying it out needs only its tokens and brackets, and takes
 * about a millisecond. Only whitespace between tokens changes (a test checks it).
 */

const WIDTH = 100;
const INDENT = "  ";

/** Classes, not object literals: V8 then sees two shapes, and `instanceof` is one check. */
class Token {
  constructor(
    readonly kind: "word" | "string" | "comment" | "punct",
    readonly text: string,
    /** Whether the emitter put whitespace before it, and how many line breaks. */
    readonly spaced: boolean,
    readonly breaks: number,
  ) {}
}

class Group {
  constructor(
    readonly kind: "block" | "object" | "paren" | "bracket",
    readonly open: Token,
    readonly close: Token | undefined,
    readonly children: Node[],
  ) {}
}

type Node = Token | Group;

const isGroup = (n: Node): n is Group => n instanceof Group;
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
/** After these a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = new Set(["return", "typeof", "case", "do", "else", "in", "of", "throw", "void"]);
/** A `{` after these opens a block, elsewhere an object (or object type). */
const BEFORE_BLOCK = new Set([")", "]", "=>", "else", "try", "finally", "do", ">"]);
const NOT_BEFORE_BLOCK = new Set([
  ...["return", "typeof", "in", "of", "case", "throw", "yield", "await"],
  ...["const", "let", "var", "import", "export"],
]);

function tokenize(code: string): Token[] {
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
      if (/^[0-9][0-9.]*[eE]$/.test(code.slice(from, i)) && "+-".includes(code[i] ?? " ")) {
        i++;
        while (i < code.length && isWordChar(code.charCodeAt(i))) i++;
      }
      kind = "word";
    } else {
      i += OPERATOR_START.includes(c) ? (OPERATORS.find((o) => code.startsWith(o, i)) ?? c).length : 1;
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

/** After these a bracketed expression alone needs no brackets: `x = (a + b);`, `f((a), b)`. */
const SLOT_BEFORE = new Set(["=", "+=", "-=", "*=", "/=", "(", ",", "[", "return"]);
const SLOT_AFTER = new Set([";", ",", ")", "]"]);
/** An assignment inside an expression keeps its brackets: `(state.step += 1)`. */
const ASSIGNMENTS = new Set(["=", "+=", "-=", "*=", "/=", "%=", "**="]);

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
      previous !== undefined && (")]>".includes(previous) || (isWord(before!) && previous !== "return"));
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
function isHeader(nodes: readonly Node[], k: number): boolean {
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
function group(tokens: readonly Token[]): Node[] {
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

const text = (n: Node): Token => (isGroup(n) ? n.open : n);
const isComment = (n: Node | undefined) => n !== undefined && !isGroup(n) && n.kind === "comment";
const isLineComment = (n: Node | undefined) => isComment(n) && (n as Token).text.startsWith("//");

/** Whether a space goes between two neighbours on one line. */
function spaceBetween(previous: string | undefined, next: Token): boolean {
  if (previous === undefined) return false;
  if ("([".includes(previous) || ")],;".includes(next.text)) return false;
  // JSON.stringify writes {"a":[1,2]}; a reader expects {"a": [1, 2]}.
  if (previous === "," || (previous === ":" && next.text !== ":")) return true;
  return next.spaced;
}

const flatGroups = new WeakMap<Group, string | null>();

/** A group on one line, remembered: the printer asks of a group at every level above it. */
function flatGroup(g: Group): string | undefined {
  let known = flatGroups.get(g);
  if (known === undefined) {
    const inner = g.kind === "block" && g.children.length > 0 ? undefined : flat(g.children, g.open.text);
    known =
      inner === undefined
        ? null
        : g.open.text +
          (g.kind === "object" && inner !== "" ? ` ${inner.trim()} ` : inner) +
          (g.close?.text ?? "");
    flatGroups.set(g, known);
  }
  return known ?? undefined;
}

/** The nodes on one line, or undefined when they cannot be (a block, a line comment). */
function flat(nodes: readonly Node[], last?: string): string | undefined {
  let out = "";
  for (const n of nodes) {
    if (isGroup(n)) {
      const whole = flatGroup(n);
      if (whole === undefined) return undefined;
      out += (spaceBetween(last, n.open) ? " " : "") + whole;
      last = n.close?.text ?? "";
    } else {
      if (isLineComment(n)) return undefined;
      out += (spaceBetween(last, n) ? " " : "") + n.text;
      last = n.text;
    }
  }
  return out;
}

/** Splits a group's children at its top-level separators (commas, or `;` in an object type). */
function entries(children: readonly Node[]): { nodes: Node[]; separator: string }[] {
  const out: { nodes: Node[]; separator: string }[] = [];
  let current: Node[] = [];
  // Commas inside type arguments (Record<string, number>) separate nothing here.
  let angles = 0;
  let previous: Node | undefined;
  for (const n of children) {
    if (
      !isGroup(n) &&
      n.text === "<" &&
      !n.spaced &&
      previous !== undefined &&
      !isGroup(previous) &&
      previous.kind === "word"
    )
      angles++;
    else if (!isGroup(n) && n.text === ">" && angles > 0) angles--;
    previous = n;
    if (angles === 0 && !isGroup(n) && n.kind === "punct" && (n.text === "," || n.text === ";")) {
      out.push({ nodes: current, separator: n.text });
      current = [];
    } else current.push(n);
  }
  if (current.length > 0) out.push({ nodes: current, separator: "" });
  return out;
}

class Printer {
  private readonly lines: string[] = [];
  private line = "";
  private depth = 0;
  /** The last text written on the current line, for spacing. */
  private last: string | undefined;

  result(): string {
    this.newline();
    while (this.lines.length > 0 && this.lines[this.lines.length - 1] === "") this.lines.pop();
    return this.lines.join("\n") + "\n";
  }

  private newline(): void {
    if (this.line.trim() !== "") this.lines.push(this.line.trimEnd());
    this.line = "";
    this.last = undefined;
  }

  private blank(): void {
    this.newline();
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] !== "") this.lines.push("");
  }

  private write(piece: string, spaced: boolean): void {
    if (this.line === "") this.line = INDENT.repeat(this.depth);
    else if (spaced) this.line += " ";
    this.line += piece;
  }

  private column(): number {
    return this.line === "" ? this.depth * INDENT.length : this.line.length;
  }

  /** A block's content: statements, one a line. */
  statements(nodes: readonly Node[]): void {
    let first = true;
    let i = 0;
    while (i < nodes.length) {
      const start = i;
      while (i < nodes.length && !this.endsStatement(nodes, i)) i++;
      i = Math.min(i + 1, nodes.length);
      const statement = nodes.slice(start, i);
      const head = text(statement[0]!);
      // A comment on the line of the statement before stays there.
      if (!first && head.kind === "comment" && head.breaks === 0) {
        // written after the statement, with the space the emitter put before it
      } else if (!first && head.breaks >= 2) this.blank();
      else this.newline();
      first = false;
      this.sequence(statement);
    }
    this.newline();
  }

  private endsStatement(nodes: readonly Node[], i: number): boolean {
    const n = nodes[i]!;
    const next = nodes[i + 1];
    if (isComment(n)) return true;
    if (next !== undefined && isComment(next) && text(next).breaks > 0) return true;
    if (!isGroup(n)) return n.kind === "punct" && n.text === ";";
    if (n.kind !== "block" || next === undefined) return false;
    const t = text(next);
    return !(
      ["else", "catch", "finally", "while", "as"].includes(t.text) ||
      (t.kind === "punct" && ")],;.".includes(t.text))
    );
  }

  /**
   * Nodes that belong on one line unless a group among them must break. `after`: the width of
   * what the caller writes after them on the same line (a comma).
   */
  private sequence(nodes: readonly Node[], after = 0): void {
    if (nodes.length === 0) return;
    const line = flat(nodes);
    const first = text(nodes[0]!);
    const space = spaceBetween(this.last, first);
    if (line !== undefined && this.column() + (space ? 1 : 0) + line.length + after <= WIDTH) {
      this.write(line, space);
      const last = nodes[nodes.length - 1]!;
      this.last = isGroup(last) ? (last.close?.text ?? "") : last.text;
      return;
    }
    const breaks = this.operatorBreaks(nodes, line);
    const tails = tailWidths(nodes, after, breaks);
    let continued = false;
    for (const [k, n] of nodes.entries()) {
      if (breaks.has(k) && this.line !== "") {
        if (!continued) this.depth++;
        continued = true;
        this.newline();
      }
      if (isGroup(n)) {
        // A header's statement may go on the next line, so only the header must fit.
        this.group(n, isHeader(nodes, k) ? 0 : tails[k]!);
        if (this.bodyOnNextLine(nodes, k)) {
          this.depth++;
          this.newline();
          this.sequence(nodes.slice(k + 1));
          this.depth--;
          break;
        }
      } else {
        if (n.kind === "comment" && n.text.startsWith("/*")) this.comment(n);
        else this.write(n.text, spaceBetween(this.last, n));
        this.last = n.text;
        if (isLineComment(n)) this.newline();
      }
    }
    if (continued) this.depth--;
  }

  /**
   * Where a line too long for the width breaks: before each binary operator of the loosest
   * binding among those outside brackets (a sum's terms one a line, not a product split).
   */
  private operatorBreaks(nodes: readonly Node[], line: string | undefined): Set<number> {
    const breaks = new Set<number>();
    // A line with a block or a line comment in it breaks there, not at its operators.
    if (line === undefined) return breaks;
    const binding = (k: number) => {
      const n = nodes[k]!;
      return !isGroup(n) && n.spaced && k + 1 < nodes.length && text(nodes[k + 1]!).spaced
        ? BINDING[n.text]
        : undefined;
    };
    let loosest = Infinity;
    for (let k = 0; k < nodes.length; k++) loosest = Math.min(loosest, binding(k) ?? Infinity);
    for (let k = 0; k < nodes.length; k++) if (binding(k) === loosest) breaks.add(k);
    return breaks;
  }

  /** Whether an `if (…)`/`for (…)`/`while (…)` header's one-statement body goes below it: when it does not fit beside it. */
  private bodyOnNextLine(nodes: readonly Node[], k: number): boolean {
    if (!isHeader(nodes, k)) return false;
    const rest = nodes.slice(k + 1);
    if (rest.length === 0 || isGroup(rest[0]!) || rest[0]!.text === ";") return false;
    const line = flat(rest);
    return line === undefined || this.column() + 1 + line.length > WIDTH;
  }

  /** A block comment keeps its lines, re-indented. */
  private comment(n: Token): void {
    const [head, ...rest] = n.text.split("\n");
    this.write(head!, spaceBetween(this.last, n));
    for (const line of rest) {
      this.newline();
      this.write(line.trim().startsWith("*") ? ` ${line.trim()}` : line.trim(), false);
    }
  }

  /** `tail`: the width of what follows the group on its line, which must fit too. */
  private group(g: Group, tail = 0): void {
    const close = g.close?.text ?? "";
    this.write(g.open.text, spaceBetween(this.last, g.open));
    this.last = g.open.text;
    if (g.kind === "block") {
      if (g.children.length > 0) {
        this.depth++;
        this.statements(g.children);
        this.depth--;
      }
      this.write(close, false);
      this.last = close;
      return;
    }
    const whole = flatGroup(g);
    if (whole !== undefined && this.column() + whole.length - g.open.text.length + tail <= WIDTH) {
      this.write(whole.slice(g.open.text.length), false);
    } else {
      this.broken(g);
      this.write(close, false);
    }
    this.last = close;
  }

  /** A group over several lines: one entry a line, or numbers filled; a lone entry hugged. */
  private broken(g: Group): void {
    const list = entries(g.children);
    const lone = list.length === 1 && list[0]!.separator === "" && !g.children.some(isComment);
    const headers = g.kind === "paren" && list.some((e) => e.separator === ";");
    const last = g.children[g.children.length - 1];
    // A lone argument that fits on a line of its own goes there, `throw new Error(\n  "…" + name\n)`;
    // one that ends in a bracket opens it on this line instead, `f([\n  1, 2,\n])`.
    const own = flat(g.children);
    if (
      lone &&
      g.kind === "paren" &&
      !isGroup(last!) &&
      own !== undefined &&
      (this.depth + 1) * INDENT.length + own.length <= WIDTH
    ) {
      this.depth++;
      this.newline();
      this.write(own, false);
      this.depth--;
      this.newline();
      return;
    }
    if (headers || (lone && g.kind !== "object")) {
      this.sequence(g.children);
      return;
    }
    // No comma after a call's or parameter list's last entry: `(...rest,)` is not valid.
    const trailing =
      g.kind === "paren" ? "" : g.kind === "object" && list.some((e) => e.separator === ";") ? ";" : ",";
    this.depth++;
    this.newline();
    if (list.every((e) => isNumber(e.nodes))) this.fill(list.map((e) => flat(e.nodes)!.replace(/^- /, "-")));
    else
      for (const entry of list) {
        this.newline();
        this.sequence(entry.nodes, 1);
        if (!isComment(entry.nodes[entry.nodes.length - 1]) || entry.separator !== "")
          this.write(entry.separator || trailing, false);
        this.last = ",";
      }
    this.depth--;
    this.newline();
  }

  private fill(numbers: readonly string[]): void {
    numbers.forEach((n, k) => {
      const piece = `${n},`;
      if (this.line !== "" && this.column() + 1 + piece.length > WIDTH) this.newline();
      this.write(piece, k > 0);
    });
  }
}

/** Binary operators a long line may break before, by how tightly they bind. */
const BINDING: Record<string, number> = {
  "?": 0,
  ":": 0,
  "||": 1,
  "??": 1,
  "&&": 2,
  "+": 3,
  "-": 3,
  "*": 4,
  "/": 4,
  "%": 4,
};

/** A node's width on one line (with its space before), or undefined for one that cannot be. */
function widthOf(n: Node): number | undefined {
  if (!isGroup(n)) return isLineComment(n) ? undefined : n.text.length + (n.spaced ? 1 : 0);
  const whole = flatGroup(n);
  return whole === undefined ? undefined : whole.length + (n.open.spaced ? 1 : 0);
}

/** For each node, the width of what follows it on its line: up to a block, a line comment or a break before an operator. */
function tailWidths(nodes: readonly Node[], after: number, breaks: ReadonlySet<number>): number[] {
  const tails = new Array<number>(nodes.length).fill(0);
  tails[nodes.length - 1] = after;
  let width = after;
  for (let k = nodes.length - 1; k > 0; k--) {
    const w = widthOf(nodes[k]!);
    width = w === undefined || breaks.has(k) ? 0 : width + w;
    tails[k - 1] = width;
  }
  return tails;
}

const isNumber = (nodes: readonly Node[]) =>
  nodes.length > 0 &&
  nodes.length <= 2 &&
  nodes.every((n) => !isGroup(n)) &&
  /^-?$/.test(nodes.length === 2 ? (nodes[0] as Token).text : "") &&
  /^[0-9.][0-9.eE_]*$|^Infinity$|^NaN$/.test((nodes[nodes.length - 1] as Token).text);

/** The emitter's code laid out: only the whitespace between its tokens changes. */
export function layOut(code: string): string {
  const printer = new Printer();
  printer.statements(group(tokenize(code)));
  return printer.result();
}
