import type { Node, NodeId } from "./types.js";
import { getOp } from "../ops/registry.js";
import { resolveShape } from "./shapes.js";
import { sizeOf, tensor, type Tensor } from "./tensor.js";

/**
 * The reference evaluator: runs the IR with each op's `evaluate` rule. Tests check the
 * generated code against it, and the handout takes its worked numbers from it.
 */
export class Evaluator {
  private readonly memo = new Map<NodeId, Tensor>();
  readonly dims = new Map<string, number>();

  constructor(
    private readonly nodes: readonly Node[],
    private readonly values: ReadonlyMap<string, Tensor>,
  ) {
    for (const n of nodes) {
      if (n.kind !== "input" && n.kind !== "param") continue;
      const v = values.get(n.name);
      if (!v) continue;
      n.shape.forEach((d, i) => {
        if (typeof d === "string" && !this.dims.has(d))
          this.dims.set(d, v.shape[i]!);
      });
    }
  }

  value(id: NodeId): Tensor {
    const cached = this.memo.get(id);
    if (cached) return cached;
    const n = this.nodes[id]!;
    let result: Tensor;
    switch (n.kind) {
      case "input":
      case "param": {
        const v = this.values.get(n.name);
        if (!v) throw new Error(`no value for ${n.kind} '${n.name}'`);
        const shape = resolveShape(n.shape, this.dims);
        if (sizeOf(shape) !== v.data.length)
          throw new Error(
            `value of '${n.name}' has ${v.data.length} elements, expected shape [${shape.join(", ")}]`,
          );
        result = tensor(shape, v.data);
        break;
      }
      case "const":
        result = tensor(n.shape as number[], n.value);
        break;
      case "adjoint":
        throw new Error("an adjoint symbol has no value");
      case "op": {
        const args = n.args.map((a) => this.value(a));
        result = getOp(n.op).evaluate(
          args,
          n.attrs,
          resolveShape(n.shape, this.dims),
          this.dims,
        );
        break;
      }
    }
    this.memo.set(id, result);
    return result;
  }
}
