import { GraphBuilder } from "../ir/builder.js";
import type { Node, NodeId, ScanNode } from "../ir/types.js";
import { reduceTo } from "../ops/common.js";
import { sweep, type Contribute, type Seed } from "./reverse.js";

/**
 * The adjoint of a scan is a scan run backwards (backpropagation through time): its body is
 * the vector-Jacobian product of the forward body, built by the same sweep as the outer
 * graph, so the compiler never unrolls time. At each step, backwards:
 *   - a state's adjoint is what the loss sends it directly plus what later steps sent back
 *     through their carries (δ_t = … + W_hhᵀ δ_{t+1} …);
 *   - sequences read as slices (x_t, W_l) receive one adjoint per step, stacked;
 *   - loop-invariant values (W_hh) receive the sum over the steps (Σ_t δ_t h_{t-1}ᵀ);
 *   - initial values receive what reaches the steps before the first.
 */
export function differentiateScan(
  b: GraphBuilder,
  scan: ScanNode,
  nodes: readonly Node[],
  adjoints: ReadonlyMap<NodeId, NodeId>,
  relevant: (id: NodeId) => boolean,
  contribute: Contribute,
): void {
  const stateAdjoints: (NodeId | null)[] = scan.states.map(() => null);
  const outputAdjoints: (NodeId | null)[] = scan.outputs.map(() => null);
  for (const n of nodes) {
    if (n.kind !== "project" || n.scan !== scan.id) continue;
    const a = adjoints.get(n.id);
    if (a === undefined) continue;
    if (n.what === "state") stateAdjoints[n.index] = a;
    else outputAdjoints[n.index] = a;
  }
  if (stateAdjoints.every((a) => a === null) && outputAdjoints.every((a) => a === null)) return;

  const body = scan.body;
  const stateRelevant = scan.states.map((s) => s.init.some(relevant));
  const bodyRelevant = new Array<boolean>(body.length).fill(false);
  for (let changed = true; changed;) {
    changed = false;
    for (const n of body) {
      const r =
        n.kind === "carry"
          ? stateRelevant[n.state]!
          : n.kind === "slice" || n.kind === "outer"
            ? relevant(n.source)
            : n.kind === "op" && n.args.some((a) => bodyRelevant[a]);
      if (r && !bodyRelevant[n.id]) {
        bodyRelevant[n.id] = true;
        changed = true;
      }
    }
    scan.states.forEach((s, k) => {
      if (!stateRelevant[k] && bodyRelevant[s.next]) {
        stateRelevant[k] = true;
        changed = true;
      }
    });
  }

  // The reverse body starts with one node per forward body node, at the same ids, so the ops'
  // VJP rules (which name their node and args by id) read the forward values at the current step.
  const rb = new GraphBuilder();
  for (const n of body) {
    if (n.kind === "const") rb.add({ kind: "const", shape: n.shape, value: n.value, span: n.span });
    else rb.add({ kind: "residual", node: n.id, shape: n.shape, span: n.span });
  }
  // A state's value at step t receives its total δ (from the loss directly and from later
  // steps); a per-step output receives row t of what the equations after the recurrence send it.
  const seeds: Seed[] = [];
  scan.states.forEach((s, k) => {
    if (!stateRelevant[k] || !bodyRelevant[s.next]) return;
    const value = rb.add(
      { kind: "state_adjoint", state: k, shape: s.shape, span: scan.span },
      `state_adjoint|${k}`,
    );
    seeds.push({ node: s.next, value, term: { kind: "state", state: k, value } });
  });
  scan.outputs.forEach((o, k) => {
    const g = outputAdjoints[k];
    if (g === null || !bodyRelevant[o]) return;
    const value = rb.add({ kind: "slice", source: g, shape: body[o]!.shape, span: scan.span }, `slice|${g}`);
    seeds.push({ node: o, value, term: { kind: "direct", source: g, value } });
  });
  const result = sweep(body, body.length, rb, (id) => bodyRelevant[id]!, seeds);

  const carries: { state: number; lag: number; node: NodeId }[] = [];
  const stacked: NodeId[] = [];
  const stackedSources: NodeId[] = [];
  const summed: NodeId[] = [];
  const summedSources: NodeId[] = [];
  for (const n of body) {
    const a = result.adjoints.get(n.id);
    if (a === undefined) continue;
    if (n.kind === "carry") carries.push({ state: n.state, lag: n.lag, node: a });
    if (n.kind === "slice") {
      stacked.push(a);
      stackedSources.push(n.source);
    }
    if (n.kind === "outer") {
      summed.push(a);
      summedSources.push(n.source);
    }
  }
  const sources = new Set<NodeId>([scan.id]);
  for (const a of [...stateAdjoints, ...outputAdjoints]) if (a !== null) sources.add(a);
  for (const n of rb.nodes) if (n.kind === "slice" || n.kind === "outer") sources.add(n.source);
  const adjoint = b.add({
    kind: "scan_adjoint",
    forward: scan.id,
    args: [...sources].sort((x, y) => x - y),
    body: rb.nodes,
    stateAdjoints,
    carries,
    stacked,
    stackedSources,
    summed,
    summedSources,
    trace: result.trace,
    shape: [],
    span: scan.span,
  });
  const project = (
    what: "stacked" | "summed" | "init",
    index: number,
    position: number,
    shape: Node["shape"],
  ) =>
    b.add({
      kind: "project",
      scan: adjoint,
      what,
      index,
      position,
      shape,
      span: scan.span,
    });
  const through = (to: NodeId, part: "stacked" | "summed" | "init", index: number, value: NodeId) =>
    contribute(to, { kind: "recurrence", scan: scan.id, part, index, value });
  stackedSources.forEach((source, j) =>
    through(source, "stacked", j, project("stacked", j, 0, b.shape(source))),
  );
  summedSources.forEach((source, j) =>
    through(source, "summed", j, project("summed", j, 0, b.shape(source))),
  );
  scan.states.forEach((s, k) => {
    if (!stateRelevant[k]) return;
    s.init.forEach((init, p) => {
      if (relevant(init))
        through(init, "init", k, reduceTo(b, project("init", k, p, s.shape), b.shape(init)));
    });
  });
}
