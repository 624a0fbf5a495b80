/**
 * The generated module's layout: one statement a line, blocks indented by two spaces, an
 * object, array or argument list kept on one line when it fits in 100 columns and otherwise
 * one entry a line (numbers filled), blank lines where the emitter put them.
 *
 * Why not prettier: formatting took 90% of compiling (the LSTM's module 150–340 ms of a
 * 160–350 ms compile; dprint's and Biome's WebAssembly builds 55–80 ms), and an interactive
 * tool compiles on every keystroke. The emitter's text is a small subset of TypeScript
 * that it wrote itself, so laying it out needs only its tokens and brackets, and takes
 * a few milliseconds. What changes is whitespace, brackets the emitter wrote that a reader
 * would not (tokens.ts) and a comma after the last entry of a broken list: the syntax tree
 * stays the same (a test checks it on every example).
 */

import {
  Group,
  group,
  isComment,
  isGroup,
  isHeader,
  isLineComment,
  text,
  tokenize,
  TYPES_BEGIN,
  TYPES_END,
  type Node,
  type Token,
} from "./tokens.js";

const WIDTH = 100;
const INDENT = "  ";

/** Whether a space goes between two neighbours on one line. */
function spaceBetween(previous: string | undefined, next: Token): boolean {
  if (previous === undefined) return false;
  if ("([".includes(previous) || ")],;".includes(next.text)) return false;
  // JSON.stringify writes {"a":[1,2]}; a reader expects {"a": [1, 2]}.
  if (previous === "," || (previous === ":" && next.text !== ":")) return true;
  return next.spaced;
}

/** A group on one line, remembered: the printer asks of a group at every level above it. */
function flatGroup(g: Group): string | undefined {
  let known = g.flat;
  if (known === undefined) {
    const inner = g.kind === "block" && g.children.length > 0 ? undefined : flat(g.children, g.open.text);
    known =
      inner === undefined
        ? null
        : g.open.text +
          (g.kind === "object" && inner !== "" ? ` ${inner.trim()} ` : inner) +
          (g.close?.text ?? "");
    g.flat = known;
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
    // The end of a TypeScript-only statement goes with it; one inside a statement does not end it.
    const endsOne = (m: Node | undefined) =>
      m !== undefined && (isGroup(m) ? m.kind === "block" : m.text === ";");
    if (next !== undefined && !isGroup(next) && next.text === TYPES_END && endsOne(n)) return false;
    if (!isGroup(n) && n.text === TYPES_END) return endsOne(nodes[i - 1]);
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

/** The emitter's code laid out (the module's header says what may change). */
export function layOut(code: string): string {
  const printer = new Printer();
  printer.statements(group(tokenize(code)));
  return printer.result();
}

/**
 * The laid-out marked module as its two forms: the TypeScript without the markers, the
 * JavaScript without what they enclose. A line left with nothing on it goes; blank lines stay
 * single.
 */
export function splitForms(marked: string): { typescript: string; javascript: string } {
  const ts: string[] = [];
  const js: string[] = [];
  let inside = false;
  for (const line of marked.split("\n")) {
    if (!inside && !line.includes(TYPES_BEGIN) && !line.includes(TYPES_END)) {
      ts.push(line);
      js.push(line);
      continue;
    }
    let typed = "";
    let plain = "";
    for (const c of line) {
      if (c === TYPES_BEGIN) inside = true;
      else if (c === TYPES_END) inside = false;
      else {
        typed += c;
        if (!inside) plain += c;
      }
    }
    const emptied = (kept: string) => kept.trim() === "" && line.trim() !== "";
    if (!emptied(typed)) ts.push(typed.trimEnd());
    if (!emptied(plain)) js.push(plain.trimEnd());
  }
  const tidy = (lines: string[]) =>
    `${lines
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .replace(/^\n+/, "")
      .trimEnd()}\n`;
  return { typescript: tidy(ts), javascript: tidy(js) };
}
