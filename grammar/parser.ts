import { CstParser, type IRecognitionException } from "chevrotain";
import * as T from "./tokens.js";

/**
 * The nabla grammar as a pure chevrotain CstParser: rules only, no actions.
 * Statements need no separator because every statement starts with a keyword
 * or with `name =`, and an expression never continues with a bare name.
 */
/** Thrown to stop parsing a file with too many syntax errors: recovery from each costs time. */
export class TooManySyntaxErrors extends Error {}

/** Syntax errors reported before parsing stops. */
export const MAX_SYNTAX_ERRORS = 40;

export class NablaParser extends CstParser {
  /**
   * `validate`: check the grammar itself (ambiguities, left recursion) while building the
   * parser. That is a third of a cold start, and the grammar does not change between runs: the
   * grammar's test builds it validated, every run skips it.
   */
  constructor(validate = false) {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, skipValidations: !validate });
    this.performSelfAnalysis();
  }

  // Every recognition error passes here; past the limit the parse ends instead of recovering again.
  SAVE_ERROR(error: IRecognitionException): IRecognitionException {
    if (this.errors.length >= MAX_SYNTAX_ERRORS) throw new TooManySyntaxErrors();
    return (
      CstParser.prototype as unknown as { SAVE_ERROR(e: IRecognitionException): IRecognitionException }
    ).SAVE_ERROR.call(this, error);
  }

  program = this.RULE("program", () => {
    this.MANY(() => this.SUBRULE(this.statement));
  });

  statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.dimDecl) },
      { ALT: () => this.SUBRULE(this.indexDecl) },
      { ALT: () => this.SUBRULE(this.varDecl) },
      { ALT: () => this.SUBRULE(this.lossDecl) },
      { ALT: () => this.SUBRULE(this.exampleBlock) },
      { ALT: () => this.SUBRULE(this.trainDecl) },
      { ALT: () => this.SUBRULE(this.lectureBlock) },
      { ALT: () => this.SUBRULE(this.equation) },
    ]);
  });

  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
  });

  dimDecl = this.RULE("dimDecl", () => {
    this.CONSUME(T.Dim);
    this.AT_LEAST_ONE_SEP({
      SEP: T.Comma,
      DEF: () => this.SUBRULE(this.dimItem),
    });
  });

  dimItem = this.RULE("dimItem", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.CONSUME(T.NumberLiteral);
    });
  });

  indexDecl = this.RULE("indexDecl", () => {
    this.CONSUME(T.Index);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.In);
    this.CONSUME(T.NumberLiteral);
    this.CONSUME(T.Range);
    this.OR([
      { ALT: () => this.CONSUME2(T.NumberLiteral, { LABEL: "upperNumber" }) },
      { ALT: () => this.CONSUME2(T.Identifier, { LABEL: "upperDim" }) },
    ]);
  });

  varDecl = this.RULE("varDecl", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Input, { LABEL: "role" }) },
      { ALT: () => this.CONSUME(T.Target, { LABEL: "role" }) },
      { ALT: () => this.CONSUME(T.Param, { LABEL: "role" }) },
      { ALT: () => this.CONSUME(T.Const, { LABEL: "role" }) },
    ]);
    this.SUBRULE(this.lhsName);
    // A constant defined entry by entry: `const M[i, j]: [T, T] = where(j <= i, 0, -1e9)`.
    this.OPTION5(() => {
      this.CONSUME(T.LBracket);
      this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME2(T.Identifier, { LABEL: "axisName" }) });
      this.CONSUME(T.RBracket);
    });
    // The LaTeX name may come before the shape too (`param g "\gamma": [D]`), as one writes it.
    this.OPTION6(() => this.CONSUME2(T.StringLiteral, { LABEL: "latexFirst" }));
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.shape);
    });
    // Integer data (class labels, token ids): `input y: [N] int`.
    this.OPTION4(() => this.CONSUME(T.Int));
    this.OPTION2(() => this.CONSUME(T.StringLiteral));
    this.OPTION3(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression);
    });
  });

  shape = this.RULE("shape", () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.dimRef) });
    this.CONSUME(T.RBracket);
  });

  dimRef = this.RULE("dimRef", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.NumberLiteral) }]);
  });

  lossDecl = this.RULE("lossDecl", () => {
    this.CONSUME(T.Loss);
    this.SUBRULE(this.lhsName);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.Equals);
    this.SUBRULE(this.comparison);
  });

  // An optional string after the name is how the handout writes it: `xL "x^L" = w*x + b`.
  equation = this.RULE("equation", () => {
    this.SUBRULE(this.lhsName);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.Equals);
    this.SUBRULE(this.comparison);
  });

  lhsName = this.RULE("lhsName", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.subscript));
  });

  subscript = this.RULE("subscript", () => {
    this.CONSUME(T.SubscriptOpen);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RAngle);
  });

  exampleBlock = this.RULE("exampleBlock", () => {
    this.CONSUME(T.Example);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.equation));
    this.CONSUME(T.RBrace);
  });

  // What a lecture prints, to be checked: `lecture "source" { h_1 = 0.462  dL/dWhz = [...]  after 1 { w = 0.29 } }`.
  lectureBlock = this.RULE("lectureBlock", () => {
    this.CONSUME(T.Lecture);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.lectureStep) },
        { ALT: () => this.SUBRULE(this.lectureEntry) },
        { ALT: () => this.CONSUME2(T.StringLiteral, { LABEL: "remark" }) },
      ]),
    );
    this.CONSUME(T.RBrace);
  });

  lectureStep = this.RULE("lectureStep", () => {
    this.CONSUME(T.After);
    this.CONSUME(T.NumberLiteral);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.lectureEntry));
    this.CONSUME(T.RBrace);
  });

  lectureEntry = this.RULE("lectureEntry", () => {
    this.CONSUME(T.Identifier, { LABEL: "quantity" });
    this.OPTION(() => {
      this.CONSUME(T.Slash);
      this.CONSUME2(T.Identifier, { LABEL: "wrt" });
    });
    this.OPTION2(() => {
      this.CONSUME(T.LBracket);
      this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.NumberLiteral, { LABEL: "entry" }) });
      this.CONSUME(T.RBracket);
    });
    this.OPTION4(() => this.CONSUME(T.StringLiteral, { LABEL: "latex" }));
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
    this.OPTION3(() => this.CONSUME2(T.StringLiteral, { LABEL: "note" }));
  });

  trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.argument) });
    this.CONSUME(T.RParen);
  });

  // A comparison (1 where it holds, 0 elsewhere) is not chained and binds loosest of all; a
  // subscript reads an `expression`, so the `>` after `h_<t-1` closes it.
  comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.expression, { LABEL: "operands" });
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.RAngle, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.GreaterEqual, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.Less, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.LessEqual, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.EqualEqual, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.NotEqual, { LABEL: "operators" }) },
      ]);
      this.SUBRULE2(this.expression, { LABEL: "operands" });
    });
  });

  expression = this.RULE("expression", () => {
    this.SUBRULE(this.multiplicative, { LABEL: "operands" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "operators" }) },
      ]);
      this.SUBRULE2(this.multiplicative, { LABEL: "operands" });
    });
  });

  multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary, { LABEL: "operands" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.Hadamard, { LABEL: "operators" }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: "operators" }) },
      ]);
      this.SUBRULE2(this.unary, { LABEL: "operands" });
    });
  });

  unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.power) },
    ]);
  });

  // Right-associative, binding tighter than unary minus: -a^2 is -(a^2).
  power = this.RULE("power", () => {
    this.SUBRULE(this.postfix);
    this.OPTION(() => {
      this.CONSUME(T.Caret);
      this.SUBRULE(this.unary, { LABEL: "exponent" });
    });
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => this.CONSUME(T.Transpose));
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLiteral) },
      { ALT: () => this.SUBRULE(this.tensorLiteral) },
      { ALT: () => this.SUBRULE(this.parenthesized) },
      { ALT: () => this.SUBRULE(this.reference) },
    ]);
  });

  parenthesized = this.RULE("parenthesized", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.comparison);
    this.CONSUME(T.RParen);
  });

  tensorLiteral = this.RULE("tensorLiteral", () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
    this.CONSUME(T.RBracket);
  });

  reference = this.RULE("reference", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.subscript));
    this.OPTION2(() => {
      this.CONSUME(T.LParen);
      this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.argument) });
      this.CONSUME(T.RParen);
    });
    // Rows of a table at integer indices: E[ids].
    this.OPTION3(() => {
      this.CONSUME(T.LBracket);
      this.SUBRULE(this.expression, { LABEL: "index" });
      this.CONSUME(T.RBracket);
    });
  });

  argument = this.RULE("argument", () => {
    this.OPTION({
      GATE: () => this.LA(2).tokenType === T.Equals,
      DEF: () => {
        this.CONSUME(T.Identifier, { LABEL: "argName" });
        this.CONSUME(T.Equals);
      },
    });
    this.SUBRULE(this.comparison);
  });
}

export const nablaParser = new NablaParser();
