import type { Node, NodeId, OpNode } from "../ir/types.js";
import { dependencies } from "../ir/types.js";
import { getOp } from "../ir/registry.js";
import { sameShape } from "../ir/shapes.js";
import type { BlockCode, BlockPosition, OutputBlock, PointCode } from "../ir/op.js";
import { strides, windowSizes } from "../ops/imageShapes.js";
import { emitMatVecsThen, emitOuterAndTransposedProduct } from "../ops/kernels.js";
import type { StatementEmitter } from "./emitter.js";

/** For each of `ids`, the nodes among `ids` that read it (each once). */
function consumersWithin(nodes: readonly Node[], ids: readonly NodeId[]): Map<NodeId, NodeId[]> {
  const present = new Set(ids);
  const consumers = new Map<NodeId, NodeId[]>();
  for (const id of ids)
    for (const a of new Set(dependencies(nodes[id]!))) {
      if (!present.has(a)) continue;
      if (!consumers.has(a)) consumers.set(a, []);
      consumers.get(a)!.push(id);
    }
  return consumers;
}

/**
 * Fusion across ops, decided from the graph of one generated function: a producer whose
 * values can be computed a block at a time (conv2d), an elementwise chain on it (a bias, an
 * activation) and a max-pool over the result become one loop nest over the pooling windows
 * that keeps each window's values in locals and records its winner (the offset of its first
 * maximum) for the backward pass. The activation is stored only when something else reads it
 * (a named value the function returns, another op).
 *
 * The backward pass of such a pool routes each window's δ to its winner (scatter_add at
 * pool_argmax), multiplies by the activation's derivative there (which reads the activation at
 * the winner: the pooled value) and hands the result to its consumers (the bias's sum_to and
 * the filter gradient). Where every consumer can take a δ that is nonzero only at those points,
 * they become one loop over the winners: no δ the size of the activation, no search for the
 * winners again, a quarter of the filter gradient's multiply-adds for 2×2 windows.
 *
 * The ops' parts live with the ops (their `fusion` rules); this file only matches the graph.
 */
export function planWindowFusion(
  emitter: StatementEmitter,
  nodes: readonly Node[],
  ids: readonly NodeId[],
  results: ReadonlySet<NodeId>,
): void {
  const consumers = consumersWithin(nodes, ids);
  const uses = (id: NodeId) => consumers.get(id) ?? [];
  const op = (id: NodeId) => (nodes[id]?.kind === "op" ? (nodes[id] as OpNode) : undefined);

  /** The producer under an elementwise chain ending at `id`, and the chain's nodes (with `id`). */
  const chainOf = (id: NodeId, top: boolean): { producer: OpNode; members: NodeId[] } | undefined => {
    const n = op(id);
    if (n === undefined) return undefined;
    if (getOp(n.op).fusion?.block?.(emitter, n) !== undefined) {
      const alone = top || (uses(id).length === 1 && !results.has(id));
      return alone ? { producer: n, members: [] } : undefined;
    }
    if (!getOp(n.op).elementwise || (!top && !emitter.isFused(id))) return undefined;
    for (const a of new Set(n.args)) {
      if (!sameShape(nodes[a]!.shape, n.shape)) continue;
      const found = chainOf(a, false);
      if (found) return { producer: found.producer, members: [...found.members, id] };
    }
    return undefined;
  };

  for (const id of ids) {
    const pool = op(id);
    if (pool === undefined || !getOp(pool.op).fusion?.pool) continue;
    const act = pool.args[0]!;
    const chain = chainOf(act, true);
    // One kernel per producer: a second pool of the same activation reads it stored.
    if (chain === undefined || [chain.producer.id, act].some((m) => emitter.isComputedElsewhere(m))) continue;
    const argmaxes = uses(act).filter((u) => op(u)?.op === "pool_argmax" && sameAttrs(op(u)!, pool));
    if (argmaxes.length > 1) continue;
    const argmax = argmaxes[0];
    const backward = argmax === undefined ? undefined : planWinners(act, pool, argmax);
    const covered = new Set<NodeId>([id, ...argmaxes, ...(backward?.readers ?? [])]);
    const storeInput = results.has(act) || uses(act).some((u) => !covered.has(u));
    const kernel = getOp(pool.op).fusion!.pool!(emitter, pool, storeInput);
    if (kernel === undefined) continue;
    const block = getOp(chain.producer.op).fusion!.block!(emitter, chain.producer)!;
    // A monotone activation (ReLU) last in the chain is applied once per window, to the
    // maximum of its operand, when no activation is stored and nothing but the backward
    // kernel reads the winners: in a window it cuts all to one value, the winner may then be
    // another position than pool_argmax's, one where the derivative is zero too.
    const top = op(act)!;
    const monotone =
      chain.members.length > 0 &&
      getOp(top.op).monotone === true &&
      top.args.length === 1 &&
      !storeInput &&
      (argmax === undefined ||
        (backward !== undefined && uses(argmax).every((u) => backward.members.includes(u))));
    const last = monotone ? top.args[0]! : act;
    const produce = (b: OutputBlock, at: (r: number, c: number) => BlockPosition): BlockCode => {
      const code = block(b);
      const then = monotone
        ? (value: string) => emitter.withValues(new Map([[last, value]]), () => emitter.inline(act, "0"))
        : undefined;
      if (chain.producer.id === last) return { ...code, ...(then ? { then } : {}) };
      const v = emitter.fresh("v");
      const lines: string[] = [];
      const values = code.values.map((row, r) =>
        row.map((local, c) => {
          const { offset, axes } = at(r, c);
          const value = emitter.withValues(new Map([[chain.producer.id, local]]), () =>
            emitter.inline(last, offset, axes),
          );
          lines.push(`const ${v}_${r}_${c} = ${value};`);
          return `${v}_${r}_${c}`;
        }),
      );
      return {
        hoist: code.hoist,
        code: `${code.code}\n${lines.join(" ")}`,
        values,
        ...(then ? { then } : {}),
      };
    };
    emitter.group([chain.producer.id, ...chain.members, id, ...argmaxes], act, () =>
      kernel(produce, {
        ...(argmax !== undefined ? { winners: emitter.ref(argmax) } : {}),
        ...(storeInput ? { input: emitter.ref(act) } : {}),
        ...(backward?.key ? { key: backward.key } : {}),
      }),
    );
    if (backward) emitter.group(backward.members, backward.anchor, backward.emit);
  }

  /**
   * The backward kernel over a fused pool's winners, when the δ routed to them reaches only
   * consumers that can take it point by point, through elementwise ops linear in it.
   */
  function planWinners(act: NodeId, pool: OpNode, argmax: NodeId) {
    const scatters = uses(argmax).filter((u) => {
      const s = op(u);
      return (
        s?.op === "scatter_add" &&
        s.attrs.flat === true &&
        s.args[1] === argmax &&
        s.args[0] !== argmax &&
        sameShape(s.shape, nodes[act]!.shape)
      );
    });
    if (scatters.length !== 1 || results.has(scatters[0]!)) return undefined;
    const scatter = op(scatters[0]!)!;
    const readers = new Set<NodeId>();
    const fusedUnder = (a: NodeId) => {
      if (!emitter.isFused(a)) return;
      readers.add(a);
      for (const b of op(a)!.args) fusedUnder(b);
    };
    let delta: NodeId = scatter.id;
    let points: { node: OpNode; code: PointCode }[] | undefined;
    for (;;) {
      const next = uses(delta);
      const codes = next.map((u) => {
        const n = op(u);
        if (n === undefined || n.args.filter((a) => a === delta).length !== 1) return undefined;
        const code = getOp(n.op).fusion?.atPoints?.(emitter, n, n.args.indexOf(delta));
        return code && { node: n, code };
      });
      if (next.length > 0 && codes.every((c) => c !== undefined)) {
        points = codes as { node: OpNode; code: PointCode }[];
        break;
      }
      const n = next.length === 1 ? op(next[0]!) : undefined;
      // Read at the winners' indices: every node on the way has the activation's shape.
      if (
        n === undefined ||
        results.has(n.id) ||
        !linearIn(n, delta) ||
        !sameShape(n.shape, nodes[act]!.shape)
      )
        return undefined;
      if (delta !== scatter.id && !emitter.isFused(delta)) return undefined;
      for (const a of n.args) if (a !== delta) fusedUnder(a);
      readers.add(n.id);
      delta = n.id;
    }
    if (results.has(delta) || points.filter((p) => p.code.loop).length > 1) return undefined;
    const anchor = Math.max(...points.map((p) => p.node.id));
    // Each consumer's result is written at the anchor: nothing before it may read one.
    if (points.some((p) => p.node.id !== anchor && uses(p.node.id).some((u) => u < anchor))) return undefined;
    const members = [scatter.id, delta, ...points.map((p) => p.node.id)];
    const leadDims = nodes[act]!.shape.slice(0, -2);
    const value = (o: string, axes: readonly string[]) =>
      delta === scatter.id
        ? `${emitter.ref(scatter.args[0]!)}[${o}]`
        : emitter.withValues(
            new Map([
              [scatter.id, `${emitter.ref(scatter.args[0]!)}[${o}]`],
              [act, `${emitter.ref(pool.id)}[${o}]`],
            ]),
            () => emitter.inline(delta, `${emitter.ref(argmax)}[${o}]`, axes),
          );
    // The winners may record the points' key (the filter gradient's receptive field) in place
    // of their offsets when nothing else reads them and nothing needs a winner's indices or
    // offset: not the δ (it reads the pooled value), not a point without the key (a bias's sum).
    const probe = [...leadDims.map((_, i) => `\u00a7l${i}`), "\u00a7h", "\u00a7w"];
    const positional = (code: string) =>
      code.includes("\u00a7h") || code.includes("\u00a7w") || code.includes(`${emitter.ref(argmax)}[`);
    const keys = points.filter((p) => p.code.key !== undefined);
    const keyed =
      keys.length === 1 &&
      uses(argmax).every((u) => u === scatter.id) &&
      !positional(value("\u00a7o", probe)) &&
      points.every((p) => p.code.key !== undefined || !positional(p.code.point("\u00a7d", probe)));
    const key = keyed ? keys[0]!.code.key : undefined;
    const emit = () => {
      const lead = leadDims.map(() => emitter.fresh("l"));
      const winners = emitter.ref(argmax);
      const d = emitter.fresh("d");
      // Keyed, a point without the key never reads the indices it is given (see `keyed`).
      const unplaced = [...lead, "0", "0"];
      const at = (p: PointCode, axes: readonly string[], k: string) =>
        key && p.key ? p.key.point(d, k, lead) : p.point(d, key ? unplaced : axes);
      const visit = (all: boolean) =>
        getOp(pool.op).fusion!.winners!(
          emitter,
          pool,
          winners,
          lead,
          (o, axes, k) =>
            `const ${d} = ${value(o, key ? unplaced : axes)};\n${points
              .filter((p) => all || p.code.loop)
              .map((p) => at(p.code, axes, k))
              .join("\n")}`,
          key !== undefined,
        );
      const around = (code: PointCode[], inner: string) =>
        `${code.map((c) => c.before(lead)).join(" ")}\n${inner}\n${code.map((c) => c.after(lead)).join(" ")}`;
      const looped = points.find((p) => p.code.loop)?.code;
      const all = points.map((p) => p.code);
      let body: string;
      if (looped === undefined) body = around(all, visit(true));
      else {
        const { index, bound } = looped.loop!;
        body = `{ const ${index} = 0;\n${around(all, visit(true))}\n}`;
        if (bound !== "1")
          body += `\nfor (let ${index} = 1; ${index} < ${bound}; ${index}++) {\n${around([looped], visit(false))}\n}`;
      }
      const loops = lead.reduceRight(
        (inner, l, i) => `for (let ${l} = 0; ${l} < ${emitter.dim(leadDims[i]!)}; ${l}++) {\n${inner}\n}`,
        body,
      );
      return `${all.map((c) => c.init()).join("\n")}\n${loops}`;
    };
    return { readers, members, anchor, emit, key };
  }
}

/**
 * A matrix's two products with one δ — the rank-1 update g hᵀ (a weight's gradient) and Wᵀ g
 * (the δ passed down), W shaped like the update — computed in one pass over W's rows instead
 * of two, the second of which would read W down its columns.
 */
export function planSharedPasses(
  emitter: StatementEmitter,
  nodes: readonly Node[],
  ids: readonly NodeId[],
): void {
  const consumers = consumersWithin(nodes, ids);
  const free = (id: NodeId) => nodes[id]!.kind === "op" && !emitter.isComputedElsewhere(id);
  const taken = new Set<NodeId>();
  for (const id of ids) {
    const outer = nodes[id]!;
    if (outer.kind !== "op" || outer.op !== "outer" || !free(id) || taken.has(id)) continue;
    const [g, h] = outer.args as [NodeId, NodeId];
    const product = (consumers.get(g) ?? []).find(
      (u) => free(u) && !taken.has(u) && isTransposedPartner(nodes, outer, u),
    );
    if (product === undefined) continue;
    const anchor = Math.max(id, product);
    const other = anchor === id ? product : id;
    if ((consumers.get(other) ?? []).some((u) => u < anchor)) continue;
    taken.add(id).add(product);
    const w = (nodes[product] as OpNode).args[0]!;
    emitter.group([id, product], anchor, () =>
      emitOuterAndTransposedProduct(emitter, {
        g: emitter.ref(g),
        h: emitter.ref(h),
        w: emitter.ref(w),
        target: emitter.ref(id),
        assign: "=",
        product: emitter.ref(product),
        m: emitter.dim(outer.shape[0]!),
        n: emitter.dim(outer.shape[1]!),
      }),
    );
  }
}

/**
 * Matrix-vector products that feed only one elementwise value of their shape (through fused
 * elementwise nodes) computed with it, in one pass over their rows, the value applied as each
 * row's sums are stored: a recurrence's step tanh(Wxh x_t + Whh h_{t−1} + b) with no buffer for
 * either product.
 */
export function planProductEpilogues(
  emitter: StatementEmitter,
  nodes: readonly Node[],
  ids: readonly NodeId[],
  results: ReadonlySet<NodeId>,
): void {
  const present = new Set(ids);
  const count = new Map<NodeId, number>();
  for (const id of ids)
    for (const a of dependencies(nodes[id]!)) if (present.has(a)) count.set(a, (count.get(a) ?? 0) + 1);
  for (const id of ids) {
    const n = nodes[id]!;
    if (n.kind !== "op" || !getOp(n.op).elementwise || n.shape.length !== 1) continue;
    if (emitter.isComputedElsewhere(id) || emitter.needsAxes(id)) continue;
    // The leaves of its expression reached through fused nodes of its own shape.
    const leaves: NodeId[] = [];
    const walk = (a: NodeId) => {
      const m = nodes[a]!;
      if (!sameShape(m.shape, n.shape)) return;
      if (emitter.isFused(a) && m.kind === "op") m.args.forEach(walk);
      else leaves.push(a);
    };
    n.args.forEach(walk);
    const products = [...new Set(leaves)].filter((a) => {
      const m = nodes[a]!;
      return (
        m.kind === "op" &&
        m.op === "matmul" &&
        m.attrs.transA !== true &&
        nodes[m.args[0]!]!.shape.length === 2 &&
        nodes[m.args[1]!]!.shape.length === 1 &&
        count.get(a) === 1 &&
        leaves.filter((l) => l === a).length === 1 &&
        !results.has(a) &&
        !emitter.isComputedElsewhere(a)
      );
    });
    if (products.length === 0) continue;
    emitter.group([...products, id], id, () =>
      emitMatVecsThen(emitter, {
        products: products.map((q) => {
          const m = nodes[q] as OpNode;
          return {
            a: emitter.ref(m.args[0]!),
            x: emitter.ref(m.args[1]!),
            k: emitter.dim(nodes[m.args[0]!]!.shape[1]!),
          };
        }),
        m: emitter.dim(n.shape[0]!),
        out: emitter.ref(id),
        value: (row, sums) =>
          emitter.withValues(new Map(products.map((q, i) => [q, sums[i]!])), () => emitter.inline(id, row)),
      }),
    );
  }
}

/** Whether an elementwise node is linear in operand `x` with its other operands fixed (zero where x is). */
function linearIn(n: OpNode, x: NodeId): boolean {
  const at = n.args.filter((a) => a === x).length;
  if (at !== 1) return false;
  if (n.op === "mul") return true;
  if (n.op === "neg") return true;
  if (n.op === "div") return n.args[0] === x;
  return false;
}

/** Whether two pooling nodes have the same windows. */
const sameAttrs = (a: OpNode, b: OpNode) =>
  JSON.stringify([windowSizes(a.attrs), strides(a.attrs)]) ===
  JSON.stringify([windowSizes(b.attrs), strides(b.attrs)]);

/**
 * Whether node `u` is Wᵀg for the outer product g hᵀ of W's shape: the pair one pass over W's
 * rows computes together (a weight's gradient and the δ below it).
 */
export function isTransposedPartner(nodes: readonly Node[], outer: OpNode, u: NodeId): boolean {
  const g = outer.args[0];
  const n = nodes[u]!;
  return (
    n.kind === "op" &&
    n.op === "matmul" &&
    n.attrs.transA === true &&
    n.attrs.transB !== true &&
    n.args[1] === g &&
    n.args[0] !== g &&
    sameShape(nodes[n.args[0]!]!.shape, outer.shape)
  );
}
