import type { Position, Range } from "vscode-languageserver";
import type { Span } from "../diagnostics/span.js";
import { normalizeLineEnds } from "../analyze.js";

/**
 * A document's text as the compiler reads it (`analyze` turns \r\n and a lone \r into \n, and
 * its spans are offsets into that text), with conversions between those offsets and the LSP's
 * 0-based line and character positions. Both count UTF-16 code units, and the rewrite only
 * drops or replaces a line's last character, so a position in the normalised text is the same
 * position in the editor's.
 */
export class SourceText {
  readonly text: string;
  private readonly lineStarts: number[] = [0];

  constructor(raw: string) {
    this.text = normalizeLineEnds(raw);
    for (let i = 0; i < this.text.length; i++) if (this.text[i] === "\n") this.lineStarts.push(i + 1);
  }

  position(offset: number): Position {
    const at = Math.min(Math.max(0, offset), this.text.length);
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= at) low = mid;
      else high = mid - 1;
    }
    return { line: low, character: at - this.lineStarts[low]! };
  }

  offset(position: Position): number {
    if (position.line < 0) return 0;
    if (position.line >= this.lineStarts.length) return this.text.length;
    const start = this.lineStarts[position.line]!;
    const next = this.lineStarts[position.line + 1];
    const lineEnd = next === undefined ? this.text.length : next - 1;
    return Math.min(start + Math.max(0, position.character), lineEnd);
  }

  /** A span's half-open range; an empty one is widened to the character it points at, so an editor can underline it. */
  range(span: Pick<Span, "start" | "end">): Range {
    const start = Math.min(Math.max(0, span.start), this.text.length);
    let end = Math.min(Math.max(start, span.end), this.text.length);
    if (end === start && start < this.text.length && this.text[start] !== "\n") end = start + 1;
    return { start: this.position(start), end: this.position(end) };
  }
}
