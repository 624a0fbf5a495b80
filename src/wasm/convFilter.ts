import { FunctionBuilder, I32, V128 } from "./encoder.js";
import type { Form } from "./forms.js";
import { CHANNELS, endInside, firstInside, upTo } from "./conv.js";

/**
 * The filters' gradient of a convolution (wasm/conv.ts has the convolution itself), with
 * 128-bit SIMD, every size an argument:
 *
 *   convFilter(dk, x, g, N, C, H, W, F, KH, KW, HO, WO, sh, sw, ph, pw)
 *   dk[f, c, i, j] = Σ_{n, oh, ow} g[n, f, oh, ow] · x[n, c, oh·sh + i − ph, ow·sw + j − pw]
 *
 * with zero padding: for 4 (then 1) filters at once and each tap, the dot products of δ's
 * rows with the input's shifted rows, a vector of partial sums per filter (the input's lanes
 * gathered sw apart with a stride), the columns left over one at a time.
 */
export function convFilter(form: Form): FunctionBuilder {
  const f = new FunctionBuilder(new Array(16).fill(I32));
  const [dk, x, g, N, C, H, W, F, KH, KW, HO, WO, sh, sw, ph, pw] = Array.from({ length: 16 }, (_, p) =>
    f.param(p),
  );
  const L = form.lanes;
  const S = form.shift;
  const [n, o, oh, ow, c, i, j, t, px, lo, hi, plane, step] = Array.from({ length: 13 }, () => f.local(I32));
  const pg = [0, 1, 2, 3].map(() => f.local(I32));
  const lanes = [1, 2, 3].map(() => f.local(I32));
  const xv = f.local(V128);
  const acc = [0, 1, 2, 3].map(() => f.local(V128));
  const sacc = [0, 1, 2, 3].map(() => f.local(form.type));
  const sx = f.local(form.type);
  f.get(HO).get(WO).op("i32.mul").i32(S).op("i32.shl").set(plane);
  f.get(sw).i32(S).op("i32.shl").set(step);
  for (let lane = 1; lane < L; lane++)
    f.get(step)
      .i32(lane)
      .op("i32.mul")
      .set(lanes[lane - 1]!);

  /** pg[0] = g + (((n·F + o)·HO + oh)·WO + ow) elements, pg[r] = pg[r − 1] + a plane. */
  const deltas = (channels: number) => {
    f.get(g).get(n).get(F).op("i32.mul").get(o).op("i32.add").get(HO).op("i32.mul").get(oh).op("i32.add");
    f.get(WO).op("i32.mul").get(ow).op("i32.add").i32(S).op("i32.shl").op("i32.add").set(pg[0]!);
    for (let r = 1; r < channels; r++)
      f.get(pg[r - 1]!)
        .get(plane)
        .op("i32.add")
        .set(pg[r]!);
  };
  /** px = x + (((n·C + c)·H + t)·W + column) elements, `column` pushing the column. */
  const input = (column: () => void) => {
    f.get(x).get(n).get(C).op("i32.mul").get(c).op("i32.add").get(H).op("i32.mul").get(t).op("i32.add");
    f.get(W).op("i32.mul");
    column();
    f.i32(S).op("i32.shl").op("i32.add").set(px);
  };

  /**
   * One row of δ against input row t: the columns ow in [lo, hi) read columns ow·sw + j − pw
   * inside the row, L at a time (gathered sw apart when strided), then one at a time.
   */
  const row = (channels: number, strided: boolean) => {
    const rs = Array.from({ length: channels }, (_, r) => r);
    if (!strided) {
      f.get(pw).get(j).op("i32.sub").set(lo);
      f.get(W).get(pw).op("i32.add").get(j).op("i32.sub").set(hi);
    } else {
      f.get(pw).get(j).op("i32.sub").set(lo);
      firstInside(f, lo, sw);
      f.get(W).i32(1).op("i32.sub").get(pw).op("i32.add").get(j).op("i32.sub").set(hi);
      endInside(f, hi, sw);
    }
    f.get(lo)
      .i32(0)
      .op("i32.lt_s")
      .if(() => f.i32(0).set(lo));
    f.get(hi)
      .get(WO)
      .op("i32.gt_s")
      .if(() => f.get(WO).set(hi));
    f.get(lo).set(ow);
    deltas(channels);
    input(() => f.get(ow).get(sw).op("i32.mul").op("i32.add").get(j).op("i32.add").get(pw).op("i32.sub"));
    f.while(
      () => f.get(ow).i32(L).op("i32.add").get(hi).op("i32.le_s"),
      () => {
        if (!strided) f.get(px).mem("v128.load").set(xv);
        else {
          f.get(px).mem(form.splat);
          for (let lane = 1; lane < L; lane++)
            f.get(px)
              .get(lanes[lane - 1]!)
              .op("i32.add")
              .mem(form.load)
              .simd(form.replace, lane);
          f.set(xv);
        }
        for (const r of rs)
          f.get(acc[r]!).get(pg[r]!).mem("v128.load").get(xv).simd(form.vmul).simd(form.vadd).set(acc[r]!);
        if (!strided) f.inc(px, 16);
        else
          f.get(px)
            .get(lanes[L - 2]!)
            .op("i32.add")
            .get(step)
            .op("i32.add")
            .set(px);
        for (const r of rs) f.inc(pg[r]!, 16);
        f.inc(ow, L);
      },
    );
    f.while(
      () => f.get(ow).get(hi).op("i32.lt_s"),
      () => {
        f.get(px).mem(form.load).set(sx);
        for (const r of rs)
          f.get(sacc[r]!).get(pg[r]!).mem(form.load).get(sx).op(form.mul).op(form.add).set(sacc[r]!);
        f.incBy(px, step);
        for (const r of rs) f.inc(pg[r]!, form.size);
        f.inc(ow, 1);
      },
    );
  };

  const pass = (channels: number) => {
    const rs = Array.from({ length: channels }, (_, r) => r);
    for (const r of rs) f.zero(V128).set(acc[r]!).zero(form.type).set(sacc[r]!);
    upTo(f, n, 0, N, () =>
      upTo(f, oh, 0, HO, () => {
        f.get(oh).get(sh).op("i32.mul").get(i).op("i32.add").get(ph).op("i32.sub").set(t);
        f.get(t)
          .i32(0)
          .op("i32.ge_s")
          .get(t)
          .get(H)
          .op("i32.lt_s")
          .op("i32.and")
          .if(() =>
            f
              .get(sw)
              .i32(1)
              .op("i32.eq")
              .if(
                () => row(channels, false),
                () => row(channels, true),
              ),
          );
      }),
    );
    for (const r of rs) {
      // dk + ((((o + r)·C + c)·KH + i)·KW + j) elements = the lanes' sum and the scalars'.
      f.get(dk).get(o);
      if (r !== 0) f.i32(r).op("i32.add");
      f.get(C).op("i32.mul").get(c).op("i32.add").get(KH).op("i32.mul").get(i).op("i32.add");
      f.get(KW).op("i32.mul").get(j).op("i32.add").i32(S).op("i32.shl").op("i32.add");
      f.get(acc[r]!).simd(form.extract, 0);
      for (let lane = 1; lane < L; lane++) f.get(acc[r]!).simd(form.extract, lane).op(form.add);
      f.get(sacc[r]!).op(form.add).mem(form.store);
    }
  };

  f.i32(0).set(o);
  for (const channels of CHANNELS)
    f.while(
      () => f.get(o).i32(channels).op("i32.add").get(F).op("i32.le_s"),
      () => {
        upTo(f, c, 0, C, () => upTo(f, i, 0, KH, () => upTo(f, j, 0, KW, () => pass(channels))));
        f.inc(o, channels);
      },
    );
  return f;
}
