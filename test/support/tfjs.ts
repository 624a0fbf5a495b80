import * as tf from "@tensorflow/tfjs";
import type { Graph, Node } from "../../src/ir/types.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { paddings, strides, windowSizes } from "../../src/ops/imageShapes.js";

/**
 * The model's forward graph rebuilt from TensorFlow.js ops, so that TF.js's own autodiff —
 * independent of nabla's differentiator — supplies the reference gradients.
 */
function forwardOp(
  n: Extract<Node, { kind: "op" }>,
  a: tf.Tensor[],
  dims: ReadonlyMap<string, number>,
): tf.Tensor {
  const [x, y] = a as [tf.Tensor, tf.Tensor];
  const alpha = Number(n.attrs.alpha ?? 0.01);
  switch (n.op) {
    case "neg":
      return tf.neg(x);
    case "exp":
      return tf.exp(x);
    case "log":
      return tf.log(x);
    case "sqrt":
      return tf.sqrt(x);
    case "abs":
      return tf.abs(x);
    case "sign":
      return tf.sign(x);
    case "tanh":
      return tf.tanh(x);
    case "sigmoid":
      return tf.sigmoid(x);
    case "relu":
      return tf.relu(x);
    case "softplus":
      return tf.softplus(x);
    case "log_sigmoid":
      // tf.logSigmoid's gradient reads a tensor its own custom gradient has disposed (TF.js 4.22,
      // cpu backend), so it is written as the identity log σ(x) = −softplus(−x).
      return tf.neg(tf.softplus(tf.neg(x)));
    case "gather":
      return tf.gather(x, tf.tensor(Array.from(y.dataSync()), y.shape, "int32"));
    case "onehot":
      return tf.cast(
        tf.oneHot(
          tf.tensor(Array.from(x.dataSync()), x.shape, "int32") as tf.Tensor1D,
          Number(n.attrs.classes),
        ),
        "float32",
      );
    case "log1p":
      return tf.log1p(x);
    case "erf":
      return tf.erf(x);
    case "max":
      return tf.maximum(x, y);
    case "min":
      return tf.minimum(x, y);
    case "compare": {
      const relation = {
        ">": tf.greater,
        ">=": tf.greaterEqual,
        "<": tf.less,
        "<=": tf.lessEqual,
        "==": tf.equal,
        "!=": tf.notEqual,
      }[String(n.attrs.relation)]!;
      // A comparison carries no gradient: it reads copies of its operands, off TF.js's tape.
      const constant = (t: tf.Tensor) => tf.tensor(t.dataSync(), t.shape);
      return tf.cast(relation(constant(x), constant(y)), "float32");
    }
    case "where": {
      const z = a[2]!;
      const shape = tf.add(tf.add(tf.zerosLike(x), tf.zerosLike(y)), tf.zerosLike(z)).shape;
      const full = (t: tf.Tensor) => tf.broadcastTo(t, shape);
      return tf.where(tf.notEqual(tf.tensor(full(x).dataSync(), shape), 0), full(y), full(z));
    }
    case "elu":
      return Number(n.attrs.alpha ?? 1) === 1
        ? tf.elu(x)
        : tf.where(
            tf.greater(tf.tensor(x.dataSync(), x.shape), 0),
            x,
            tf.mul(Number(n.attrs.alpha), tf.sub(tf.exp(x), 1)),
          );
    case "gelu":
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
    case "silu":
      return tf.mul(x, tf.sigmoid(x));
    case "mish":
      return tf.mul(x, tf.tanh(tf.softplus(x)));
    case "softsign":
      return tf.div(x, tf.add(1, tf.abs(x)));
    case "clamp":
      return tf.minimum(tf.maximum(x, y), a[2]!);
    case "huber": {
      const delta = Number(n.attrs.delta ?? 1);
      const size = tf.abs(x);
      const inside = tf.lessEqual(tf.tensor(size.dataSync(), size.shape), delta);
      return tf.where(inside, tf.mul(0.5, tf.square(x)), tf.mul(delta, tf.sub(size, 0.5 * delta)));
    }
    case "leaky_relu":
      return tf.leakyRelu(x, alpha);
    case "heaviside":
      return tf.step(x, 0);
    case "add":
      return tf.add(x, y);
    case "sub":
      return tf.sub(x, y);
    case "mul":
      return tf.mul(x, y);
    case "div":
      return tf.div(x, y);
    case "pow":
      return tf.pow(x, y);
    case "transpose":
      return x.rank === 2 ? tf.transpose(x) : x;
    case "outer":
      return tf.outerProduct(x as tf.Tensor1D, y as tf.Tensor1D);
    case "matmul": {
      const ta = n.attrs.transA === true;
      const tb = n.attrs.transB === true;
      if (x.rank === 2 && y.rank === 2) return tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb);
      if (x.rank === 2)
        return tf.reshape(
          tf.matMul(x as tf.Tensor2D, tf.reshape(y, [-1, 1]) as tf.Tensor2D, ta, false),
          [-1],
        );
      if (y.rank === 2)
        return tf.reshape(
          tf.matMul(tf.reshape(x, [1, -1]) as tf.Tensor2D, y as tf.Tensor2D, false, tb),
          [-1],
        );
      return tf.sum(tf.mul(x, y));
    }
    case "sum":
      return n.attrs.axis === undefined ? tf.sum(x) : tf.sum(x, Number(n.attrs.axis), n.attrs.keep === 1);
    case "mean":
      return tf.mean(x);
    // TF.js's softmax runs over the last axis only: another axis is z − logsumexp(z) along it.
    case "softmax":
      return n.attrs.axis === undefined ? tf.softmax(x) : tf.exp(logSoftmaxAlong(x, Number(n.attrs.axis)));
    case "log_softmax":
      return n.attrs.axis === undefined ? tf.logSoftmax(x) : logSoftmaxAlong(x, Number(n.attrs.axis));
    case "mse":
      return tf.mean(tf.square(tf.sub(x, y)));
    case "cross_entropy":
      return tf.neg(tf.sum(tf.mul(y, tf.log(x))));
    case "softmax_cross_entropy":
      return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(x))));
    case "softmax_xent_grad":
      return tf.sub(tf.mul(x, tf.sum(y, -1, true)), y);
    case "bce":
      return tf.neg(tf.sum(tf.add(tf.mul(y, tf.log(x)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, x))))));
    case "flip":
      return tf.reverse(x, 0);
    case "delay": {
      const k = Number(n.attrs.k);
      const step = x.shape.slice(1);
      const inits = a.slice(1).map((init) => tf.expandDims(tf.broadcastTo(init, step), 0));
      return tf.concat([...inits, x.slice(0, x.shape[0]! - k)], 0).slice(0, x.shape[0]!);
    }
    case "concat": {
      const axis = Number(n.attrs.axis ?? -1);
      return tf.concat([x, y], axis < 0 ? x.rank + axis : axis);
    }
    case "slice": {
      const axis = Number(n.attrs.axis ?? -1);
      const at = axis < 0 ? x.rank + axis : axis;
      const begin = x.shape.map((_, i) => (i === at ? Number(n.attrs.from) : 0));
      const size = x.shape.map((d, i) => (i === at ? Number(n.attrs.to) - Number(n.attrs.from) : d));
      return tf.slice(x, begin, size);
    }
    case "permute":
      return tf.transpose(x, (n.attrs.axes as number[]).map(Number));
    case "bmatmul": {
      // A matrix shared by the stack is repeated over its leading axes: TF.js multiplies stacks of equal shape.
      const lead = (x.rank >= 3 ? x : y).shape.slice(0, -2);
      const stack = (t: tf.Tensor) => (t.rank >= 3 ? t : tf.broadcastTo(t, [...lead, ...t.shape]));
      return tf.matMul(stack(x) as tf.Tensor3D, stack(y) as tf.Tensor3D);
    }
    case "take": {
      const length = x.shape[0]!;
      const at = n.attrs.from === "end" ? length - 1 - Number(n.attrs.k) : Number(n.attrs.k);
      return tf.unstack(x)[at]!;
    }
    case "sum_steps":
      return tf.sum(x, 0);
    case "conv2d": {
      // nabla's layout is [N, C, H, W] with filters [F, C, kh, kw]; TF.js wants NHWC and [kh, kw, C, F].
      const rank = x.rank;
      const nchw = rank === 2 ? tf.reshape(x, [1, 1, ...x.shape]) : rank === 3 ? tf.expandDims(x, 0) : x;
      const k4 = y.rank === 2 ? tf.reshape(y, [1, 1, ...y.shape]) : y;
      const out = tf.conv2d(
        tf.transpose(nchw, [0, 2, 3, 1]) as tf.Tensor4D,
        tf.transpose(k4, [2, 3, 1, 0]) as tf.Tensor4D,
        strides(n.attrs),
        [
          [0, 0],
          [paddings(n.attrs)[0], paddings(n.attrs)[0]],
          [paddings(n.attrs)[1], paddings(n.attrs)[1]],
          [0, 0],
        ],
      );
      const back = tf.transpose(out, [0, 3, 1, 2]);
      return rank === 2 ? tf.reshape(back, back.shape.slice(2)) : rank === 3 ? tf.squeeze(back, [0]) : back;
    }
    case "maxpool":
    case "avgpool": {
      const rank = x.rank;
      const lead = x.shape.slice(0, -2);
      const [h, w] = x.shape.slice(-2) as [number, number];
      const nhwc = tf.reshape(x, [-1, h, w, 1]) as tf.Tensor4D;
      const size = windowSizes(n.attrs);
      const stride = strides(n.attrs);
      const pooled =
        n.op === "maxpool"
          ? tf.maxPool(nhwc, size, stride, "valid")
          : tf.avgPool(nhwc, size, stride, "valid");
      void rank;
      return tf.reshape(pooled, [...lead, ...pooled.shape.slice(1, 3)]);
    }
    case "flatten": {
      const from = Number(n.attrs.from ?? 0);
      return tf.reshape(x, [...x.shape.slice(0, from), -1]);
    }
    case "reshape":
      return tf.reshape(
        x,
        n.shape.map((d) => (typeof d === "number" ? d : dims.get(d)!)),
      );
    case "dim_size":
      return tf.scalar(typeof n.attrs.value === "number" ? n.attrs.value : dims.get(String(n.attrs.dim))!);
    case "sigmoid_bce":
      return tf.sum(tf.sub(tf.softplus(x), tf.mul(y, x)));
    default:
      throw new Error(`no TF.js translation for ${n.op}`);
  }
}

/**
 * The forward graph on TF.js tensors. A scan runs as a plain loop over the steps building
 * TF.js ops, so TF.js differentiates the unrolled computation: an independent check of
 * nabla's backward recurrence.
 */
function forwardGraph(
  nodes: readonly Node[],
  values: ReadonlyMap<string, Tensor>,
  memo: Map<number, tf.Tensor>,
  input?: (n: Node) => tf.Tensor,
): (id: number) => tf.Tensor {
  const scans = new Map<number, { states: tf.Tensor[]; outputs: tf.Tensor[] }>();
  const dims = new Map<string, number>();
  for (const n of nodes) {
    if (n.kind !== "input" && n.kind !== "param") continue;
    const v = values.get(n.name);
    if (v) n.shape.forEach((d, i) => typeof d === "string" && dims.set(d, v.shape[i]!));
  }
  const runScan = (s: Extract<Node, { kind: "scan" }>) => {
    const cached = scans.get(s.id);
    if (cached) return cached;
    const length = typeof s.length === "number" ? s.length : dims.get(s.length)!;
    const history = s.states.map((st) => st.init.map((i) => tf.broadcastTo(value(i), st.shape as number[])));
    const outputs: tf.Tensor[][] = s.outputs.map(() => []);
    for (let t = 0; t < length; t++) {
      const step = forwardGraph(s.body, values, new Map(), (n) => {
        if (n.kind === "carry") return history[n.state]![s.states[n.state]!.lags + t - n.lag]!;
        if (n.kind === "slice") return tf.unstack(value(n.source))[t]!;
        if (n.kind === "outer") return value(n.source);
        throw new Error(`${n.kind} in a forward body`);
      });
      s.states.forEach((st, k) => history[k]!.push(step(st.next)));
      s.outputs.forEach((o, k) => outputs[k]!.push(step(o)));
    }
    const result = {
      states: s.states.map((st, k) => tf.stack(history[k]!.slice(st.lags))),
      outputs: outputs.map((o) => tf.stack(o)),
    };
    scans.set(s.id, result);
    return result;
  };
  const value = (id: number): tf.Tensor => {
    const cached = memo.get(id);
    if (cached) return cached;
    const n = nodes[id]!;
    let t: tf.Tensor;
    if (n.kind === "input" || n.kind === "param") {
      const v = values.get(n.name)!;
      t = tf.tensor(Array.from(v.data), v.shape as number[]);
    } else if (n.kind === "const") t = tf.tensor(Array.from(n.value), n.shape as number[]);
    else if (n.kind === "op") t = forwardOp(n, n.args.map(value), dims);
    else if (n.kind === "project") {
      const r = runScan(nodes[n.scan] as Extract<Node, { kind: "scan" }>);
      t = n.what === "state" ? r.states[n.index]! : r.outputs[n.index]!;
    } else if (input && (n.kind === "carry" || n.kind === "slice" || n.kind === "outer")) t = input(n);
    else throw new Error(`${n.kind} is not part of the forward graph`);
    memo.set(id, t);
    return t;
  };
  return value;
}

export function tfjsGradients(
  graph: Graph,
  values: ReadonlyMap<string, Tensor>,
): { loss: number; gradients: Record<string, Float32Array> } {
  tf.engine().startScope();
  try {
    const params = graph.named.filter((n) => n.kind === "param");
    const lossFn = (...paramTensors: tf.Tensor[]) => {
      const memo = new Map<number, tf.Tensor>();
      params.forEach((p, i) => memo.set(p.node, paramTensors[i]!));
      return forwardGraph(graph.nodes, values, memo)(graph.loss) as tf.Scalar;
    };
    const inputs = params.map((p) => {
      const v = values.get(p.name)!;
      return tf.tensor(Array.from(v.data), v.shape as number[]);
    });
    const { value, grads } = tf.valueAndGrads(lossFn)(inputs);
    const gradients: Record<string, Float32Array> = {};
    params.forEach((p, i) => (gradients[p.name] = grads[i]!.dataSync() as Float32Array));
    return { loss: value.dataSync()[0]!, gradients };
  } finally {
    tf.engine().endScope();
  }
}

const logSoftmaxAlong = (x: tf.Tensor, axis: number) => tf.sub(x, tf.logSumExp(x, axis, true));
