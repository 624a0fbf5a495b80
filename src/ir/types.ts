import type { OptimizerName } from "./optimisers.js";
import type { Span } from "../diagnostics/span.js";
import type { Tensor } from "./tensor.js";
import type { GraphBuilder } from "./builder.js";

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
      /** Integer data (class labels, token ids): indices, not values to differentiate. */
      readonly integer?: true;
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
      /** A `const` the model names: never shared with an equal literal, so that λ = 0.5 does not name every 0.5. */
      readonly name?: string;
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
    }
  | ScanNode
  | ScanAdjointNode
  | ProjectNode
  | BodyInput;

export type OpNode = Extract<Node, { kind: "op" }>;

/**
 * A recurrence over an index: `body` is a graph evaluated once per step, in order. Its
 * states carry values from step to step (h_t reads h_<t-1> through a `carry`); values of
 * the body listed in `outputs` are stacked over the steps. The scan itself has no value:
 * `project` nodes read its stacked states and outputs, shaped [length, ...].
 */
export interface ScanNode {
  readonly kind: "scan";
  readonly id: NodeId;
  /** Outer nodes the body reads (inits, sequences, loop invariants), so ordering sees them. */
  readonly args: readonly NodeId[];
  readonly index: string;
  readonly length: Dim;
  readonly body: readonly Node[];
  readonly states: readonly ScanState[];
  readonly outputs: readonly NodeId[];
  readonly shape: Shape;
  readonly span: Span;
  /**
   * The steps run from the last to the first (g_t = f(g_<t+1>)): the scan itself runs
   * forwards over flipped sequences, and its stacked values are flipped back; the handout
   * numbers its steps as the model does.
   */
  readonly reverse?: boolean;
}

export interface ScanState {
  readonly name: string;
  readonly shape: Shape;
  /** How far back the body reads: h_<t-2> needs 2 initial values. */
  readonly lags: number;
  /** Outer nodes giving the initial values, oldest first (h_<-1>, h_0); each broadcasts to the state's shape. */
  readonly init: readonly NodeId[];
  /** The body node computing the state's value at the current step. */
  readonly next: NodeId;
}

/**
 * Backpropagation through time: the adjoint of a scan, a loop over the same steps run
 * backwards. Its body is the vector-Jacobian product of the forward body; `residual`
 * nodes read the forward body's values at the current step, `state_adjoint` nodes the
 * total adjoint of a state at the current step (external, plus what later steps sent back).
 */
export interface ScanAdjointNode {
  readonly kind: "scan_adjoint";
  readonly id: NodeId;
  readonly forward: NodeId;
  readonly args: readonly NodeId[];
  readonly body: readonly Node[];
  /** Outer adjoints of the forward scan's stacked states (null: the loss does not read them). */
  readonly stateAdjoints: readonly (NodeId | null)[];
  /** Body nodes whose value is sent back to a state `lag` steps earlier. */
  readonly carries: readonly {
    readonly state: number;
    readonly lag: number;
    readonly node: NodeId;
  }[];
  /** Body nodes stacked over the steps (adjoints of sequences read as slices), with the outer sequence each belongs to. */
  readonly stacked: readonly NodeId[];
  readonly stackedSources: readonly NodeId[];
  /** Body nodes summed over the steps (adjoints of loop-invariant values), with the outer value each belongs to. */
  readonly summed: readonly NodeId[];
  readonly summedSources: readonly NodeId[];
  /** The derivation of one step, for the handout. */
  readonly trace: readonly DerivationStep[];
  readonly shape: Shape;
  readonly span: Span;
}

/**
 * One contribution to an adjoint, as the chain rule names it. The derivation is recorded as
 * these terms so that the handout renders it and never re-derives it.
 */
export type ChainTerm =
  /** The value is argument `argIndex` of `consumer`: δ_consumer times the local derivative. */
  | {
      readonly kind: "use";
      readonly consumer: NodeId;
      readonly argIndex: number;
      /** The op's rule for this argument, in LaTeX. */
      readonly rule: string;
      /** The contribution with the consumer's adjoint as a symbol (1 for the loss): the general form. */
      readonly general: NodeId;
      /** The contribution itself. */
      readonly value: NodeId;
      /** ∂consumer/∂value as IR where it is elementwise (a number for scalars, a diagonal otherwise). */
      readonly local?: NodeId;
    }
  /** The value is an argument of `consumer` whose derivative is zero everywhere (a step function): nothing flows. */
  | {
      readonly kind: "zero";
      readonly consumer: NodeId;
      readonly argIndex: number;
      readonly rule: string;
    }
  /** A recurrence sends the value its gradient: one per step (stacked), summed over the steps, or to an initial value. */
  | {
      readonly kind: "recurrence";
      readonly scan: NodeId;
      readonly part: "stacked" | "summed" | "init";
      readonly index: number;
      readonly value: NodeId;
    }
  /** Inside a recurrence: what the equations after it send a per-step value at this step (row t of `source`). */
  | { readonly kind: "direct"; readonly source: NodeId; readonly value: NodeId }
  /** Inside a recurrence: a state's total δ at this step (from the loss directly and from later steps). */
  | { readonly kind: "state"; readonly state: number; readonly value: NodeId };

/** The derivation of one adjoint: ∂L/∂v as the sum of its terms, then simplified to `result`. */
export interface DerivationStep {
  readonly node: NodeId;
  readonly terms: readonly ChainTerm[];
  /** The simplified adjoint as IR; what the generated code computes. */
  readonly result: NodeId;
}

/** A value of a scan or scan_adjoint: a stacked state or output, a summed adjoint, an initial value's adjoint. */
export interface ProjectNode {
  readonly kind: "project";
  readonly id: NodeId;
  readonly scan: NodeId;
  readonly what: "state" | "output" | "stacked" | "summed" | "init";
  readonly index: number;
  /** For `init`: which initial position (0 = oldest). */
  readonly position: number;
  readonly shape: Shape;
  readonly span: Span;
}

/** Nodes that exist only inside a scan body: where its values come from at each step. */
export type BodyInput =
  | {
      readonly kind: "carry";
      readonly id: NodeId;
      readonly state: number;
      readonly lag: number;
      readonly shape: Shape;
      readonly span: Span;
    }
  | {
      readonly kind: "slice";
      readonly id: NodeId;
      readonly source: NodeId;
      readonly shape: Shape;
      readonly span: Span;
    }
  | {
      readonly kind: "outer";
      readonly id: NodeId;
      readonly source: NodeId;
      readonly shape: Shape;
      readonly span: Span;
    }
  | {
      readonly kind: "residual";
      readonly id: NodeId;
      readonly node: NodeId;
      readonly shape: Shape;
      readonly span: Span;
    }
  | {
      readonly kind: "state_adjoint";
      readonly id: NodeId;
      readonly state: number;
      readonly shape: Shape;
      readonly span: Span;
    };

/** Outer nodes a node depends on (op args, a scan's inputs, a projection's scan). */
export function dependencies(n: Node): readonly NodeId[] {
  switch (n.kind) {
    case "op":
    case "scan":
    case "scan_adjoint":
      return n.args;
    case "project":
      return [n.scan];
    default:
      return [];
  }
}

/** Which nodes `target` is computed from, itself included (indexed by node id). */
export function feeding(nodes: readonly Node[], target: NodeId): boolean[] {
  const feeds = new Array<boolean>(nodes.length).fill(false);
  feeds[target] = true;
  for (let id = target; id >= 0; id--)
    if (feeds[id]) for (const a of dependencies(nodes[id]!)) feeds[a] = true;
  return feeds;
}

/** Which nodes are computed from a node for which `source` holds, those included (indexed by node id). */
export function dependingOn(nodes: readonly Node[], source: (n: Node) => boolean): boolean[] {
  const depends = new Array<boolean>(nodes.length).fill(false);
  for (const n of nodes) depends[n.id] = source(n) || dependencies(n).some((a) => depends[a]);
  return depends;
}

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
  /** For a value with one entry per step: the index (its first axis). */
  readonly index?: string;
  /** An equation as the model writes it, on one line (`h_t = tanh(W*x_t)`): the generated code's comments. */
  readonly written?: string;
  readonly span: Span;
}

export interface TrainSettings {
  /** Gradient descent, one of PyTorch's first-order optimisers, or Newton's method (W ← W − λ H⁻¹ ∇L). */
  readonly optimizer: OptimizerName;
  /** The optimiser's hyper-parameters (beta, rho, beta1, beta2, eps, weight_decay), defaults filled in. */
  readonly hyper?: Readonly<Record<string, number>>;
  /** Clip the gradient of all params together to this norm (torch.nn.utils.clip_grad_norm_). */
  readonly clip?: number;
  /** A step schedule: η is multiplied by `decay` after every `every` steps (torch's StepLR). */
  readonly schedule?: { readonly decay: number; readonly every: number };
  readonly lr: number;
  readonly steps: number;
  readonly span?: Span;
  /** The `const` the learning rate was given by (its name is how the handout writes it). */
  readonly lrName?: string;
}

/** What a `lecture` block says a quantity is, resolved against the model. */
export type LectureQuantity =
  /** A value of the model: a named value, a param, an input, or one step of a sequence (h_1). */
  | { readonly kind: "value"; readonly node: NodeId }
  /** dL/dX for a param, a named value or one step of a sequence (dL/dh_3: the total δ at that step). */
  | { readonly kind: "gradient"; readonly of: NodeId }
  /** A quantity the lecture defines by a formula (O_error = O_out - Y) and the model does not name. */
  | { readonly kind: "definition"; readonly node: NodeId };

/** One thing a lecture prints, to be checked against the correct computation. */
export interface LectureItem {
  /** The quantity as the lecture block writes it, for messages: `dL/dWhz`, `h_1`. */
  readonly label: string;
  /** The model's name of the quantity (X in dL/dX), for LaTeX. */
  readonly name: string;
  /** How the handout writes a quantity the lecture defines. */
  readonly latex?: string;
  readonly quantity: LectureQuantity;
  /** Steps of gradient descent before the lecture's value (0: the example's starting point). */
  readonly after: number;
  /** One entry of a tensor, counted from 1. */
  readonly entry?: readonly number[];
  /** The printed numbers, row-major, with the decimals each was printed with. */
  readonly printed?: {
    readonly shape: readonly number[];
    readonly values: readonly number[];
    readonly decimals: readonly number[];
  };
  /** The lecture's formula for the quantity, lowered; variants with one operand changed, to find a slip. */
  readonly formula?: {
    readonly node: NodeId;
    readonly text: string;
    readonly variants: readonly LectureVariant[];
  };
  readonly note?: string;
  readonly span: Span;
}

/** The lecture's formula with one name (or function) changed: the lecture wrote `wrote`, this variant has `meant`. */
export interface LectureVariant {
  readonly wrote: string;
  readonly meant: string;
  readonly node: NodeId;
}

export interface Lecture {
  readonly source?: string;
  readonly items: readonly LectureItem[];
  /** What the lecture block says in words (conventions, what the lecture leaves out). */
  readonly remarks: readonly string[];
}

/** The typed, shaped computation graph of a model: the one source of truth downstream. */
/**
 * The gradient of a scalar node with respect to another, built into `b` as more nodes:
 * null when `of` does not depend on `wrt`. Lowering is given it by the pipeline (the
 * differentiator's `innerGradient`), so the IR does not import the differentiator.
 */
export type InnerGradient = (
  b: GraphBuilder,
  of: NodeId,
  wrt: NodeId,
) => { node: NodeId; adjoints: ReadonlyMap<NodeId, NodeId> } | null | { unsupported: string };

/** `g = grad(f, x)` in the model: the node computing ∂f/∂x, for the handout to name it. */
export interface GradientInModel {
  readonly node: NodeId;
  readonly of: NodeId;
  readonly wrt: NodeId;
  /** That pass's δs: ∂f/∂v for each value v between x and f, for the handout to name them. */
  readonly adjoints: ReadonlyMap<NodeId, NodeId>;
}

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
  /** What the lecture the model comes from prints, to be checked. */
  readonly lecture?: Lecture;
  /** Gradients the model takes itself (`grad(f, x)`), in the order they are computed. */
  readonly gradients?: readonly GradientInModel[];
}

export const isScalar = (shape: Shape): boolean => shape.length === 0;

export function formatShape(shape: readonly (string | number)[]): string {
  return `[${shape.join(", ")}]`;
}
