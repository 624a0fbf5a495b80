import type { IToken } from "chevrotain";

/** A half-open source range; lines and columns are 1-based. */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly column: number;
}

// Chevrotain's endOffset is inclusive: this is the one place that converts it.
export function tokenSpan(token: IToken): Span {
  // A token chevrotain inserted while recovering from a syntax error has no place in the
  // source: the statement holding it was reported already and is left out of the AST.
  if (token.isInsertedInRecovery || Number.isNaN(token.startOffset)) throw new RecoveredToken();
  return {
    start: token.startOffset,
    end: (token.endOffset ?? token.startOffset) + 1,
    line: token.startLine ?? 1,
    column: token.startColumn ?? 1,
  };
}

export function joinSpans(first: Span, last: Span): Span {
  return {
    start: first.start,
    end: Math.max(first.end, last.end),
    line: first.line,
    column: first.column,
  };
}

/** Thrown for a token that error recovery made up; the statement around it is skipped. */
export class RecoveredToken extends Error {}
