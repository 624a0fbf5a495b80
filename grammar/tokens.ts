import { createToken, Lexer, type TokenType } from "chevrotain";

// Identifiers never end in "_" so that `h_<t-1>` lexes as `h` `_<` `t` `-` `1` `>`.
export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*/,
});

/** The language's keywords as written (`model`, `param`, …), for editors' highlighting and completion. */
export const keywords: string[] = [];

function keyword(name: string, word: string): TokenType {
  keywords.push(word);
  return createToken({
    name,
    pattern: new RegExp(`${word}(?![A-Za-z0-9_])`),
    longer_alt: Identifier,
  });
}

export const Model = keyword("Model", "model");
export const Dim = keyword("Dim", "dim");
export const Index = keyword("Index", "index");
export const In = keyword("In", "in");
export const Input = keyword("Input", "input");
export const Target = keyword("Target", "target");
export const Param = keyword("Param", "param");
export const Const = keyword("Const", "const");
export const Loss = keyword("Loss", "loss");
export const Example = keyword("Example", "example");
export const Train = keyword("Train", "train");
export const Lecture = keyword("Lecture", "lecture");
export const After = keyword("After", "after");
export const Int = keyword("Int", "int");

export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
});
export const Comment = createToken({
  name: "Comment",
  pattern: /#[^\n]*/,
  group: Lexer.SKIPPED,
});

export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/,
});
export const StringLiteral = createToken({
  name: "StringLiteral",
  pattern: /"[^"\n]*"/,
});

export const SubscriptOpen = createToken({
  name: "SubscriptOpen",
  pattern: /_</,
});
export const RAngle = createToken({ name: "RAngle", pattern: />/ });
export const GreaterEqual = createToken({ name: "GreaterEqual", pattern: />=/ });
export const LessEqual = createToken({ name: "LessEqual", pattern: /<=/ });
export const Less = createToken({ name: "Less", pattern: /</ });
export const EqualEqual = createToken({ name: "EqualEqual", pattern: /==/ });
export const NotEqual = createToken({ name: "NotEqual", pattern: /!=/ });
export const Range = createToken({ name: "Range", pattern: /\.\./ });
export const Hadamard = createToken({ name: "Hadamard", pattern: /\.\*|⊙/ });
// `^T` is transpose whenever T stands alone after the caret; a power needs another operand.
export const Transpose = createToken({
  name: "Transpose",
  pattern: /\^\s*T(?![A-Za-z0-9_])/,
});
// `.^` and `./` are MATLAB's spellings of the elementwise power and quotient, which
// textbooks copy; they mean what `^` and `/` mean.
export const Caret = createToken({ name: "Caret", pattern: /\.\^|\^/ });
export const Plus = createToken({ name: "Plus", pattern: /\+/ });
export const Minus = createToken({ name: "Minus", pattern: /-/ });
export const Star = createToken({ name: "Star", pattern: /\*/ });
export const Slash = createToken({ name: "Slash", pattern: /\.\/|\// });
export const Equals = createToken({ name: "Equals", pattern: /=/ });
export const Colon = createToken({ name: "Colon", pattern: /:/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/ });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/ });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/ });

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Model,
  Dim,
  Index,
  In,
  Input,
  Target,
  Param,
  Const,
  Loss,
  Example,
  Train,
  Lecture,
  After,
  Int,
  NumberLiteral,
  StringLiteral,
  SubscriptOpen,
  Identifier,
  GreaterEqual,
  LessEqual,
  EqualEqual,
  NotEqual,
  RAngle,
  Less,
  Range,
  Hadamard,
  Transpose,
  Caret,
  Plus,
  Minus,
  Star,
  Slash,
  Equals,
  Colon,
  Comma,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
];

/** The token definitions are checked by the grammar's test (validated there), not on every start. */
export const nablaLexer = new Lexer(allTokens, { positionTracking: "full", skipValidations: true });
