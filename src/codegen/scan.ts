import type { Node, NodeId, ProjectNode, ScanAdjointNode, ScanNode, Shape } from "../ir/types.js";
import { closure, type StatementEmitter } from "./emitter.js";
import { dependencies } from "../ir/types.js";
import { getOp } from "../ir/registry.js";
import { emitOuterAndTransposedProduct } from "../ops/kernels.js";
import { isTransposedPartner, planProductEpilogues } from "./fuse.js";
import { RowReads, stepReadingRows, type Row } from "./rowReads.js";

/**
 * Recurrences in the generated code: a scan is a `for` loop over the steps whose body is
 * the body graph's code, run on small per-step buffers; states live in one array per state
 * ([initial values, step 1, …, step T]) and stacked values in [T, …] arrays. Its adjoint is
 * the same loop run backwards. The code is the same whatever the number of steps: T is a
 * literal or a run-time dim, never unrolled.
 */
const bodyConstPrefix = (scope: NodeId) => `K${scope}_`;

/** A workspace array: its name and the expression that allocates it (or views another). */
export interface StorageField {
  readonly name: string;
  readonly init: string;
  /** For an array of its own (not a view of another): its length, as a JS expression. */
  readonly length?: string;
  /** Allocated only when some function names it (a step's buffer its values are read in place of). */
  readonly ifNamed?: boolean;
}

/** A workspace array of its own, zeroed. */
export const freshField = (name: string, length: string): StorageField => ({
  name,
  length,
  init: `new Float64Array(${length})`,
});

/**
 * Forward body nodes that the backward loop reads: the forward loop stores them for every
 * step. Not a state's next value (h_t), which the state's array holds already.
 */
export function residualsOf(adjoint: ScanAdjointNode, forward: ScanNode): Set<NodeId> {
  const roots = [...adjoint.carries.map((c) => c.node), ...adjoint.stacked, ...adjoint.summed];
  const out = new Set<NodeId>();
  for (const id of closure(adjoint.body, roots)) {
    const n = adjoint.body[id]!;
    if (
      n.kind === "residual" &&
      forward.body[n.node]!.kind === "op" &&
      stateOf(forward, n.node) === undefined
    )
      out.add(n.node);
  }
  return out;
}

/** The state whose next value `id` is, if any. */
function stateOf(forward: ScanNode, id: NodeId): number | undefined {
  const k = forward.states.findIndex((s) => s.next === id);
  return k < 0 ? undefined : k;
}

const isStep = (n: Node) =>
  n.kind === "op" ||
  n.kind === "carry" ||
  n.kind === "slice" ||
  n.kind === "residual" ||
  n.kind === "state_adjoint";

/**
 * The sums over steps a backward loop adds straight into their totals: contributions used by
 * nothing else, by an op that can accumulate (an outer product, Σ_t δ_t h_{t-1}ᵀ). With the
 * WebAssembly target, those whose op has a kernel for the whole sum (`sumOverSteps`) are
 * `batched`: their operands are stacked step by step and summed by one call after the loop.
 */
function directSums(
  adjoint: ScanAdjointNode,
  projections: readonly ProjectNode[],
  wasm: boolean,
): { direct: Set<NodeId>; batched: Set<NodeId> } {
  const roots = [
    ...adjoint.carries.map((c) => c.node),
    ...projections.filter((p) => p.what === "stacked").map((p) => adjoint.stacked[p.index]!),
    ...projections.filter((p) => p.what === "summed").map((p) => adjoint.summed[p.index]!),
  ];
  const uses = new Map<NodeId, number>();
  for (const id of closure(adjoint.body, roots))
    for (const a of dependencies(adjoint.body[id]!)) uses.set(a, (uses.get(a) ?? 0) + 1);
  for (const r of roots) uses.set(r, (uses.get(r) ?? 0) + 1);
  const direct = new Set(
    projections
      .filter((p) => p.what === "summed")
      .map((p) => adjoint.summed[p.index]!)
      .filter((id) => {
        const n = adjoint.body[id]!;
        return n.kind === "op" && getOp(n.op).accumulate !== undefined && uses.get(id) === 1;
      }),
  );
  const batched = new Set(
    [...direct].filter((id) => {
      const n = adjoint.body[id]!;
      return wasm && n.kind === "op" && getOp(n.op).sumOverSteps !== undefined;
    }),
  );
  return { direct, batched };
}

/** Every array a scan or scan adjoint needs, for the workspace. */
export function scanStorage(
  ctx: StatementEmitter,
  node: ScanNode | ScanAdjointNode,
  forward: ScanNode,
  projections: readonly ProjectNode[],
  residuals: ReadonlySet<NodeId>,
): StorageField[] {
  const size = (shape: Shape) => ctx.size(shape);
  const length = ctx.dim(forward.length);
  const fields: StorageField[] = [];
  const states = forward.states;
  if (node.kind === "scan") {
    states.forEach((s, k) =>
      fields.push(freshField(ctx.names.state(node.id, k), `(${s.lags} + ${length}) * ${size(s.shape)}`)),
    );
    for (const id of residuals)
      fields.push(freshField(ctx.names.residual(node.id, id), `${length} * ${size(node.body[id]!.shape)}`));
  } else {
    states.forEach((s, k) =>
      fields.push(
        freshField(ctx.names.adjointState(node.id, k), `(${s.lags} + ${length}) * ${size(s.shape)}`),
      ),
    );
    for (const id of directSums(node, projections, ctx.wasm).batched) {
      const n = node.body[id] as Extract<Node, { kind: "op" }>;
      n.args.forEach((a, k) =>
        fields.push(freshField(ctx.names.stack(node.id, id, k), `${length} * ${size(node.body[a]!.shape)}`)),
      );
    }
  }
  for (const n of node.body)
    if (isStep(n))
      fields.push({ ...freshField(ctx.names.bodyTemp(node.id, n.id), `${size(n.shape)}`), ifNamed: true });
  for (const p of projections) {
    const s = states[p.index];
    if (p.what === "state")
      fields.push({
        name: ctx.bufferOf(p.id),
        init: `${ctx.names.state(node.id, p.index)}.subarray(${s!.lags} * ${size(s!.shape)})`,
      });
    else if (p.what === "init")
      fields.push({
        name: ctx.bufferOf(p.id),
        init: `${ctx.names.adjointState(node.id, p.index)}.subarray(${p.position} * ${size(s!.shape)}, ${p.position + 1} * ${size(s!.shape)})`,
      });
    else fields.push(freshField(ctx.bufferOf(p.id), `${size(p.shape)}`));
  }
  return fields;
}

function copyIn(ctx: StatementEmitter, into: string, from: string, offset: string, size: string): string {
  const [o, i] = [ctx.fresh("o"), ctx.fresh("i")];
  return `{ const ${o} = ${offset}; for (let ${i} = 0; ${i} < ${size}; ${i}++) ${into}[${i}] = ${from}[${o} + ${i}]; }`;
}

/** The forward loop; `residuals` are stored for the backward loop, `projections` say which stacks are read. */
export function emitScan(
  ctx: StatementEmitter,
  scan: ScanNode,
  projections: readonly ProjectNode[],
  residuals: ReadonlySet<NodeId>,
): string {
  const t = ctx.fresh("t");
  const length = ctx.dim(scan.length);
  const reads = new RowReads(ctx);
  const body = ctx.nested(
    scan.body,
    {
      ref: (id) => {
        const n = scan.body[id]!;
        return n.kind === "outer" ? ctx.ref(n.source) : (reads.marker(id) ?? ctx.names.bodyTemp(scan.id, id));
      },
      outside: (id) => {
        const n = scan.body[id]!;
        return n.kind === "outer" ? n.source : undefined;
      },
    },
    bodyConstPrefix(scan.id),
  );
  const outputs = projections
    .filter((p) => p.what === "output")
    .map((p) => ({ project: p, node: scan.outputs[p.index]! }));
  const roots = [...scan.states.map((s) => s.next), ...outputs.map((o) => o.node), ...residuals];
  const ids = closure(scan.body, roots);
  body.plan(ids, new Set(roots));
  planProductEpilogues(body, scan.body, ids, new Set(roots));
  const lines: string[] = [];
  scan.states.forEach((s, k) => {
    const size = ctx.size(s.shape);
    s.init.forEach((init, p) => {
      const store = ctx.use(ctx.names.state(scan.id, k));
      lines.push(
        ctx.size(ctx.shapeOf(init)) === size
          ? `${store}.set(${ctx.ref(init)}, ${p} * ${size});`
          : `${store}.fill(${ctx.scalar(init)}, ${p} * ${size}, ${p + 1} * ${size});`,
      );
    });
  });
  // Where each carry and slice lies: a row of its state's array, of the sliced input.
  const rows = new Map<NodeId, Row>();
  for (const id of ids) {
    const n = scan.body[id]!;
    const size = ctx.size(n.shape);
    if (n.kind === "carry") {
      const s = scan.states[n.state]!;
      rows.set(id, {
        array: ctx.use(ctx.names.state(scan.id, n.state)),
        offset: `(${t} + ${s.lags - n.lag}) * ${size}`,
      });
    } else if (n.kind === "slice") rows.set(id, { array: ctx.ref(n.source), offset: `${t} * ${size}` });
  }
  if (!ctx.wasm) {
    for (const [id, row] of rows) reads.add(id, row);
    // A state's next value computed straight into its row of the state's array (a different
    // row from every carry's: lags are at least 1).
    scan.states.forEach((s, k) => {
      if (scan.body[s.next]!.kind === "op" && !reads.has(s.next))
        reads.add(s.next, {
          array: ctx.use(ctx.names.state(scan.id, k)),
          offset: `(${t} + ${s.lags}) * ${ctx.size(s.shape)}`,
        });
    });
  }
  const copies = () =>
    [...rows].map(([id, row]) =>
      copyIn(
        ctx,
        ctx.use(ctx.names.bodyTemp(scan.id, id)),
        row.array,
        row.offset,
        ctx.size(scan.body[id]!.shape),
      ),
    );
  const build = () => {
    const step = ids.map((id) => body.emit(id)).filter((s) => s !== "");
    scan.states.forEach((s, k) => {
      if (scan.body[s.next]!.kind === "op" && reads.marker(s.next) !== undefined) return;
      step.push(
        `${ctx.use(ctx.names.state(scan.id, k))}.set(${body.ref(s.next)}, (${t} + ${s.lags}) * ${ctx.size(s.shape)});`,
      );
    });
    for (const o of outputs)
      step.push(
        `${ctx.ref(o.project.id)}.set(${body.ref(o.node)}, ${t} * ${ctx.size(scan.body[o.node]!.shape)});`,
      );
    for (const id of residuals)
      step.push(
        `${ctx.use(ctx.names.residual(scan.id, id))}.set(${body.ref(id)}, ${t} * ${ctx.size(scan.body[id]!.shape)});`,
      );
    return step;
  };
  const step = stepReadingRows(reads, build, copies);
  lines.push(`for (let ${t} = 0; ${t} < ${length}; ${t}++) {\n${step.join("\n")}\n}`);
  return `{\n${lines.join("\n")}\n}`;
}

/** The backward loop: from the last step to the first, sending each state's adjoint back through its carries. */
export function emitScanAdjoint(
  ctx: StatementEmitter,
  adjoint: ScanAdjointNode,
  forward: ScanNode,
  projections: readonly ProjectNode[],
): string {
  const t = ctx.fresh("t");
  const length = ctx.dim(forward.length);
  const reads = new RowReads(ctx);
  const body = ctx.nested(
    adjoint.body,
    {
      ref: (id) => {
        const n = adjoint.body[id]!;
        if (n.kind === "outer") return ctx.ref(n.source);
        if (n.kind === "residual") {
          const f = forward.body[n.node]!;
          if (f.kind === "outer") return ctx.ref(f.source);
        }
        return reads.marker(id) ?? ctx.names.bodyTemp(adjoint.id, id);
      },
      outside: (id) => {
        const n = adjoint.body[id]!;
        if (n.kind === "outer") return n.source;
        if (n.kind === "residual") {
          const f = forward.body[n.node]!;
          if (f.kind === "outer") return f.source;
        }
        return undefined;
      },
    },
    bodyConstPrefix(adjoint.id),
  );
  const stacked = projections
    .filter((p) => p.what === "stacked")
    .map((p) => ({ project: p, node: adjoint.stacked[p.index]! }));
  const summed = projections
    .filter((p) => p.what === "summed")
    .map((p) => ({ project: p, node: adjoint.summed[p.index]! }));
  const roots = [
    ...adjoint.carries.map((c) => c.node),
    ...stacked.map((s) => s.node),
    ...summed.map((s) => s.node),
  ];
  // A contribution used only by its sum is added straight into the sum (no per-step buffer).
  const { direct, batched } = directSums(adjoint, projections, ctx.wasm);
  const ids = closure(
    adjoint.body,
    roots.flatMap((r) => (direct.has(r) ? dependencies(adjoint.body[r]!) : [r])),
  );
  body.plan(ids, new Set(roots));
  // A summed rank-1 update (∂Whh += δ h_{t−1}ᵀ) and the step's Wᵀδ in one pass over W.
  // Not a sum the WebAssembly target makes one product after the loop (batched).
  const pairable = new Set([...direct].filter((id) => !batched.has(id)));
  const paired = pairRankOneUpdates(
    body,
    adjoint.body,
    ids,
    summed,
    pairable,
    (p) => ctx.ref(p),
    (product) => intoRow.has(product) && reads.marker(product) !== undefined,
  );
  const lines: string[] = [];
  forward.states.forEach((s, k) => {
    const store = ctx.use(ctx.names.adjointState(adjoint.id, k));
    lines.push(`${store}.fill(0);`);
    const external = adjoint.stateAdjoints[k];
    if (external !== null && external !== undefined)
      lines.push(`${store}.set(${ctx.ref(external)}, ${s.lags} * ${ctx.size(s.shape)});`);
  });
  for (const s of summed) lines.push(`${ctx.ref(s.project.id)}.fill(0);`);
  // Where each value the step reads from outside lies: a row of the adjoint's state array,
  // of a sliced input, of the forward loop's residuals or states.
  const rows = new Map<NodeId, Row>();
  for (const id of ids) {
    const n = adjoint.body[id]!;
    const size = ctx.size(n.shape);
    if (n.kind === "state_adjoint")
      rows.set(id, {
        array: ctx.use(ctx.names.adjointState(adjoint.id, n.state)),
        offset: `(${t} + ${forward.states[n.state]!.lags}) * ${size}`,
      });
    else if (n.kind === "slice") rows.set(id, { array: ctx.ref(n.source), offset: `${t} * ${size}` });
    else if (n.kind === "residual") {
      const f = forward.body[n.node]!;
      const state = stateOf(forward, n.node);
      if (f.kind === "op" && state !== undefined)
        rows.set(id, {
          array: ctx.use(ctx.names.state(forward.id, state)),
          offset: `(${t} + ${forward.states[state]!.lags}) * ${size}`,
        });
      else if (f.kind === "op")
        rows.set(id, { array: ctx.use(ctx.names.residual(forward.id, n.node)), offset: `${t} * ${size}` });
      else if (f.kind === "carry") {
        const s = forward.states[f.state]!;
        rows.set(id, {
          array: ctx.use(ctx.names.state(forward.id, f.state)),
          offset: `(${t} + ${s.lags - f.lag}) * ${size}`,
        });
      } else if (f.kind === "slice") rows.set(id, { array: ctx.ref(f.source), offset: `${t} * ${size}` });
    }
  }
  if (!ctx.wasm) for (const [id, row] of rows) reads.add(id, row);
  // A paired Wᵀδ that is a carry's adjoint and nothing else's operand is added straight into
  // the carry's row of the adjoint's array (δ for the step before), not computed into a buffer
  // and added after: a marker for it too, which only the paired kernel reads.
  const intoRow = new Map<NodeId, number>();
  if (!ctx.wasm)
    for (const [k, c] of adjoint.carries.entries()) {
      const n = adjoint.body[c.node]!;
      const read = ids.some((id) => dependencies(adjoint.body[id]!).includes(c.node));
      const other = [...stacked, ...summed].some((s) => s.node === c.node);
      const twice = adjoint.carries.some((d, j) => j !== k && d.node === c.node);
      if (n.kind !== "op" || !paired.products.has(c.node) || read || other || twice || reads.has(c.node))
        continue;
      const s = forward.states[c.state]!;
      intoRow.set(c.node, k);
      reads.add(c.node, {
        array: ctx.use(ctx.names.adjointState(adjoint.id, c.state)),
        offset: `(${t} + ${s.lags - c.lag}) * ${ctx.size(s.shape)}`,
      });
    }
  // Named only where a copy into it is emitted: the other body nodes are the body's own statements.
  const copies = () =>
    [...rows].map(([id, row]) =>
      copyIn(
        ctx,
        ctx.use(ctx.names.bodyTemp(adjoint.id, id)),
        row.array,
        row.offset,
        ctx.size(adjoint.body[id]!.shape),
      ),
    );
  let after: string[] = [];
  const build = () => {
    const step = ids.map((id) => body.emit(id)).filter((s) => s !== "");
    for (const c of adjoint.carries) {
      if (intoRow.has(c.node) && reads.marker(c.node) !== undefined) continue;
      const s = forward.states[c.state]!;
      const size = ctx.size(s.shape);
      const [o, i] = [ctx.fresh("o"), ctx.fresh("i")];
      step.push(
        `{ const ${o} = (${t} + ${s.lags - c.lag}) * ${size}; for (let ${i} = 0; ${i} < ${size}; ${i}++) ${ctx.use(ctx.names.adjointState(adjoint.id, c.state))}[${o} + ${i}] += ${body.ref(c.node)}[${i}]; }`,
      );
    }
    for (const s of stacked)
      step.push(
        `${ctx.ref(s.project.id)}.set(${body.ref(s.node)}, ${t} * ${ctx.size(adjoint.body[s.node]!.shape)});`,
      );
    after = [];
    for (const s of summed) {
      const target = ctx.ref(s.project.id);
      const n = adjoint.body[s.node]!;
      if (paired.sums.has(s.node)) continue;
      if (batched.has(s.node) && n.kind === "op") {
        const stacks = n.args.map((a, k) => {
          const stack = ctx.use(ctx.names.stack(adjoint.id, s.node, k));
          step.push(`${stack}.set(${body.ref(a)}, ${t} * ${ctx.size(adjoint.body[a]!.shape)});`);
          return stack;
        });
        const call = getOp(n.op).sumOverSteps!(ctx, n, target, stacks, length);
        if (call !== undefined) {
          after.push(call);
          continue;
        }
      }
      if (direct.has(s.node) && n.kind === "op") {
        step.push(getOp(n.op).accumulate!(body, n, target));
        continue;
      }
      const i = ctx.fresh("i");
      step.push(
        `for (let ${i} = 0; ${i} < ${ctx.size(n.shape)}; ${i}++) ${target}[${i}] += ${body.ref(s.node)}[${i}];`,
      );
    }
    return step;
  };
  const step = stepReadingRows(reads, build, copies);
  lines.push(`for (let ${t} = ${length} - 1; ${t} >= 0; ${t}--) {\n${step.join("\n")}\n}`, ...after);
  return `{\n${lines.join("\n")}\n}`;
}

/**
 * Each summed rank-1 update g hᵀ added straight into its sum whose g also feeds Wᵀg in the
 * step, W shaped like the update: both in one pass over W's rows at the product's place in
 * the step (its operands are computed by then; the update's sum is read only after the loop).
 */
function pairRankOneUpdates(
  body: StatementEmitter,
  nodes: readonly Node[],
  ids: readonly NodeId[],
  summed: readonly { project: ProjectNode; node: NodeId }[],
  direct: ReadonlySet<NodeId>,
  target: (project: NodeId) => string,
  /** Whether the product is added to what its buffer holds (a row of the adjoint's array). */
  adds: (product: NodeId) => boolean,
): { sums: Set<NodeId>; products: Set<NodeId> } {
  const paired = new Set<NodeId>();
  const taken = new Set<NodeId>();
  for (const s of summed) {
    const outer = nodes[s.node]!;
    if (!direct.has(s.node) || outer.kind !== "op" || outer.op !== "outer") continue;
    const [g, h] = outer.args as [NodeId, NodeId];
    const product = ids.find(
      (id) => !taken.has(id) && !body.isComputedElsewhere(id) && isTransposedPartner(nodes, outer, id),
    );
    if (product === undefined) continue;
    taken.add(product);
    paired.add(s.node);
    const w = (nodes[product] as Extract<Node, { kind: "op" }>).args[0]!;
    body.group([product], product, () =>
      emitOuterAndTransposedProduct(body, {
        g: body.ref(g),
        h: body.ref(h),
        w: body.ref(w),
        target: target(s.project.id),
        assign: "+=",
        product: body.ref(product),
        m: body.dim(outer.shape[0]!),
        n: body.dim(outer.shape[1]!),
        addToProduct: adds(product),
      }),
    );
  }
  return { sums: paired, products: taken };
}
