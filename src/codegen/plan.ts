import type { Node, NodeId, ProjectNode, ScanAdjointNode, ScanNode } from "../ir/types.js";
import { bufferName, closure, jsNumber, StatementEmitter, type Naming } from "./emitter.js";
import { emitScan, emitScanAdjoint, residualsOf, scanStorage, type StorageField } from "./scan.js";

const prop = (obj: string, name: string) => `${obj}[${JSON.stringify(name)}]`;

/** One generated function's statements and the locals they need. */
export interface EmittedFunction {
  /** `const vN = …` lines: params, inputs, in-place outputs and workspace arrays the body reads. */
  readonly prologue: string;
  readonly body: string;
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
  private readonly bodyConsts = new Map<string, Float64Array>();

  constructor(
    private readonly nodes: readonly Node[],
    dimLocal: (name: string) => string,
    functions: readonly (readonly NodeId[])[],
  ) {
    const naming: Naming = {
      ref: (id) => bufferName(id),
      loop: (id, ctx) => {
        const n = this.nodes[id]!;
        if (n.kind === "scan")
          return emitScan(ctx, n, this.projections.get(id) ?? [], this.residuals.get(id) ?? new Set());
        const a = n as ScanAdjointNode;
        return emitScanAdjoint(ctx, a, this.nodes[a.forward] as ScanNode, this.projections.get(id) ?? []);
      },
    };
    this.emitter = new StatementEmitter(nodes, dimLocal, naming);
    // The workspace serves every function: it holds the union of what each needs.
    const all = new Set(functions.flatMap((roots) => closure(nodes, roots)));
    this.select([...all]);
    for (const id of [...all].sort((a, b) => a - b)) {
      const n = nodes[id]!;
      if (n.kind === "op" || n.kind === "project") {
        if (n.kind === "project" && this.ownedByScan(n)) continue;
        this.storageFields.set(bufferName(id), {
          name: bufferName(id),
          init: `new Float64Array(${this.emitter.size(n.shape)})`,
        });
      }
      if (n.kind === "scan" || n.kind === "scan_adjoint") {
        const forward = (n.kind === "scan" ? n : nodes[n.forward]) as ScanNode;
        for (const f of scanStorage(
          this.emitter,
          n,
          forward,
          this.projections.get(id) ?? [],
          this.residuals.get(id) ?? new Set(),
        ))
          this.storageFields.set(f.name, f);
        n.body.forEach((b) => {
          if (b.kind === "const") this.bodyConsts.set(`K${id}_${b.id}`, b.value);
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

  get storage(): StorageField[] {
    return [...this.storageFields.values()];
  }

  /** The statements computing `roots`, and the prologue binding every array they read. */
  emitFunction(
    roots: readonly NodeId[],
    inPlace: ReadonlyMap<NodeId, string> = new Map(),
    /** Code after the body (the return statement), whose reads count too. */
    epilogue = "",
  ): EmittedFunction {
    const ids = closure(this.nodes, roots);
    this.select(ids);
    this.emitter.plan(ids, new Set(roots));
    const body = ids
      .map((id) => this.emitter.emit(id))
      .filter((s) => s !== "")
      .join("\n");
    const lines: string[] = [];
    const reads = (name: string) => new RegExp(`\\b${name}\\b`).test(`${body}\n${epilogue}`);
    for (const id of ids) {
      const n = this.nodes[id]!;
      const name = bufferName(id);
      if (this.emitter.isFused(id) || !reads(name)) continue;
      if (n.kind === "param") lines.push(`const ${name} = ${prop("params", n.name)};`);
      else if (n.kind === "input") lines.push(`const ${name} = ${prop("inputs", n.name)};`);
      else if (inPlace.has(id)) lines.push(`const ${name} = ${prop("out", inPlace.get(id)!)};`);
    }
    const fromWorkspace = this.storage
      .map((f) => f.name)
      .filter((name) => reads(name) && !lines.some((l) => l.startsWith(`const ${name} =`)));
    if (fromWorkspace.length > 0) lines.push(`const { ${fromWorkspace.join(", ")} } = w;`);
    return { prologue: lines.join("\n"), body };
  }

  /** Declarations of the constant arrays `text` refers to (scalars are inlined and need none). */
  constDeclarations(text: string): string[] {
    const out: string[] = [];
    const declare = (name: string, value: Float64Array) => {
      if (new RegExp(`\\b${name}\\b`).test(text))
        out.push(`const ${name} = new Float64Array([${Array.from(value, jsNumber).join(", ")}]);`);
    };
    for (const n of this.nodes) if (n.kind === "const") declare(`K${n.id}`, n.value);
    for (const [name, value] of this.bodyConsts) declare(name, value);
    return out;
  }
}
