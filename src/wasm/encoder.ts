/**
 * A WebAssembly binary encoder for the few instructions nabla's kernels use: i32 integer
 * arithmetic, f64/f32 loads, stores and arithmetic, 128-bit SIMD (the 0xfd prefix) and
 * structured control. A module here is functions over i32 (and f64) parameters, one exported memory
 * and, for bench/wasmMath.ts only, imported functions (the kernels' module imports nothing). The format: https://webassembly.github.io/spec/core/binary/.
 *
 * Nothing here takes text: names of exports are the kernels' own, fixed in code.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0) throw new Error(`uleb: ${value} is not a natural number`);
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31)
    throw new Error(`sleb: ${value} is not a 32-bit integer`);
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vector = (items: readonly number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** A local variable's index, as `FunctionBuilder.local` hands it out. */
export type Local = number & { readonly __local: unique symbol };

/** The opcodes, by the text format's names. SIMD ones are emitted after the 0xfd prefix. */
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  call: 0x10,
  "local.get": 0x20,
  "local.set": 0x21,
  "local.tee": 0x22,
  "f32.load": 0x2a,
  "f64.load": 0x2b,
  "f32.store": 0x38,
  "f64.store": 0x39,
  "i32.const": 0x41,
  "i32.eqz": 0x45,
  "i32.eq": 0x46,
  "i32.ne": 0x47,
  "i32.lt_s": 0x48,
  "i32.gt_s": 0x4a,
  "i32.le_s": 0x4c,
  "i32.ge_s": 0x4e,
  "f32.add": 0x92,
  "f32.mul": 0x94,
  "f64.neg": 0x9a,
  "f64.add": 0xa0,
  "f64.mul": 0xa2,
  "f64.div": 0xa3,
  "f64.promote_f32": 0xbb,
  "i32.add": 0x6a,
  "i32.sub": 0x6b,
  "i32.mul": 0x6c,
  "i32.div_s": 0x6d,
  "i32.and": 0x71,
  "i32.or": 0x72,
  "i32.shl": 0x74,
  "i32.shr_s": 0x75,
} as const;

const SIMD = {
  "v128.load": 0x00,
  "v128.load32_splat": 0x09,
  "v128.load64_splat": 0x0a,
  "v128.store": 0x0b,
  "v128.not": 0x4d,
  "v128.and": 0x4e,
  "v128.or": 0x50,
  "v128.bitselect": 0x52,
  "v128.store32_lane": 0x5a,
  "v128.store64_lane": 0x5b,
  "v128.load32_zero": 0x5c,
  "v128.load64_zero": 0x5d,
  "f32x4.demote_f64x2_zero": 0x5e,
  "f64x2.promote_low_f32x4": 0x5f,
  "f64x2.eq": 0x47,
  "f64x2.ne": 0x48,
  "f64x2.lt": 0x49,
  "f64x2.gt": 0x4a,
  "f64x2.le": 0x4b,
  "f64x2.ge": 0x4c,
  "f32x4.splat": 0x13,
  "f64x2.splat": 0x14,
  "f32x4.extract_lane": 0x1f,
  "f32x4.replace_lane": 0x20,
  "f64x2.extract_lane": 0x21,
  "f64x2.replace_lane": 0x22,
  "f32x4.add": 0xe4,
  "f32x4.mul": 0xe6,
  "f64x2.abs": 0xec,
  "f64x2.neg": 0xed,
  "f64x2.sqrt": 0xef,
  "f64x2.add": 0xf0,
  "f64x2.sub": 0xf1,
  "f64x2.mul": 0xf2,
  "f64x2.div": 0xf3,
  "f64x2.min": 0xf4,
  "f64x2.max": 0xf5,
} as const;

export type Op = keyof typeof OP;
export type SimdOp = keyof typeof SIMD;

/** Memory instructions: their natural alignment (log2 bytes) for the memarg. */
const ALIGN: Partial<Record<Op | SimdOp, number>> = {
  "f32.load": 2,
  "f64.load": 3,
  "f32.store": 2,
  "f64.store": 3,
  "v128.load": 4,
  "v128.store": 4,
  "v128.load32_splat": 2,
  "v128.load64_splat": 3,
  "v128.load32_zero": 2,
  "v128.load64_zero": 3,
  "v128.store32_lane": 2,
  "v128.store64_lane": 3,
};

/** The body of one function: its locals and instructions, written in order. */
export class FunctionBuilder {
  private readonly locals: ValType[] = [];
  private readonly code: number[] = [];
  /** How many blocks are open, so that a branch can name its target by the builder's handle. */
  private depth = 0;

  constructor(readonly params: readonly ValType[]) {}

  param(i: number): Local {
    if (i < 0 || i >= this.params.length) throw new Error(`no parameter ${i}`);
    return i as Local;
  }

  local(type: ValType): Local {
    this.locals.push(type);
    return (this.params.length + this.locals.length - 1) as Local;
  }

  op(name: Op): this {
    this.code.push(OP[name]);
    return this;
  }

  /** A zero of the type: v128.const 0, f64.const 0 or f32.const 0. */
  zero(type: typeof V128 | typeof F64 | typeof F32): this {
    if (type === V128) this.code.push(0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0));
    else if (type === F64) this.code.push(0x44, ...new Array<number>(8).fill(0));
    else this.code.push(0x43, ...new Array<number>(4).fill(0));
    return this;
  }

  /** A load or store with a constant byte offset (the alignment is the hint: unaligned is allowed). */
  mem(name: Op | SimdOp, offset = 0): this {
    if (name in SIMD) this.code.push(0xfd, ...uleb(SIMD[name as SimdOp]));
    else this.code.push(OP[name as Op]);
    const align = ALIGN[name];
    if (align === undefined) throw new Error(`${name} is not a memory instruction`);
    this.code.push(...uleb(align), ...uleb(offset));
    return this;
  }

  /** A store of one lane (`v128.store64_lane`): the memarg, then the lane. */
  storeLane(name: "v128.store32_lane" | "v128.store64_lane", lane: number, offset = 0): this {
    this.code.push(0xfd, ...uleb(SIMD[name]), ...uleb(ALIGN[name]!), ...uleb(offset), lane);
    return this;
  }

  /** `f64.const value`: the double's 8 bytes, little-endian. */
  f64(value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.code.push(0x44, ...bytes);
    return this;
  }

  simd(name: SimdOp, lane?: number): this {
    this.code.push(0xfd, ...uleb(SIMD[name]));
    if (name.endsWith("_lane") && !name.startsWith("v128.")) {
      if (lane === undefined) throw new Error(`${name} needs a lane`);
      this.code.push(lane);
    }
    return this;
  }

  get(l: Local): this {
    this.code.push(OP["local.get"], ...uleb(l));
    return this;
  }

  set(l: Local): this {
    this.code.push(OP["local.set"], ...uleb(l));
    return this;
  }

  tee(l: Local): this {
    this.code.push(OP["local.tee"], ...uleb(l));
    return this;
  }

  i32(value: number): this {
    this.code.push(OP["i32.const"], ...sleb(value));
    return this;
  }

  /** `l = l + step` for an i32 local and a constant. */
  inc(l: Local, step: number): this {
    return this.get(l).i32(step).op("i32.add").set(l);
  }

  /** `l = l + step` for i32 locals. */
  incBy(l: Local, step: Local): this {
    return this.get(l).get(step).op("i32.add").set(l);
  }

  /** A block with no result; `body` gets a handle to branch out of it (to its end). */
  block(body: (exit: number) => void): this {
    this.code.push(OP.block, 0x40);
    const label = ++this.depth;
    body(label);
    this.depth--;
    return this.op("end");
  }

  /** A loop; `body` gets a handle to branch back to its start. */
  loop(body: (again: number) => void): this {
    this.code.push(OP.loop, 0x40);
    const label = ++this.depth;
    body(label);
    this.depth--;
    return this.op("end");
  }

  /** if … else … end on the i32 on the stack. */
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(OP.if, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.code.push(OP.else);
      otherwise();
    }
    this.depth--;
    return this.op("end");
  }

  /** `call f`: f's index counts the imported functions first (encodeModule's `imports`). */
  call(f: number): this {
    this.code.push(OP.call, ...uleb(f));
    return this;
  }

  br(label: number): this {
    this.code.push(OP.br, ...uleb(this.depth - label));
    return this;
  }

  brIf(label: number): this {
    this.code.push(OP.br_if, ...uleb(this.depth - label));
    return this;
  }

  /**
   * `while (cond) { body }`: `cond` pushes an i32 that is nonzero while the loop runs. The
   * body gets the loop's exit handle.
   */
  while(cond: () => void, body: (exit: number) => void): this {
    return this.block((exit) =>
      this.loop((again) => {
        cond();
        this.op("i32.eqz").brIf(exit);
        body(exit);
        this.br(again);
      }),
    );
  }

  /** The function's code entry: locals (run-length encoded by type) and instructions. */
  encode(): number[] {
    const runs: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = runs.at(-1);
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    if (this.depth !== 0) throw new Error("a block is still open");
    const body = [...vector(runs.map(([n, t]) => [...uleb(n), t])), ...this.code, OP.end];
    return [...uleb(body.length), ...body];
  }
}

export interface ExportedFunction {
  readonly name: string;
  readonly body: FunctionBuilder;
}

/** A function the module imports: `module.name`, of f64 parameters and results. */
export interface ImportedFunction {
  readonly module: string;
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/**
 * A module of functions returning nothing, each exported under its name, and one memory of
 * `pages` 64 KiB pages, exported as "memory", which the caller grows. The imported functions,
 * if any, take the first indices: the module's own function i is called as imports.length + i.
 */
export function encodeModule(
  functions: readonly ExportedFunction[],
  pages = 1,
  imports: readonly ImportedFunction[] = [],
): Uint8Array {
  const signatures: string[] = [];
  const signature = (params: readonly ValType[], results: readonly ValType[]) => {
    const key = `${params.join(",")}:${results.join(",")}`;
    if (!signatures.includes(key)) signatures.push(key);
    return signatures.indexOf(key);
  };
  const importTypes = imports.map((f) => signature(f.params, f.results));
  const typeIndex = functions.map((f) => signature(f.body.params, []));
  const list = (text: string) => (text === "" ? [] : text.split(",").map(Number));
  const types = signatures.map((key) => {
    const [params, results] = key.split(":") as [string, string];
    return [0x60, ...vector(list(params).map((p) => [p])), ...vector(list(results).map((r) => [r]))];
  });
  const exports = [
    [...utf8Name("memory"), 0x02, 0x00],
    ...functions.map((f, i) => [...utf8Name(f.name), 0x00, ...uleb(imports.length + i)]),
  ];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector(types)),
    ...(imports.length > 0
      ? section(
          2,
          vector(
            imports.map((f, i) => [
              ...utf8Name(f.module),
              ...utf8Name(f.name),
              0x00,
              ...uleb(importTypes[i]!),
            ]),
          ),
        )
      : []),
    ...section(3, vector(typeIndex.map((i) => uleb(i)))),
    ...section(5, vector([[0x00, ...uleb(pages)]])),
    ...section(7, vector(exports)),
    ...section(10, vector(functions.map((f) => f.body.encode()))),
  ]);
}

function utf8Name(name: string): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  return [...uleb(bytes.length), ...bytes];
}
