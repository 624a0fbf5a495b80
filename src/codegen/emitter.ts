import type { Node, NodeId, Shape } from "../ir/types.js";
import { assertNever, dependencies } from "../ir/types.js";
import { getOp } from "../ir/registry.js";
import { broadcastOffset, product, type EmitContext } from "../ops/lowering.js";
import { sameShape } from "../ir/shapes.js";
import { CodeNames } from "./names.js";
import { ELEMENTWISE, Recorder, type ElementwiseFunctions, type Value } from "../wasm/elementwise.js";

/** A JS numeric literal for any double, including the ones that have no literal. */
export function jsNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  if (Object.is(value, -0)) return "-0";
  return String(value);
}

/** Where each node of a graph (the model's, or a scan body's) lives in the generated code. */
export interface Naming {
  /** The Float64Array holding the node's value. */
  ref(id: NodeId): string;
  /** Statements for a scan or its adjoint; the other non-op kinds need none here. */
  loop?(id: NodeId, emitter: StatementEmitter): string;
  /** For a scan body: the enclosing graph's node whose array a body node reads in place. */
  outside?(id: NodeId): NodeId | undefined;
}

export const outerNaming: Naming = {
  ref: (id) => `v${id}`,
};

/** What the emitters of one module share: fresh-name numbering, and the arrays the code being emitted reads. */
export interface EmitScope {
  next: number;
  /** Every array named in the statements emitted since `recording` began. */
  reads?: Set<string>;
  /**
   * With the WebAssembly target: the arrays the kernels have read or written since the set was
   * last cleared, which must live in the kernels' memory. Absent for the JavaScript target.
   */
  memory?: Set<string>;
  /** With the WebAssembly target: the model's elementwise functions (wasm/elementwise.ts), shared by every function of the module. */
  elementwise?: ElementwiseFunctions;
}

/**
 * Lowers a list of IR nodes to statements. Names of dims are mapped to locals by the
 * caller (`dimLocal`); every array a statement names goes through `use`, so the caller
 * knows which arrays the code reads without reading the code.
 */
export class StatementEmitter implements EmitContext {
  /** Elementwise nodes computed inside their only consumer's loop instead of into a buffer. */
  private fused = new Set<NodeId>();
  /** Reshapes read their operand's buffer in place: node → the node whose buffer it shares. */
  private aliases = new Map<NodeId, NodeId>();
  /** Values held in locals while a fused kernel's code is built (a conv output in a pooling window). */
  private overrides = new Map<NodeId, string>();
  /** Nodes computed by a fused group's kernel (codegen/fuse.ts): the anchor emits it, members nothing. */
  private groups = new Map<NodeId, { readonly anchor: NodeId; readonly emit: () => string }>();

  constructor(
    readonly nodes: readonly Node[],
    readonly dimLocal: (name: string) => string,
    private readonly naming: Naming = outerNaming,
    /** Shared with nested emitters, so locals never collide. */
    private readonly counter: EmitScope = { next: 0 },
    readonly constPrefix = "K",
    /** The emitter of the graph a scan body reads its slices and outer values from. */
    private readonly parent?: StatementEmitter,
    /** The module's array names, shared with nested emitters. */
    readonly names: CodeNames = new CodeNames(),
  ) {}

  /** An emitter for a scan body, sharing this one's dims and fresh names. */
  nested(nodes: readonly Node[], naming: Naming, constPrefix: string): StatementEmitter {
    return new StatementEmitter(nodes, this.dimLocal, naming, this.counter, constPrefix, this, this.names);
  }

  describe(id: NodeId): string {
    const n = this.nodes[id]!;
    if (n.kind === "input") return `inputs.${n.name}`;
    if ((n.kind === "slice" || n.kind === "outer") && this.parent) return this.parent.describe(n.source);
    return "an index";
  }

  ref(id: NodeId): string {
    const n = this.nodes[id]!;
    const same = this.aliases.get(id);
    if (same !== undefined) return this.ref(same);
    return this.use(n.kind === "const" ? `${this.constPrefix}${id}` : this.naming.ref(id));
  }

  /** The name of a node's own buffer, for allocating it (not a read). */
  bufferOf(id: NodeId): string {
    return this.naming.ref(id);
  }

  /** An array's name, as the code emitted now reads it. */
  use(name: string): string {
    this.counter.reads?.add(name);
    return name;
  }

  /** Records the arrays named by what `emit` emits. */
  recording<T>(emit: () => T): { result: T; reads: ReadonlySet<string> } {
    const reads = new Set<string>();
    const saved = this.counter.reads;
    this.counter.reads = reads;
    try {
      return { result: emit(), reads };
    } finally {
      this.counter.reads = saved;
      for (const r of reads) saved?.add(r);
    }
  }

  shapeOf(id: NodeId): Shape {
    return this.nodes[id]!.shape;
  }

  dim(d: Shape[number]): string {
    return typeof d === "number" ? String(d) : this.dimLocal(d);
  }

  size(shape: Shape): string {
    return product(this, shape);
  }

  scalar(id: NodeId): string {
    const n = this.nodes[id]!;
    if (n.kind === "const" && n.value.length === 1) {
      const literal = jsNumber(n.value[0]!);
      return literal.startsWith("-") ? `(${literal})` : literal;
    }
    return `${this.ref(id)}[0]`;
  }

  isLiteral(id: NodeId): boolean {
    const n = this.nodes[id]!;
    return n.kind === "const" && n.value.length === 1;
  }

  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}${this.counter.next++}`;
    while (this.names.blocks(name));
    return name;
  }

  num(value: number): string {
    const literal = jsNumber(value);
    return literal.startsWith("-") ? `(${literal})` : literal;
  }

  isFused(id: NodeId): boolean {
    return this.fused.has(id) || this.aliases.has(id);
  }

  element(id: NodeId, index: string, axes?: readonly string[]): string {
    const local = this.overrides.get(id);
    if (local !== undefined) return local;
    if (!this.fused.has(id)) return `${this.ref(id)}[${index}]`;
    return this.inline(id, index, axes);
  }

  /**
   * An elementwise node's value at one element, computed in place whether or not it is fused
   * (a fused kernel's last step); its fused operands are computed there too.
   */
  inline(id: NodeId, index: string, axes?: readonly string[]): string {
    const local = this.overrides.get(id);
    if (local !== undefined) return local;
    const n = this.nodes[id] as Extract<Node, { kind: "op" }>;
    const values = n.args.map((a) => {
      const shape = this.nodes[a]!.shape;
      if (sameShape(shape, n.shape)) return this.element(a, index, axes);
      if (shape.every((d) => d === 1)) return this.scalar(a);
      // A broadcast operand (a bias per filter) is read at the loop's indices; computed there
      // when it is fused too (its own operands have its shape: see plan).
      return this.element(a, broadcastOffset(this, shape, n.shape, axes!));
    });
    return `(${getOp(n.op).elementwise!(values, n.attrs, this)})`;
  }

  /** Whether the code is for the WebAssembly target (its kernels' memory is recorded). */
  get wasm(): boolean {
    return this.counter.memory !== undefined;
  }

  addresses(ids: readonly NodeId[]): string[] | undefined {
    const memory = this.counter.memory;
    if (memory === undefined) return undefined;
    const names: string[] = [];
    for (const id of ids) {
      const name = this.inMemory(id);
      if (name === undefined) return undefined;
      names.push(name);
    }
    for (const name of names) memory.add(name);
    return names.map((name) => `${this.use(name)}.byteOffset`);
  }

  elementwiseCall(id: NodeId): string | undefined {
    const functions = this.counter.elementwise;
    const n = this.nodes[id]!;
    if (functions === undefined || this.parent !== undefined || n.kind !== "op") return undefined;
    if (n.shape.every((d) => d === 1)) return undefined;
    const lanes = new Recorder();
    const arrays: string[] = [];
    const arrayKeys: string[] = [];
    const arrayValues: Value[] = [];
    const scalars: string[] = [];
    const scalarValues: Value[] = [];
    /** The axes of a row, for row and block operands (a bias [H] of [N, H], a mean [N, 1]): all the same, the output's last. */
    let row: Shape | undefined;
    /** An operand: an array of the output's size or of a row of it, a scalar, or a node fused into this loop. */
    const operand = (a: NodeId): Value | undefined => {
      const shape = this.nodes[a]!.shape;
      if (this.overrides.has(a)) return undefined;
      if (shape.every((d) => d === 1)) {
        const text = this.scalar(a);
        const k = scalars.indexOf(text);
        if (k >= 0) return scalarValues[k];
        scalars.push(text);
        scalarValues.push(lanes.scalar());
        return scalarValues.at(-1);
      }
      const full = sameShape(shape, n.shape);
      if (full && this.fused.has(a)) return expression(a);
      // Not the output's shape: a row of its last axes (a bias), or one entry per row, the
      // output's first axes with 1s after (a per-row mean); every one's rows of the same axes.
      let kind: "array" | "row" | "block" = "array";
      if (!full) {
        if (this.fused.has(a)) return undefined;
        const last = shape.slice(shape.findIndex((d) => d !== 1));
        let ones = 0;
        while (ones < shape.length && shape[shape.length - 1 - ones] === 1) ones++;
        const rank = n.shape.length;
        let axes: Shape;
        if (last.length < rank && sameShape(last, n.shape.slice(rank - last.length))) {
          kind = "row";
          axes = last;
        } else if (
          shape.length === rank &&
          ones > 0 &&
          sameShape(shape.slice(0, rank - ones), n.shape.slice(0, rank - ones))
        ) {
          kind = "block";
          axes = n.shape.slice(rank - ones);
        } else return undefined;
        if (row !== undefined && !sameShape(row, axes)) return undefined;
        row = axes;
      }
      const name = this.inMemory(a);
      if (name === undefined) return undefined;
      const key = `${kind} ${name}`;
      const k = arrayKeys.indexOf(key);
      if (k >= 0) return arrayValues[k];
      arrays.push(name);
      arrayKeys.push(key);
      arrayValues.push(kind === "array" ? lanes.array() : kind === "row" ? lanes.row() : lanes.block());
      return arrayValues.at(-1);
    };
    const expression = (e: NodeId): Value | undefined => {
      const node = this.nodes[e]!;
      if (node.kind !== "op") return undefined;
      const rule = getOp(node.op).wasm;
      if (rule === undefined) return undefined;
      const values: Value[] = [];
      for (const a of node.args) {
        const v = operand(a);
        if (v === undefined) return undefined;
        values.push(v);
      }
      const literal = (i: number) => {
        const a = this.nodes[node.args[i]!]!;
        return a.kind === "const" && a.value.length === 1 ? a.value[0] : undefined;
      };
      return rule(lanes, values, node.attrs, literal);
    };
    const result = expression(id);
    if (result === undefined) return undefined;
    const name = functions.add(lanes.expression(result));
    const memory = this.counter.memory!;
    for (const a of [this.naming.ref(id), ...arrays]) memory.add(a);
    const bytes = [this.use(this.naming.ref(id)), ...arrays.map((a) => this.use(a))].map(
      (a) => `${a}.byteOffset`,
    );
    const counts = [this.size(n.shape), ...(row ? [this.size(row)] : [])];
    return `${ELEMENTWISE}.${name}(${[...bytes, ...scalars, ...counts].join(", ")});`;
  }

  /** The name of a node's array when it can live in the kernels' memory: not a constant, not fused. */
  private inMemory(id: NodeId): string | undefined {
    const same = this.aliases.get(id);
    if (same !== undefined) return this.inMemory(same);
    if (this.fused.has(id) || this.nodes[id]!.kind === "const") return undefined;
    const outside = this.naming.outside?.(id);
    if (outside !== undefined) return this.parent!.inMemory(outside);
    return this.naming.ref(id);
  }

  /** Runs `build` with the given nodes' values read from locals (or any expression) instead of their buffers. */
  withValues<T>(values: ReadonlyMap<NodeId, string>, build: () => T): T {
    const saved = this.overrides;
    this.overrides = new Map([...saved, ...values]);
    try {
      return build();
    } finally {
      this.overrides = saved;
    }
  }

  /** Marks nodes as computed by one kernel, emitted in place of `anchor` (the others emit nothing). */
  group(members: readonly NodeId[], anchor: NodeId, emit: () => string): void {
    for (const m of members) this.groups.set(m, { anchor, emit });
  }

  /** The nodes a fused kernel emitted at `anchor` computes (the anchor alone when it is in no group). */
  computedAt(anchor: NodeId): NodeId[] {
    const members = [...this.groups].filter(([, g]) => g.anchor === anchor).map(([m]) => m);
    return members.length > 0 ? members.sort((a, b) => a - b) : [anchor];
  }

  /** Whether a node's buffer is never written: fused into a consumer, aliased, or kept in a fused kernel's locals. */
  isComputedElsewhere(id: NodeId): boolean {
    return this.fused.has(id) || this.aliases.has(id) || this.groups.has(id);
  }

  /** Whether reading `id` needs the loop's per-axis indices (a fused node with a broadcast operand). */
  needsAxes(id: NodeId): boolean {
    if (this.overrides.has(id) || !this.fused.has(id)) return false;
    const n = this.nodes[id] as Extract<Node, { kind: "op" }>;
    return n.args.some((a) => {
      const shape = this.nodes[a]!.shape;
      if (sameShape(shape, n.shape)) return this.needsAxes(a);
      return !shape.every((d) => d === 1);
    });
  }

  /**
   * Chooses which nodes of `ids` to fuse: elementwise nodes used exactly once, by an
   * elementwise consumer whose formula reads them once, that are not results themselves.
   */
  plan(ids: readonly NodeId[], results: ReadonlySet<NodeId>): ReadonlySet<NodeId> {
    const uses = new Map<NodeId, NodeId[]>();
    for (const id of ids) {
      const n = this.nodes[id]!;
      if (n.kind === "op") for (const a of n.args) uses.set(a, [...(uses.get(a) ?? []), id]);
    }
    this.fused = new Set();
    this.aliases = new Map();
    this.groups = new Map();
    for (const id of ids) {
      const n = this.nodes[id]!;
      if (n.kind === "op" && getOp(n.op).sharesBuffer && !results.has(id)) this.aliases.set(id, n.args[0]!);
    }
    for (const id of ids) {
      const n = this.nodes[id]!;
      if (n.kind !== "op" || results.has(id) || !getOp(n.op).elementwise) continue;
      if (n.shape.every((d) => d === 1)) continue;
      const consumers = uses.get(id) ?? [];
      if (consumers.length !== 1) continue;
      const consumer = this.nodes[consumers[0]!] as Extract<Node, { kind: "op" }>;
      const formula = getOp(consumer.op).elementwise;
      if (!formula || consumer.shape.every((d) => d === 1)) continue;
      // Operands are read at the consumer's index: the same shape, scalars, or (with the
      // consumer looping over exactly this shape) operands broadcast to it.
      const fits = (a: NodeId) =>
        sameShape(this.nodes[a]!.shape, n.shape) || this.nodes[a]!.shape.every((d) => d === 1);
      if (!n.args.every(fits) && !sameShape(consumer.shape, n.shape)) continue;
      // Read at a broadcast offset, a fused node cannot also need the loop's indices itself.
      if (!sameShape(consumer.shape, n.shape) && n.args.some((a) => this.needsAxes(a))) continue;
      // How often the formula reads each operand, counted as it converts them to text: the
      // formula's output is never read.
      const reads = consumer.args.map(() => 0);
      const operands = consumer.args.map(
        (_, i) => ({ toString: () => (reads[i]!++, "x") }) as unknown as string,
      );
      formula(operands, consumer.attrs, this);
      if (reads[consumer.args.indexOf(id)] !== 1) continue;
      this.fused.add(id);
    }
    return this.fused;
  }

  /** The statements computing `id` into its buffer. */
  emit(id: NodeId): string {
    if (this.fused.has(id) || this.aliases.has(id)) return "";
    const group = this.groups.get(id);
    if (group !== undefined) return group.anchor === id ? group.emit() : "";
    const n = this.nodes[id]!;
    switch (n.kind) {
      case "op":
        return getOp(n.op).emit(this, n);
      case "input":
      case "param":
      case "const":
        return "";
      case "adjoint":
        throw new Error("adjoint symbols belong to the derivation trace, not to code");
      case "scan":
      case "scan_adjoint":
        return this.naming.loop!(id, this);
      case "project":
      case "carry":
      case "slice":
      case "outer":
      case "residual":
      case "state_adjoint":
        return "";
      default:
        return assertNever(n);
    }
  }
}

/** Every node the given roots need, in topological (id) order. */
export function closure(nodes: readonly Node[], roots: readonly NodeId[]): NodeId[] {
  const seen = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...dependencies(nodes[id]!));
  }
  return [...seen].sort((a, b) => a - b);
}
