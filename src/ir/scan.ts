import type { Span } from "../diagnostics/span.js";
import * as D from "../diagnostics/codes.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { formatShape, type NodeId, type Shape } from "./types.js";
import { DimUnifier, isVariable, sameShape, unifyShapes, withUnifier } from "./shapes.js";
import { lowerExpr } from "./expr.js";
import { analyzeName, referencedNames } from "./steps.js";
import type { CallExpr, Equation, Lowering } from "./lower.js";
import { BodyScope } from "./body.js";

export interface BuiltScan {
  readonly scan: NodeId;
  /** Stacked values of each named equation over the index, by base name. */
  readonly stacked: ReadonlyMap<string, NodeId>;
  /** Stacked per-step values of each `sum_t(…)` argument. */
  readonly reductions: ReadonlyMap<CallExpr, NodeId>;
}

/** What one scan of an index is built from. */
interface GroupContext {
  readonly equations: ReadonlyMap<string, Equation>;
  readonly reductions: readonly CallExpr[];
  readonly states: readonly StateInfo[];
  /** Whether it runs from the last step to the first (its states read later steps). */
  readonly reverse: boolean;
  /** The stacked values of the index's scans that run before it, by name. */
  readonly earlier: ReadonlyMap<string, NodeId>;
}

interface StateInfo {
  readonly name: string;
  readonly lags: number;
  readonly init: readonly NodeId[];
  readonly span: Span;
}

/** The longest lag a recurrence may read (h_<t-1000>): each lag needs its own initial value. */
const MAX_LAG = 1000;

/** At most this many combinations of the model's sizes are tried when solving cannot fix a size. */
const SHAPE_TRIALS = 400;

/** Shape problems of rules that need sizes as numbers: solving cannot supply them. */
const NEEDS_NUMBERS: ReadonlySet<string> = new Set([
  "concatFixed",
  "sliceFixed",
  "convFixed",
  "poolFixed",
  "flattenFixed",
  "reshape",
]);

/** The highest rank a state solved for may have: a batch of images. */
const MAX_STATE_RANK = 4;

/** Ranks for `n` open states, smallest in total first. */
function rankChoices(n: number): number[][] {
  const all: number[][] = [[]];
  for (let k = 0; k < n; k++)
    all.splice(
      0,
      all.length,
      ...all.flatMap((r) => Array.from({ length: MAX_STATE_RANK + 1 }, (_, d) => [...r, d])),
    );
  return all.sort((a, b) => a.reduce((x, y) => x + y, 0) - b.reduce((x, y) => x + y, 0));
}

/**
 * Builds the scan of one index: the body graph of its equations (`h_t = …`, `yhat_t = …`)
 * and of the `sum_t(…)` arguments, with carries for earlier steps (`h_<t-1>`), slices of
 * sequences (`x_t`) and loop-invariant outer values; the states' shapes; the stacked
 * projections the rest of the model reads.
 */
export class ScanLowering {
  currentBody: BodyScope | undefined;
  private readonly built = new Map<string, BuiltScan | null | "building">();
  /** The diagnostics of the last attempt at solving state shapes. */
  private probeErrors: Diagnostic[] = [];
  /** Whether any attempt got as far as a body or an error of its own. */
  private probeSpoke = false;

  constructor(private readonly host: Lowering) {}

  /** Runs `f` in the outer context, with no body current. */
  outside<T>(f: () => T): T {
    const body = this.currentBody;
    const builder = this.host.builder;
    this.currentBody = undefined;
    this.host.builder = this.host.outer;
    try {
      return f();
    } finally {
      this.currentBody = body;
      this.host.builder = builder;
    }
  }

  scanFor(index: string, span: Span): BuiltScan | null {
    const state = this.built.get(index);
    if (state === "building") {
      this.host.report(D.cycle(span, [...this.host.loweringStack, `the recurrence over ${index}`]));
      return null;
    }
    if (state !== undefined) return state;
    this.built.set(index, "building");
    const result = this.outside(() => this.build(index, span));
    this.built.set(index, result);
    return result;
  }

  stacked(index: string, base: string, span: Span): NodeId | null {
    return this.scanFor(index, span)?.stacked.get(base) ?? null;
  }

  reductionOutput(index: string, call: CallExpr): NodeId | null {
    return this.scanFor(index, call.span)?.reductions.get(call) ?? null;
  }

  /**
   * The scans of one index. Its equations run as one scan, forwards, unless some state reads
   * later steps (g_<t+1>): then they split into up to three scans, in order — the equations
   * that need no backward state (forwards), the backward states and what they need
   * (backwards, over flipped sequences), and the rest, which read both (forwards: a
   * bidirectional RNN's output). A later scan reads an earlier one's values at the current
   * step as it reads a sequence.
   */
  private build(index: string, span: Span): BuiltScan | null {
    const host = this.host;
    const equations = host.symbols.stepEquations.get(index) ?? new Map<string, Equation>();
    const reductions = (host.symbols.reductions.get(index) ?? []).filter(
      (c) => c.args.length === 1 && c.args[0]!.name === undefined,
    );
    const reads = new Map<string, Set<string>>();
    const lags = new Map<string, Span>();
    const leads = new Map<string, Span>();
    for (const [base, e] of equations) {
      const deps = new Set<string>();
      for (const name of referencedNames(e.value)) {
        const a = analyzeName(name, host.symbols.indices);
        if (a.kind !== "step" || !equations.has(a.base) || (a.index && a.index !== index)) continue;
        deps.add(a.base);
        if (a.ref.kind === "lag" && !lags.has(a.base)) lags.set(a.base, name.span);
        if (a.ref.kind === "lead" && !leads.has(a.base)) leads.set(a.base, name.span);
      }
      reads.set(base, deps);
    }
    for (const [base, at] of leads)
      if (lags.has(base)) {
        host.report(
          D.stepContext(
            at,
            `'${base}' reads both earlier steps ('${base}_<${index}-1>') and later ones ('${base}_<${index}+1>'): a recurrence runs one way; write the two directions as two states`,
          ),
        );
        return null;
      }
    if (leads.size === 0) return this.buildGroup(index, span, equations, reductions, false, new Map());

    // Which equations need a backward state, directly or through others.
    const needsBackward = new Set<string>(leads.keys());
    for (let grew = true; grew;) {
      grew = false;
      for (const [base, deps] of reads)
        if (!needsBackward.has(base) && [...deps].some((d) => needsBackward.has(d))) {
          needsBackward.add(base);
          grew = true;
        }
    }
    const backward = new Set<string>();
    const stack = [...leads.keys()];
    while (stack.length > 0) {
      const base = stack.pop()!;
      if (backward.has(base) || !needsBackward.has(base)) continue;
      backward.add(base);
      stack.push(...reads.get(base)!);
    }
    for (const base of backward)
      if (lags.has(base)) {
        host.report(
          D.stepContext(
            lags.get(base)!,
            `'${base}' reads earlier steps, but a recurrence that reads later steps needs it at the same step: the two cannot run in one direction`,
          ),
        );
        return null;
      }
    const pick = (keep: (base: string) => boolean) => new Map([...equations].filter(([base]) => keep(base)));
    const groups = [
      { equations: pick((b) => !needsBackward.has(b)), reverse: false },
      { equations: pick((b) => backward.has(b)), reverse: true },
      { equations: pick((b) => needsBackward.has(b) && !backward.has(b)), reverse: false },
    ].filter((g) => g.equations.size > 0);
    const stacked = new Map<string, NodeId>();
    const reductionMap = new Map<CallExpr, NodeId>();
    let last: BuiltScan | null = null;
    for (const [k, g] of groups.entries()) {
      const built = this.buildGroup(
        index,
        span,
        g.equations,
        k === groups.length - 1 ? reductions : [],
        g.reverse,
        stacked,
      );
      if (!built) return null;
      for (const [name, id] of built.stacked) stacked.set(name, id);
      for (const [call, id] of built.reductions) reductionMap.set(call, id);
      last = built;
    }
    return { scan: last!.scan, stacked, reductions: reductionMap };
  }

  /**
   * One scan: the body graph of its equations and of the `sum_t(…)` arguments, with carries
   * for the steps it computed before (`h_<t-1>`, or `g_<t+1>` when it runs backwards), slices
   * of sequences (`x_t`) and of earlier scans' values, and loop-invariant outer values; the
   * states' shapes; the stacked projections the rest of the model reads.
   */
  private buildGroup(
    index: string,
    span: Span,
    equations: ReadonlyMap<string, Equation>,
    reductions: readonly CallExpr[],
    reverse: boolean,
    earlier: ReadonlyMap<string, NodeId>,
  ): BuiltScan | null {
    const host = this.host;
    const info = host.symbols.indices.get(index)!;
    const expressions = [
      ...[...equations.values()].map((e) => e.value),
      ...reductions.map((c) => c.args[0]!.value),
    ];
    const carried = reverse ? "lead" : "lag";
    const lags = new Map<string, { k: number; span: Span }>();
    for (const e of expressions) {
      for (const name of referencedNames(e)) {
        const a = analyzeName(name, host.symbols.indices);
        if (a.kind !== "step" || a.ref.kind !== carried || !equations.has(a.base)) continue;
        const previous = lags.get(a.base);
        if (!previous || a.ref.k > previous.k)
          lags.set(a.base, { k: a.ref.k, span: previous?.span ?? name.span });
      }
    }
    let ok = true;
    const states: StateInfo[] = [];
    const sign = reverse ? "+" : "-";
    for (const [name, { k, span: at }] of lags) {
      // Each step back needs its own initial value: past a thousand, the lag is a slip.
      if (k > MAX_LAG) {
        host.report(
          D.stepOutOfRange(
            at,
            `'${name}_<${index}${sign}${k}>' reads ${k} steps ${reverse ? "ahead" : "back"}; a recurrence reads at most ${MAX_LAG} steps ${reverse ? "ahead" : "back"}, each with its own initial value`,
          ),
        );
        ok = false;
        continue;
      }
      // Oldest first in the order the scan runs: h_<-1>, h_0 forwards; g_<T+2>, g_<T+1> backwards.
      const positions = Array.from({ length: k }, (_, i) => (reverse ? k - i : i + 1 - k));
      const label = (p: number) =>
        !reverse
          ? p === 0
            ? `${name}_0`
            : `${name}_<${p}>`
          : info.upperDim
            ? `${name}_<${info.upperDim}+${p}>`
            : `${name}_${Number(info.length) + p}`;
      const has = (p: number) =>
        reverse
          ? host.symbols.finalDefinition(name, p, info.length) !== undefined
          : host.symbols.hasInit(name, p);
      const missing = positions.filter((p) => !has(p));
      if (missing.length > 0 && reverse && host.symbols.hasInit(name, 0)) {
        // h_0 given and h_<t+1> read: most likely a slip for h_<t-1>.
        host.report(
          D.futureStep(
            at,
            `${name}_<${index}+${k}>`,
            `'${name}' starts from ${name}_0, so read '${name}_<${index}-${k}>'; a recurrence that runs backwards starts after the last step ('${label(1)} = …')`,
          ),
        );
        ok = false;
        continue;
      }
      if (missing.length > 0) {
        host.report(D.missingInitialValue(at, name, missing.map(label), reverse));
        ok = false;
        continue;
      }
      const init = positions.map((p) =>
        reverse ? host.finalValue(name, p, info.length, at) : host.initValue(name, p, at),
      );
      if (init.some((x) => x === null || x === undefined)) ok = false;
      else states.push({ name, lags: k, init: init as NodeId[], span: at });
    }
    // Outer values the body reads are lowered once, for real, before any shape probing.
    for (const e of expressions) {
      for (const name of referencedNames(e)) {
        const a = analyzeName(name, host.symbols.indices);
        if (a.kind === "plain" && host.symbols.isOuterName(a.name)) host.lowerName(a.name, name.span);
      }
    }
    if (!ok) return null;

    const group: GroupContext = { equations, reductions, states, reverse, earlier };
    const shapes = this.inferShapes(index, group);
    if (!shapes) return null;
    const lowered = this.lowerBody(index, group, shapes);
    if (!lowered) return null;
    const { scope, reductionNodes } = lowered;
    for (const [i, s] of states.entries()) {
      const next = scope.nodeOf.get(s.name)!;
      if (!sameShape(scope.b.shape(next!), shapes[i]!)) {
        host.report(
          D.stateShape(
            equations.get(s.name)!.target.span,
            `'${s.name}_${index}' has shape ${formatShape(scope.b.shape(next!))}, but its ${reverse ? "later" : "earlier"} steps have shape ${formatShape(shapes[i]!)}`,
          ),
        );
        return null;
      }
      for (const init of s.init) {
        const initShape = host.outer.shape(init);
        if (initShape.length > 0 && !sameShape(initShape, shapes[i]!)) {
          host.report(
            D.stateShape(
              s.span,
              `the initial value of '${s.name}' has shape ${formatShape(initShape)}, but '${s.name}_${index}' has shape ${formatShape(shapes[i]!)}`,
            ),
          );
          return null;
        }
      }
    }
    const stateNames = new Set(states.map((s) => s.name));
    const perStep = [...equations.keys()].filter((name) => !stateNames.has(name));
    const outputs = [...perStep.map((name) => scope.nodeOf.get(name)!), ...reductionNodes];
    const sources = new Set<NodeId>(states.flatMap((s) => s.init));
    for (const n of scope.b.nodes) if (n.kind === "slice" || n.kind === "outer") sources.add(n.source);
    const scan = host.outer.add({
      kind: "scan",
      args: [...sources].sort((a, b) => a - b),
      index,
      length: info.length,
      body: scope.b.nodes,
      states: states.map((s, i) => ({
        name: s.name,
        shape: shapes[i]!,
        lags: s.lags,
        init: s.init,
        next: scope.nodeOf.get(s.name)!,
      })),
      outputs,
      shape: [],
      span,
      ...(reverse ? { reverse: true } : {}),
    });
    const stacked = new Map<string, NodeId>();
    const lengthDisplay = info.upperDim ?? info.length;
    const project = (what: "state" | "output", k: number, shape: Shape, name?: string) => {
      const inOrder = host.outer.add({
        kind: "project",
        scan,
        what,
        index: k,
        position: 0,
        shape: [info.length, ...shape],
        span,
      });
      // A backward scan stacks its steps last to first: flipped back, step t is at t.
      const id = reverse ? host.outer.op("flip", [inOrder], {}, span) : inOrder;
      if (name) {
        stacked.set(name, id);
        host.named.push({
          name,
          node: id,
          kind: "equation",
          declaredShape: [lengthDisplay, ...shape],
          index,
          ...(equations.get(name)!.latex ? { latex: equations.get(name)!.latex!.text } : {}),
          written: host.written(equations.get(name)!),
          span: equations.get(name)!.target.span,
        });
      }
      return id;
    };
    states.forEach((s, i) => project("state", i, shapes[i]!, s.name));
    perStep.forEach((name, k) => project("output", k, scope.b.shape(scope.nodeOf.get(name)!), name));
    const reductionMap = new Map<CallExpr, NodeId>();
    reductions.forEach((call, k) =>
      reductionMap.set(call, project("output", perStep.length + k, scope.b.shape(reductionNodes[k]!))),
    );
    return { scan, stacked, reductions: reductionMap };
  }

  /**
   * A state's shape is its initial value's, unless that is a bare number (h_0 = 0): then it
   * is solved for. The state gets a shape of unknown sizes (variables), the step equations
   * are lowered once with it, and the shape rules fix each variable where they meet it (the
   * inner size of Whh h_<t-1>, the partner of a sum); the step's new value must then have the
   * state's shape. Ranks are tried smallest first (a vector before a batch of them), so the
   * smallest shape the step maps to itself is the one found.
   */
  private inferShapes(index: string, group: GroupContext): Shape[] | null {
    const states = group.states;
    const fixed = states.map((s) =>
      s.init.map((i) => this.host.outer.shape(i)).find((shape) => shape.length > 0),
    );
    const open = states.map((_, i) => i).filter((i) => fixed[i] === undefined);
    if (open.length === 0) return fixed as Shape[];
    this.probeSpoke = false;
    for (const ranks of rankChoices(open.length)) {
      const found = this.solve(index, group, fixed, open, ranks);
      if (found) return found;
      // A rule that needs a size as a number met an unknown one: other ranks will meet it too.
      if (this.probeErrors.some((d) => NEEDS_NUMBERS.has(d.shapeProblem ?? ""))) break;
    }
    // Sizes the rules need as numbers (a concat's, a convolution's) are not solved for: then
    // the model's own sizes are tried, smallest first.
    const searched = this.search(index, group, fixed, open);
    if (searched) return searched;
    // Every attempt failed silently: something the body reads failed and was reported already.
    if (!this.probeSpoke) return null;
    // Errors that every attempt hit whatever the shapes (a bad subscript, an unknown name) are the real ones.
    const shapeless = this.probeErrors.filter((d) => !d.fromShapeRule);
    if (shapeless.length > 0) {
      for (const d of shapeless) this.host.report(d);
      return null;
    }
    const names = open.map((i) => states[i]!.name);
    this.host.report(
      D.stateShape(
        states[open[0]!]!.span,
        `cannot infer the shape of ${names.map((n) => `'${n}'`).join(" and ")} from an initial value that is a bare number; give it a shape, e.g. 'const ${names[0]}0: [H] = 0' and '${names[0]}_0 = ${names[0]}0'`,
      ),
    );
    return null;
  }

  /** The open states' shapes at these ranks, solved; undefined when the step equations admit none. */
  private solve(
    index: string,
    group: GroupContext,
    fixed: readonly (Shape | undefined)[],
    open: readonly number[],
    ranks: readonly number[],
  ): Shape[] | undefined {
    const u = new DimUnifier();
    const shapes = fixed.map((s) => s) as Shape[];
    open.forEach((i, k) => (shapes[i] = Array.from({ length: ranks[k]! }, () => u.fresh())));
    if (!withUnifier(u, () => this.fits(index, group, shapes))) return undefined;
    // A size no equation fixed is one that only broadcasts (h_<t-1> + b with b: [1, H]): 1.
    return shapes.map((shape) =>
      shape.map((d) => {
        const r = u.resolve(d);
        return isVariable(r) ? 1 : r;
      }),
    );
  }

  /** Shapes made of the model's declared sizes, tried smallest first, for what solving cannot fix. */
  private search(
    index: string,
    group: GroupContext,
    fixed: readonly (Shape | undefined)[],
    open: readonly number[],
  ): Shape[] | undefined {
    const candidates = this.candidateShapes();
    let trials = 0;
    const assignment = [...fixed];
    const attempt = (k: number): Shape[] | undefined => {
      if (k === open.length) {
        if (++trials > SHAPE_TRIALS) return undefined;
        return this.fits(index, group, assignment as Shape[]) ? (assignment as Shape[]).slice() : undefined;
      }
      for (const c of candidates) {
        assignment[open[k]!] = c;
        const found = attempt(k + 1);
        if (found) return found;
      }
      return undefined;
    };
    return attempt(0);
  }

  /**
   * Lowers the step equations with these state shapes, its diagnostics kept aside: whether
   * each step maps its state to the state's shape (while solving, that binds the unknowns).
   */
  private fits(index: string, group: GroupContext, shapes: readonly Shape[]): boolean {
    const muted: Diagnostic[] = [];
    const saved = this.host.muted;
    this.host.muted = muted;
    this.probeErrors = muted;
    try {
      const lowered = this.lowerBody(index, group, shapes);
      if (lowered !== null || muted.length > 0) this.probeSpoke = true;
      return (
        lowered !== null &&
        muted.length === 0 &&
        group.states.every((s, i) =>
          unifyShapes(lowered.scope.b.shape(lowered.scope.nodeOf.get(s.name)!), shapes[i]!),
        )
      );
    } finally {
      this.host.muted = saved;
    }
  }

  /** [] first, then every declared per-step shape, each of its axes and each pair of axes, smallest first. */
  private candidateShapes(): Shape[] {
    const seen = new Map<string, Shape>([["", []]]);
    const add = (s: Shape) => seen.has(s.join(",")) || seen.set(s.join(","), s);
    for (const n of this.host.named) {
      if (n.kind !== "input" && n.kind !== "target" && n.kind !== "param" && n.kind !== "const") continue;
      const shape = this.host.outer.shape(n.node).slice(n.index ? 1 : 0);
      for (const d of shape) add([d]);
      add(shape);
    }
    // A batch of states (h_0 = 0 read against x_t: [N, D]) is a matrix of two of the model's
    // dims that no declaration need spell out.
    const axes = [...seen.values()].filter((s) => s.length === 1).map((s) => s[0]!);
    for (const a of axes) for (const b of axes) add([a, b]);
    // Smallest first: by rank, then by entries (a run-time dim counts as larger than any size).
    const entries = (s: Shape) => s.reduce<number>((n, d) => n * (typeof d === "number" ? d : 2 ** 30), 1);
    return [...seen.values()].sort((a, b) => a.length - b.length || entries(a) - entries(b));
  }

  private lowerBody(index: string, group: GroupContext, shapes: readonly Shape[]) {
    const host = this.host;
    const { equations, reductions, states } = group;
    const scope = new BodyScope(
      host,
      this,
      index,
      equations,
      new Map(states.map((s, i) => [s.name, { index: i, shape: shapes[i]! }])),
      group.reverse,
      group.earlier,
    );
    const savedBody = this.currentBody;
    const savedBuilder = host.builder;
    this.currentBody = scope;
    host.builder = scope.b;
    const errors = () => (host.muted ?? []).length;
    const before = errors();
    let failed = false;
    try {
      for (const [name, e] of equations) if (scope.equation(name, e.target.span) === null) failed = true;
      const reductionNodes = reductions.map((c) => lowerExpr(host, c.args[0]!.value));
      if (reductionNodes.some((n) => n === null)) failed = true;
      if (failed || errors() > before) return null;
      return { scope, reductionNodes: reductionNodes as NodeId[] };
    } finally {
      this.currentBody = savedBody;
      host.builder = savedBuilder;
    }
  }
}
