import type { CstNode, IToken } from "chevrotain";
import type {
  ArgumentCstChildren,
  ComparisonCstChildren,
  DimDeclCstChildren,
  DimItemCstChildren,
  DimRefCstChildren,
  EquationCstChildren,
  ExampleBlockCstChildren,
  ExpressionCstChildren,
  IndexDeclCstChildren,
  LectureBlockCstChildren,
  LectureEntryCstChildren,
  LectureStepCstChildren,
  LhsNameCstChildren,
  LossDeclCstChildren,
  ModelDeclCstChildren,
  MultiplicativeCstChildren,
  ParenthesizedCstChildren,
  PostfixCstChildren,
  PowerCstChildren,
  PrimaryCstChildren,
  ProgramCstChildren,
  ReferenceCstChildren,
  ShapeCstChildren,
  StatementCstChildren,
  SubscriptCstChildren,
  TensorLiteralCstChildren,
  TrainDeclCstChildren,
  UnaryCstChildren,
  VarDeclCstChildren,
} from "../../grammar/cst.js";
import { nablaParser } from "../../grammar/parser.js";
import type {
  Argument,
  Assignment,
  BinaryOperator,
  DimRef,
  Expr,
  LectureEntry,
  Program,
  Role,
  Statement,
  SubscriptedName,
} from "./ast.js";
import { joinSpans, tokenSpan, type Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { syntaxError, tooLong } from "../diagnostics/codes.js";

type Children = Record<string, (CstNode | IToken)[] | undefined>;

// Other spellings of an operator: ⊙ for .*, MATLAB's ./ for /.
const OPERATOR_SPELLINGS: Record<string, BinaryOperator> = { "⊙": ".*", "./": "/" };

const BaseVisitor = nablaParser.getBaseCstVisitorConstructor();

// Keys are checked against the rule's generated children type (grammar/cst.ts): a child the
// grammar does not have is a type error, not an undefined at run time.
type Key<C> = keyof C & string;
const tok = <C extends Children>(c: C, key: Key<C>, i = 0): IToken => c[key]![i] as IToken;
const node = <C extends Children>(c: C, key: Key<C>, i = 0): CstNode => c[key]![i] as CstNode;
const nodes = <C extends Children>(c: C, key: Key<C>): CstNode[] => (c[key] ?? []) as CstNode[];
const maybeTok = <C extends Children>(c: C, key: Key<C>): IToken | undefined =>
  c[key]?.[0] as IToken | undefined;

/** The optional LaTeX spelling written after a name. */
function latexOf(c: LossDeclCstChildren | EquationCstChildren): { latex?: { text: string; span: Span } } {
  const t = maybeTok(c, "StringLiteral");
  return t ? { latex: { text: t.image.slice(1, -1), span: tokenSpan(t) } } : {};
}

/** CST → AST. Every AST node keeps the span of the source it came from. */
export class AstBuilder extends BaseVisitor {
  /** Diagnostics found while building the AST (a statement too long to lower). */
  problems: Diagnostic[] = [];
  constructor() {
    super();
    this.validateVisitor();
  }

  program(c: ProgramCstChildren): Program {
    const statements: Statement[] = [];
    for (const s of nodes(c, "statement")) {
      // A statement chevrotain had to recover is already reported; skip what it could not rebuild.
      try {
        statements.push(this.visit(s) as Statement);
      } catch {
        continue;
      }
    }
    return { statements };
  }

  statement(c: StatementCstChildren): Statement {
    // One alternative is present: whichever kind of statement it is.
    const key = Object.keys(c)[0]! as Key<StatementCstChildren>;
    return this.visit(node(c, key)) as Statement;
  }

  modelDecl(c: ModelDeclCstChildren): Statement {
    const name = tok(c, "Identifier");
    return {
      kind: "model",
      name: name.image,
      span: joinSpans(tokenSpan(tok(c, "Model")), tokenSpan(name)),
    };
  }

  dimDecl(c: DimDeclCstChildren): Statement[] {
    return nodes(c, "dimItem").map((item) => this.visit(item) as Statement);
  }

  dimItem(c: DimItemCstChildren): Statement {
    const name = tok(c, "Identifier");
    const value = maybeTok(c, "NumberLiteral");
    const span = value ? joinSpans(tokenSpan(name), tokenSpan(value)) : tokenSpan(name);
    return value
      ? { kind: "dim", name: name.image, value: Number(value.image), span }
      : { kind: "dim", name: name.image, span };
  }

  indexDecl(c: IndexDeclCstChildren): Statement {
    const upperNumber = maybeTok(c, "upperNumber");
    const upperDim = maybeTok(c, "upperDim");
    const last = (upperNumber ?? upperDim)!;
    const upper: DimRef = upperNumber
      ? {
          kind: "literal",
          value: Number(upperNumber.image),
          span: tokenSpan(upperNumber),
        }
      : { kind: "named", name: upperDim!.image, span: tokenSpan(upperDim!) };
    return {
      kind: "index",
      name: tok(c, "Identifier").image,
      lower: Number(tok(c, "NumberLiteral").image),
      upper,
      span: joinSpans(tokenSpan(tok(c, "Index")), tokenSpan(last)),
    };
  }

  varDecl(c: VarDeclCstChildren): Statement {
    const role = tok(c, "role");
    const name = this.visit(node(c, "lhsName")) as SubscriptedName;
    const shape = c.shape ? (this.visit(node(c, "shape")) as DimRef[]) : undefined;
    const latexToken = maybeTok(c, "latexFirst") ?? maybeTok(c, "StringLiteral");
    if (c.latexFirst && c.StringLiteral)
      this.problems.push(
        syntaxError(tokenSpan(tok(c, "StringLiteral")), `'${name.identifier}' has two LaTeX names; give one`),
      );
    const init = c.expression ? (this.visit(node(c, "expression")) as Expr) : undefined;
    const span = joinSpans(tokenSpan(role), init?.span ?? name.span);
    return {
      kind: "declaration",
      role: role.image as Role,
      name,
      ...(shape ? { shape } : {}),
      ...(latexToken
        ? {
            latex: {
              text: latexToken.image.slice(1, -1),
              span: tokenSpan(latexToken),
            },
          }
        : {}),
      ...(init ? { init } : {}),
      ...(c.Int ? { integer: { span: tokenSpan(tok(c, "Int")) } } : {}),
      ...(c.axisName
        ? { axes: (c.axisName as IToken[]).map((t) => ({ name: t.image, span: tokenSpan(t) })) }
        : {}),
      span,
    };
  }

  shape(c: ShapeCstChildren): DimRef[] {
    return nodes(c, "dimRef").map((d) => this.visit(d) as DimRef);
  }

  dimRef(c: DimRefCstChildren): DimRef {
    const id = maybeTok(c, "Identifier");
    if (id) return { kind: "named", name: id.image, span: tokenSpan(id) };
    const n = tok(c, "NumberLiteral");
    return { kind: "literal", value: Number(n.image), span: tokenSpan(n) };
  }

  lossDecl(c: LossDeclCstChildren): Statement {
    const target = this.visit(node(c, "lhsName")) as SubscriptedName;
    const value = this.visit(node(c, "comparison")) as Expr;
    return {
      kind: "equation",
      target,
      ...latexOf(c),
      value,
      isLoss: true,
      span: joinSpans(tokenSpan(tok(c, "Loss")), value.span),
    };
  }

  equation(c: EquationCstChildren): Statement {
    const target = this.visit(node(c, "lhsName")) as SubscriptedName;
    const value = this.visit(node(c, "comparison")) as Expr;
    return {
      kind: "equation",
      target,
      ...latexOf(c),
      value,
      isLoss: false,
      span: joinSpans(target.span, value.span),
    };
  }

  lhsName(c: LhsNameCstChildren): SubscriptedName {
    const id = tok(c, "Identifier");
    if (!c.subscript) return { identifier: id.image, span: tokenSpan(id) };
    const sub = this.visit(node(c, "subscript")) as { expr: Expr; close: Span };
    return {
      identifier: id.image,
      subscript: sub.expr,
      span: joinSpans(tokenSpan(id), sub.close),
    };
  }

  subscript(c: SubscriptCstChildren): { expr: Expr; close: Span } {
    return {
      expr: this.visit(node(c, "expression")) as Expr,
      close: tokenSpan(tok(c, "RAngle")),
    };
  }

  exampleBlock(c: ExampleBlockCstChildren): Statement {
    const assignments = nodes(c, "equation").map((e) => {
      const eq = this.visit(e) as Extract<Statement, { kind: "equation" }>;
      return {
        target: eq.target,
        value: eq.value,
        span: eq.span,
      } satisfies Assignment;
    });
    return {
      kind: "example",
      assignments,
      span: joinSpans(tokenSpan(tok(c, "Example")), tokenSpan(tok(c, "RBrace"))),
    };
  }

  lectureBlock(c: LectureBlockCstChildren): Statement {
    const source = maybeTok(c, "StringLiteral");
    const entries: LectureEntry[] = [
      ...nodes(c, "lectureEntry").map((e) => this.visit(e, 0) as LectureEntry),
      ...nodes(c, "lectureStep").flatMap((step) => this.visit(step) as LectureEntry[]),
    ];
    return {
      kind: "lecture",
      ...(source ? { source: source.image.slice(1, -1) } : {}),
      entries: entries.sort((a, b) => a.span.start - b.span.start),
      remarks: ((c.remark ?? []) as IToken[]).map((t) => t.image.slice(1, -1)),
      span: joinSpans(tokenSpan(tok(c, "Lecture")), tokenSpan(tok(c, "RBrace"))),
    };
  }

  lectureStep(c: LectureStepCstChildren): LectureEntry[] {
    const after = Number(tok(c, "NumberLiteral").image);
    return nodes(c, "lectureEntry").map((e) => this.visit(e, after) as LectureEntry);
  }

  lectureEntry(c: LectureEntryCstChildren, after: number): LectureEntry {
    const quantity = tok(c, "quantity");
    const wrt = maybeTok(c, "wrt");
    const value = this.visit(node(c, "expression")) as Expr;
    const note = maybeTok(c, "note");
    const latex = maybeTok(c, "latex");
    const entry = ((c.entry ?? []) as IToken[]).map((t) => Number(t.image));
    return {
      quantity: { name: quantity.image, span: tokenSpan(quantity) },
      ...(latex ? { latex: { text: latex.image.slice(1, -1), span: tokenSpan(latex) } } : {}),
      ...(wrt ? { wrt: { name: wrt.image, span: tokenSpan(wrt) } } : {}),
      ...(entry.length > 0 ? { entry } : {}),
      after,
      value,
      ...(note ? { note: note.image.slice(1, -1) } : {}),
      span: joinSpans(tokenSpan(quantity), note ? tokenSpan(note) : value.span),
    };
  }

  trainDecl(c: TrainDeclCstChildren): Statement {
    return {
      kind: "train",
      optimizer: tok(c, "Identifier").image,
      optimizerSpan: tokenSpan(tok(c, "Identifier")),
      args: nodes(c, "argument").map((a) => this.visit(a) as Argument),
      span: joinSpans(tokenSpan(tok(c, "Train")), tokenSpan(tok(c, "RParen"))),
    };
  }

  comparison(c: ComparisonCstChildren): Expr {
    return this.foldBinary(c);
  }

  expression(c: ExpressionCstChildren): Expr {
    return this.foldBinary(c);
  }

  multiplicative(c: MultiplicativeCstChildren): Expr {
    return this.foldBinary(c);
  }

  private foldBinary(c: Children): Expr {
    const cst = nodes(c, "operands");
    if (cst.length > MAX_OPERANDS) {
      // Later stages recurse along a sum's chain: a very long one is refused, located at its start.
      const first = firstToken(cst[0]!);
      this.problems.push(
        tooLong(
          first ? tokenSpan(first) : { start: 0, end: 1, line: 1, column: 1 },
          cst.length,
          MAX_OPERANDS,
        ),
      );
      throw new Error("expression too long");
    }
    const operands = cst.map((o) => this.visit(o) as Expr);
    const operators = (c.operators ?? []) as IToken[];
    let result = operands[0]!;
    operators.forEach((op, i) => {
      const right = operands[i + 1]!;
      const operator = (OPERATOR_SPELLINGS[op.image] ?? op.image) as BinaryOperator;
      result = {
        kind: "binary",
        operator,
        left: result,
        right,
        span: joinSpans(result.span, right.span),
      };
    });
    return result;
  }

  unary(c: UnaryCstChildren): Expr {
    if (c.power) return this.visit(node(c, "power")) as Expr;
    const operand = this.visit(node(c, "unary")) as Expr;
    return {
      kind: "negate",
      operand,
      span: joinSpans(tokenSpan(tok(c, "Minus")), operand.span),
    };
  }

  power(c: PowerCstChildren): Expr {
    const base = this.visit(node(c, "postfix")) as Expr;
    if (!c.exponent) return base;
    const exponent = this.visit(node(c, "exponent")) as Expr;
    return {
      kind: "binary",
      operator: "^",
      left: base,
      right: exponent,
      span: joinSpans(base.span, exponent.span),
    };
  }

  postfix(c: PostfixCstChildren): Expr {
    let result = this.visit(node(c, "primary")) as Expr;
    for (const t of (c.Transpose ?? []) as IToken[]) {
      result = {
        kind: "transpose",
        operand: result,
        span: joinSpans(result.span, tokenSpan(t)),
      };
    }
    return result;
  }

  primary(c: PrimaryCstChildren): Expr {
    const n = maybeTok(c, "NumberLiteral");
    if (n) return { kind: "number", value: Number(n.image), text: n.image, span: tokenSpan(n) };
    const key = Object.keys(c)[0]! as Key<PrimaryCstChildren>;
    return this.visit(node(c, key)) as Expr;
  }

  parenthesized(c: ParenthesizedCstChildren): Expr {
    // The brackets are part of what was written: `(a - b)^2` spans from its "(" (an equation's
    // text as written, and a caret under the operand, start there).
    const inner = this.visit(node(c, "comparison")) as Expr;
    return { ...inner, span: joinSpans(tokenSpan(tok(c, "LParen")), tokenSpan(tok(c, "RParen"))) };
  }

  tensorLiteral(c: TensorLiteralCstChildren): Expr {
    return {
      kind: "tensor",
      elements: nodes(c, "expression").map((e) => this.visit(e) as Expr),
      span: joinSpans(tokenSpan(tok(c, "LBracket")), tokenSpan(tok(c, "RBracket"))),
    };
  }

  reference(c: ReferenceCstChildren): Expr {
    const id = tok(c, "Identifier");
    let name: SubscriptedName = { identifier: id.image, span: tokenSpan(id) };
    if (c.subscript) {
      const sub = this.visit(node(c, "subscript")) as {
        expr: Expr;
        close: Span;
      };
      name = {
        identifier: id.image,
        subscript: sub.expr,
        span: joinSpans(name.span, sub.close),
      };
    }
    if (c.index) {
      // E[ids] is gather(E, ids): the rows of E at the indices.
      const index = this.visit(node(c, "index")) as Expr;
      const table: Expr = { kind: "name", name, span: name.span };
      const span = joinSpans(name.span, tokenSpan(tok(c, "RBracket")));
      return {
        kind: "call",
        callee: { identifier: "gather", span },
        args: [
          { value: table, span: table.span },
          { value: index, span: index.span },
        ],
        span,
      };
    }
    if (!c.LParen) return { kind: "name", name, span: name.span };
    const args = nodes(c, "argument").map((a) => this.visit(a) as Argument);
    return {
      kind: "call",
      callee: name,
      args,
      span: joinSpans(name.span, tokenSpan(tok(c, "RParen"))),
    };
  }

  argument(c: ArgumentCstChildren): Argument {
    const value = this.visit(node(c, "comparison")) as Expr;
    const argName = maybeTok(c, "argName");
    if (!argName) return { value, span: value.span };
    return {
      name: argName.image,
      value,
      span: joinSpans(tokenSpan(argName), value.span),
    };
  }
}

/** The first token of a CST node (iteratively: the node may be deep). */
function firstToken(node: CstNode): IToken | undefined {
  let current: CstNode | IToken = node;
  while ("children" in current) {
    const children = Object.values(current.children).flat() as (CstNode | IToken)[];
    if (children.length === 0) return undefined;
    current = children.reduce((a, b) => (offsetOf(a) <= offsetOf(b) ? a : b));
  }
  return current;
}
const offsetOf = (x: CstNode | IToken): number =>
  "children" in x
    ? Math.min(...(Object.values(x.children).flat() as (CstNode | IToken)[]).map(offsetOf))
    : x.startOffset;

/** Operands allowed in one sum or product. */
export const MAX_OPERANDS = 512;
