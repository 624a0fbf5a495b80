import { sizeOf, tensor } from "../ir/tensor.js";
import type { Dim } from "../ir/types.js";
import { dimLatex, latexName } from "../syntax/latexName.js";
import { PREC, type OpDef } from "../ir/op.js";
import { tuple } from "./python.js";

/**
 * The size of a named dim used as a number (`sum(e) / (2*N)`). It stays a symbol, so the
 * handout prints 2N rather than 6, and a dim bound at run time reads its bound value.
 */
export const dimOps: readonly OpDef[] = [
  {
    name: "dim_size",
    shape: () => ({ shape: [] }),
    vjp: () => [],
    rule: () => "\\text{a size does not depend on any value}",
    evaluate: (_args, attrs, _shape, dims) => {
      const fixed = attrs.value;
      const size = typeof fixed === "number" ? fixed : dims.get(String(attrs.dim));
      if (size === undefined) throw new Error(`dim ${String(attrs.dim)} is not bound`);
      return tensor([], Float64Array.of(size));
    },
    emit: (ctx, node) => {
      const fixed = node.attrs.value;
      return `${ctx.ref(node.id)}[0] = ${typeof fixed === "number" ? String(fixed) : ctx.dim(String(node.attrs.dim))};`;
    },
    // The dim's local (an int bound at the top of the forward pass): sqrt(Dk) is math.sqrt(Dk).
    torch: (_args, attrs, _shapes, _shape, ctx) => ({
      text: ctx.dim(String(attrs.dim)),
      prec: PREC.atom,
      number: true,
    }),
    // As the model section lists the dims: N, \mathrm{Dk}.
    latex: (_args, attrs) => ({
      text: dimLatex(String(attrs.dim)),
      prec: PREC.atom,
    }),
  },
  {
    // The position along axis `axis` of each entry of a tensor of shape `shape`, from 0: the
    // `i` and `j` of a constant defined entry by entry (const M[i, j]: [T, T] = [j <= i]).
    name: "position",
    shape: (_args, attrs) => ({ shape: attrs.shape as readonly Dim[] }),
    vjp: () => [],
    rule: () => "\\text{a position does not depend on any value}",
    evaluate: (_args, attrs, shape) => {
      const out = tensor(shape);
      const axis = Number(attrs.axis);
      const inner = sizeOf(shape.slice(axis + 1) as number[]);
      const n = shape[axis] as number;
      for (let e = 0; e < out.data.length; e++) out.data[e] = Math.floor(e / inner) % n;
      return out;
    },
    emit: (ctx, node) => {
      const axis = Number(node.attrs.axis);
      const e = ctx.fresh("e");
      const inner = ctx.size(node.shape.slice(axis + 1));
      return `for (let ${e} = 0; ${e} < ${ctx.size(node.shape)}; ${e}++) ${ctx.ref(node.id)}[${e}] = Math.floor(${e} / ${inner}) % ${ctx.dim(node.shape[axis]!)};`;
    },
    latex: (_args, attrs) => ({ text: latexName(String(attrs.name)), prec: PREC.atom }),
    torch: (_args, attrs, _shapes, shape, ctx) => {
      const axis = Number(attrs.axis);
      const along = shape.map((d, i) => (i === axis ? "-1" : "1"));
      return {
        text: `torch.arange(${ctx.dim(shape[axis]!)}, dtype=${ctx.dtype}, device=${ctx.device}).reshape${tuple(along)}.expand${tuple(shape.map((d) => ctx.dim(d)))}`,
        prec: PREC.atom,
      };
    },
  },
];
