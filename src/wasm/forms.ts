import { F32, F64, type Op, type SimdOp } from "./encoder.js";

/** The two precisions of the kernels, and the instructions each writes its arithmetic with. */
export type Precision = "f64" | "f32";

export interface Form {
  readonly type: typeof F64 | typeof F32;
  /** Bytes per element, and its log2. */
  readonly size: 8 | 4;
  readonly shift: 3 | 2;
  readonly lanes: 2 | 4;
  readonly load: Op;
  readonly store: Op;
  readonly add: Op;
  readonly mul: Op;
  readonly splat: SimdOp;
  readonly vadd: SimdOp;
  readonly vmul: SimdOp;
  readonly extract: SimdOp;
  readonly replace: SimdOp;
}

export const FORMS: Record<Precision, Form> = {
  f64: {
    type: F64,
    size: 8,
    shift: 3,
    lanes: 2,
    load: "f64.load",
    store: "f64.store",
    add: "f64.add",
    mul: "f64.mul",
    splat: "v128.load64_splat",
    vadd: "f64x2.add",
    vmul: "f64x2.mul",
    extract: "f64x2.extract_lane",
    replace: "f64x2.replace_lane",
  },
  f32: {
    type: F32,
    size: 4,
    shift: 2,
    lanes: 4,
    load: "f32.load",
    store: "f32.store",
    add: "f32.add",
    mul: "f32.mul",
    splat: "v128.load32_splat",
    vadd: "f32x4.add",
    vmul: "f32x4.mul",
    extract: "f32x4.extract_lane",
    replace: "f32x4.replace_lane",
  },
};
