import { describe, expect, it } from "vitest";
import { kernelModule, type Precision } from "../../src/wasm/kernels.js";
import { CONV, CONV_FILTER, convCall, type ConvCallDims } from "../../src/wasm/conv.js";
import { seededRandom } from "../../src/train/loop.js";

type Role = "out" | "x" | "k";

/**
 * The convolution's index space by its definition, in doubles: every (n, f, oh, ow) and tap
 * (c, i, j) whose input position is inside the image, with the flat offsets of x, k and out.
 */
function each(d: Sizes, visit: (x: number, k: number, o: number) => void): void {
  const { N, C, F, H, W, KH, KW, HO, WO, sh, sw, ph, pw } = d;
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let oh = 0; oh < HO; oh++)
        for (let ow = 0; ow < WO; ow++)
          for (let c = 0; c < C; c++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const [ih, iw] = [oh * sh + i - ph, ow * sw + j - pw];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                visit(
                  ((n * C + c) * H + ih) * W + iw,
                  ((f * C + c) * KH + i) * KW + j,
                  ((n * F + f) * HO + oh) * WO + ow,
                );
              }
}

interface Sizes {
  N: number;
  C: number;
  F: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  HO: number;
  WO: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

/** The role's result from its two operands (ops/conv.ts: "x" args [δ, k], "k" args [x, δ]). */
function reference(
  role: Role,
  d: Sizes,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  length: number,
): number[] {
  const out = new Array<number>(length).fill(0);
  if (role === "out") each(d, (x, k, o) => (out[o]! += a[x]! * b[k]!));
  else if (role === "x") each(d, (x, k, o) => (out[x]! += a[o]! * b[k]!));
  else each(d, (x, k, o) => (out[k]! += a[x]! * b[o]!));
  return out;
}

describe.each(["f64", "f32"] as Precision[])("the %s convolution kernels", (precision) => {
  it("equal the plain loops on random sizes, strides, paddings, channels, filters and batches", async () => {
    const bytes = kernelModule(precision);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const { instance } = await WebAssembly.instantiate(bytes);
    const exports = instance.exports as unknown as {
      memory: WebAssembly.Memory;
      conv: (...args: number[]) => void;
      convFilter: (...args: number[]) => void;
    };
    const memory = exports.memory;
    memory.grow(64);
    const Float = precision === "f64" ? Float64Array : Float32Array;
    const size = Float.BYTES_PER_ELEMENT;
    const random = seededRandom(11);
    const pick = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const seen = new Set<string>();
    for (let trial = 0; trial < 360; trial++) {
      const role = (["out", "x", "k"] as const)[trial % 3]!;
      const [KH, KW] = [pick(1, 5), pick(1, 5)];
      const [sh, sw] = random() < 0.6 ? [1, 1] : [pick(1, 3), pick(1, 3)];
      const [ph, pw] = random() < 0.5 ? [0, 0] : [pick(0, KH), pick(0, KW)];
      const [H, W] = [pick(Math.max(1, KH - 2 * ph), 19), pick(Math.max(1, KW - 2 * pw), 23)];
      const HO = Math.floor((H + 2 * ph - KH) / sh) + 1;
      const WO = Math.floor((W + 2 * pw - KW) / sw) + 1;
      const [N, C, F] = [pick(1, 3), pick(1, 4), pick(1, 9)];
      const d: Sizes = { N, C, F, H, W, KH, KW, HO, WO, sh, sw, ph, pw };
      seen.add(`${role} ${sh > 1 || sw > 1} ${ph > 0 || pw > 0} ${F >= 4}`);
      const [xs, ks, os] = [N * C * H * W, F * C * KH * KW, N * F * HO * WO];
      const [aLength, bLength, length] =
        role === "out" ? [xs, ks, os] : role === "x" ? [os, ks, xs] : [xs, os, ks];
      // Arrays at element (not 16-byte) offsets: the kernels must not assume aligned rows.
      const at = (slot: number) => slot * 262144 + pick(1, 3) * size;
      const [A, B] = [new Float(memory.buffer, at(0), aLength), new Float(memory.buffer, at(1), bLength)];
      const result = new Float(memory.buffer, at(2), length);
      for (const v of [A, B, result]) for (let i = 0; i < v.length; i++) v[i] = random() - 0.5;
      const expected = reference(role, d, A, B, length);
      // Guard cells on both sides of the result stay untouched.
      const before = new Float(memory.buffer, result.byteOffset - size, 1);
      const after = new Float(memory.buffer, result.byteOffset + result.byteLength, 1);
      before[0] = 12345;
      after[0] = 54321;
      const dims: ConvCallDims = {
        n: String(N),
        c: String(C),
        f: String(F),
        h: H,
        w: W,
        kh: KH,
        kw: KW,
        ho: HO,
        wo: WO,
        stride: [sh, sw],
        padding: [ph, pw],
      };
      // The call the generated module makes, run with the kernels' own functions.
      const call = convCall(
        role,
        dims,
        [result, A, B].map((v) => String(v.byteOffset)),
        size,
      );
      new Function(CONV, CONV_FILTER, call)(exports.conv, exports.convFilter);
      const scale = Math.max(1, ...expected.map(Math.abs));
      const tolerance = precision === "f64" ? 1e-13 : 1e-5;
      for (let i = 0; i < length; i++)
        expect(Math.abs(result[i]! - expected[i]!) / scale).toBeLessThan(tolerance);
      expect([before[0], after[0]]).toEqual([12345, 54321]);
    }
    // Every role, with and without strides and padding, with fewer and more than 4 filters.
    expect(seen.size).toBe(24);
  });
});
