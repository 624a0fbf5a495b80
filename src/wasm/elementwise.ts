import { F64, FunctionBuilder, I32, V128, type SimdOp, type ValType } from "./encoder.js";
import type { Precision } from "./forms.js";

/**
 * The fused elementwise loops of `--target wasm` as WebAssembly: a fused expression (a chain
 * of elementwise ops over arrays of the output's size, rows of it, and scalars) becomes one
 * function of the model's module,
 *
 *   e<k>(out, a0, …, s0, …, n[, m]):  out[i] = expr(a0[i], …, s0, …)  for i < n
 *
 * with byte addresses a_j, f64 scalars s_j and the count n, looping over two entries at a
 * time with f64x2 and a one-lane tail. An array may be a row of m entries repeated along the
 * output (a bias [H] added to [N, H]: entry i reads its entry i mod m), or hold one entry per
 * row (a mean [N, 1] subtracted from [N, D]: entry i reads ⌊i / m⌋); then m is an argument
 * and the loop runs row by row, each row's last odd entry in the tail.
 *
 * Every op computes in double precision as the JavaScript module does: in single precision
 * the entries are loaded as f32 and promoted, and the result demoted (rounded to nearest, as
 * a Float32Array store rounds) when stored, so that the result is the JavaScript module's
 * bit for bit (f32x4 arithmetic would round every intermediate and literal to float32).
 *
 * Each op says how it is written (its `wasm` rule beside its `f` and `js`, ops/elementwise.ts,
 * ops/logic.ts) over `Lanes`: the instructions whose results equal JavaScript's operators and
 * Math functions exactly (IEEE +, −, ×, ÷, sqrt; f64x2.min/max propagate NaN and order −0
 * below +0, as Math.min/max do; comparisons give masks to select by). The expression is
 * recorded as a list of those instructions, which is all the bytes hold: the operations and
 * the arguments' roles (array j, row j, scalar j, an op's own constant), never a name of the
 * model.
 */

/** A value of the expression: the index of the instruction computing it. */
export type Value = number & { readonly __value: unique symbol };

/** What an elementwise op's `wasm` rule may write: each lane computed as JavaScript computes it. */
export interface Lanes {
  add(a: Value, b: Value): Value;
  sub(a: Value, b: Value): Value;
  mul(a: Value, b: Value): Value;
  div(a: Value, b: Value): Value;
  /** Math.min / Math.max: NaN when either is NaN, −0 below +0. */
  min(a: Value, b: Value): Value;
  max(a: Value, b: Value): Value;
  neg(a: Value): Value;
  abs(a: Value): Value;
  sqrt(a: Value): Value;
  /** A constant of the op's own (ReLU's 0), the same in every lane. */
  constant(value: number): Value;
  /**
   * Masks: all ones in the lanes where the relation holds, zeros elsewhere, as JavaScript's
   * >, >=, <, <=, ===, !== (false with a NaN but for !==; −0 equal to +0).
   */
  gt(a: Value, b: Value): Value;
  ge(a: Value, b: Value): Value;
  lt(a: Value, b: Value): Value;
  le(a: Value, b: Value): Value;
  eq(a: Value, b: Value): Value;
  ne(a: Value, b: Value): Value;
  /** `mask ? a : b`, lane by lane. */
  select(mask: Value, a: Value, b: Value): Value;
}

type Unary = "neg" | "abs" | "sqrt";
type Binary = "add" | "sub" | "mul" | "div" | "min" | "max" | Relation;
/** The relations, named as the instructions are. */
export type Relation = "gt" | "ge" | "lt" | "le" | "eq" | "ne";

/** One instruction of an expression; `args` index earlier instructions. */
export type Instruction =
  | { readonly op: "array"; readonly index: number }
  /** Array `index` of one row's length m, the same at every row of the output (a bias). */
  | { readonly op: "row"; readonly index: number }
  /** Array `index` of one entry per row of the output, the same along the row (a per-row mean). */
  | { readonly op: "block"; readonly index: number }
  | { readonly op: "scalar"; readonly index: number }
  | { readonly op: "constant"; readonly value: number }
  | { readonly op: Unary | Binary | "select"; readonly args: readonly number[] };

/** A fused expression: how many arrays and scalars it reads, its instructions, and which is the result. */
export interface Expression {
  readonly arrays: number;
  readonly scalars: number;
  readonly code: readonly Instruction[];
  readonly result: number;
}

/** Records an expression as an op's rules write it. */
export class Recorder implements Lanes {
  readonly code: Instruction[] = [];
  /** Each instruction's index by its text: the same instruction on the same values is computed once. */
  private readonly indices = new Map<string, number>();
  private arrays = 0;
  private scalars = 0;

  private push(instruction: Instruction): Value {
    const key = JSON.stringify(instruction);
    let index = this.indices.get(key);
    if (index === undefined) {
      index = this.code.push(instruction) - 1;
      this.indices.set(key, index);
    }
    return index as Value;
  }

  /** The next array argument (array j, in the order they are asked for). */
  array(): Value {
    return this.push({ op: "array", index: this.arrays++ });
  }

  /** The next array argument, of a row's length: entry i of the output reads its entry i mod m. */
  row(): Value {
    return this.push({ op: "row", index: this.arrays++ });
  }

  /** The next array argument, one entry per row: entry i of the output reads its entry ⌊i / m⌋. */
  block(): Value {
    return this.push({ op: "block", index: this.arrays++ });
  }

  scalar(): Value {
    return this.push({ op: "scalar", index: this.scalars++ });
  }

  expression(result: Value): Expression {
    return { arrays: this.arrays, scalars: this.scalars, code: this.code, result };
  }

  private binary(op: Binary, a: Value, b: Value): Value {
    return this.push({ op, args: [a, b] });
  }
  add = (a: Value, b: Value) => this.binary("add", a, b);
  sub = (a: Value, b: Value) => this.binary("sub", a, b);
  mul = (a: Value, b: Value) => this.binary("mul", a, b);
  div = (a: Value, b: Value) => this.binary("div", a, b);
  min = (a: Value, b: Value) => this.binary("min", a, b);
  max = (a: Value, b: Value) => this.binary("max", a, b);
  gt = (a: Value, b: Value) => this.binary("gt", a, b);
  ge = (a: Value, b: Value) => this.binary("ge", a, b);
  lt = (a: Value, b: Value) => this.binary("lt", a, b);
  le = (a: Value, b: Value) => this.binary("le", a, b);
  eq = (a: Value, b: Value) => this.binary("eq", a, b);
  ne = (a: Value, b: Value) => this.binary("ne", a, b);
  neg = (a: Value) => this.push({ op: "neg", args: [a] });
  abs = (a: Value) => this.push({ op: "abs", args: [a] });
  sqrt = (a: Value) => this.push({ op: "sqrt", args: [a] });
  constant = (value: number) => this.push({ op: "constant", value });
  select = (mask: Value, a: Value, b: Value) => this.push({ op: "select", args: [mask, a, b] });
}

const SIMD: Record<Unary | Binary, SimdOp> = {
  neg: "f64x2.neg",
  abs: "f64x2.abs",
  sqrt: "f64x2.sqrt",
  add: "f64x2.add",
  sub: "f64x2.sub",
  mul: "f64x2.mul",
  div: "f64x2.div",
  min: "f64x2.min",
  max: "f64x2.max",
  gt: "f64x2.gt",
  ge: "f64x2.ge",
  lt: "f64x2.lt",
  le: "f64x2.le",
  eq: "f64x2.eq",
  ne: "f64x2.ne",
};

/** The function computing an expression over arrays of `precision`. */
export function elementwiseFunction(e: Expression, precision: Precision): FunctionBuilder {
  // With a row operand, one more argument, the rows' length m: the loop runs row by row.
  const rowed = e.code.some((c) => c.op === "row" || c.op === "block");
  const params: ValType[] = [
    I32,
    ...new Array<ValType>(e.arrays).fill(I32),
    ...new Array<ValType>(e.scalars).fill(F64),
    I32,
    ...(rowed ? [I32 as ValType] : []),
  ];
  const f = new FunctionBuilder(params);
  const out = f.param(0);
  const arrays = Array.from({ length: e.arrays }, (_, j) => f.param(1 + j));
  const scalars = Array.from({ length: e.scalars }, (_, j) => f.param(1 + e.arrays + j));
  const n = f.param(1 + e.arrays + e.scalars);
  const m = rowed ? f.param(2 + e.arrays + e.scalars) : n;
  const i = f.local(I32);
  const offset = f.local(I32);
  /** The byte offset of the row's first entry, and of the end. */
  const base = f.local(I32);
  const total = f.local(I32);
  /** The row's index times the element size: where a block operand's entry is. */
  const rowAt = f.local(I32);
  const values = e.code.map(() => f.local(V128));
  const shift = precision === "f64" ? 3 : 2;

  // Scalars and constants, splat once before the loop.
  e.code.forEach((c, k) => {
    if (c.op === "scalar") f.get(scalars[c.index]!).simd("f64x2.splat").set(values[k]!);
    if (c.op === "constant") f.f64(c.value).simd("f64x2.splat").set(values[k]!);
  });

  /** The expression at byte offset `offset`: two entries, or (tail) one in lane 0. */
  const step = (tail: boolean) => {
    e.code.forEach((c, k) => {
      const v = values[k]!;
      if (c.op === "scalar" || c.op === "constant" || c.op === "block") return;
      if (c.op === "array" || c.op === "row") {
        f.get(arrays[c.index]!).get(offset).op("i32.add");
        if (c.op === "array") f.get(base).op("i32.add");
        if (precision === "f64") f.mem(tail ? "v128.load64_zero" : "v128.load");
        else f.mem(tail ? "v128.load32_zero" : "v128.load64_zero").simd("f64x2.promote_low_f32x4");
      } else if (c.op === "select") {
        const [mask, a, b] = c.args;
        f.get(values[a!]!).get(values[b!]!).get(values[mask!]!).simd("v128.bitselect");
      } else {
        for (const a of c.args) f.get(values[a]!);
        f.simd(SIMD[c.op]);
      }
      f.set(v);
    });
    const result = values[e.result]!;
    f.get(out).get(offset).op("i32.add").get(base).op("i32.add").get(result);
    if (precision === "f64") {
      if (tail) f.storeLane("v128.store64_lane", 0);
      else f.mem("v128.store");
    } else {
      f.simd("f32x4.demote_f64x2_zero");
      f.storeLane(tail ? "v128.store32_lane" : "v128.store64_lane", 0);
    }
  };

  // Row by row (one row of all n entries without a row operand): two entries at a time,
  // then the last one in lane 0.
  f.i32(0).set(base);
  f.i32(0).set(rowAt);
  f.get(n).i32(shift).op("i32.shl").set(total);
  f.while(
    () => f.get(base).get(total).op("i32.lt_s"),
    () => {
      // The block operands' entries of this row, splat.
      e.code.forEach((c, k) => {
        if (c.op !== "block") return;
        f.get(arrays[c.index]!).get(rowAt).op("i32.add");
        if (precision === "f64") f.mem("v128.load64_splat");
        else f.mem("f32.load").op("f64.promote_f32").simd("f64x2.splat");
        f.set(values[k]!);
      });
      f.i32(0).set(i);
      f.while(
        () => f.get(i).i32(2).op("i32.add").get(m).op("i32.le_s"),
        () => {
          f.get(i).i32(shift).op("i32.shl").set(offset);
          step(false);
          f.inc(i, 2);
        },
      );
      f.get(i)
        .get(m)
        .op("i32.lt_s")
        .if(() => {
          f.get(i).i32(shift).op("i32.shl").set(offset);
          step(true);
        });
      f.get(base).get(m).i32(shift).op("i32.shl").op("i32.add").set(base);
      f.inc(rowAt, precision === "f64" ? 8 : 4);
    },
  );
  return f;
}

/** A module's elementwise functions: one per distinct expression, exported as e0, e1, … */
export class ElementwiseFunctions {
  private readonly keys = new Map<string, number>();
  readonly expressions: Expression[] = [];

  /** The exported name of the function computing `e`. */
  add(e: Expression): string {
    const key = JSON.stringify(e);
    let k = this.keys.get(key);
    if (k === undefined) {
      k = this.expressions.length;
      this.expressions.push(e);
      this.keys.set(key, k);
    }
    return `e${k}`;
  }
}

/** The generated module's object holding the elementwise functions (codegen/wasm.ts declares it). */
export const ELEMENTWISE = "nablaElementwise";
