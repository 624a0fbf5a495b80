import { FunctionBuilder, I32, V128, type Local } from "./encoder.js";
import type { Form } from "./forms.js";

/**
 * The convolution kernels of `--target wasm`, written with 128-bit SIMD (f64x2, or f32x4 in
 * single precision). Every size, stride and offset is an argument (element counts; a, x, k,
 * out byte addresses into the memory), so the bytes do not depend on the model.
 *
 *   conv(out, x, k, N, CI, H, W, CO, KH, KW, HO, WO, sh, sw, ph, pw, oplane, orow, ocol, o0, k0, kf, kc, ki, kj)
 *   OUT(n, o, oh, ow) = Σ_{c < CI, i < KH, j < KW} x[n, c, oh·sh + i − ph, ow·sw + j − pw] · K(o, c, i, j)
 *
 * x [N, CI, H, W], 0 outside the image (zero padding); K(o, c, i, j) at k + k0 + o·kf + c·kc +
 * i·ki + j·kj and OUT(n, o, oh, ow) at out + o0 + (n·CO + o)·oplane + oh·orow + ow·ocol (in
 * elements, the filters' strides of any sign). The forward convolution is oplane = HO·WO,
 * orow = WO, ocol = 1, o0 = k0 = 0, kf = CI·KH·KW, kc = KH·KW, ki = KW, kj = 1. The input's
 * gradient is the same kernel (`convCall`): δ [N, F, HO, WO] convolved with the flipped
 * filters read with the channels swapped (k0 the last tap, ki = −KW, kj = −1), padded by
 * KH − 1 − ph and KW − 1 − pw; with a stride, one call per phase of the input's rows and
 * columns modulo it, each the taps that reach that phase (ki = −sh·KW, kj = −sw), its outputs
 * sh rows and sw columns apart (orow = sh·W, ocol = sw).
 *
 * Inside: the outputs of 4 (then 1) output channels at once, along each output row 2 (then
 * 1) vectors of columns whose taps are all inside the row: each step over (c, i, j) loads the
 * vectors of x once (one load with stride 1; with a stride, each lane its own column, sw
 * apart) and a splat of each channel's weight, and adds their products to 8 accumulators,
 * the products summed in the order of (c, i, j) as the JavaScript loops do; stored as vectors,
 * or lane by lane when ocol > 1. The last columns inside the row are one vector overlapping
 * the ones before; columns at a padded edge are computed one at a time, the bounds checked
 * per tap.
 *
 * The filters' gradient, `convFilter`, is in wasm/convFilter.ts.
 */

/** for (x = start; x < bound; x++) body */
export function upTo(
  f: FunctionBuilder,
  x: Local,
  start: number | Local,
  bound: Local,
  body: () => void,
): void {
  if (typeof start === "number") f.i32(start);
  else f.get(start);
  f.set(x);
  f.while(
    () => f.get(x).get(bound).op("i32.lt_s"),
    () => {
      body();
      f.inc(x, 1);
    },
  );
}

/** A tap's row or column in the padded input: `position` pushes it; when 0 ≤ it < bound, `at` = it and `body` runs. */
function inside(f: FunctionBuilder, at: Local, position: () => void, bound: Local, body: () => void): void {
  position();
  f.set(at);
  f.get(at).i32(0).op("i32.ge_s").get(at).get(bound).op("i32.lt_s").op("i32.and").if(body);
}

/**
 * The first output column whose tap lies inside the row, from `lo` = the padding before it
 * (pw − j): ⌈lo / sw⌉ when lo > 0, else as it is (the caller clips it to 0).
 */
export function firstInside(f: FunctionBuilder, lo: Local, sw: Local): void {
  f.get(lo)
    .i32(0)
    .op("i32.gt_s")
    .if(() => f.get(lo).get(sw).op("i32.add").i32(1).op("i32.sub").get(sw).op("i32.div_s").set(lo));
}

/**
 * The end of the output columns whose tap lies inside the row, from `hi` = the last column
 * that can (W − 1 − j + pw): ⌊hi / sw⌋ + 1 columns when hi ≥ 0, else none.
 */
export function endInside(f: FunctionBuilder, hi: Local, sw: Local): void {
  f.get(hi)
    .i32(0)
    .op("i32.ge_s")
    .if(
      () => f.get(hi).get(sw).op("i32.div_s").i32(1).op("i32.add").set(hi),
      () => f.i32(0).set(hi),
    );
}

/** The output channels a pass takes, in the order they are tried: 4 while 4 remain, then 1. */
export const CHANNELS = [4, 1] as const;

export function convolution(form: Form): FunctionBuilder {
  const f = new FunctionBuilder(new Array(25).fill(I32));
  const [
    out,
    x,
    k,
    N,
    CI,
    H,
    W,
    CO,
    KH,
    KW,
    HO,
    WO,
    sh,
    sw,
    ph,
    pw,
    oplane,
    orow,
    ocol,
    o0,
    k0,
    kf,
    kc,
    ki,
    kj,
  ] = Array.from({ length: 25 }, (_, p) => f.param(p));
  const L = form.lanes;
  const S = form.shift;
  const [n, o, oh, ow, c, i, j, ih, iw, xn, on, px, po, lo, hi, count] = Array.from({ length: 16 }, () =>
    f.local(I32),
  );
  // An output column's step in bytes, and a lane's: outputs stored lane by lane when ocol > 1.
  const ostep = f.local(I32);
  const olanes = [1, 2, 3].map(() => f.local(I32));
  const pk = [0, 1, 2, 3].map(() => f.local(I32));
  // A column's step in x in bytes, and a lane's (lane · sw · size): gathered vectors for sw > 1.
  const [step, base] = [f.local(I32), f.local(I32)];
  const lanes = [1, 2, 3].map(() => f.local(I32));
  const xv = [0, 1].map(() => f.local(V128));
  const w = f.local(V128);
  const acc = Array.from({ length: 8 }, () => f.local(V128));
  const sacc = [0, 1, 2, 3].map(() => f.local(form.type));
  const sx = f.local(form.type);

  for (const s of [oplane, orow, o0, k0, kf, kc, ki, kj]) f.get(s).i32(S).op("i32.shl").set(s);
  f.get(k).get(k0).op("i32.add").set(k);
  f.get(out).get(o0).op("i32.add").set(out);
  f.get(ocol).i32(S).op("i32.shl").set(ostep);
  for (let lane = 1; lane < L; lane++)
    f.get(ostep)
      .i32(lane)
      .op("i32.mul")
      .set(olanes[lane - 1]!);
  f.get(sw).i32(S).op("i32.shl").set(step);
  for (let lane = 1; lane < L; lane++)
    f.get(step)
      .i32(lane)
      .op("i32.mul")
      .set(lanes[lane - 1]!);
  // [lo, hi): the columns whose taps all lie inside the row (ow·sw − pw ≥ 0 and
  // ow·sw + KW − 1 − pw < W); the others one at a time.
  f.get(pw).set(lo);
  firstInside(f, lo, sw);
  f.get(lo)
    .i32(0)
    .op("i32.lt_s")
    .if(() => f.i32(0).set(lo));
  f.get(lo)
    .get(WO)
    .op("i32.gt_s")
    .if(() => f.get(WO).set(lo));
  f.get(W).get(KW).op("i32.sub").get(pw).op("i32.add").set(hi);
  endInside(f, hi, sw);
  f.get(hi)
    .get(WO)
    .op("i32.gt_s")
    .if(() => f.get(WO).set(hi));
  f.get(hi)
    .get(lo)
    .op("i32.lt_s")
    .if(() => f.get(lo).set(hi));

  /** Over c and the rows i inside the input: `body` sees ih. */
  const rows = (body: () => void) =>
    upTo(f, c, 0, CI, () =>
      upTo(f, i, 0, KH, () =>
        inside(
          f,
          ih,
          () => f.get(oh).get(sh).op("i32.mul").get(i).op("i32.add").get(ph).op("i32.sub"),
          H,
          body,
        ),
      ),
    );
  /** pk[0] = k + o·kf + c·kc + i·ki, pk[r] = pk[r − 1] + kf. */
  const weights = (channels: number) => {
    f.get(k).get(o).get(kf).op("i32.mul").op("i32.add");
    f.get(c).get(kc).op("i32.mul").op("i32.add").get(i).get(ki).op("i32.mul").op("i32.add").set(pk[0]!);
    for (let r = 1; r < channels; r++)
      f.get(pk[r - 1]!)
        .get(kf)
        .op("i32.add")
        .set(pk[r]!);
  };
  /** po = out + n's planes + (o + r)'s plane + oh rows + ow columns (oplane, orow in bytes). */
  const outAt = (r: number) => {
    f.get(on).get(o);
    if (r !== 0) f.i32(r).op("i32.add");
    f.get(oplane).op("i32.mul").op("i32.add");
    f.get(oh).get(orow).op("i32.mul").op("i32.add").get(ow).get(ostep).op("i32.mul").op("i32.add").set(po);
  };

  /** One column, `channels` output channels, every tap checked. */
  const column = (channels: number) => {
    const rs = Array.from({ length: channels }, (_, r) => r);
    for (const r of rs) f.zero(form.type).set(sacc[r]!);
    rows(() =>
      upTo(f, j, 0, KW, () =>
        inside(
          f,
          iw,
          () => f.get(ow).get(sw).op("i32.mul").get(j).op("i32.add").get(pw).op("i32.sub"),
          W,
          () => {
            f.get(xn)
              .get(c)
              .get(H)
              .op("i32.mul")
              .get(ih)
              .op("i32.add")
              .get(W)
              .op("i32.mul")
              .get(iw)
              .op("i32.add");
            f.i32(S).op("i32.shl").op("i32.add").mem(form.load).set(sx);
            weights(channels);
            f.get(pk[0]!).get(j).get(kj).op("i32.mul").op("i32.add").set(pk[0]!);
            for (const r of rs) {
              f.get(sacc[r]!).get(sx).get(pk[0]!).mem(form.load).op(form.mul).op(form.add).set(sacc[r]!);
              if (r < channels - 1) f.incBy(pk[0]!, kf);
            }
          },
        ),
      ),
    );
    for (const r of rs) {
      outAt(r);
      f.get(po).get(sacc[r]!).mem(form.store);
    }
  };

  /** `vectors` vectors of columns from ow, `channels` output channels. */
  const tile = (channels: number, vectors: number, strided: boolean) => {
    const rs = Array.from({ length: channels }, (_, r) => r);
    const vs = Array.from({ length: vectors }, (_, v) => v);
    const a = (r: number, v: number) => acc[r * 2 + v]!;
    for (const r of rs) for (const v of vs) f.zero(V128).set(a(r, v));
    rows(() => {
      f.get(xn).get(c).get(H).op("i32.mul").get(ih).op("i32.add").get(W).op("i32.mul");
      f.get(ow)
        .get(sw)
        .op("i32.mul")
        .op("i32.add")
        .get(pw)
        .op("i32.sub")
        .i32(S)
        .op("i32.shl")
        .op("i32.add")
        .set(px);
      weights(channels);
      f.get(KW).set(count);
      f.while(
        () => f.get(count),
        () => {
          for (const v of vs)
            if (!strided)
              f.get(px)
                .mem("v128.load", v * 16)
                .set(xv[v]!);
            else {
              // The vector's columns sw apart: lane 0 splat, the others replaced one by one.
              f.get(px);
              if (v > 0)
                f.get(lanes[L - 2]!)
                  .get(step)
                  .op("i32.add")
                  .op("i32.add");
              f.tee(base).mem(form.splat);
              for (let lane = 1; lane < L; lane++)
                f.get(base)
                  .get(lanes[lane - 1]!)
                  .op("i32.add")
                  .mem(form.load)
                  .simd(form.replace, lane);
              f.set(xv[v]!);
            }
          for (const r of rs) {
            f.get(pk[r]!).mem(form.splat).set(w);
            for (const v of vs)
              f.get(a(r, v)).get(w).get(xv[v]!).simd(form.vmul).simd(form.vadd).set(a(r, v));
          }
          f.inc(px, form.size);
          for (const r of rs) f.incBy(pk[r]!, kj);
          f.inc(count, -1);
        },
      );
    });
    for (const r of rs) {
      outAt(r);
      f.get(ocol)
        .i32(1)
        .op("i32.eq")
        .if(
          () => {
            for (const v of vs)
              f.get(po)
                .get(a(r, v))
                .mem("v128.store", v * 16);
          },
          () => {
            // Output columns ocol apart (a phase of a strided input's gradient): lane by lane.
            for (const v of vs) {
              f.get(po);
              if (v > 0)
                f.get(olanes[L - 2]!)
                  .op("i32.add")
                  .get(ostep)
                  .op("i32.add");
              f.set(base);
              for (let lane = 0; lane < L; lane++) {
                f.get(base);
                if (lane > 0) f.get(olanes[lane - 1]!).op("i32.add");
                f.get(a(r, v)).simd(form.extract, lane).mem(form.store);
              }
            }
          },
        );
    }
  };

  /** One output row of `channels` channels: columns outside [lo, hi) one by one, vectors inside. */
  const columns = (channels: number, strided: boolean) => {
    f.i32(0).set(ow);
    f.while(
      () => f.get(ow).get(lo).op("i32.lt_s"),
      () => {
        column(channels);
        f.inc(ow, 1);
      },
    );
    for (const vectors of [2, 1])
      f.while(
        () =>
          f
            .get(ow)
            .i32(vectors * L)
            .op("i32.add")
            .get(hi)
            .op("i32.le_s"),
        () => {
          tile(channels, vectors, strided);
          f.inc(ow, vectors * L);
        },
      );
    // The last columns inside the rows: one vector ending at hi, overlapping the ones
    // before (their values computed again, the same), rather than one column at a time.
    f.get(ow)
      .get(hi)
      .op("i32.lt_s")
      .get(hi)
      .get(lo)
      .op("i32.sub")
      .i32(L)
      .op("i32.ge_s")
      .op("i32.and")
      .if(() => {
        f.get(hi).i32(L).op("i32.sub").set(ow);
        tile(channels, 1, strided);
        f.get(hi).set(ow);
      });
    f.while(
      () => f.get(ow).get(WO).op("i32.lt_s"),
      () => {
        column(channels);
        f.inc(ow, 1);
      },
    );
  };

  upTo(f, n, 0, N, () => {
    f.get(x).get(n).get(CI).op("i32.mul").get(H).op("i32.mul").get(W).op("i32.mul");
    f.i32(S).op("i32.shl").op("i32.add").set(xn);
    f.get(out).get(n).get(CO).op("i32.mul").get(oplane).op("i32.mul").op("i32.add").set(on);
    f.i32(0).set(o);
    for (const channels of CHANNELS)
      f.while(
        () => f.get(o).i32(channels).op("i32.add").get(CO).op("i32.le_s"),
        () => {
          upTo(f, oh, 0, HO, () =>
            f
              .get(sw)
              .i32(1)
              .op("i32.eq")
              .if(
                () => columns(channels, false),
                () => columns(channels, true),
              ),
          );
          f.inc(o, channels);
        },
      );
  });
  return f;
}

/** The generated module's functions calling the kernels' `conv` and `convFilter` (codegen/wasm.ts declares them). */
export const CONV = "nablaConv";
export const CONV_FILTER = "nablaConvFilter";

/** A conv2d's sizes as the lowering knows them: the batch and channel counts as JS expressions. */
export interface ConvCallDims {
  readonly n: string;
  readonly c: string;
  readonly f: string;
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly ho: number;
  readonly wo: number;
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
}

/**
 * The call computing a conv2d whose result takes the place of `role` (ops/conv.ts: "out" the
 * convolution, "x" args [δ, k] the input's gradient, "k" args [x, δ] the filters'), given the
 * byte addresses [result, first arg, second arg].
 */
export function convCall(role: "out" | "x" | "k", d: ConvCallDims, [out, a, b]: readonly string[]): string {
  const [[sh, sw], [ph, pw]] = [d.stride, d.padding];
  const taps = d.kh * d.kw;
  const list = (name: string, args: readonly (string | number)[]) => `${name}(${args.join(", ")});`;
  if (role === "k")
    return list(CONV_FILTER, [out!, a!, b!, d.n, d.c, d.h, d.w, d.f, d.kh, d.kw, d.ho, d.wo, sh, sw, ph, pw]);
  if (role === "out")
    return list(CONV, [
      ...[out!, a!, b!, d.n, d.c, d.h, d.w, d.f, d.kh, d.kw, d.ho, d.wo, sh, sw, ph, pw],
      ...[d.ho * d.wo, d.wo, 1, 0, 0, `${d.c} * ${taps}`, taps, d.kw, 1],
    ]);
  // The input's gradient, one call per phase of its rows and columns modulo the stride: the
  // outputs (ρh + sh·m, ρw + sw·m'), δ convolved (stride 1) with the flipped filters' taps
  // that reach them, channels swapped.
  const phases = (s: number, p: number, k: number, size: number) =>
    Array.from({ length: s }, (_, rho) => {
      const first = (rho + p) % s; // the first tap reaching this phase
      const count = first < k ? Math.ceil((k - first) / s) : 0;
      const shift = (rho + p - first) / s; // δ's row for output m and tap first + s·t: m + shift − t
      return { rho, first, count, pad: count - 1 - shift, outputs: Math.ceil((size - rho) / s) };
    }).filter((q) => q.outputs > 0);
  const calls: string[] = [];
  for (const r of phases(sh, ph, d.kh, d.h))
    for (const c of phases(sw, pw, d.kw, d.w)) {
      const last = (r.first + sh * Math.max(r.count - 1, 0)) * d.kw + c.first + sw * Math.max(c.count - 1, 0);
      calls.push(
        list(CONV, [
          ...[
            out!,
            a!,
            b!,
            d.n,
            d.f,
            d.ho,
            d.wo,
            d.c,
            r.count,
            c.count,
            r.outputs,
            c.outputs,
            1,
            1,
            r.pad,
            c.pad,
          ],
          ...[d.h * d.w, sh * d.w, sw, r.rho * d.w + c.rho, last, taps, `${d.c} * ${taps}`, -sh * d.kw, -sw],
        ]),
      );
    }
  return calls.join("\n");
}
