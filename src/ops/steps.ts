import type { Attrs, Dim, Shape } from "../ir/types.js";
import { problem } from "../diagnostics/shapes.js";
import { formatShape } from "../ir/types.js";
import { sizeOf, tensor } from "../ir/tensor.js";
import { group, PREC, type OpDef } from "../ir/op.js";
import { reduceTo } from "./common.js";
import { atom, call, py, tuple } from "./python.js";

/** Steps of a sequence (the first axis): `h_T`, `h_3`, and sums over an index. */
const stepIndex = (attrs: Attrs, length: number) =>
  attrs.from === "end" ? length - 1 - Number(attrs.k) : Number(attrs.k);
const stepExpr = (attrs: Attrs, length: string) =>
  attrs.from === "end" ? `${length} - 1 - ${Number(attrs.k)}` : String(Number(attrs.k));

export const stepOps: readonly OpDef[] = [
  {
    name: "take",
    shape: ([x]) => (x!.length >= 1 ? { shape: x!.slice(1) } : { error: problem("stepOf", { shape: x! }) }),
    vjp: (b, node, g) => [b.op("place", [g], { ...node.attrs, length: b.shape(node.args[0]!)[0]! })],
    rule: () => "\\text{the gradient of one step enters the sequence at that step}",
    evaluate: ([x], attrs, shape) => {
      const size = sizeOf(shape);
      const at = stepIndex(attrs, x!.shape[0]!);
      return tensor(shape, x!.data.slice(at * size, (at + 1) * size));
    },
    emit: (ctx, node) => {
      const x = node.args[0]!;
      const size = ctx.size(node.shape);
      const [o, i] = [ctx.fresh("o"), ctx.fresh("i")];
      return `{ const ${o} = (${stepExpr(node.attrs, ctx.dim(ctx.shapeOf(x)[0]!))}) * ${size}; for (let ${i} = 0; ${i} < ${size}; ${i}++) ${ctx.ref(node.id)}[${i}] = ${ctx.ref(x)}[${o} + ${i}]; }`;
    },
    // h_T is h[-1]: Python counts from the end with negative indices.
    torch: ([x], attrs) =>
      atom(`${py(x!, PREC.atom)}[${attrs.from === "end" ? -1 - Number(attrs.k) : Number(attrs.k)}]`),
    latex: ([x], attrs) => ({
      text: `{${group(x!, PREC.atom)}}_{${String(attrs.step)}}`,
      prec: PREC.atom,
    }),
  },
  {
    name: "place",
    shape: ([g], attrs) => ({ shape: [attrs.length as Dim, ...g!] }),
    vjp: (b, node, g) => [
      b.op("take", [g], {
        from: node.attrs.from!,
        k: node.attrs.k!,
        step: node.attrs.step!,
      }),
    ],
    rule: () => "\\text{only that step of the sequence is read}",
    evaluate: ([g], attrs, shape) => {
      const out = tensor(shape);
      const at = stepIndex(attrs, shape[0]!);
      out.data.set(g!.data, at * g!.data.length);
      return out;
    },
    emit: (ctx, node) => {
      const g = node.args[0]!;
      const size = ctx.size(ctx.shapeOf(g));
      const [o, i] = [ctx.fresh("o"), ctx.fresh("i")];
      return `${ctx.ref(node.id)}.fill(0);\n{ const ${o} = (${stepExpr(node.attrs, ctx.dim(node.shape[0]!))}) * ${size}; for (let ${i} = 0; ${i} < ${size}; ${i}++) ${ctx.ref(node.id)}[${o} + ${i}] = ${ctx.ref(g)}[${i}]; }`;
    },
    latex: ([g], attrs) => ({
      text: `\\iota_{${String(attrs.step)}}\\left(${g!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
  {
    name: "sum_steps",
    shape: ([x]) =>
      x!.length >= 1 ? { shape: x!.slice(1) } : { error: problem("sumOverSteps", { shape: x! }) },
    vjp: (b, node, g) => [b.op("broadcast_to", [g], { shape: b.shape(node.args[0]!) as Shape })],
    rule: () => "\\frac{\\partial \\sum_t a_t}{\\partial a_t} = 1",
    evaluate: ([x], _attrs, shape) => {
      const out = tensor(shape);
      const size = out.data.length;
      for (let r = 0; r < x!.data.length; r += size)
        for (let i = 0; i < size; i++) out.data[i]! += x!.data[r + i]!;
      return out;
    },
    emit: (ctx, node) => {
      const x = node.args[0]!;
      const size = ctx.size(node.shape);
      const [r, i] = [ctx.fresh("r"), ctx.fresh("i")];
      return `${ctx.ref(node.id)}.fill(0);\nfor (let ${r} = 0; ${r} < ${ctx.size(ctx.shapeOf(x))}; ${r} += ${size}) for (let ${i} = 0; ${i} < ${size}; ${i}++) ${ctx.ref(node.id)}[${i}] += ${ctx.ref(x)}[${r} + ${i}];`;
    },
    torch: ([x], _attrs, _shapes, _shape, ctx) => call("torch.sum", [x!], ctx, "dim=0"),
    latex: ([x], attrs) => ({
      text: `\\sum_{${String(attrs.index)}} ${group(x!, PREC.product)}`,
      prec: PREC.product,
    }),
  },
  {
    // A sequence in the opposite order of steps: a recurrence that runs backwards
    // (g_t = f(g_<t+1>)) is computed as one that runs forwards over flipped sequences, as JAX's
    // scan(reverse=True) is. Its own transpose.
    name: "flip",
    shape: ([x]) => (x!.length >= 1 ? { shape: x! } : { error: problem("stepsReversed", { shape: x! }) }),
    vjp: (b, _node, g) => [b.op("flip", [g])],
    rule: () => "\\text{reversing the steps moves each gradient to its step}",
    evaluate: ([x], _attrs, shape) => {
      const out = tensor(shape);
      const n = shape[0] as number;
      const size = n === 0 ? 0 : x!.data.length / n;
      for (let t = 0; t < n; t++)
        out.data.set(x!.data.subarray(t * size, (t + 1) * size), (n - 1 - t) * size);
      return out;
    },
    emit: (ctx, node) => {
      const x = node.args[0]!;
      const n = ctx.dim(node.shape[0]!);
      const size = ctx.size(node.shape.slice(1));
      const [t, i] = [ctx.fresh("t"), ctx.fresh("i")];
      return `for (let ${t} = 0; ${t} < ${n}; ${t}++) for (let ${i} = 0; ${i} < ${size}; ${i}++) ${ctx.ref(node.id)}[(${n} - 1 - ${t}) * ${size} + ${i}] = ${ctx.ref(x)}[${t} * ${size} + ${i}];`;
    },
    latex: ([x]) => ({ text: `\\operatorname{rev}\\left(${x!.text}\\right)`, prec: PREC.atom }),
    torch: ([x], _attrs, _shapes, _shape, ctx) => call("torch.flip", [x!], ctx, "[0]"),
  },
  {
    // A sequence read k steps back inside a recurrence (teacher forcing: y_<t-1>), with its
    // given values before the first step: args [x, init_{1-k}, …, init_0], each init of one
    // step's shape. out_t = x_{t-k}, and the inits for the first k steps.
    name: "delay",
    shape: ([x, ...inits]) =>
      x!.length >= 1 && inits.every((s) => s.length === 0 || formatShape(s) === formatShape(x!.slice(1)))
        ? { shape: x! }
        : {
            error: problem("delayInits", { shape: x!, inits }),
          },
    vjp: (b, node, g, needed) => {
      const k = Number(node.attrs.k);
      const step = b.shape(node.args[0]!).slice(1);
      const zeros = Array.from({ length: k }, () => b.op("broadcast_to", [b.scalar(0)], { shape: step }));
      // x_s went to step s + k: the gradient moved k steps back, zero for the last k steps.
      const advanced = b.op("flip", [b.op("delay", [b.op("flip", [g]), ...zeros], { k })]);
      return node.args.map((_, i) =>
        !needed[i]
          ? null
          : i === 0
            ? advanced
            : reduceTo(
                b,
                b.op("take", [g], { from: "start", k: i - 1, step: String(i) }),
                b.shape(node.args[i]!),
              ),
      );
    },
    rule: (i) =>
      i === 0
        ? "\\text{step } t \\text{ of the sequence is read at step } t + k"
        : "\\text{an initial value is read at its step before the first}",
    evaluate: ([x, ...inits], attrs, shape) => {
      const out = tensor(shape);
      const k = Number(attrs.k);
      const n = shape[0] as number;
      const size = n === 0 ? 0 : x!.data.length / n;
      for (let t = 0; t < n; t++)
        out.data.set(
          t < k
            ? inits[t]!.data.length === 1
              ? new Float64Array(size).fill(inits[t]!.data[0]!)
              : inits[t]!.data.subarray(0, size)
            : x!.data.subarray((t - k) * size, (t - k + 1) * size),
          t * size,
        );
      return out;
    },
    emit: (ctx, node) => {
      const [x, ...inits] = node.args;
      const k = Number(node.attrs.k);
      const n = ctx.dim(node.shape[0]!);
      const size = ctx.size(node.shape.slice(1));
      const out = ctx.ref(node.id);
      const [t, i] = [ctx.fresh("t"), ctx.fresh("i")];
      const first = inits
        .map(
          (init, j) =>
            `if (${j} < ${n}) for (let ${i} = 0; ${i} < ${size}; ${i}++) ${out}[${j} * ${size} + ${i}] = ${ctx.ref(init!)}[${ctx.shapeOf(init!).length === 0 ? "0" : i}];`,
        )
        .join("\n");
      return `${first}\nfor (let ${t} = ${k}; ${t} < ${n}; ${t}++) for (let ${i} = 0; ${i} < ${size}; ${i}++) ${out}[${t} * ${size} + ${i}] = ${ctx.ref(x!)}[(${t} - ${k}) * ${size} + ${i}];`;
    },
    // The initial values, then the sequence, cut to the sequence's length.
    torch: ([x, ...inits], _attrs, _shapes, shape, ctx) => {
      const sequence = ctx.once(x!);
      const step = tuple(["1", ...shape.slice(1).map((d) => ctx.dim(d))]);
      const first = inits.map((init) => call("torch.broadcast_to", [init], ctx, step).text);
      return atom(
        `torch.cat([${[...first, sequence.text].join(", ")}])[: ${py(sequence, PREC.atom)}.shape[0]]`,
      );
    },
    latex: ([x], attrs) => ({
      text: `\\operatorname{delay}_{${Number(attrs.k)}}\\left(${x!.text}\\right)`,
      prec: PREC.atom,
    }),
  },
];
