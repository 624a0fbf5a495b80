// Generated from grammar/parser.ts by `npm run grammar:cst`. Do not edit.
import type { CstNode, IToken } from "chevrotain";

export interface ProgramCstNode extends CstNode {
  name: "program";
  children: ProgramCstChildren;
}

export type ProgramCstChildren = {
  statement?: StatementCstNode[];
};

export interface StatementCstNode extends CstNode {
  name: "statement";
  children: StatementCstChildren;
}

export type StatementCstChildren = {
  modelDecl?: ModelDeclCstNode[];
  dimDecl?: DimDeclCstNode[];
  indexDecl?: IndexDeclCstNode[];
  varDecl?: VarDeclCstNode[];
  lossDecl?: LossDeclCstNode[];
  exampleBlock?: ExampleBlockCstNode[];
  trainDecl?: TrainDeclCstNode[];
  lectureBlock?: LectureBlockCstNode[];
  equation?: EquationCstNode[];
};

export interface ModelDeclCstNode extends CstNode {
  name: "modelDecl";
  children: ModelDeclCstChildren;
}

export type ModelDeclCstChildren = {
  Model: IToken[];
  Identifier: IToken[];
};

export interface DimDeclCstNode extends CstNode {
  name: "dimDecl";
  children: DimDeclCstChildren;
}

export type DimDeclCstChildren = {
  Dim: IToken[];
  dimItem: DimItemCstNode[];
  Comma?: IToken[];
};

export interface DimItemCstNode extends CstNode {
  name: "dimItem";
  children: DimItemCstChildren;
}

export type DimItemCstChildren = {
  Identifier: IToken[];
  Equals?: IToken[];
  NumberLiteral?: IToken[];
};

export interface IndexDeclCstNode extends CstNode {
  name: "indexDecl";
  children: IndexDeclCstChildren;
}

export type IndexDeclCstChildren = {
  Index: IToken[];
  Identifier: IToken[];
  In: IToken[];
  NumberLiteral: IToken[];
  Range: IToken[];
  upperNumber?: IToken[];
  upperDim?: IToken[];
};

export interface VarDeclCstNode extends CstNode {
  name: "varDecl";
  children: VarDeclCstChildren;
}

export type VarDeclCstChildren = {
  role?: IToken[];
  lhsName: LhsNameCstNode[];
  LBracket?: IToken[];
  axisName?: IToken[];
  Comma?: IToken[];
  RBracket?: IToken[];
  latexFirst?: IToken[];
  Colon?: IToken[];
  shape?: ShapeCstNode[];
  Int?: IToken[];
  StringLiteral?: IToken[];
  Equals?: IToken[];
  expression?: ExpressionCstNode[];
};

export interface ShapeCstNode extends CstNode {
  name: "shape";
  children: ShapeCstChildren;
}

export type ShapeCstChildren = {
  LBracket: IToken[];
  dimRef?: DimRefCstNode[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface DimRefCstNode extends CstNode {
  name: "dimRef";
  children: DimRefCstChildren;
}

export type DimRefCstChildren = {
  Identifier?: IToken[];
  NumberLiteral?: IToken[];
};

export interface LossDeclCstNode extends CstNode {
  name: "lossDecl";
  children: LossDeclCstChildren;
}

export type LossDeclCstChildren = {
  Loss: IToken[];
  lhsName: LhsNameCstNode[];
  StringLiteral?: IToken[];
  Equals: IToken[];
  comparison: ComparisonCstNode[];
};

export interface EquationCstNode extends CstNode {
  name: "equation";
  children: EquationCstChildren;
}

export type EquationCstChildren = {
  lhsName: LhsNameCstNode[];
  StringLiteral?: IToken[];
  Equals: IToken[];
  comparison: ComparisonCstNode[];
};

export interface LhsNameCstNode extends CstNode {
  name: "lhsName";
  children: LhsNameCstChildren;
}

export type LhsNameCstChildren = {
  Identifier: IToken[];
  subscript?: SubscriptCstNode[];
};

export interface SubscriptCstNode extends CstNode {
  name: "subscript";
  children: SubscriptCstChildren;
}

export type SubscriptCstChildren = {
  SubscriptOpen: IToken[];
  expression: ExpressionCstNode[];
  RAngle: IToken[];
};

export interface ExampleBlockCstNode extends CstNode {
  name: "exampleBlock";
  children: ExampleBlockCstChildren;
}

export type ExampleBlockCstChildren = {
  Example: IToken[];
  LBrace: IToken[];
  equation?: EquationCstNode[];
  RBrace: IToken[];
};

export interface LectureBlockCstNode extends CstNode {
  name: "lectureBlock";
  children: LectureBlockCstChildren;
}

export type LectureBlockCstChildren = {
  Lecture: IToken[];
  StringLiteral?: IToken[];
  LBrace: IToken[];
  lectureStep?: LectureStepCstNode[];
  lectureEntry?: LectureEntryCstNode[];
  remark?: IToken[];
  RBrace: IToken[];
};

export interface LectureStepCstNode extends CstNode {
  name: "lectureStep";
  children: LectureStepCstChildren;
}

export type LectureStepCstChildren = {
  After: IToken[];
  NumberLiteral: IToken[];
  LBrace: IToken[];
  lectureEntry?: LectureEntryCstNode[];
  RBrace: IToken[];
};

export interface LectureEntryCstNode extends CstNode {
  name: "lectureEntry";
  children: LectureEntryCstChildren;
}

export type LectureEntryCstChildren = {
  quantity: IToken[];
  Slash?: IToken[];
  wrt?: IToken[];
  LBracket?: IToken[];
  entry?: IToken[];
  Comma?: IToken[];
  RBracket?: IToken[];
  latex?: IToken[];
  Equals: IToken[];
  expression: ExpressionCstNode[];
  note?: IToken[];
};

export interface TrainDeclCstNode extends CstNode {
  name: "trainDecl";
  children: TrainDeclCstChildren;
}

export type TrainDeclCstChildren = {
  Train: IToken[];
  Identifier: IToken[];
  LParen: IToken[];
  argument?: ArgumentCstNode[];
  Comma?: IToken[];
  RParen: IToken[];
};

export interface ComparisonCstNode extends CstNode {
  name: "comparison";
  children: ComparisonCstChildren;
}

export type ComparisonCstChildren = {
  operands: ExpressionCstNode[];
  operators?: IToken[];
};

export interface ExpressionCstNode extends CstNode {
  name: "expression";
  children: ExpressionCstChildren;
}

export type ExpressionCstChildren = {
  operands: MultiplicativeCstNode[];
  operators?: IToken[];
};

export interface MultiplicativeCstNode extends CstNode {
  name: "multiplicative";
  children: MultiplicativeCstChildren;
}

export type MultiplicativeCstChildren = {
  operands: UnaryCstNode[];
  operators?: IToken[];
};

export interface UnaryCstNode extends CstNode {
  name: "unary";
  children: UnaryCstChildren;
}

export type UnaryCstChildren = {
  Minus?: IToken[];
  unary?: UnaryCstNode[];
  power?: PowerCstNode[];
};

export interface PowerCstNode extends CstNode {
  name: "power";
  children: PowerCstChildren;
}

export type PowerCstChildren = {
  postfix: PostfixCstNode[];
  Caret?: IToken[];
  exponent?: UnaryCstNode[];
};

export interface PostfixCstNode extends CstNode {
  name: "postfix";
  children: PostfixCstChildren;
}

export type PostfixCstChildren = {
  primary: PrimaryCstNode[];
  Transpose?: IToken[];
};

export interface PrimaryCstNode extends CstNode {
  name: "primary";
  children: PrimaryCstChildren;
}

export type PrimaryCstChildren = {
  NumberLiteral?: IToken[];
  tensorLiteral?: TensorLiteralCstNode[];
  parenthesized?: ParenthesizedCstNode[];
  reference?: ReferenceCstNode[];
};

export interface ParenthesizedCstNode extends CstNode {
  name: "parenthesized";
  children: ParenthesizedCstChildren;
}

export type ParenthesizedCstChildren = {
  LParen: IToken[];
  comparison: ComparisonCstNode[];
  RParen: IToken[];
};

export interface TensorLiteralCstNode extends CstNode {
  name: "tensorLiteral";
  children: TensorLiteralCstChildren;
}

export type TensorLiteralCstChildren = {
  LBracket: IToken[];
  expression?: ExpressionCstNode[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface ReferenceCstNode extends CstNode {
  name: "reference";
  children: ReferenceCstChildren;
}

export type ReferenceCstChildren = {
  Identifier: IToken[];
  subscript?: SubscriptCstNode[];
  LParen?: IToken[];
  argument?: ArgumentCstNode[];
  Comma?: IToken[];
  RParen?: IToken[];
  LBracket?: IToken[];
  index?: ExpressionCstNode[];
  RBracket?: IToken[];
};

export interface ArgumentCstNode extends CstNode {
  name: "argument";
  children: ArgumentCstChildren;
}

export type ArgumentCstChildren = {
  argName?: IToken[];
  Equals?: IToken[];
  comparison: ComparisonCstNode[];
};
