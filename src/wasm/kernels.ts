import { encodeModule, FunctionBuilder, I32, V128, type ExportedFunction, type Local } from "./encoder.js";
import { elementwiseFunction, type Expression } from "./elementwise.js";
import { FORMS, type Form, type Precision } from "./forms.js";
import { convolution } from "./conv.js";
import { convFilter } from "./convFilter.js";

export type { Precision };

/**
 * The WebAssembly kernels of `--target wasm`: one general matrix product over strided
 * operands, written with 128-bit SIMD (f64x2, or f32x4 in single precision),
 *
 *   gemm(c, a, b, M, N, K, sai, sap, sbp, sbj, beta)
 *   C[i·N + j] = beta·C[i·N + j] + Σ_p A(i, p) B(p, j),
 *   A(i, p) at a + (i·sai + p·sap), B(p, j) at b + (p·sbp + j·sbj)
 *
 * with byte addresses a, b, c into the memory, strides in elements and beta 0 or 1. Every
 * product nabla's matmul and outer ops compute is one call: a transposed operand is a swap of
 * its strides, a matrix-vector product a one-row or one-column one, an outer product (and its
 * accumulation, beta = 1) K = 1. Inside, the strides choose the loop:
 *
 * - B contiguous along j (sbj = 1): each step of p adds A(i, p) · B(p, j…j+3) to a 4 × 4 tile
 *   of C held in registers (4 rows × 2 vectors), the products summed in the order of p as the
 *   JavaScript kernels do;
 * - A and B contiguous along p: 4 × 2 dot products, each a vector of partial sums;
 * - any other layout: a plain loop.
 */
/**
 * The longest run of p a pass of the loop with B contiguous along j takes, by element size:
 * 128 KiB of a 128-column B (the MLP's X W1, K = 784: 12 → 14 GFlop/s in one run).
 */
const CHUNK: Record<number, number> = { 8: 128, 4: 256 };

/** The rows of C a tile spans, in the order they are tried: 4 while 4 remain, then 1. */
const ROWS = [4, 1] as const;

/**
 * The tiles of the loop with B contiguous along j, at most 8 vector accumulators: blocks of 4
 * rows take 2, 1 then 0 vectors of columns at a time (0: a scalar column), single rows 4, 2,
 * 1, 0 (a one-row product, δᵀ W, loads one A value per 4 vectors of B). Measured on the MLP's
 * and the RNN's products.
 */
const AXPY: readonly { readonly rows: number; readonly vectors: readonly number[] }[] = [
  { rows: 4, vectors: [2, 1, 0] },
  { rows: 1, vectors: [4, 2, 1, 0] },
];

function gemm(form: Form): FunctionBuilder {
  const f = new FunctionBuilder(new Array(11).fill(I32));
  const [c, a, b, M, N, K, sai, sap, sbp, sbj, beta] = Array.from({ length: 11 }, (_, k) => f.param(k));
  const i = f.local(I32);
  const j = f.local(I32);
  const n = f.local(I32);
  const pa = [0, 1, 2, 3].map(() => f.local(I32));
  const pb = [0, 1].map(() => f.local(I32));
  const pc = [0, 1, 2, 3].map(() => f.local(I32));
  const va = [0, 1, 2, 3].map(() => f.local(V128));
  const vb = [0, 1, 2, 3].map(() => f.local(V128));
  const vacc = Array.from({ length: 8 }, () => f.local(V128));
  const sa = [0, 1, 2, 3].map(() => f.local(form.type));
  const sb = [0, 1].map(() => f.local(form.type));
  const sacc = Array.from({ length: 8 }, () => f.local(form.type));
  const L = form.lanes;

  // Strides in bytes from here on.
  for (const s of [sai, sap, sbp, sbj]) f.get(s).i32(form.shift).op("i32.shl").set(s);

  /** `target = base + (index + r) · stride` (stride in bytes). */
  const pointer = (
    target: Local,
    base: Local,
    index: Local,
    r: number,
    stride: Local | { bytes: number },
  ) => {
    f.get(base).get(index);
    if (r !== 0) f.i32(r).op("i32.add");
    if (typeof stride === "object") f.i32(stride.bytes);
    else f.get(stride);
    f.op("i32.mul").op("i32.add").set(target);
  };
  /** pc[r] = c + ((i + r)·N + j)·size. */
  const rowOfC = (r: number) => {
    f.get(c).get(i);
    if (r !== 0) f.i32(r).op("i32.add");
    f.get(N).op("i32.mul").get(j).op("i32.add").i32(form.shift).op("i32.shl").op("i32.add").set(pc[r]!);
  };
  /** while (x + step <= bound) { body; x += step } */
  const blocks = (x: Local, step: number, bound: Local, body: () => void) =>
    f.while(
      () => f.get(x).i32(step).op("i32.add").get(bound).op("i32.le_s"),
      () => {
        body();
        f.inc(x, step);
      },
    );
  /** n = count; while (n) { body; n-- } */
  const times = (count: () => void, body: () => void) => {
    count();
    f.set(n);
    f.while(
      () => f.get(n),
      () => {
        body();
        f.inc(n, -1);
      },
    );
  };
  /** Stores a scalar accumulator into C at pc[r] + offset, adding C's value when beta is 1. */
  const storeScalar = (acc: Local, r: number, offset: number) => {
    f.get(beta).if(() => f.get(acc).get(pc[r]!).mem(form.load, offset).op(form.add).set(acc));
    f.get(pc[r]!).get(acc).mem(form.store, offset);
  };

  /** B contiguous along j: rows × cols of C, cols a multiple of the lanes or 1. */
  const axpyTile = (rows: number, cols: number) => {
    const vectors = cols / L;
    const rs = Array.from({ length: rows }, (_, r) => r);
    const vs = Array.from({ length: Math.max(vectors, 1) }, (_, v) => v);
    for (const r of rs) pointer(pa[r]!, a, i, r, sai);
    pointer(pb[0]!, b, j, 0, { bytes: form.size });
    const acc = (r: number, v: number) => (vectors >= 1 ? vacc : sacc)[r * vs.length + v]!;
    for (const r of rs) for (const v of vs) f.zero(vectors >= 1 ? V128 : form.type).set(acc(r, v));
    times(
      () => f.get(K),
      () => {
        for (const r of rs)
          f.get(pa[r]!)
            .mem(vectors >= 1 ? form.splat : form.load)
            .set(vectors >= 1 ? va[r]! : sa[r]!);
        for (const v of vs)
          if (vectors >= 1)
            f.get(pb[0]!)
              .mem("v128.load", v * 16)
              .set(vb[v]!);
          else f.get(pb[0]!).mem(form.load).set(sb[0]!);
        for (const r of rs)
          for (const v of vs) {
            if (vectors >= 1) f.get(acc(r, v)).get(va[r]!).get(vb[v]!).simd(form.vmul).simd(form.vadd);
            else f.get(acc(r, v)).get(sa[r]!).get(sb[0]!).op(form.mul).op(form.add);
            f.set(acc(r, v));
          }
        for (const r of rs) f.incBy(pa[r]!, sap);
        f.incBy(pb[0]!, sbp);
      },
    );
    for (const r of rs) {
      rowOfC(r);
      for (const v of vs) {
        if (vectors >= 1) {
          f.get(beta).if(() =>
            f
              .get(acc(r, v))
              .get(pc[r]!)
              .mem("v128.load", v * 16)
              .simd(form.vadd)
              .set(acc(r, v)),
          );
          f.get(pc[r]!)
            .get(acc(r, v))
            .mem("v128.store", v * 16);
        } else storeScalar(acc(r, v), r, 0);
      }
    }
  };

  /** A and B contiguous along p: rows × cols dot products, L partial sums each, then the rest of p. */
  const dotTile = (rows: number, cols: number) => {
    const rs = Array.from({ length: rows }, (_, r) => r);
    const cs = Array.from({ length: cols }, (_, k) => k);
    for (const r of rs) pointer(pa[r]!, a, i, r, sai);
    for (const k of cs) pointer(pb[k]!, b, j, k, sbj);
    const at = (r: number, k: number) => r * 2 + k;
    for (const r of rs) for (const k of cs) f.zero(V128).set(vacc[at(r, k)]!);
    times(
      () => f.get(K).i32(Math.log2(L)).op("i32.shr_s"),
      () => {
        for (const r of rs) f.get(pa[r]!).mem("v128.load").set(va[r]!);
        for (const k of cs) f.get(pb[k]!).mem("v128.load").set(vb[k]!);
        for (const r of rs)
          for (const k of cs)
            f.get(vacc[at(r, k)]!)
              .get(va[r]!)
              .get(vb[k]!)
              .simd(form.vmul)
              .simd(form.vadd)
              .set(vacc[at(r, k)]!);
        for (const r of rs) f.inc(pa[r]!, 16);
        for (const k of cs) f.inc(pb[k]!, 16);
      },
    );
    for (const r of rs)
      for (const k of cs) {
        const v = vacc[at(r, k)]!;
        f.get(v).simd(form.extract, 0);
        for (let lane = 1; lane < L; lane++) f.get(v).simd(form.extract, lane).op(form.add);
        f.set(sacc[at(r, k)]!);
      }
    times(
      () =>
        f
          .get(K)
          .i32(L - 1)
          .op("i32.and"),
      () => {
        for (const r of rs) f.get(pa[r]!).mem(form.load).set(sa[r]!);
        for (const k of cs) f.get(pb[k]!).mem(form.load).set(sb[k]!);
        for (const r of rs)
          for (const k of cs)
            f.get(sacc[at(r, k)]!).get(sa[r]!).get(sb[k]!).op(form.mul).op(form.add).set(sacc[at(r, k)]!);
        for (const r of rs) f.inc(pa[r]!, form.size);
        for (const k of cs) f.inc(pb[k]!, form.size);
      },
    );
    for (const r of rs) {
      rowOfC(r);
      for (const k of cs) storeScalar(sacc[at(r, k)]!, r, k * form.size);
    }
  };

  /** Any strides: one entry of C at a time. */
  const plain = () => {
    f.i32(0).set(i);
    f.while(
      () => f.get(i).get(M).op("i32.lt_s"),
      () => {
        f.i32(0).set(j);
        f.while(
          () => f.get(j).get(N).op("i32.lt_s"),
          () => {
            pointer(pa[0]!, a, i, 0, sai);
            pointer(pb[0]!, b, j, 0, sbj);
            f.zero(form.type).set(sacc[0]!);
            times(
              () => f.get(K),
              () => {
                f.get(sacc[0]!).get(pa[0]!).mem(form.load).get(pb[0]!).mem(form.load);
                f.op(form.mul).op(form.add).set(sacc[0]!);
                f.incBy(pa[0]!, sap).incBy(pb[0]!, sbp);
              },
            );
            rowOfC(0);
            storeScalar(sacc[0]!, 0, 0);
            f.inc(j, 1);
          },
        );
        f.inc(i, 1);
      },
    );
  };

  /** Rows of 4 then of 1; within each, the columns in the widths `widths`. */
  const tiled = (widths: readonly number[], tile: (rows: number, cols: number) => void) => {
    f.i32(0).set(i);
    for (const rows of ROWS)
      blocks(i, rows, M, () => {
        f.i32(0).set(j);
        for (const cols of widths) blocks(j, cols, N, () => tile(rows, cols));
      });
  };

  f.get(sbj)
    .i32(form.size)
    .op("i32.eq")
    .if(
      () => {
        // K in chunks of at most CHUNK: the chunk of B (CHUNK × N) stays in cache while every
        // row of A passes it; C gains each chunk's sums (beta 1 after the first).
        const [total, a0, b0, k0] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
        f.get(K).set(total).get(a).set(a0).get(b).set(b0).i32(0).set(k0);
        f.loop((again) => {
          f.get(total).get(k0).op("i32.sub").set(K);
          f.get(K)
            .i32(CHUNK[form.size])
            .op("i32.gt_s")
            .if(() => f.i32(CHUNK[form.size]).set(K));
          f.get(a0).get(k0).get(sap).op("i32.mul").op("i32.add").set(a);
          f.get(b0).get(k0).get(sbp).op("i32.mul").op("i32.add").set(b);
          f.get(k0).if(() => f.i32(1).set(beta));
          f.i32(0).set(i);
          for (const { rows, vectors } of AXPY)
            blocks(i, rows, M, () => {
              f.i32(0).set(j);
              for (const v of vectors)
                blocks(j, v === 0 ? 1 : v * L, N, () => axpyTile(rows, v === 0 ? 1 : v * L));
            });
          f.inc(k0, CHUNK[form.size]);
          f.get(k0).get(total).op("i32.lt_s").brIf(again);
        });
      },
      () =>
        f
          .get(sap)
          .i32(form.size)
          .op("i32.eq")
          .get(sbp)
          .i32(form.size)
          .op("i32.eq")
          .op("i32.and")
          .if(
            () => tiled([2, 1], dotTile),
            () => plain(),
          ),
    );
  return f;
}

const cache = new Map<Precision, readonly ExportedFunction[]>();

/**
 * The kernels' module: `gemm`, `conv`, `convFilter` (wasm/conv.ts) and the memory, for one
 * precision (the kernels built once per process), and the model's elementwise functions
 * (wasm/elementwise.ts) exported as e0, e1, …
 */
export function kernelModule(precision: Precision, elementwise: readonly Expression[] = []): Uint8Array {
  let kernels = cache.get(precision);
  if (kernels === undefined) {
    const form = FORMS[precision];
    kernels = [
      { name: "gemm", body: gemm(form) },
      { name: "conv", body: convolution(form) },
      { name: "convFilter", body: convFilter(form) },
    ];
    cache.set(precision, kernels);
  }
  return encodeModule([
    ...kernels,
    ...elementwise.map((e, k) => ({ name: `e${k}`, body: elementwiseFunction(e, precision) })),
  ]);
}

/** The generated module's function calling the kernels' `gemm` (codegen/wasm.ts declares it). */
export const GEMM = "nablaGemm";
