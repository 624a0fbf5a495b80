import type { Span } from "../diagnostics/span.js";

export type Relation = ">" | ">=" | "<" | "<=" | "==" | "!=";
export type BinaryOperator = "+" | "-" | "*" | ".*" | "/" | "^" | Relation;

export type Expr =
  /** `text` is the literal as written: a lecture's printed digits. */
  | { readonly kind: "number"; readonly value: number; readonly text: string; readonly span: Span }
  | {
      readonly kind: "tensor";
      readonly elements: readonly Expr[];
      readonly span: Span;
    }
  | {
      readonly kind: "name";
      readonly name: SubscriptedName;
      readonly span: Span;
    }
  | {
      readonly kind: "call";
      readonly callee: SubscriptedName;
      readonly args: readonly Argument[];
      readonly span: Span;
    }
  | {
      readonly kind: "binary";
      readonly operator: BinaryOperator;
      readonly left: Expr;
      readonly right: Expr;
      readonly span: Span;
    }
  | { readonly kind: "negate"; readonly operand: Expr; readonly span: Span }
  | { readonly kind: "transpose"; readonly operand: Expr; readonly span: Span };

/** `h`, `h_t` (one identifier) or `h_<t-1>` (explicit subscript expression). */
export interface SubscriptedName {
  readonly identifier: string;
  readonly subscript?: Expr;
  readonly span: Span;
}

export interface Argument {
  readonly name?: string;
  readonly value: Expr;
  readonly span: Span;
}

export type DimRef =
  | { readonly kind: "named"; readonly name: string; readonly span: Span }
  | {
      readonly kind: "literal";
      readonly value: number;
      readonly span: Span;
    };

export type Role = "input" | "target" | "param" | "const";

export type Statement =
  | { readonly kind: "model"; readonly name: string; readonly span: Span }
  | {
      readonly kind: "dim";
      readonly name: string;
      readonly value?: number;
      readonly span: Span;
    }
  | {
      readonly kind: "index";
      readonly name: string;
      readonly lower: number;
      readonly upper: DimRef;
      readonly span: Span;
    }
  | {
      readonly kind: "declaration";
      readonly role: Role;
      readonly name: SubscriptedName;
      readonly shape?: readonly DimRef[];
      /** Integer data: class labels, token ids (`input y: [N] int`). */
      readonly integer?: { readonly span: Span };
      /** Names of the positions along each axis of a const defined entry by entry (`M[i, j]`). */
      readonly axes?: readonly { readonly name: string; readonly span: Span }[];
      readonly latex?: { readonly text: string; readonly span: Span };
      readonly init?: Expr;
      readonly span: Span;
    }
  | {
      readonly kind: "equation";
      readonly target: SubscriptedName;
      readonly latex?: { readonly text: string; readonly span: Span };
      readonly value: Expr;
      readonly isLoss: boolean;
      readonly span: Span;
    }
  | {
      readonly kind: "lecture";
      readonly source?: string;
      readonly entries: readonly LectureEntry[];
      /** What the lecture block says in words: conventions, what the lecture leaves out. */
      readonly remarks: readonly string[];
      readonly span: Span;
    }
  | {
      readonly kind: "example";
      readonly assignments: readonly Assignment[];
      readonly span: Span;
    }
  | {
      readonly kind: "train";
      readonly optimizer: string;
      /** Where the optimiser's name is written. */
      readonly optimizerSpan?: Span;
      readonly args: readonly Argument[];
      readonly span: Span;
    };

/**
 * One thing a lecture prints: a value (`h_1`), a derivative (`dL/dWhz`), optionally one
 * entry (`[1, 2]`, from 1), after `after` steps of gradient descent; the printed numbers or
 * the lecture's formula, and a remark.
 */
export interface LectureEntry {
  readonly quantity: { readonly name: string; readonly span: Span };
  /** For a derivative dL/dX: X, with `quantity` holding L. */
  readonly wrt?: { readonly name: string; readonly span: Span };
  readonly entry?: readonly number[];
  /** How the handout writes a quantity the lecture defines: `dout "\\partial out/\\partial in" = …`. */
  readonly latex?: { readonly text: string; readonly span: Span };
  readonly after: number;
  readonly value: Expr;
  readonly note?: string;
  readonly span: Span;
}

export interface Assignment {
  readonly target: SubscriptedName;
  readonly value: Expr;
  readonly span: Span;
}

export interface Program {
  readonly statements: readonly Statement[];
}
