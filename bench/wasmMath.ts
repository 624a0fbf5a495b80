/**
 * Would a fused loop over exp, log, tanh, … be faster as WebAssembly that calls JavaScript's
 * Math functions, imported, than as the JavaScript loop? (docs/wasm.md, "Not done".)
 *
 *   node dist/bench/wasmMath.js [n ...]     (default 10000 100000 1000000)
 *
 * For each function f and size n, over Float64Array views of one WebAssembly memory, times
 * per entry, interleaved round by round, medians over the rounds:
 *
 *   js       for (i) out[i] = Math.f(a[i])   (sigmoid: 1 / (1 + Math.exp(-(a[i]))))
 *   lanes    f64x2 over two entries, each lane extracted, f called, replaced (the form
 *            wasm/elementwise.ts would write), Math.f imported
 *   scalar   one entry at a time (f64.load, call, f64.store), Math.f imported
 *   own      lanes, the import an arrow function of the module's own, (x) => Math.f(x)
 *
 * and the ratios to js. Every wasm result is checked bit for bit against the js loop's.
 */
import { encodeModule, F64, FunctionBuilder, I32, V128, type ImportedFunction } from "../src/wasm/encoder.js";

const NAMES = ["exp", "log", "tanh", "log1p", "expm1"] as const;
type Name = (typeof NAMES)[number];
type Case = Name | "sigmoid";
const CASES: readonly Case[] = [...NAMES, "sigmoid"];
const importIndex = (c: Case) => NAMES.indexOf(c === "sigmoid" ? "exp" : c);

/** out[i] = f(a[i]), two lanes at a time (sigmoid: 1 / (1 + f(−x)) around the call). */
function lanes(c: Case): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32]);
  const [out, a, n] = [f.param(0), f.param(1), f.param(2)];
  const i = f.local(I32);
  const at = f.local(I32);
  const v = f.local(V128);
  f.i32(0).set(i);
  f.while(
    () => f.get(i).i32(2).op("i32.add").get(n).op("i32.le_s"),
    () => {
      f.get(i).i32(3).op("i32.shl").set(at);
      f.get(a).get(at).op("i32.add").mem("v128.load").set(v);
      if (c === "sigmoid") f.get(v).simd("f64x2.neg").set(v);
      for (const lane of [0, 1])
        f.get(v)
          .get(v)
          .simd("f64x2.extract_lane", lane)
          .call(importIndex(c))
          .simd("f64x2.replace_lane", lane)
          .set(v);
      if (c === "sigmoid")
        f.f64(1)
          .simd("f64x2.splat")
          .f64(1)
          .simd("f64x2.splat")
          .get(v)
          .simd("f64x2.add")
          .simd("f64x2.div")
          .set(v);
      f.get(out).get(at).op("i32.add").get(v).mem("v128.store");
      f.inc(i, 2);
    },
  );
  return f;
}

/** out[i] = f(a[i]), one entry at a time. */
function scalar(c: Case): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32]);
  const [out, a, n] = [f.param(0), f.param(1), f.param(2)];
  const i = f.local(I32);
  const at = f.local(I32);
  f.i32(0).set(i);
  f.while(
    () => f.get(i).get(n).op("i32.lt_s"),
    () => {
      f.get(i).i32(3).op("i32.shl").set(at);
      f.get(out).get(at).op("i32.add");
      if (c === "sigmoid") f.f64(1).f64(1);
      f.get(a).get(at).op("i32.add").mem("f64.load");
      if (c === "sigmoid") f.op("f64.neg");
      f.call(importIndex(c));
      if (c === "sigmoid") f.op("f64.add").op("f64.div");
      f.mem("f64.store");
      f.inc(i, 1);
    },
  );
  return f;
}

const JS: Record<Case, (o: Float64Array, a: Float64Array, n: number) => void> = {
  exp: (o, a, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.exp(a[i]!);
  },
  log: (o, a, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.log(a[i]!);
  },
  tanh: (o, a, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.tanh(a[i]!);
  },
  log1p: (o, a, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.log1p(a[i]!);
  },
  expm1: (o, a, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.expm1(a[i]!);
  },
  sigmoid: (o, a, n) => {
    for (let i = 0; i < n; i++) o[i] = 1 / (1 + Math.exp(-a[i]!));
  },
};

type Exports = Record<string, (out: number, a: number, n: number) => void> & { memory: WebAssembly.Memory };

async function instantiate(own: boolean, largest: number): Promise<Exports> {
  const imports: ImportedFunction[] = NAMES.map((name) => ({
    module: "m",
    name,
    params: [F64],
    results: [F64],
  }));
  const functions = CASES.flatMap((c) => [
    { name: `lanes_${c}`, body: lanes(c) },
    { name: `scalar_${c}`, body: scalar(c) },
  ]);
  const math = Object.fromEntries(
    NAMES.map((name) => {
      const g = Math[name];
      return [name, own ? (x: number) => g(x) : g];
    }),
  );
  const module = new WebAssembly.Module(encodeModule(functions, 1, imports) as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, { m: math });
  const e = instance.exports as unknown as Exports;
  e.memory.grow(Math.ceil((2 * largest * 8) / 65536));
  return e;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main() {
  const sizes = process.argv.slice(2).map(Number);
  if (sizes.length === 0) sizes.push(1e4, 1e5, 1e6);
  const largest = Math.max(...sizes);
  const [math, own] = [await instantiate(false, largest), await instantiate(true, largest)];
  console.log(`node ${process.version}; ns per entry (median of rounds), ratio to the JavaScript loop`);
  for (const n of sizes)
    for (const c of CASES) {
      const memory = math.memory.buffer;
      const a = new Float64Array(memory, 0, n);
      const o = new Float64Array(memory, largest * 8, n);
      for (let i = 0; i < n; i++)
        a[i] = c === "log" || c === "log1p" ? Math.random() * 10 : (Math.random() - 0.5) * 8;
      const ownA = new Float64Array(own.memory.buffer, 0, n);
      ownA.set(a);
      const expected = new Float64Array(n);
      JS[c](expected, a, n);
      const runs: Record<string, () => void> = {
        js: () => JS[c](o, a, n),
        lanes: () => math[`lanes_${c}`]!(largest * 8, 0, n),
        scalar: () => math[`scalar_${c}`]!(largest * 8, 0, n),
        own: () => own[`lanes_${c}`]!(largest * 8, 0, n),
      };
      for (const [k, run] of Object.entries(runs)) {
        run();
        const got = k === "own" ? new Float64Array(own.memory.buffer, largest * 8, n) : o;
        if (!got.every((x, i) => Object.is(x, expected[i])))
          throw new Error(`${c} ${k}: not the js loop's values`);
      }
      const reps = Math.max(1, Math.round(2e5 / n));
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
      for (let round = 0; round < 30; round++)
        for (const [k, run] of Object.entries(runs)) {
          const t = performance.now();
          for (let r = 0; r < reps; r++) run();
          times[k]!.push(((performance.now() - t) * 1e6) / (reps * n));
        }
      const js = median(times.js!);
      console.log(
        `n=${n} ${c.padEnd(7)} ` +
          Object.keys(runs)
            .map(
              (k) =>
                `${k} ${median(times[k]!).toFixed(1)}${k === "js" ? "" : ` (×${(median(times[k]!) / js).toFixed(2)})`}`,
            )
            .join("  "),
      );
    }
}

await main();
