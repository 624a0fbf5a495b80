import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { noTorchForm, unsupported } from "../diagnostics/codes.js";
import type { Span } from "../diagnostics/span.js";
import { getOp } from "../ir/registry.js";
import { PREC, type Python, type TorchContext } from "../ir/op.js";
import { toNested } from "../ir/tensor.js";
import type { Dim, Graph, GradientInModel, Node, NodeId, ScanNode, Shape } from "../ir/types.js";
import { atom, py, tuple } from "../ops/python.js";
import { commentText, nestedList, PythonNames, pythonFloat, pythonString } from "./python.js";
import { DTYPE, dictLines, INDENT, moduleText, Refusal } from "./module.js";

/**
 * `nabla export --target pytorch`: the model's forward pass as a torch.nn.Module, written
 * from the forward IR. Each op is written by its own `torch` rule (ops/); this file decides
 * what gets a statement and a name, writes recurrences as loops over the steps, and wraps
 * it all in a module with the example's values. The gradient is torch.autograd's: the
 * export never writes nabla's own derivative, so the two are independent computations.
 */
export interface PytorchModule {
  readonly python: string;
  /** The module attribute of each param (`lambda` → `lambda_`), keyed by the model's name. */
  readonly paramAttributes: ReadonlyMap<string, string>;
  /** The forward argument of each input and target, keyed by the model's name. */
  readonly inputArguments: ReadonlyMap<string, string>;
}

export type PytorchExport = { readonly module: PytorchModule } | { readonly diagnostics: Diagnostic[] };

/** A graph level being written: the top of values(), or a recurrence's loop body. */
interface Level {
  readonly nodes: readonly Node[];
  /** Python for a node of this level that has a name or is an atom (input, param, constant). */
  readonly named: Map<NodeId, Python>;
  /** Nodes written as a statement of their own rather than inlined into the one use. */
  readonly statement: Set<NodeId>;
  /**
   * The top level; a body numbers its nodes on its own, so the model's names and the
   * gradients it takes (keyed by top-level ids) are only the top level's.
   */
  readonly top: boolean;
  readonly indent: string;
}

export function exportPytorch(graph: Graph, sourceFile: string): PytorchExport {
  try {
    return { module: new PytorchWriter(graph, sourceFile).write() };
  } catch (error) {
    if (error instanceof Refusal) return { diagnostics: [error.diagnostic] };
    throw error;
  }
}

class PytorchWriter {
  private readonly locals = new PythonNames();
  private readonly attributes = new PythonNames(true);
  /** The statements of __init__ that make the params. */
  private readonly paramLines: string[] = [];
  private readonly paramAttributes = new Map<string, string>();
  private readonly inputArguments = new Map<string, string>();
  /** Buffers registered in __init__: constants that are tensors. */
  private readonly buffers: string[] = [];
  /** The loop variable of each recurrence index. */
  private readonly indexLocals = new Map<string, string>();
  /** Dims read in the forward pass, bound to locals at its top. */
  private readonly dimLocals = new Map<string, string>();
  /** Gradients the model takes (grad(f, x)), by the node that computes them. */
  private readonly gradients: ReadonlyMap<NodeId, GradientInModel>;
  /** A float tensor of the model whose dtype and device new tensors take (`self.W.new_full`). */
  private reference: string | undefined;
  private readonly names: ReadonlyMap<NodeId, string>;
  private readonly written: ReadonlyMap<NodeId, string>;

  constructor(
    private readonly graph: Graph,
    private readonly sourceFile: string,
  ) {
    this.gradients = new Map((graph.gradients ?? []).map((g) => [g.node, g]));
    const names = new Map<NodeId, string>();
    const written = new Map<NodeId, string>();
    for (const n of graph.named)
      if (!names.has(n.node)) {
        names.set(n.node, n.name);
        if (n.written) written.set(n.node, n.written);
      }
    this.names = names;
    this.written = written;
  }

  write(): PytorchModule {
    const top: Level = {
      nodes: this.graph.nodes,
      named: new Map(),
      statement: new Set(),
      top: true,
      indent: INDENT.repeat(2),
    };
    this.declare(top);
    const body: string[] = [];
    this.emitLevel(top, this.roots(), body);
    const returned = this.graph.named.filter((n) => n.kind === "equation" || n.kind === "loss");
    const lossEntry = returned.find((n) => n.node === this.graph.loss);
    const lossName = lossEntry?.name ?? "loss";
    // Every value as a tensor, a size (`n = 2*N`) too.
    const tensor = (id: NodeId) => this.context(top, body).tensor(this.expression(top, id, body)).text;
    const outputs = returned.map((n) => `${pythonString(n.name)}: ${tensor(n.node)}`);
    // A graph built without the model's names (a test's) still returns its loss.
    if (!lossEntry) outputs.push(`"loss": ${tensor(this.graph.loss)}`);
    body.push(...dictLines(`${top.indent}return `, outputs, top.indent));
    const dims = [...this.dimLocals].map(([dim, local]) => `${top.indent}${local} = ${this.dimSource(dim)}`);
    return {
      python: moduleText({
        graph: this.graph,
        sourceFile: this.sourceFile,
        lossName,
        paramAttributes: this.paramAttributes,
        inputArguments: this.inputArguments,
        paramLines: this.paramLines,
        buffers: this.buffers,
        values: [...dims, ...body],
      }),
      paramAttributes: this.paramAttributes,
      inputArguments: this.inputArguments,
    };
  }

  /** Params, inputs and constants: their Python names, attributes and buffers. */
  private declare(top: Level): void {
    // The model's own names are claimed first, so generated ones step around them.
    for (const n of this.graph.named)
      if (n.kind === "input" || n.kind === "target")
        this.inputArguments.set(n.name, this.locals.claim(n.name));
    for (const n of this.graph.named)
      if (n.kind === "equation" || n.kind === "loss" || n.kind === "const") {
        const local = atom(this.locals.claim(n.name));
        // A named scalar const is a Python float (c = 0.5): a torch function needs it made a tensor.
        const number = n.kind === "const" && this.graph.nodes[n.node]!.shape.length === 0;
        top.named.set(n.node, number ? { ...local, number: true } : local);
      }
    for (const n of this.graph.nodes) {
      if (n.kind === "param") {
        const attr = this.attributes.claim(n.name);
        this.paramAttributes.set(n.name, attr);
        top.named.set(n.id, atom(`self.${attr}`));
        this.reference ??= `self.${attr}`;
        this.paramLines.push(
          `${INDENT}${INDENT}self.${attr} = nn.Parameter(torch.tensor(params[${pythonString(n.name)}], dtype=${DTYPE}))`,
        );
      } else if (n.kind === "input") {
        top.named.set(n.id, atom(this.inputArguments.get(n.name)!));
      }
    }
    // A param, or else a floating input: new tensors follow its dtype and device.
    const floating = this.graph.nodes.find((n) => n.kind === "input" && !n.integer);
    if (floating?.kind === "input") this.reference ??= this.inputArguments.get(floating.name);
    for (const n of this.graph.nodes) {
      if (n.kind !== "const") continue;
      const name = this.names.get(n.id);
      if (n.shape.length === 0) {
        // A named number is a local at the top of values() (lambda_ = 10.0); others are written in place.
        if (!name) top.named.set(n.id, { ...this.num(n.value[0]!), number: true });
        continue;
      }
      const attr = this.attributes.claim(name ?? `const${n.id}`);
      const shape = n.shape.map((d) => (typeof d === "number" ? d : NaN));
      if (shape.some(Number.isNaN)) throw this.refuse(n.span, "a constant whose size is bound at run time");
      top.named.set(n.id, atom(`self.${attr}`));
      this.buffers.push(
        `${INDENT}${INDENT}self.register_buffer(${pythonString(attr)}, torch.tensor(${nestedList(toNested(shape, n.value), false, INDENT.repeat(2))}, dtype=${DTYPE}), persistent=False)`,
      );
    }
  }

  /** The loss and every named value: what values() returns. */
  private roots(): NodeId[] {
    return [
      this.graph.loss,
      ...this.graph.named.filter((n) => n.kind === "equation" || n.kind === "loss").map((n) => n.node),
    ];
  }

  /** A node's operands as the export reads them: a gradient the model takes reads only f and x. */
  private operands(level: Level, n: Node): readonly NodeId[] {
    const g = level.top ? this.gradients.get(n.id) : undefined;
    if (g) return [g.of, g.wrt];
    if (n.kind === "op") return n.args;
    if (n.kind === "project") return [n.scan];
    if (n.kind === "scan") return [...n.states.flatMap((s) => s.init), ...this.bodySources(n)];
    return [];
  }

  /** Outer nodes a recurrence's body reads each step. */
  private bodySources(s: ScanNode): NodeId[] {
    return s.body.flatMap((b) => (b.kind === "outer" || b.kind === "slice" ? [b.source] : []));
  }

  /** Writes the statements computing `roots` at one level, in the graph's order. */
  private emitLevel(level: Level, roots: readonly NodeId[], out: string[]): void {
    const top = level.top;
    const needed = new Array<boolean>(level.nodes.length).fill(false);
    const uses = new Array<number>(level.nodes.length).fill(0);
    const stack = [...roots];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (needed[id]) continue;
      needed[id] = true;
      stack.push(...this.operands(level, level.nodes[id]!));
    }
    for (const n of level.nodes) if (needed[n.id]) for (const a of this.operands(level, n)) uses[a]! += 1;
    for (const n of level.nodes) {
      if (!needed[n.id] || n.kind !== "op") continue;
      // Computed once and read more than once, or read by a loop or a gradient: a statement of its own.
      if (uses[n.id]! > 1 || level.named.has(n.id) || (top && this.gradients.has(n.id)))
        level.statement.add(n.id);
    }
    for (const n of level.nodes) {
      if (n.kind !== "scan") continue;
      for (const s of [...n.states.flatMap((st) => st.init), ...this.bodySources(n)])
        if (level.nodes[s]!.kind === "op") level.statement.add(s);
    }
    for (const g of this.gradients.values())
      if (level.top && level.nodes[g.wrt]!.kind === "op") level.statement.add(g.wrt);
    if (level.top) this.requireGradInputs(level, out);
    for (const n of level.nodes) {
      if (!needed[n.id]) continue;
      if (n.kind === "scan") this.emitScan(level, n, out);
      else if (n.kind === "const" && top && this.names.has(n.id) && n.shape.length === 0)
        out.push(`${level.indent}${level.named.get(n.id)!.text} = ${this.num(n.value[0]!).text}`);
      else if (level.statement.has(n.id) && n.kind !== "project") this.emitStatement(level, n, out);
    }
  }

  /** x in grad(f, x), when x is an input: autograd records what is computed from it only if it asks to. */
  private requireGradInputs(level: Level, out: string[]): void {
    for (const g of this.gradients.values()) {
      const x = level.nodes[g.wrt]!;
      if (x.kind !== "input") continue;
      const name = level.named.get(x.id)!.text;
      out.push(
        `${level.indent}# ${commentText(`${this.names.get(g.node) ?? "a gradient"} is a gradient with respect to the input ${x.name}: autograd must record what is computed from it.`)}`,
      );
      out.push(
        `${level.indent}${name} = ${name} if ${name}.requires_grad else ${name}.detach().requires_grad_()`,
      );
    }
  }

  private emitStatement(level: Level, n: Node, out: string[]): void {
    const name = level.named.get(n.id)?.text ?? this.locals.fresh("tmp");
    const before: string[] = [];
    const value = this.build(level, n, before);
    const written = this.written.get(n.id);
    if (written && level.top) out.push(`${level.indent}# ${commentText(written)}`);
    out.push(...before, `${level.indent}${name} = ${value.text}`);
    level.named.set(n.id, { text: name, prec: PREC.atom, ...(value.number ? { number: true } : {}) });
    const g = [...this.gradients.values()].find((x) => x.wrt === n.id);
    if (g && level.top)
      out.push(
        `${level.indent}${name} = ${name} if ${name}.requires_grad else ${name}.detach().requires_grad_()`,
      );
  }

  /** Python for a node: its name when it has one, its expression otherwise (statements go to `before`). */
  private expression(level: Level, id: NodeId, before: string[]): Python {
    return level.named.get(id) ?? this.build(level, level.nodes[id]!, before);
  }

  private build(level: Level, n: Node, before: string[]): Python {
    const g = level.top ? this.gradients.get(n.id) : undefined;
    if (g) {
      const [f, x] = [this.expression(level, g.of, before), this.expression(level, g.wrt, before)];
      return atom(`torch.autograd.grad(${f.text}, ${x.text}, create_graph=True)[0]`);
    }
    switch (n.kind) {
      case "op": {
        const def = getOp(n.op);
        const args = n.args.map((a) => this.expression(level, a, before));
        const shapes = n.args.map((a) => level.nodes[a]!.shape);
        const written = def.torch?.(args, n.attrs, shapes, n.shape, this.context(level, before));
        if (!written) throw new Refusal(noTorchForm(n.span, n.op));
        return written;
      }
      case "carry":
      case "slice":
      case "outer":
        return level.named.get(n.id)!;
      case "const": {
        const v = n.value[0]!;
        if (n.shape.length === 0) return this.num(v);
        // A constant inside a loop body: one number broadcast (1 − z_t's 1), as a tensor of the model's kind.
        if (!n.value.every((x) => x === v))
          throw this.refuse(n.span, "a constant tensor inside a recurrence");
        return atom(this.broadcast(this.num(v), [], n.shape));
      }
      default:
        throw this.refuse(n.span, `a ${n.kind} node in the forward pass`);
    }
  }

  private context(level: Level, before: string[]): TorchContext {
    return {
      dim: (d) => this.dim(d),
      num: (v) => this.num(v),
      tensor: (x) =>
        x.number
          ? atom(
              this.reference
                ? `${this.reference}.new_tensor(${x.text})`
                : `torch.tensor(${x.text}, dtype=${DTYPE})`,
            )
          : x,
      once: (x) => {
        if (x.prec === PREC.atom && /^[A-Za-z_][A-Za-z0-9_.]*$|^-?[0-9.e+-]+$/.test(x.text)) return x;
        const name = this.locals.fresh("tmp");
        before.push(`${level.indent}${name} = ${x.text}`);
        return { text: name, prec: PREC.atom, ...(x.number ? { number: true } : {}) };
      },
      dtype: DTYPE,
      device: this.reference ? `${this.reference}.device` : "None",
    };
  }

  private num(v: number): Python {
    const text = pythonFloat(v);
    return { text, prec: text.startsWith("-") ? PREC.unary : PREC.atom, number: true };
  }

  /** A dim as Python: a literal when fixed, else the local bound from the inputs' shapes. */
  private dim(d: Dim): string {
    if (typeof d === "number") return String(d);
    let local = this.dimLocals.get(d);
    if (!local) {
      local = this.locals.claim(d);
      this.dimLocals.set(d, local);
    }
    return local;
  }

  /** Where a dim's size comes from: its fixed size, or the shape of an input or param that has it. */
  private dimSource(d: string): string {
    const fixed = this.graph.dims.get(d);
    if (fixed !== undefined) return String(fixed);
    for (const n of this.graph.nodes) {
      if (n.kind !== "input" && n.kind !== "param") continue;
      const axis = n.shape.indexOf(d);
      if (axis < 0) continue;
      const owner =
        n.kind === "input" ? this.inputArguments.get(n.name)! : `self.${this.paramAttributes.get(n.name)!}`;
      return `${owner}.shape[${axis}]`;
    }
    const user = this.graph.nodes.find((n) => n.shape.includes(d)) ?? this.graph.nodes[this.graph.loss]!;
    throw this.refuse(user.span, `the dim '${d}', which no input or param has to read its size from`);
  }

  /** A recurrence: one list per state and output, a loop over the steps, then the lists stacked. */
  private emitScan(level: Level, s: ScanNode, out: string[]): void {
    const projects = level.nodes.filter(
      (n): n is Extract<Node, { kind: "project" }> => n.kind === "project" && n.scan === s.id,
    );
    const stepName = (what: "state" | "output", index: number, fallback: string) => {
      const p = projects.find((x) => x.what === what && x.index === index);
      return (p && this.names.get(p.id)) ?? fallback;
    };
    for (const p of projects) {
      const written = this.written.get(p.id);
      if (written) out.push(`${level.indent}# ${commentText(written)}`);
    }
    const before: string[] = [];
    const states = s.states.map((st, k) => {
      const list = this.locals.claim(`${stepName("state", k, st.name)}${s.reverse ? "_reversed" : ""}_steps`);
      const inits = st.init.map((i) =>
        this.broadcast(this.expression(level, i, before), level.nodes[i]!.shape, st.shape),
      );
      return { list, inits };
    });
    const outputs = s.outputs.map((_, k) =>
      this.locals.claim(`${stepName("output", k, `out${k}`)}${s.reverse ? "_reversed" : ""}_steps`),
    );
    out.push(...before);
    // nabla runs such a recurrence forwards over its sequences flipped, and flips its values back.
    if (s.reverse)
      out.push(`${level.indent}# From the last step to the first: a loop over the sequences reversed.`);
    states.forEach(({ list, inits }) => out.push(`${level.indent}${list} = [${inits.join(", ")}]`));
    outputs.forEach((list) => out.push(`${level.indent}${list} = []`));
    // Loops over the same index share its name: t in every loop over t.
    let index = this.indexLocals.get(s.index);
    if (!index) this.indexLocals.set(s.index, (index = this.locals.claim(s.index)));
    out.push(`${level.indent}for ${index} in range(${this.dim(s.length)}):`);
    const body: Level = {
      nodes: s.body,
      named: new Map(),
      statement: new Set(),
      top: false,
      indent: level.indent + INDENT,
    };
    for (const b of s.body) {
      if (b.kind === "carry") body.named.set(b.id, atom(`${states[b.state]!.list}[-${b.lag}]`));
      else if (b.kind === "outer") body.named.set(b.id, this.expression(level, b.source, out));
      else if (b.kind === "slice")
        body.named.set(b.id, atom(`${py(this.expression(level, b.source, out), PREC.atom)}[${index}]`));
    }
    // Each step's named values: h_t, f_t.
    const stepValue = (id: NodeId, base: string) => {
      if (s.body[id]!.kind === "op" && !body.named.has(id))
        body.named.set(id, atom(this.locals.claim(`${base}_${s.index}`)));
    };
    s.states.forEach((st, k) => stepValue(st.next, stepName("state", k, st.name)));
    s.outputs.forEach((o, k) => {
      const p = projects.find((x) => x.what === "output" && x.index === k);
      if (p && this.names.has(p.id)) stepValue(o, this.names.get(p.id)!);
    });
    const bodyLines: string[] = [];
    this.emitLevel(body, [...s.states.map((st) => st.next), ...s.outputs], bodyLines);
    out.push(...bodyLines);
    const appendBefore: string[] = [];
    const appends = [
      ...s.states.map(
        (st, k) =>
          `${body.indent}${states[k]!.list}.append(${this.expression(body, st.next, appendBefore).text})`,
      ),
      ...s.outputs.map(
        (o, k) => `${body.indent}${outputs[k]}.append(${this.expression(body, o, appendBefore).text})`,
      ),
    ];
    out.push(...appendBefore, ...appends);
    for (const p of projects) {
      if (p.what !== "state" && p.what !== "output")
        throw this.refuse(p.span, `a ${p.what} projection in the forward pass`);
      const name =
        level.named.get(p.id)?.text ??
        this.locals.claim(
          p.what === "state"
            ? `${s.states[p.index]!.name}${s.reverse ? "_reversed" : "_all"}`
            : `out${p.index}`,
        );
      const list =
        p.what === "state" ? `${states[p.index]!.list}[${s.states[p.index]!.lags}:]` : outputs[p.index]!;
      out.push(`${level.indent}${name} = torch.stack(${list})`);
      level.named.set(p.id, atom(name));
    }
  }

  /** An initial value as a tensor of the state's shape (h_0 = 0 is a vector of zeros). */
  private broadcast(x: Python, from: Shape, to: Shape): string {
    const shape = tuple(to.map((d) => this.dim(d)));
    if (x.number)
      return this.reference
        ? `${this.reference}.new_full(${shape}, ${x.text})`
        : `torch.full(${shape}, ${x.text}, dtype=${DTYPE})`;
    return from.length === to.length && from.every((d, i) => d === to[i])
      ? x.text
      : `torch.broadcast_to(${x.text}, ${shape})`;
  }

  private refuse(span: Span, what: string): Refusal {
    return new Refusal(unsupported(span, `the PyTorch export does not write ${what}`));
  }
}
