import { describe, expect, it } from "vitest";
import { kernelModule, type Precision } from "../../src/wasm/kernels.js";
import { Recorder, type Expression, type Value } from "../../src/wasm/elementwise.js";
import { elementwiseOps } from "../../src/ops/elementwise.js";
import { logicOps } from "../../src/ops/logic.js";
import { jsNumber } from "../../src/codegen/emitter.js";
import type { EmitContext } from "../../src/ir/op.js";
import { seededRandom } from "../../src/train/loop.js";

/*
 * Each op's WebAssembly form (its `wasm` rule) against what the JavaScript module computes
 * (its `js` expression, run here) and its `f`, entry by entry and bit for bit (NaN equal to
 * NaN, −0 not +0): on special values (±0, NaN, ±Infinity, denormals, the largest doubles)
 * and random ones, every length 0–9 and longer odd ones (the one-lane tail), at offsets that
 * are not 16-byte aligned, in both precisions (f32: the entries rounded to float32 as a
 * Float32Array holds them, the result the JavaScript value rounded when stored).
 */

const ctx = { num: jsNumber } as unknown as EmitContext;
const BINARY = new Set(["add", "sub", "mul", "div", "pow", "max", "min"]);
const UNARY = new Set(["neg", "sqrt", "abs", "sign", "softsign", "relu", "heaviside"]);
const withWasm = elementwiseOps.filter((op) => op.wasm !== undefined);

const SPECIAL = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  -1.5e-310,
  1e-40,
  -3e-45,
  1,
  -1,
  2,
  0.5,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  3.4e38,
];

/** The function the JavaScript module's loop computes for an op: its `js` over named operands. */
function javascript(name: string, operands: readonly string[]): (...args: number[]) => number {
  const op = elementwiseOps.find((o) => o.name === name)!;
  const params = operands.filter((o) => /^[a-z]$/.test(o));
  return new Function(...params, `return ${op.elementwise!(operands, {}, ctx)};`) as (
    ...args: number[]
  ) => number;
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

interface Case {
  readonly label: string;
  readonly expression: Expression;
  /** The value at one entry, from the arrays' entries (in order) and the scalars. */
  readonly expected: (arrays: readonly number[], scalars: readonly number[]) => number;
  readonly scalars: readonly number[];
  /** The op's `f`, where it is the JavaScript value (not on NaN for relu, whose f gives 0). */
  readonly f?: (arrays: readonly number[]) => number;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const op of withWasm) {
    if (UNARY.has(op.name)) {
      const r = new Recorder();
      const x = r.array();
      const result = op.wasm!(r, [x], {}, () => undefined)!;
      const js = javascript(op.name, ["a"]);
      const evaluate = (x: number) =>
        op.evaluate!([{ shape: [1], data: new Float64Array([x]) }] as never, {}, [1], new Map()).data[0]!;
      out.push({
        label: op.name,
        expression: r.expression(result),
        expected: ([a]) => js(a!),
        scalars: [],
        f: ([a]) => (Number.isNaN(a!) ? js(a!) : evaluate(a!)),
      });
    } else if (op.name === "pow") {
      for (const p of [2, 1, 0.5]) {
        const r = new Recorder();
        const [a, b] = [r.array(), r.scalar()];
        const result = op.wasm!(r, [a, b], {}, (i) => (i === 1 ? p : undefined))!;
        const js = javascript("pow", ["a", jsNumber(p)]);
        out.push({
          label: `pow(x, ${p})`,
          expression: r.expression(result),
          expected: ([x]) => js(x!),
          scalars: [p],
        });
      }
      const r = new Recorder();
      expect(op.wasm!(r, [r.array(), r.scalar()], {}, () => 3)).toBeUndefined();
      expect(op.wasm!(r, [r.array(), r.scalar()], {}, () => undefined)).toBeUndefined();
    } else {
      expect(BINARY.has(op.name)).toBe(true);
      const js = javascript(op.name, ["a", "b"]);
      const r = new Recorder();
      const result = op.wasm!(r, [r.array(), r.array()], {}, () => undefined)!;
      out.push({
        label: op.name,
        expression: r.expression(result),
        expected: ([a, b]) => js(a!, b!),
        scalars: [],
      });
      // An array and a scalar, the scalar first.
      const s = new Recorder();
      const [k, x] = [s.scalar(), s.array()];
      const result2 = op.wasm!(s, [k, x], {}, () => undefined)!;
      out.push({
        label: `${op.name}(scalar, x)`,
        expression: s.expression(result2),
        expected: ([a], [c]) => js(c!, a!),
        scalars: [-0.75],
      });
    }
  }
  // Comparisons (1 where the relation holds, as +(a > b)) and where (c !== 0 ? a : b).
  const compare = logicOps.find((o) => o.name === "compare")!;
  for (const relation of [">", ">=", "<", "<=", "==", "!="]) {
    const r = new Recorder();
    const result = compare.wasm!(r, [r.array(), r.array()], { relation }, () => undefined)!;
    const js = new Function("a", "b", `return ${compare.elementwise!(["a", "b"], { relation }, ctx)};`) as (
      a: number,
      b: number,
    ) => number;
    out.push({
      label: `[a ${relation} b]`,
      expression: r.expression(result),
      expected: ([a, b]) => js(a!, b!),
      scalars: [],
    });
  }
  const where = logicOps.find((o) => o.name === "where")!;
  const w = new Recorder();
  const chosen = where.wasm!(w, [w.array(), w.array(), w.array()], {}, () => undefined)!;
  const whereJs = new Function("c", "a", "b", `return ${where.elementwise!(["c", "a", "b"], {}, ctx)};`) as (
    ...args: number[]
  ) => number;
  out.push({
    label: "where",
    expression: w.expression(chosen),
    expected: ([c, a, b]) => whereJs(c!, a!, b!),
    scalars: [],
  });
  // A fused chain as the MLP's backward pass has it, (g · h) · (1 − h), h read twice.
  const r = new Recorder();
  const [g, h, one] = [r.array(), r.array(), r.scalar()];
  const chain = r.mul(r.mul(g, h), r.sub(one, h));
  out.push({
    label: "(g h)(1 − h)",
    expression: r.expression(chain),
    expected: ([g, h], [c]) => g! * h! * (c! - h!),
    scalars: [1],
  });
  // The result an operand itself: pow(x, 1) stores x.
  const q = new Recorder();
  const x = q.array();
  out.push({ label: "x", expression: q.expression(x as Value), expected: ([a]) => a!, scalars: [] });
  return out;
}

describe.each(["f64", "f32"] as Precision[])("the %s elementwise functions", (precision) => {
  it("every op with a wasm rule is checked", () => {
    expect(withWasm.length).toBe(UNARY.size + BINARY.size);
    for (const op of withWasm) expect(UNARY.has(op.name) || BINARY.has(op.name)).toBe(true);
  });

  it("equal the JavaScript module's values bit for bit on special and random values, every length, unaligned", async () => {
    const all = cases();
    const bytes = kernelModule(
      precision,
      all.map((c) => c.expression),
    );
    expect(WebAssembly.validate(bytes)).toBe(true);
    const { instance } = await WebAssembly.instantiate(bytes);
    const exports = instance.exports as unknown as Record<string, (...args: number[]) => void> & {
      memory: WebAssembly.Memory;
    };
    exports.memory.grow(4);
    const Float = precision === "f64" ? Float64Array : Float32Array;
    const size = Float.BYTES_PER_ELEMENT;
    const round = precision === "f64" ? (x: number) => x : Math.fround;
    const random = seededRandom(5);
    const value = () => {
      const u = random();
      if (u < 0.4) return SPECIAL[Math.floor(random() * SPECIAL.length)]!;
      return (random() - 0.5) * 10 ** Math.floor(random() * 8 - 4);
    };
    let checked = 0;
    let fChecked = 0;
    all.forEach((c, k) => {
      const fn = exports[`e${k}`]!;
      for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 33, 101]) {
        // Each array at an odd element offset: never 16-byte aligned.
        const base = (j: number) => (1 + j * 128 + 2 * (n % 3)) * size + 1024;
        const arrays = Array.from({ length: c.expression.arrays }, (_, j) => {
          const view = new Float(exports.memory.buffer, base(j + 1), n);
          for (let i = 0; i < n; i++) view[i] = value();
          return view;
        });
        const out = new Float(exports.memory.buffer, base(0), n + 1);
        out.fill(12345);
        fn(base(0), ...arrays.map((_, j) => base(j + 1)), ...c.scalars, n);
        for (let i = 0; i < n; i++) {
          const entries = arrays.map((a) => a[i]!);
          const expected = round(c.expected(entries, c.scalars));
          if (!same(out[i]!, expected))
            throw new Error(
              `${c.label} at ${entries.join(", ")}: ${out[i]} ≠ ${expected} (n = ${n}, ${precision})`,
            );
          if (c.f) {
            expect(same(out[i]!, round(c.f(entries)))).toBe(true);
            fChecked++;
          }
          checked++;
        }
        // Nothing past the end is written.
        expect(out[n]).toBe(12345);
      }
    });
    expect(checked).toBeGreaterThan(all.length * 100);
    expect(fChecked).toBeGreaterThan(1000);
  });

  it("read a row operand at each row of the output (a bias) and a block operand along each row (a mean), rows of odd and even lengths", async () => {
    // relu(x + b) · g − c: x and g of the output's size, b one row, repeated, c one entry per row.
    const r = new Recorder();
    const [x, b, g, c] = [r.array(), r.row(), r.array(), r.block()];
    const e = r.expression(r.sub(r.mul(r.max(r.add(x, b), r.constant(0)), g), c));
    const bytes = kernelModule(precision, [e]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const { instance } = await WebAssembly.instantiate(bytes);
    const exports = instance.exports as unknown as {
      memory: WebAssembly.Memory;
      e0: (...args: number[]) => void;
    };
    exports.memory.grow(4);
    const Float = precision === "f64" ? Float64Array : Float32Array;
    const size = Float.BYTES_PER_ELEMENT;
    const round = precision === "f64" ? (v: number) => v : Math.fround;
    const random = seededRandom(9);
    let checked = 0;
    for (const m of [1, 2, 3, 4, 5, 7, 10])
      for (const rows of [0, 1, 2, 3, 5]) {
        const n = m * rows;
        const at = (j: number) => 2048 + (1 + j * 256) * size;
        const [X, B, G, C] = [1, 2, 3, 4].map(
          (j) => new Float(exports.memory.buffer, at(j), j === 2 ? m : j === 4 ? rows : n),
        );
        for (const a of [X!, B!, G!, C!])
          for (let i = 0; i < a.length; i++)
            a[i] = random() < 0.2 ? SPECIAL[Math.floor(random() * SPECIAL.length)]! : random() * 4 - 2;
        const out = new Float(exports.memory.buffer, at(0), n + 1);
        out.fill(777);
        exports.e0(at(0), at(1), at(2), at(3), at(4), n, m);
        for (let i = 0; i < n; i++) {
          const expected = round(Math.max(X![i]! + B![i % m]!, 0) * G![i]! - C![Math.floor(i / m)]!);
          if (!same(out[i]!, expected))
            throw new Error(
              `row ${Math.floor(i / m)} entry ${i % m} (m = ${m}): ${jsNumber(out[i]!)} ≠ ${jsNumber(expected)}`,
            );
          checked++;
        }
        expect(out[n]).toBe(777);
      }
    expect(checked).toBeGreaterThan(300);
  });
});
