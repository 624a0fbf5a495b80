import type { Graph, Node, NodeId, ScanNode } from "../ir/types.js";
import type { Gradient } from "../autodiff/reverse.js";
import { allOps } from "../ir/registry.js";
import { WASM_IDENTIFIERS } from "./wasm.js";

/**
 * The identifiers of the generated code. Buffers holding a model's values are named after
 * them (`h`, `Wxh`) and gradients after what they are (`dL_dWxh`, the δ `dL_dh`), so the
 * module reads like the model; everything else is numbered.
 *
 * A model's names are identifiers of the grammar ([A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*),
 * so they cannot spell anything but an identifier. What they could do is collide: with a
 * JavaScript keyword or global, with the module's own functions and locals, with the
 * numbered arrays of this graph (`v12`, `K3`, `s9_0`), or with each other; a name that
 * would is given a trailing underscore, which no model name has, until it is unique. The
 * numbered locals of the code (`i0`, `s9_0_0`) skip the numbers whose names a model took.
 */
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

const JAVASCRIPT = [
  // Keywords, reserved words and strict-mode restrictions.
  "arguments break case catch class const continue debugger default delete do else enum eval export extends false finally for function if implements import in instanceof interface let new null package private protected public return static super switch this throw true try typeof var void while with yield async await of get set as any type number string boolean object unknown never readonly keyof declare namespace module abstract",
  // Globals the module reads, and ones a reader would not want shadowed.
  "undefined NaN Infinity Math Number Object Array Float64Array Float32Array Int32Array Uint8Array ArrayBuffer Error TypeError RangeError JSON String Boolean Symbol Map Set Date RegExp Promise Reflect Proxy globalThis console process require exports window self BigInt isNaN isFinite parseInt parseFloat ReturnType Partial Record",
];

/**
 * The identifiers a model's buffer could shadow or redeclare: everything the module declares
 * at its top level, and the parameters and locals of the functions that hold the buffers
 * (forward, gradient, hessianVectorProduct). test/codegen/names.test.ts parses generated
 * modules and fails when one is missing.
 */
export const MODULE_IDENTIFIERS: readonly string[] = [
  "modelName shapes shapeNames example dims defaultLearningRate Params Inputs Gradients Dims ForwardResult GradientResult",
  "need given object array check overlaps paramNames inputNames checkOut checkedOut bindDims workspace allocate buffers",
  "forward zeroGradients gradient sgdStep trainStep hessianVectorProduct hessianOrder hessian nablaSolve newtonStep",
  "createOptimizerState optimizerStep optimizerStates stateFor OptimizerState stepRate clipFactor",
  "params inputs out w data direction state",
  WASM_IDENTIFIERS.join(" "),
]
  .join(" ")
  .split(" ");

const RESERVED: ReadonlySet<string> = new Set([
  ...JAVASCRIPT.join(" ").split(" "),
  ...MODULE_IDENTIFIERS,
  ...allOps().flatMap((op) => Object.keys(op.helpers ?? {})),
]);

/** Hands out identifiers, each at most once, none of them a numbered array's name. */
export class Identifiers {
  private readonly taken = new Set<string>();

  constructor(private readonly numbered: ReadonlySet<string> = new Set()) {}

  /** An identifier made from `base` (model names), or `fallback` when base is not one. */
  claim(base: string, fallback: string): string {
    if (!IDENTIFIER.test(base)) return fallback;
    let name = base;
    while (RESERVED.has(name) || this.numbered.has(name) || this.taken.has(name)) name += "_";
    this.taken.add(name);
    return name;
  }

  get claimed(): ReadonlySet<string> {
    return this.taken;
  }
}

/**
 * The names of a module's arrays. Each has a numbered name (`v12`, a scan's state store
 * `s11_0`, a body temporary `bt11_4`); those the model's names describe are called by them
 * instead: values and params by their names, gradients `dL_dW`, δs `dL_dh`, a recurrence's
 * states over all steps `h_steps`, and inside its loop `h_t`, `h_prev`, `x_t`.
 */
export class CodeNames {
  /** Claimed names and their stems without `_<digits>` suffixes: a kernel's registers extend a local as `s9_0_0`. */
  private readonly stems = new Set<string>();

  constructor(
    private readonly readable: ReadonlyMap<string, string> = new Map(),
    claimed: Iterable<string> = [],
  ) {
    for (let name of claimed) {
      this.stems.add(name);
      while (/_\d+$/.test(name)) this.stems.add((name = name.replace(/_\d+$/, "")));
    }
  }

  /** Whether a numbered local (`i12`) would meet a model's name, itself or extended by `_<digits>`. */
  blocks(local: string): boolean {
    return this.stems.has(local);
  }

  private pick(numbered: string): string {
    return this.readable.get(numbered) ?? numbered;
  }

  buffer(id: NodeId): string {
    return this.pick(`v${id}`);
  }

  /** A scan's state over every step, its initial values first. */
  state(scan: NodeId, k: number): string {
    return this.pick(`s${scan}_${k}`);
  }

  /** A scan adjoint's δ of a state over every step. */
  adjointState(adjoint: NodeId, k: number): string {
    return this.pick(`d${adjoint}_${k}`);
  }

  /** A forward body value stored at every step for the backward loop. */
  residual(scan: NodeId, node: NodeId): string {
    return this.pick(`r${scan}_${node}`);
  }

  /** With the WebAssembly target: operand `k` of a backward loop's batched sum, over every step. */
  stack(adjoint: NodeId, node: NodeId, k: number): string {
    return `sk${adjoint}_${node}_${k}`;
  }

  /** A body node's value at the current step. */
  bodyTemp(scope: NodeId, node: NodeId): string {
    return this.pick(`bt${scope}_${node}`);
  }
}

/** The loss's name as the model writes it: gradients are named after it (dL_dW). */
export const lossName = (graph: Graph): string => graph.named.find((n) => n.kind === "loss")?.name ?? "L";

/** The readable names of a graph's arrays, claimed in order of importance: model names first. */
export function codeNames(graph: Graph, gradient: Gradient, nodes: readonly Node[]): CodeNames {
  const ids = new Identifiers(numberedNames(graph, nodes));
  const readable = new Map<string, string>();
  const named = new Map<NodeId, string>();
  const give = (numbered: string, base: string) => {
    if (readable.has(numbered)) return;
    const name = ids.claim(base, numbered);
    if (name !== numbered) readable.set(numbered, name);
  };
  const value = (id: NodeId | null | undefined, base: string) => {
    if (id === null || id === undefined || named.has(id)) return;
    const n = nodes[id];
    if (!n || n.kind === "const") return;
    named.set(id, base);
    give(`v${id}`, base);
  };
  const loss = lossName(graph);
  for (const n of graph.named) value(n.node, n.name);
  for (const [param, g] of gradient.params) value(g, `d${loss}_d${param}`);
  for (const n of graph.named)
    if (n.kind !== "loss") value(gradient.adjoints.get(n.node), `d${loss}_d${n.name}`);
  // One step of a named sequence, as the model reads it: h_T (the last step, by its dim's name), h_3.
  const declaredLength = new Map(graph.named.map((n) => [n.node, n.declaredShape[0]]));
  for (const n of nodes) {
    if (n.kind !== "op" || n.op !== "take" || !named.has(n.args[0]!)) continue;
    const length = declaredLength.get(n.args[0]!) ?? nodes[n.args[0]!]!.shape[0]!;
    const k = Number(n.attrs.k);
    const fromEnd = n.attrs.from === "end";
    const step = !fromEnd ? k + 1 : k === 0 ? length : typeof length === "number" ? length - k : undefined;
    if (step !== undefined) value(n.id, `${named.get(n.args[0]!)}_${step}`);
  }
  for (const n of nodes) {
    if (n.kind !== "scan" && n.kind !== "scan_adjoint") continue;
    const forward = (n.kind === "scan" ? n : nodes[n.forward]) as ScanNode;
    forward.states.forEach((s, k) =>
      n.kind === "scan"
        ? give(`s${n.id}_${k}`, `${s.name}_steps`)
        : give(`d${n.id}_${k}`, `d${loss}_d${s.name}_steps`),
    );
    if (n.kind !== "scan") continue;
    const index = n.index;
    n.states.forEach((s) => give(`bt${n.id}_${s.next}`, `${s.name}_${index}`));
    for (const b of n.body) {
      if (b.kind === "carry" && b.lag === 1) give(`bt${n.id}_${b.id}`, `${n.states[b.state]!.name}_prev`);
      if (b.kind === "slice" && named.has(b.source))
        give(`bt${n.id}_${b.id}`, `${named.get(b.source)}_${index}`);
    }
    for (const p of nodes)
      if (p.kind === "project" && p.scan === n.id && p.what === "output" && named.has(p.id))
        give(`bt${n.id}_${n.outputs[p.index]!}`, `${named.get(p.id)}_${index}`);
  }
  return new CodeNames(readable, ids.claimed);
}

/** Every numbered array name this graph's code can have: the names a model's may not take. */
function numberedNames(graph: Graph, nodes: readonly Node[]): Set<string> {
  const out = new Set<string>();
  const freeDims = [...graph.dims.values()].filter((v) => v === undefined).length;
  for (let i = 0; i < freeDims; i++) out.add(`d${i}`);
  for (const n of nodes) {
    out.add(`v${n.id}`).add(`K${n.id}`);
    if (n.kind !== "scan" && n.kind !== "scan_adjoint") continue;
    const forward = (n.kind === "scan" ? n : nodes[n.forward]) as ScanNode;
    forward.states.forEach((_, k) => out.add(`s${n.id}_${k}`).add(`d${n.id}_${k}`));
    for (const b of n.body) {
      out.add(`bt${n.id}_${b.id}`).add(`K${n.id}_${b.id}`).add(`r${n.id}_${b.id}`);
      if (b.kind === "op") b.args.forEach((_, k) => out.add(`sk${n.id}_${b.id}_${k}`));
    }
  }
  return out;
}
