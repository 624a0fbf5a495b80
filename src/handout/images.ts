import type { NodeId, OpNode } from "../ir/types.js";
import type { Evaluator } from "../ir/evaluate.js";
import type { Tensor } from "../ir/tensor.js";
import type { Block, EquationRow } from "./document.js";
import { para, prose } from "./document.js";
import type { HandoutContext } from "./context.js";
import { formatNumber, operandNumber } from "./numbers.js";
import { partial } from "./derivation.js";
import { breakRows } from "./width.js";

/** Images up to this size are shown cell by cell, as the lecture does; larger ones only as results. */
const SMALL_IMAGE = 8;
const SMALL_KERNEL = 5;

const entry = (symbol: string, i: number, j: number) =>
  `${symbol.includes("_") ? `\\left(${symbol}\\right)` : symbol}_{${i + 1}${j + 1}}`;
const at = (t: Tensor, i: number, j: number) => t.data[i * t.shape[1]! + j]!;

function matrixLatex(t: Tensor, rows: [number, number], cols: [number, number], digits: number): string {
  const lines: string[] = [];
  for (let i = rows[0]; i < rows[1]; i++) {
    const cells: string[] = [];
    for (let j = cols[0]; j < cols[1]; j++) cells.push(formatNumber(at(t, i, j), digits));
    lines.push(cells.join(" & "));
  }
  return `\\begin{bmatrix} ${lines.join(" \\\\ ")} \\end{bmatrix}`;
}

/** A plain 2-D correlation of a small image with a small kernel, no padding: what the lecture draws. */
function plainConv(ctx: HandoutContext, node: OpNode, ev: Evaluator) {
  // Per-axis strides or paddings ([1, 2]: a 1-D convolution's) are not drawn cell by cell.
  if (
    node.op !== "conv2d" ||
    node.attrs.transpose !== undefined ||
    Array.isArray(node.attrs.stride) ||
    Array.isArray(node.attrs.padding) ||
    Number(node.attrs.padding ?? 0) !== 0
  )
    return undefined;
  const [x, k] = node.args.map((a) => ev.value(a)) as [Tensor, Tensor];
  if (x.shape.length !== 2 || k.shape.length !== 2) return undefined;
  if (Math.max(...x.shape) > SMALL_IMAGE || Math.max(...k.shape) > SMALL_KERNEL) return undefined;
  const stride = Number(node.attrs.stride ?? 1);
  return { x, k, stride, xs: ctx.symbol(node.args[0]!) ?? "x", ks: ctx.symbol(node.args[1]!) ?? "k" };
}

/** Per handout, the forward ops by what they read: asked of every value, so not a search each time. */
const consumers = new WeakMap<HandoutContext, Map<string, OpNode>>();

/** The model's op of this kind that reads `id` as its argument `argIndex`. */
function forwardConsumer(ctx: HandoutContext, op: string, argIndex: number, id: NodeId): OpNode | undefined {
  let index = consumers.get(ctx);
  if (index === undefined) {
    index = new Map();
    for (const n of ctx.gradient.nodes.slice(0, ctx.gradient.forwardCount))
      if (n.kind === "op")
        n.args.forEach((a, k) => {
          const key = `${n.op} ${k} ${a}`;
          if (!index!.has(key)) index!.set(key, n);
        });
    consumers.set(ctx, index);
  }
  return index.get(`${op} ${argIndex} ${id}`);
}

/** Forward illustrations: one output cell of a convolution, every window of a max-pooling. */
export function forwardIllustration(ctx: HandoutContext, id: NodeId, ev: Evaluator): Block[] {
  const node = ctx.gradient.nodes[id]!;
  if (node.kind !== "op") return [];
  const out = ctx.symbol(id) ?? "?";
  if (node.op === "conv2d") {
    const c = plainConv(ctx, node, ev);
    if (!c) return [];
    const [kh, kw] = c.k.shape as [number, number];
    const [h, w] = c.x.shape as [number, number];
    const oh = Math.floor((h - kh) / c.stride) + 1;
    const ow = Math.floor((w - kw) / c.stride) + 1;
    const terms: string[] = [];
    for (let u = 0; u < kh; u++)
      for (let v = 0; v < kw; v++)
        terms.push(`${operandNumber(at(c.x, u, v))} \\cdot ${operandNumber(at(c.k, u, v))}`);
    const value = ev.value(id);
    const rows: EquationRow[] = [
      {
        lhs: entry(out, 0, 0),
        rhs: `\\sum_{u,v} ${c.xs}_{uv}\\, ${c.ks}_{uv} = ${terms.join(" + ")}`,
      },
      { lhs: "", rhs: formatNumber(at(value, 0, 0), ctx.digits) },
    ];
    return [
      para(
        ...prose(
          `The kernel $${c.ks}$ (${kh}×${kw}) slides over the ${h}×${w} image $${c.xs}$ with stride ${c.stride}, giving $\\lfloor (${h} - ${kh})/${c.stride} \\rfloor + 1 = ${oh}$ rows and ${ow} columns. Each output cell is the sum of the entrywise products of the kernel and the patch under it; the first cell, with the patch $${matrixLatex(c.x, [0, kh], [0, kw], ctx.digits)}$:`,
        ),
      ),
      { kind: "equations", rows: breakRows(rows) },
      para(...prose(`and likewise for every other cell, the patch moved by ${c.stride} each time.`)),
    ];
  }
  if (node.op === "maxpool") {
    const x = ev.value(node.args[0]!);
    if (x.shape.length !== 2 || Math.max(...x.shape) > SMALL_IMAGE) return [];
    // A rectangular window or stride is written as its result only.
    if (Array.isArray(node.attrs.size) || Array.isArray(node.attrs.stride)) return [];
    const size = Number(node.attrs.size ?? 2);
    const stride = Number(node.attrs.stride ?? 2);
    const xs = ctx.symbol(node.args[0]!) ?? "x";
    const value = ev.value(id);
    const [oh, ow] = value.shape as [number, number];
    const rows: EquationRow[] = [];
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const cells: string[] = [];
        for (let u = 0; u < size; u++)
          for (let v = 0; v < size; v++)
            cells.push(formatNumber(at(x, i * stride + u, j * stride + v), ctx.digits));
        rows.push({
          lhs: entry(out, i, j),
          rhs: `\\max\\left(${cells.join(", ")}\\right) = ${formatNumber(at(value, i, j), ctx.digits)}`,
        });
      }
    return [
      para(
        ...prose(
          `Each ${size}×${size} window of $${xs}$ (stride ${stride}${stride < size ? ": the windows overlap" : ""}) gives its maximum:`,
        ),
      ),
      { kind: "equations", rows: breakRows(rows) },
    ];
  }
  return [];
}

/**
 * Backward illustrations: ∂L/∂k of a small convolution as the sum over the regions the
 * kernel visited, each weighted by its output's δ (the lecture's "multiplied element-wise
 * with the corresponding region, summed").
 */
export function kernelGradientIllustration(ctx: HandoutContext, param: NodeId, ev: Evaluator): Block[] {
  const conv = forwardConsumer(ctx, "conv2d", 1, param);
  if (!conv) return [];
  const c = plainConv(ctx, conv, ev);
  const adjoint = ctx.gradient.adjoints.get(conv.id);
  if (!c || adjoint === undefined) return [];
  const delta = ev.value(adjoint);
  const [kh, kw] = c.k.shape as [number, number];
  const [oh, ow] = delta.shape as [number, number];
  const regions: string[] = [];
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++) {
      const d = at(delta, i, j);
      if (d === 0) continue;
      regions.push(
        `${operandNumber(d, ctx.digits)} ${matrixLatex(c.x, [i * c.stride, i * c.stride + kh], [j * c.stride, j * c.stride + kw], ctx.digits)}`,
      );
    }
  if (regions.length === 0 || regions.length > 9) return [];
  const convDelta = ctx.delta(conv.id);
  const zeros = oh * ow - regions.length;
  return [
    para(
      ...prose(
        `Entry by entry, $${partial(ctx.lossSymbol, `${c.ks}_{uv}`)} = \\sum_{i,j} \\left(${convDelta}\\right)_{ij}\\, ${c.xs}_{i+u-1,\\,j+v-1}$: each region of $${c.xs}$ the kernel covered, times the δ of the output cell it produced, summed.${zeros > 0 ? ` The ${zeros} cells whose δ is 0 contribute nothing; the others:` : ""}`,
      ),
    ),
    {
      kind: "equations",
      rows: breakRows(
        [{ lhs: partial(ctx.lossSymbol, c.ks), rhs: regions.join(" + ") }],
        // Regions are matrices: one per line is what fits.
      ).flatMap((r) => splitRegions(r)),
    },
  ];
}

/** One weighted region per line: `+ (−0.003) [..]`. */
function splitRegions(row: EquationRow): EquationRow[] {
  const parts = row.rhs.split(/ \+ (?=\\left\(|[\d-])/);
  if (parts.length <= 2) return [row];
  const out: EquationRow[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const chunk = parts.slice(i, i + 2).join(" + ");
    out.push(i === 0 ? { ...row, rhs: chunk } : { lhs: "", rel: "\\phantom{=}", rhs: `{}+ ${chunk}` });
  }
  return out;
}

/** Where a max-pooling's δ goes: each window's δ to the position of its maximum. */
export function poolRoutingIllustration(ctx: HandoutContext, id: NodeId, ev: Evaluator): Block[] {
  const pool = forwardConsumer(ctx, "maxpool", 0, id);
  if (!pool) return [];
  const x = ev.value(id);
  const adjoint = ctx.gradient.adjoints.get(pool.id);
  if (x.shape.length !== 2 || Math.max(...x.shape) > SMALL_IMAGE || adjoint === undefined) return [];
  if (Array.isArray(pool.attrs.size) || Array.isArray(pool.attrs.stride)) return [];
  const delta = ev.value(adjoint);
  const size = Number(pool.attrs.size ?? 2);
  const stride = Number(pool.attrs.stride ?? 2);
  const [oh, ow] = delta.shape as [number, number];
  const xs = ctx.symbol(id) ?? "x";
  const ps = ctx.symbol(pool.id) ?? "p";
  const lines: string[] = [];
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++) {
      let best = [i * stride, j * stride];
      let ties = 0;
      for (let u = 0; u < size; u++)
        for (let v = 0; v < size; v++) {
          const value = at(x, i * stride + u, j * stride + v);
          const current = at(x, best[0]!, best[1]!);
          if (value > current) {
            best = [i * stride + u, j * stride + v];
            ties = 0;
          } else if (value === current && (u > 0 || v > 0)) ties++;
        }
      lines.push(
        `window $${i + 1}${j + 1}$: its maximum is $${entry(xs, best[0]!, best[1]!)}$${ties > 0 ? " (a tie: the first)" : ""}, which receives $\\delta_{${ps},${i + 1}${j + 1}} = ${formatNumber(at(delta, i, j), ctx.digits)}$`,
      );
    }
  return [
    para(
      ...prose(
        `Max-pooling passes each window's δ back to the entry that was the window's maximum, and nothing to the others; where windows overlap, what they send adds up. Here, ${lines.join("; ")}.`,
      ),
    ),
  ];
}
