import { getOp } from "../ir/registry.js";
import type { Node, NodeId, ProjectNode, ScanAdjointNode, ScanNode } from "../ir/types.js";
import { closure, jsNumber, StatementEmitter, type Naming } from "./emitter.js";
import { CodeNames } from "./names.js";
import { ElementwiseFunctions } from "../wasm/elementwise.js";
import { planProductEpilogues, planSharedPasses, planWindowFusion } from "./fuse.js";
import {
  emitScan,
  emitScanAdjoint,
  freshField,
  residualsOf,
  scanStorage,
  type StorageField,
} from "./scan.js";

const prop = (obj: string, name: string) => `${obj}[${JSON.stringify(name)}]`;

/**
 * A line comment. Headings are equations as the model writes them, which hold no line
 * break (whitespace is collapsed when they are recorded); any that slipped through would
 * end the comment, so every whitespace run is one space here too.
 */
const comment = (text: string) => {
  const line = text.replace(/\s+/g, " ");
  return `// ${line.length > 160 ? `${line.slice(0, 159)}…` : line}`;
};

/** A block of a generated function: the node's array it writes, the arrays it names, its code. */
interface Statement {
  readonly writes: string;
  readonly uses: ReadonlySet<string>;
  /** The equation it computes, as a comment above it. */
  readonly heading?: string;
  readonly code: string;
}

/** One generated function's statements and the locals they need. */
export interface EmittedFunction {
  /** `const vN = …` lines: params, inputs, in-place outputs and workspace arrays the body reads. */
  readonly prologue: string;
  readonly body: string;
  /** The code after the body (the return statement), as emitted with it. */
  readonly epilogue: string;
}

/**
 * Plans the code of the generated functions over one graph: which nodes each computes,
 * which arrays the shared workspace holds, and the statements. Scans expand to loops.
 */
export class CodePlan {
  readonly emitter: StatementEmitter;
  private projections = new Map<NodeId, ProjectNode[]>();
  private residuals = new Map<NodeId, Set<NodeId>>();
  private readonly storageFields = new Map<string, StorageField>();
  /** Buffers of ops and projections, which the workspace holds only when some function names them. */
  private readonly nodeBuffers = new Set<string>();
  /** Every array some emitted function names. */
  private readonly named = new Set<string>();
  /** Every constant array a node or a scan body holds, by the name the code reads it by. */
  private readonly constArrays = new Map<string, Float64Array>();
  /** The constant arrays some function reads, by name: only these are declared. */
  private readonly constsRead = new Set<string>();
  /** With the WebAssembly target: the arrays the kernels of the function being emitted touch. */
  private readonly memory: Set<string> | undefined;
  /** With the WebAssembly target: the elementwise functions the emitted code calls (wasm/elementwise.ts). */
  readonly elementwise: ElementwiseFunctions | undefined;
  /** The WebAssembly workspace is Float32Array: never the caller's (Float64Array) arrays. */
  private readonly single: boolean;

  constructor(
    private readonly nodes: readonly Node[],
    dimLocal: (name: string) => string,
    functions: readonly (readonly NodeId[])[],
    /** The arrays' names (names.ts): the model's where they describe them, numbered otherwise. */
    names: CodeNames = new CodeNames(),
    /** A line of comment above a node's statements: the equation it computes. */
    private readonly headings: ReadonlyMap<NodeId, string> = new Map(),
    /**
     * The WebAssembly target's precision (undefined: JavaScript): every workspace array lives
     * in the kernels' memory, and the params and inputs a kernel reads are copied there at the
     * start of each call, unless (f64) the caller passes the workspace's own arrays.
     */
    wasm: "f64" | "f32" | undefined = undefined,
  ) {
    const naming: Naming = {
      ref: (id) => names.buffer(id),
      loop: (id, ctx) => {
        const n = this.nodes[id]!;
        if (n.kind === "scan")
          return emitScan(ctx, n, this.projections.get(id) ?? [], this.residuals.get(id) ?? new Set());
        const a = n as ScanAdjointNode;
        return emitScanAdjoint(ctx, a, this.nodes[a.forward] as ScanNode, this.projections.get(id) ?? []);
      },
    };
    const scope = wasm
      ? { next: 0, memory: new Set<string>(), elementwise: new ElementwiseFunctions() }
      : { next: 0 };
    this.emitter = new StatementEmitter(nodes, dimLocal, naming, scope, "K", undefined, names);
    this.memory = scope.memory;
    this.elementwise = scope.elementwise;
    this.single = wasm === "f32";
    for (const n of nodes) if (n.kind === "const") this.constArrays.set(`K${n.id}`, n.value);
    // The workspace serves every function: it holds the union of what each needs.
    const all = new Set(functions.flatMap((roots) => closure(nodes, roots)));
    this.select([...all]);
    for (const id of [...all].sort((a, b) => a - b)) {
      const n = nodes[id]!;
      if (wasm && (n.kind === "param" || n.kind === "input"))
        this.storageFields.set(
          this.emitter.bufferOf(id),
          freshField(this.emitter.bufferOf(id), this.emitter.size(n.shape)),
        );
      if (n.kind === "op" || n.kind === "project") {
        if (n.kind === "project" && this.ownedByScan(n)) continue;
        const name = this.emitter.bufferOf(id);
        this.nodeBuffers.add(name);
        const size = this.emitter.size(n.shape);
        // Offsets (a max-pool's winners) as integers; the WebAssembly workspace is all floats.
        const integers = n.kind === "op" && !wasm && getOp(n.op).offsets === true;
        this.storageFields.set(
          name,
          integers ? { name, length: size, init: `new Int32Array(${size})` } : freshField(name, size),
        );
      }
      if (n.kind === "scan" || n.kind === "scan_adjoint") {
        const forward = (n.kind === "scan" ? n : nodes[n.forward]) as ScanNode;
        for (const f of scanStorage(
          this.emitter,
          n,
          forward,
          this.projections.get(id) ?? [],
          this.residuals.get(id) ?? new Set(),
        )) {
          this.storageFields.set(f.name, f);
          if (f.ifNamed) this.nodeBuffers.add(f.name);
        }
        n.body.forEach((b) => {
          if (b.kind === "const") this.constArrays.set(`K${id}_${b.id}`, b.value);
        });
      }
    }
  }

  /** Projections are allocated by their scan's storage (views of its state arrays, or its stacks). */
  private ownedByScan(p: ProjectNode): boolean {
    return this.nodes[p.scan]!.kind === "scan" || this.nodes[p.scan]!.kind === "scan_adjoint";
  }

  /** Which stacks of each scan are read, and which forward values the backward loops need. */
  private select(ids: readonly NodeId[]): void {
    this.projections = new Map();
    this.residuals = new Map();
    for (const id of ids) {
      const n = this.nodes[id]!;
      if (n.kind === "project") this.projections.set(n.scan, [...(this.projections.get(n.scan) ?? []), n]);
      if (n.kind === "scan_adjoint") {
        const stored = this.residuals.get(n.forward) ?? new Set<NodeId>();
        for (const r of residualsOf(n, this.nodes[n.forward] as ScanNode)) stored.add(r);
        this.residuals.set(n.forward, stored);
      }
    }
  }

  /**
   * The workspace's arrays, once every function is emitted: a node's buffer only when some
   * function names it (not one fused into its consumer's loop or kept in a fused kernel's locals).
   */
  get storage(): StorageField[] {
    return [...this.storageFields.values()].filter(
      (f) => !this.nodeBuffers.has(f.name) || this.named.has(f.name),
    );
  }

  /**
   * The statements computing `roots`, and the prologue binding every array they read; the
   * epilogue (the return statement) is emitted here too, so that its reads count.
   */
  emitFunction(
    roots: readonly NodeId[],
    inPlace: ReadonlyMap<NodeId, string> = new Map(),
    epilogue: () => string = () => "",
  ): EmittedFunction {
    const ids = closure(this.nodes, roots);
    this.memory?.clear();
    this.select(ids);
    this.emitter.plan(ids, new Set(roots));
    planWindowFusion(this.emitter, this.nodes, ids, new Set(roots));
    // With the WebAssembly target a function's matrix-vector products and outer products are
    // calls of its gemm kernel (ops/linalg.ts), faster than these passes fusing them into
    // JavaScript loops (the CNN's dense layer: 85 → 55 µs a gradient in one run). The loops of
    // a scan keep theirs (scan.ts): a step's products are too small for a call each.
    if (this.memory === undefined) {
      planSharedPasses(this.emitter, this.nodes, ids);
      planProductEpilogues(this.emitter, this.nodes, ids, new Set(roots));
    }
    // The function as statements that know the arrays they name; printed once all are built.
    const statements: Statement[] = [];
    for (const id of ids) {
      const { result: code, reads: uses } = this.emitter.recording(() => this.emitter.emit(id));
      if (code === "") continue;
      // A fused kernel's heading: the equations of the nodes it computes (dL/dbk; dL/dk).
      const heading = [
        ...new Set(
          this.emitter
            .computedAt(id)
            .map((m) => this.headings.get(m))
            .filter((h) => h !== undefined),
        ),
      ].join("; ");
      statements.push({ writes: this.emitter.bufferOf(id), uses, code, ...(heading ? { heading } : {}) });
    }
    const end = this.emitter.recording(epilogue);
    const reads = new Set([...statements.flatMap((st) => [...st.uses]), ...end.reads]);
    for (const name of reads) this.named.add(name);
    const lines: string[] = [];
    const bound = new Set<string>();
    for (const id of ids) {
      const n = this.nodes[id]!;
      const name = this.emitter.bufferOf(id);
      if (this.emitter.isFused(id) || !reads.has(name) || bound.has(name)) continue;
      let source: string | undefined;
      if (n.kind === "param") source = prop("params", n.name);
      else if (n.kind === "input") source = prop("inputs", n.name);
      else if (inPlace.has(id)) source = prop("out", inPlace.get(id)!);
      if (source === undefined) continue;
      // A kernel reads it from the memory: a copy there, in the workspace (none when the caller
      // passes the workspace's own array: the module's workspaceArrays). A view of the memory
      // that is not the workspace's own (one from before a reallocation) is refused.
      const label = JSON.stringify(
        `${n.kind === "param" ? "params" : "inputs"}.${(n as { name: string }).name}`,
      );
      const checked = `nablaArg(${source}, w.${name}, ${label})`;
      if (this.memory?.has(name))
        lines.push(
          `const ${name} = w.${name};`,
          this.single ? `${name}.set(${source});` : `if (${source} !== ${name}) ${name}.set(${checked});`,
        );
      else lines.push(`const ${name} = ${this.memory !== undefined && !this.single ? checked : source};`);
      bound.add(name);
    }
    const fromWorkspace = [...this.storageFields.values()]
      .map((f) => f.name)
      .filter((name) => reads.has(name) && !bound.has(name));
    if (fromWorkspace.length > 0) lines.push(`const { ${fromWorkspace.join(", ")} } = w;`);
    for (const name of reads) if (this.constArrays.has(name)) this.constsRead.add(name);
    const body = statements.map((st) => (st.heading ? `${comment(st.heading)}\n${st.code}` : st.code));
    return { prologue: lines.join("\n"), body: body.join("\n"), epilogue: end.result };
  }

  /** Declarations of the constant arrays the emitted functions read (scalars are inlined and need none). */
  constDeclarations(): string[] {
    return [...this.constArrays]
      .filter(([name]) => this.constsRead.has(name))
      .map(
        ([name, value]) => `const ${name} = new Float64Array([${Array.from(value, jsNumber).join(", ")}]);`,
      );
  }
}
