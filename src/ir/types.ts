import type { Span } from "../syntax/span.js";
import type { Tensor } from "./tensor.js";

/** A fixed size, or the name of a dim bound from the data at run time. */
export type Dim = number | string;
export type Shape = readonly Dim[];

export type NodeId = number;
export type AttrValue = number | boolean | string | readonly Dim[];
export type Attrs = Readonly<Record<string, AttrValue>>;

export type Role = "input" | "target";

export type Node =
  | {
      readonly kind: "input";
      readonly id: NodeId;
      readonly name: string;
      readonly role: Role;
      readonly shape: Shape;
      readonly span: Span;
    }
  | {
      readonly kind: "param";
      readonly id: NodeId;
      readonly name: string;
      readonly shape: Shape;
      readonly span: Span;
    }
  | {
      readonly kind: "const";
      readonly id: NodeId;
      readonly shape: Shape;
      readonly value: Float64Array;
      readonly span: Span;
    }
  /** The adjoint ∂L/∂v of a forward node as a symbol: the derivation trace's general form uses it. */
  | {
      readonly kind: "adjoint";
      readonly id: NodeId;
      readonly of: NodeId;
      readonly shape: Shape;
      readonly span: Span;
    }
  | {
      readonly kind: "op";
      readonly id: NodeId;
      readonly op: string;
      readonly args: readonly NodeId[];
      readonly attrs: Attrs;
      readonly shape: Shape;
      readonly span: Span;
    };

export type OpNode = Extract<Node, { kind: "op" }>;

export function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}

/** A declared or defined name of the model, as the user wrote it. */
export interface NamedValue {
  readonly name: string;
  readonly node: NodeId;
  readonly kind: "input" | "target" | "param" | "const" | "equation" | "loss";
  /** The declared shape with dim names kept, for display. */
  readonly declaredShape: readonly (string | number)[];
  readonly latex?: string;
  readonly span: Span;
}

export interface TrainSettings {
  readonly optimizer: "sgd";
  readonly lr: number;
  readonly steps: number;
}

/** The typed, shaped computation graph of a model: the one source of truth downstream. */
export interface Graph {
  readonly modelName: string;
  /** Topological: every node's args come before it. */
  readonly nodes: readonly Node[];
  readonly named: readonly NamedValue[];
  readonly loss: NodeId;
  readonly dims: ReadonlyMap<string, number | undefined>;
  /** Worked values: param initial values and the `example` block, keyed by declared name. */
  readonly example: ReadonlyMap<string, Tensor>;
  readonly train?: TrainSettings;
}

export const isScalar = (shape: Shape): boolean => shape.length === 0;

export function formatShape(shape: readonly (string | number)[]): string {
  return `[${shape.join(", ")}]`;
}
