import type { Attrs, Node, NodeId, Shape } from "./types.js";
import type { ShapeProblem } from "../diagnostics/shapes.js";
import type { Span } from "../diagnostics/span.js";
import { getOp } from "./registry.js";
import { sizeOf, tensor } from "./tensor.js";

/** Constant folding stops here so that the IR never carries large literal tensors it made itself. */
const FOLD_LIMIT = 64;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class ShapeError extends Error {
  constructor(
    readonly op: string,
    readonly problem: ShapeProblem,
  ) {
    super(`${op}: ${problem.name}`);
  }
}

/**
 * Appends nodes in topological order. Identical nodes are built once (hash-consing is the
 * common-subexpression elimination), each op's `simplify` rule runs as the node is built,
 * and ops over constants fold, so gradients stay small.
 */
export class GraphBuilder {
  readonly nodes: Node[];
  private readonly keys = new Map<string, NodeId>();
  /** Span used for nodes built by the differentiator: the forward node they come from. */
  currentSpan: Span = { start: 0, end: 0, line: 1, column: 1 };

  constructor(nodes: readonly Node[] = []) {
    this.nodes = [...nodes];
    for (const n of this.nodes) if (n.kind === "op" || n.kind === "const") this.keys.set(keyOf(n), n.id);
  }

  node(id: NodeId): Node {
    return this.nodes[id]!;
  }

  shape(id: NodeId): Shape {
    return this.nodes[id]!.shape;
  }

  input(name: string, role: "input" | "target", shape: Shape, span: Span, integer = false): NodeId {
    return this.push({
      kind: "input",
      id: this.nodes.length,
      name,
      role,
      shape,
      span,
      ...(integer ? { integer: true as const } : {}),
    });
  }

  param(name: string, shape: Shape, span: Span): NodeId {
    return this.push({
      kind: "param",
      id: this.nodes.length,
      name,
      shape,
      span,
    });
  }

  constant(value: Float64Array, shape: Shape, span: Span = this.currentSpan, name?: string): NodeId {
    const node = { kind: "const" as const, shape, value, span, ...(name !== undefined ? { name } : {}) };
    return this.add(node, keyOf({ ...node, id: this.nodes.length }));
  }

  adjointSymbol(of: NodeId): NodeId {
    return this.add(
      { kind: "adjoint", of, shape: this.shape(of), span: this.nodes[of]!.span },
      `adjoint|${of}`,
    );
  }

  /**
   * Adds a node of any other kind (scan, projection, body input). Nodes with a `key` are
   * built once: the same carry, slice or projection is one node.
   */
  add(node: DistributiveOmit<Node, "id">, key?: string): NodeId {
    if (key !== undefined) {
      const existing = this.keys.get(key);
      if (existing !== undefined) return existing;
      this.keys.set(key, this.nodes.length);
    }
    return this.push({ ...node, id: this.nodes.length } as Node);
  }

  scalar(value: number): NodeId {
    return this.constant(Float64Array.of(value), []);
  }

  /** The value of a node when it is a constant scalar or a uniform constant tensor. */
  constValue(id: NodeId): number | undefined {
    const n = this.nodes[id]!;
    // A const the model names stays in its equations (y_max - y_min is not folded to 1).
    if (n.kind !== "const" || n.value.length === 0 || n.name !== undefined) return undefined;
    const v = n.value[0]!;
    return n.value.every((x) => x === v) ? v : undefined;
  }

  /** Builds (or reuses) an op node; throws ShapeError when the op's shape rule rejects the args. */
  op(name: string, args: readonly NodeId[], attrs: Attrs = {}, span: Span = this.currentSpan): NodeId {
    const def = getOp(name);
    const simplified = def.simplify?.(this, args, attrs);
    if (simplified !== undefined) return simplified;
    const shapeResult = def.shape(
      args.map((a) => this.shape(a)),
      attrs,
    );
    if ("error" in shapeResult) throw new ShapeError(name, shapeResult.error);
    const { shape } = shapeResult;
    const folded = this.fold(name, args, attrs, shape, span);
    if (folded !== undefined) return folded;
    const node = { kind: "op" as const, op: name, args, attrs, shape, span };
    return this.add(node, keyOf({ ...node, id: this.nodes.length }));
  }

  private fold(
    name: string,
    args: readonly NodeId[],
    attrs: Attrs,
    shape: Shape,
    span: Span,
  ): NodeId | undefined {
    if (args.length === 0 || !shape.every((d) => typeof d === "number")) return undefined;
    const concrete = shape as number[];
    if (sizeOf(concrete) > FOLD_LIMIT) return undefined;
    const values = [];
    for (const a of args) {
      const n = this.nodes[a]!;
      if (n.kind !== "const" || n.name !== undefined) return undefined;
      values.push(tensor(n.shape as number[], n.value));
    }
    const result = getOp(name).evaluate(values, attrs, concrete, new Map());
    return this.constant(result.data, concrete, span);
  }

  private push(node: Node): NodeId {
    this.nodes.push(node);
    return node.id;
  }
}

function keyOf(node: Node): string {
  if (node.kind === "const")
    return `const|${node.name ?? ""}|${node.shape.join(",")}|${Array.from(node.value).join(",")}`;
  if (node.kind === "op") return `${node.op}|${node.args.join(",")}|${JSON.stringify(node.attrs)}`;
  return `${node.kind}|${node.id}`;
}
