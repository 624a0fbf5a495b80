/**
 * What an operation is: the rules one op definition holds side by side. The IR core knows
 * ops only through this interface and the registry (registry.ts); ops/ defines them.
 */
import type { Attrs, Dim, NodeId, OpNode, Shape } from "./types.js";
import type { ShapeProblem } from "../diagnostics/shapes.js";
import type { Tensor } from "./tensor.js";
import type { GraphBuilder } from "./builder.js";
import type { Lanes, Value } from "../wasm/elementwise.js";

/** What an op's `emit` rule may ask of the code generator. */
export interface EmitContext {
  /** The Float64Array holding a node's value. */
  ref(id: NodeId): string;
  shapeOf(id: NodeId): Shape;
  /** A JS expression for each dim: a literal for fixed dims, a local for free ones. */
  dim(d: Shape[number]): string;
  /** A JS expression for the number of elements. */
  size(shape: Shape): string;
  /** A scalar operand's value: an inlined literal for constants, `buf[0]` otherwise. */
  scalar(id: NodeId): string;
  /** Whether `scalar(id)` is an inlined literal (a constant), not a read. */
  isLiteral(id: NodeId): boolean;
  /** A fresh local name. */
  fresh(prefix: string): string;
  /** A numeric literal that is valid JS whatever the number. */
  num(value: number): string;
  /**
   * The value of element `index` of a node: a read of its buffer, or — for an elementwise
   * node fused into its only consumer — its expression, computed in place.
   */
  element(id: NodeId, index: string, axes?: readonly string[]): string;
  /** How an error message names the data a node reads (`inputs.y`). */
  describe(id: NodeId): string;
  /** Whether `element` needs per-axis loop indices for this node. */
  needsAxes(id: NodeId): boolean;
  /**
   * With the WebAssembly target (codegen/wasm.ts): the byte addresses of the nodes' arrays in
   * the kernels' memory, as JS expressions, recording that they must live there; undefined
   * when one cannot (a constant), and absent or undefined for the JavaScript target. An op
   * whose kernel has a WebAssembly form calls it when this gives addresses.
   */
  addresses?(ids: readonly NodeId[]): string[] | undefined;
  /**
   * With the WebAssembly target, outside a recurrence's loop: a call of the model's
   * WebAssembly function computing the elementwise node `id` with the nodes fused into it
   * (every op of the expression has a `wasm` rule, every operand an array of its size in the
   * kernels' memory or a scalar); undefined otherwise, and absent for the JavaScript target.
   */
  elementwiseCall?(id: NodeId): string | undefined;
}

/** LaTeX with its precedence, so renderers parenthesise only where needed. */
export interface Latex {
  readonly text: string;
  readonly prec: number;
  /** A number (a worked value): a product with it needs an explicit dot. */
  readonly numeric?: boolean;
  /** A comparison's relation without its Iverson brackets (a > 0), for `where`'s cases. */
  readonly condition?: string;
}
export const PREC = {
  sum: 1,
  product: 2,
  unary: 3,
  power: 4,
  atom: 5,
} as const;

/**
 * A Python expression for the PyTorch export, with its precedence (PREC's levels, which
 * Python's operators share: + −, then * / @, unary −, **, atoms), so that operands are
 * parenthesised only where needed. `number` marks a Python number (a literal, a size)
 * rather than a tensor: Python's operators take either, torch's functions want tensors.
 */
export interface Python {
  readonly text: string;
  readonly prec: number;
  readonly number?: boolean;
}

/** What an op's `torch` rule may ask of the PyTorch exporter. */
export interface TorchContext {
  /** A Python expression for a dim: a literal for a fixed one, the local bound from the inputs' shapes otherwise. */
  dim(d: Dim): string;
  /** A float literal that is valid Python whatever the number (inf and nan included). */
  num(value: number): Python;
  /** A Python number as a 0-dim tensor of the model's dtype; a tensor as it is. */
  tensor(x: Python): Python;
  /**
   * An operand the rule writes more than once, bound to a local first (when it is not a name
   * or a literal already), so that it is computed once.
   */
  once(x: Python): Python;
  /** The model's floating dtype, `torch.float64`. */
  readonly dtype: string;
  /** The device a tensor made from nothing goes on: the model's own (`self.W.device`), so it runs off the CPU too. */
  readonly device: string;
}

/** A surface-language parameter: positional or named, an operand or a constant attribute. */
export interface SurfaceParam {
  readonly name: string;
  /** Attributes are compile-time numbers (`alpha`, `stride`); operands are tensors. */
  readonly attr?: boolean;
  readonly default?: number;
  /**
   * A list written as a bracket of constants: "numbers" (`permute(x, [1, 0, 2])`), or
   * "shape", sizes and dim names (`reshape(x, [T, H, 4])`).
   */
  readonly list?: "numbers" | "shape";
  /** An attribute per image axis: one number for both, or a pair `[h, w]` (a 2 × 3 window). */
  readonly pair?: boolean;
  /** An operand that must be integer data (an `int` input, or one step of one): indices. */
  readonly integer?: boolean;
}

/** A shape, or the catalogue entry (diagnostics/shapes.ts) that says why there is none. */
export type ShapeResult = { readonly shape: Shape } | { readonly error: ShapeProblem };

/**
 * Everything about one operation, side by side: shape rule, derivative, code, LaTeX,
 * a reference evaluator for tests and the handout's numbers, and a sampling domain.
 */
export interface OpDef {
  readonly name: string;
  /** Present when users can call it by name: `tanh(x)`, `leaky_relu(x, alpha=0.1)`. */
  readonly surface?: { readonly params: readonly SurfaceParam[] };
  readonly shape: (args: readonly Shape[], attrs: Attrs) => ShapeResult;
  /** Rewrites applied when the node is built (fusion, identities); undefined keeps the node. */
  readonly simplify?: (b: GraphBuilder, args: readonly NodeId[], attrs: Attrs) => NodeId | undefined;
  /** Vector-Jacobian product: the adjoint contribution to each arg, built as IR; null is a symbolic zero. */
  readonly vjp: (
    b: GraphBuilder,
    node: OpNode,
    adjoint: NodeId,
    needed: readonly boolean[],
  ) => readonly (NodeId | null)[];
  /** The rule named in the handout for the derivative with respect to an arg. */
  readonly rule: (argIndex: number, attrs: Attrs) => string;
  readonly evaluate: (
    args: readonly Tensor[],
    attrs: Attrs,
    shape: readonly number[],
    /** Sizes of the dims bound at run time. */
    dims: ReadonlyMap<string, number>,
  ) => Tensor;
  /**
   * For elementwise ops: the value of one element from its operands' element values.
   * The code generator uses it to fuse chains of elementwise ops into one loop.
   */
  readonly elementwise?: (values: readonly string[], attrs: Attrs, ctx: EmitContext) => string;
  /**
   * For elementwise ops with the WebAssembly target: the element's value written over
   * `Lanes` (wasm/elementwise.ts), computing exactly what `elementwise`'s JavaScript does;
   * `literal(i)` is operand i's value when the code inlines it as a literal. Undefined (or
   * no rule): the op has no such form, and a fused loop holding it stays JavaScript.
   */
  readonly wasm?: (
    lanes: Lanes,
    values: readonly Value[],
    attrs: Attrs,
    literal: (i: number) => number | undefined,
  ) => Value | undefined;
  /**
   * Statements adding the node's value to `target` (same shape) without computing it into a
   * buffer first: a backward loop sums per-step contributions (Σ_t δ_t h_{t-1}ᵀ) this way.
   */
  readonly accumulate?: (ctx: EmitContext, node: OpNode, target: string) => string;
  /**
   * With the WebAssembly target: a backward loop's sum of the node's values over the steps
   * (Σ_t δ_t h_{t-1}ᵀ), added to `target` by one kernel call after the loop from its operands
   * stacked step by step (`stacks[i]`: [steps, …] arrays in the kernels' memory, step t at
   * row t), instead of an accumulation at every step; undefined when it has none.
   */
  readonly sumOverSteps?: (
    ctx: EmitContext,
    node: OpNode,
    target: string,
    stacks: readonly string[],
    steps: string,
  ) => string | undefined;
  /** The value is its first operand's buffer read in another shape (a reshape): no code, no copy. */
  readonly sharesBuffer?: boolean;
  /**
   * The values are offsets into an array (integers in [0, 2³¹)): the JavaScript target holds
   * them in an Int32Array, which V8 reads as integers (no conversion from a double per read).
   */
  readonly offsets?: boolean;
  /**
   * A unary elementwise op that is non-decreasing in its operand, exactly in floating point,
   * with a zero derivative wherever it is flat: max(f(a), f(b)) = f(max(a, b)), so a fused
   * max-pool over it applies it once per window, to the maximum of its operand (ReLU).
   */
  readonly monotone?: boolean;
  /** Statements computing the node into its buffer. */
  readonly emit: (ctx: EmitContext, node: OpNode) => string;
  /** How the op takes part in a fused kernel across ops (codegen/fuse.ts decides where one pays). */
  readonly fusion?: FusionRules;
  readonly latex: (args: readonly Latex[], attrs: Attrs, argShapes: readonly Shape[]) => Latex;
  /**
   * The op as a PyTorch expression over its operands' expressions, for `nabla export --target
   * pytorch`. Absent for ops that only gradients use: the export writes the forward pass, and
   * torch.autograd differentiates it.
   */
  readonly torch?: (
    args: readonly Python[],
    attrs: Attrs,
    argShapes: readonly Shape[],
    shape: Shape,
    ctx: TorchContext,
  ) => Python | undefined;
  /**
   * When `latex` writes a form that holds only for some operands (ŷ − y, when each row of
   * y sums to one): whether it holds for these operand values (undefined where unknown),
   * and the form that always holds, which the handout writes otherwise.
   */
  readonly writtenForm?: {
    readonly holds: (args: readonly (Tensor | undefined)[]) => boolean;
    readonly general: (args: readonly Latex[], attrs: Attrs, argShapes: readonly Shape[]) => Latex;
  };
  /** For an op reading integer data: the exclusive upper bound of its indices (a table's rows). */
  readonly indexBound?: (argShapes: readonly Shape[], node: OpNode) => Shape[number] | undefined;
  /** Defined by an expansion into other ops (ops/composite.ts) rather than as a primitive. */
  readonly composite?: boolean;
  /** Functions the generated code calls, emitted once per module. */
  readonly helpers?: Readonly<Record<string, Helper>>;
  /** Where the gradient property test samples each operand, e.g. positive for log. */
  readonly domain?: (argIndex: number) => "any" | "positive" | "probability" | "awayFromZero";
  /** Args that carry no derivative (targets of a loss, index masks). */
  readonly nonDifferentiable?: readonly number[];
  /** Of those, the args whose derivative is zero everywhere (H(a), sign(a)): the handout shows the path with 0. */
  readonly zeroDerivative?: readonly number[];
}

/**
 * A block of an image-shaped value [...lead, H, W] computed inside a consumer's loop and never
 * stored: `rows × cols` positions whose top-left is (`row`, `col`) of the last two axes.
 */
export interface OutputBlock {
  /** Index locals of the leading axes (all but the last two), outermost first. */
  readonly lead: readonly string[];
  readonly row: string;
  readonly col: string;
  readonly rows: number;
  readonly cols: number;
}

/** A producer's code for one block: its values end in the locals `values[r][c]`. */
export interface BlockCode {
  /** Statements run once per lead index, before the loops over blocks (a filter's weights into locals). */
  readonly hoist: string;
  readonly code: string;
  readonly values: readonly (readonly string[])[];
  /**
   * A non-decreasing function still to apply to the values (OpDef.monotone): a max-pool
   * applies it to the window's maximum alone, the pooled value.
   */
  readonly then?: (value: string) => string;
}

/** Where one position of a block lies: its flat offset in the full value, and its per-axis indices. */
export interface BlockPosition {
  readonly offset: string;
  readonly axes: readonly string[];
}

/**
 * A consumer of a δ that is nonzero at only one point per pooling window (the max-pool's
 * winners): its share of a fused backward kernel, which visits those points and nothing else.
 */
export interface PointCode {
  /** Statements before the kernel's loops (zeroing an output it adds to). */
  readonly init: () => string;
  /**
   * A loop of its own around the visit of the points (a filter gradient's input channels);
   * the other consumers of the δ run in its first pass only. At most one consumer has one.
   */
  readonly loop?: { readonly index: string; readonly bound: string };
  /** Statements per lead index (the value's leading axes): before and after the points. */
  readonly before: (lead: readonly string[]) => string;
  readonly after: (lead: readonly string[]) => string;
  /** Statements at one point: the δ's value there and the point's indices in the value's shape. */
  readonly point: (value: string, axes: readonly string[]) => string;
  /**
   * When the point's statements need of its last two indices only one integer, affine in them
   * (a filter gradient: its receptive field's offset in the image plane): that integer, which
   * the pool then records per window in place of the winner's offset, and the statements from it.
   */
  readonly key?: PointKey;
}

/** An integer a point's code reads instead of its indices: `at(axes)` = at(…, 0, 0) + row·steps[0] + col·steps[1]. */
export interface PointKey {
  readonly at: (axes: readonly string[]) => string;
  readonly steps: readonly [number, number];
  /** The statements at one point, from the δ's value, the key and the lead indices. */
  readonly point: (value: string, key: string, lead: readonly string[]) => string;
}

export interface FusionRules {
  /** A producer whose values at any block of positions can be computed in locals (conv2d). */
  readonly block?: (ctx: EmitContext, node: OpNode) => ((block: OutputBlock) => BlockCode) | undefined;
  /**
   * A pooling op over a producer: its loops over windows, each window's values from `produce`,
   * recording each window's winner (the offset of its first maximum) in `winners` and storing
   * the input itself in `input` when asked. Undefined when the windows do not suit (they
   * overlap, or leave positions of a stored input uncovered).
   */
  readonly pool?: (
    ctx: EmitContext,
    node: OpNode,
    storeInput: boolean,
  ) =>
    | ((
        produce: (block: OutputBlock, at: (r: number, c: number) => BlockPosition) => BlockCode,
        targets: {
          readonly winners?: string;
          readonly input?: string;
          /** Recorded in `winners` in place of the winner's offset: the points' key (PointKey). */
          readonly key?: Omit<PointKey, "point">;
        },
      ) => string)
    | undefined;
  /**
   * The pooling op's winners visited window by window for the lead indices `lead`: `body` gets
   * the window's offset in the pooled value and the winner's indices in the input's shape or,
   * `keyed`, the key recorded for it (no indices).
   */
  readonly winners?: (
    ctx: EmitContext,
    node: OpNode,
    winners: string,
    lead: readonly string[],
    body: (window: string, axes: readonly string[], key: string) => string,
    keyed: boolean,
  ) => string;
  /** A consumer of a δ (its operand `operand`) that is nonzero only at given points. */
  readonly atPoints?: (ctx: EmitContext, node: OpNode, operand: number) => PointCode | undefined;
}

/** A function of the generated module: its JavaScript source and its TypeScript type. */
export interface Helper {
  readonly source: string;
  readonly type: string;
}

export function group(l: Latex, minPrec: number): string {
  return l.prec < minPrec ? `\\left(${l.text}\\right)` : l.text;
}
