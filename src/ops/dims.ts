import { tensor } from "../ir/tensor.js";
import { latexName } from "../syntax/latexName.js";
import { PREC, type OpDef } from "../ir/op.js";

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
    latex: (_args, attrs) => ({
      text: latexName(String(attrs.dim)),
      prec: PREC.atom,
    }),
  },
];
