import { describe, expect, it } from "vitest";
import { encodeModule, F64, FunctionBuilder, I32, sleb, uleb } from "../../src/wasm/encoder.js";
import { kernelModule, type Precision } from "../../src/wasm/kernels.js";
import { seededRandom } from "../../src/train/loop.js";

describe("the WebAssembly encoder", () => {
  it("writes LEB128 as the format's specification does", () => {
    // The examples of the LEB128 article the specification cites.
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(() => uleb(-1)).toThrow();
    expect(() => sleb(2 ** 31)).toThrow();
  });

  it("builds a module that validates and runs: a loop summing f64s", async () => {
    // sum(p, n): memory[0] = Σ memory[p + 8i], i < n.
    const f = new FunctionBuilder([I32, I32]);
    const [p, n] = [f.param(0), f.param(1)];
    const s = f.local(F64);
    f.while(
      () => f.get(n),
      () => {
        f.get(s).get(p).mem("f64.load").op("f64.add").set(s);
        f.inc(p, 8).inc(n, -1);
      },
    );
    f.i32(0).get(s).mem("f64.store");
    const bytes = encodeModule([{ name: "sum", body: f }]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const { instance } = await WebAssembly.instantiate(bytes);
    const { memory, sum } = instance.exports as {
      memory: WebAssembly.Memory;
      sum: (p: number, n: number) => void;
    };
    const a = new Float64Array(memory.buffer, 64, 5);
    a.set([1, 2, 3, 4, 5.5]);
    sum(64, 5);
    expect(new Float64Array(memory.buffer, 0, 1)[0]).toBe(15.5);
  });

  it("imports functions and calls them (the module's own functions after the imports)", async () => {
    // twice(p): memory[p] = g(f(memory[p])), f and g imported; the export is function 2.
    const f = new FunctionBuilder([I32]);
    const p = f.param(0);
    f.get(p).get(p).mem("f64.load").call(0).call(1).mem("f64.store");
    const bytes = encodeModule([{ name: "twice", body: f }], 1, [
      { module: "m", name: "f", params: [F64], results: [F64] },
      { module: "m", name: "g", params: [F64], results: [F64] },
    ]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const seen: number[] = [];
    const { instance } = await WebAssembly.instantiate(bytes, {
      m: { f: (x: number) => (seen.push(x), x + 1), g: (x: number) => (seen.push(x), x * 10) },
    });
    const { memory, twice } = instance.exports as {
      memory: WebAssembly.Memory;
      twice: (p: number) => void;
    };
    new Float64Array(memory.buffer, 8, 1)[0] = 0.5;
    twice(8);
    expect(new Float64Array(memory.buffer, 8, 1)[0]).toBe(15);
    expect(seen).toEqual([0.5, 1.5]);
    // Math.exp imported gives Math.exp's double, the same bits.
    const e = new FunctionBuilder([I32]);
    e.get(e.param(0)).get(e.param(0)).mem("f64.load").call(0).mem("f64.store");
    const exp = await WebAssembly.instantiate(
      encodeModule([{ name: "exp", body: e }], 1, [
        { module: "m", name: "exp", params: [F64], results: [F64] },
      ]),
      { m: { exp: Math.exp } },
    );
    const run = exp.instance.exports as { memory: WebAssembly.Memory; exp: (p: number) => void };
    for (const x of [0.1, -745.2, 709.7, -0, NaN, Infinity, 1e-300]) {
      new Float64Array(run.memory.buffer, 0, 1)[0] = x;
      run.exp(0);
      expect(Object.is(new Float64Array(run.memory.buffer, 0, 1)[0], Math.exp(x))).toBe(true);
    }
  });

  it("refuses a function with a block left open", () => {
    const f = new FunctionBuilder([]);
    expect(() => f.block(() => f.encode())).toThrow(/open/);
  });
});

/** C = β C + op(A) op(B) by the definition, in doubles. */
function reference(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  C: ArrayLike<number>,
  [m, n, k]: number[],
  [sai, sap, sbp, sbj]: number[],
  beta: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * sai + p * sap]! * B[p * sbp + j * sbj]!;
      out.push(beta * C[i * n + j]! + s);
    }
  return out;
}

describe.each(["f64", "f32"] as Precision[])("the %s gemm kernel", (precision) => {
  it("validates, and equals the plain loop on random sizes, layouts and offsets", async () => {
    const bytes = kernelModule(precision);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const { instance } = await WebAssembly.instantiate(bytes);
    const { memory, gemm } = instance.exports as {
      memory: WebAssembly.Memory;
      gemm: (...args: number[]) => void;
    };
    memory.grow(16);
    const Float = precision === "f64" ? Float64Array : Float32Array;
    const size = Float.BYTES_PER_ELEMENT;
    const random = seededRandom(7);
    const dim = () => 1 + Math.floor(random() * 21);
    const layouts = new Set<string>();
    for (let trial = 0; trial < 400; trial++) {
      // Every tenth product long enough for the kernel to take K in chunks (128 or 256).
      const [m, n, k] = [dim(), dim(), trial % 10 === 0 ? 200 + Math.floor(random() * 400) : dim()];
      // Every case a product can take: A and B each transposed or not, one-row and one-column
      // products, an outer product (k = 1) accumulated or not.
      const ta = random() < 0.5;
      const tb = random() < 0.5;
      const beta = random() < 0.3 ? 1 : 0;
      const strides = [ta ? 1 : k, ta ? m : 1, tb ? 1 : n, tb ? k : 1];
      layouts.add(`${ta}${tb}${beta}`);
      // Arrays at element (not 16-byte) offsets: the kernel must not assume aligned rows.
      const at = (slot: number) => slot * 262144 + Math.floor(random() * 3) * size;
      const A = new Float(memory.buffer, at(0), m * k);
      const B = new Float(memory.buffer, at(1), k * n);
      const C = new Float(memory.buffer, at(2), m * n);
      for (const x of [A, B, C]) for (let i = 0; i < x.length; i++) x[i] = random() - 0.5;
      const expected = reference(A, B, C, [m, n, k], strides, beta);
      // Guard cells on both sides of C stay untouched.
      const before = new Float(memory.buffer, C.byteOffset - size, 1);
      const after = new Float(memory.buffer, C.byteOffset + C.byteLength, 1);
      before[0] = 12345;
      after[0] = 54321;
      gemm(C.byteOffset, A.byteOffset, B.byteOffset, m, n, k, ...strides, beta);
      const tolerance = precision === "f64" ? 1e-14 : 1e-5;
      for (let i = 0; i < C.length; i++) expect(Math.abs(C[i]! - expected[i]!)).toBeLessThan(tolerance);
      expect([before[0], after[0]]).toEqual([12345, 54321]);
    }
    expect(layouts.size).toBe(8);
  });
});
