import type { SubscriptedName } from "../syntax/ast.js";
import type { Span } from "../diagnostics/span.js";
import * as D from "../diagnostics/codes.js";
import { GraphBuilder } from "./builder.js";
import { formatShape, type NodeId, type Shape } from "./types.js";
import { sameShape } from "./shapes.js";
import { lowerExpr } from "./expr.js";
import { analyzeName } from "./steps.js";
import type { Equation, Lowering } from "./lower.js";
import type { ScanLowering } from "./scan.js";

/** Name resolution inside the body of one index's scan. */
export class BodyScope {
  readonly b = new GraphBuilder();
  readonly nodeOf = new Map<string, NodeId | null>();
  private readonly lowering: string[] = [];

  constructor(
    private readonly host: Lowering,
    private readonly scans: ScanLowering,
    private readonly index: string,
    private readonly equations: ReadonlyMap<string, Equation>,
    private readonly states: ReadonlyMap<string, { index: number; shape: Shape }>,
    /** The scan runs from the last step to the first: its states read later steps. */
    private readonly reverse: boolean = false,
    /** Values of the same index that scans before this one computed, stacked over the steps. */
    private readonly earlier: ReadonlyMap<string, NodeId> = new Map(),
  ) {}

  /** The current step of a stacked outer sequence (flipped first when the scan runs backwards). */
  private sliceOf(source: NodeId, span: Span, inOrder = false): NodeId {
    const host = this.host;
    const read =
      inOrder || !this.reverse ? source : this.scans.outside(() => host.outer.op("flip", [source], {}, span));
    const shape = host.outer.shape(read).slice(1);
    return this.b.add({ kind: "slice", source: read, shape, span }, `slice|${read}`);
  }

  /**
   * A sequence read k steps before the current one (teacher forcing: y_<t-1>), when the model
   * gives its values before the first step (y_0 = …): the sequence delayed by k, in the order
   * the scan runs. Undefined when those values are not given; null after an error.
   */
  private delayed(base: string, k: number, span: Span): NodeId | null | undefined {
    const host = this.host;
    const info = host.symbols.indices.get(this.index)!;
    // Oldest first in the scan's order: y_<1-k> … y_0 forwards, y_<T+k> … y_<T+1> backwards.
    const positions = Array.from({ length: k }, (_, i) => i);
    const given = (i: number) =>
      this.reverse
        ? host.symbols.finalDefinition(base, k - i, info.length) !== undefined
        : host.symbols.hasInit(base, i + 1 - k);
    if (!positions.every(given)) return undefined;
    return this.scans.outside((): NodeId | null => {
      const source = host.lowerName(base, span);
      if (source === null || source === undefined) return null;
      const step = host.outer.shape(source).slice(1);
      const inits: NodeId[] = [];
      for (const i of positions) {
        const init = this.reverse
          ? host.finalValue(base, k - i, info.length, span)
          : host.initValue(base, i + 1 - k, span);
        if (init === null || init === undefined) return null;
        const shape = host.outer.shape(init);
        if (shape.length > 0 && !sameShape(shape, step)) {
          host.report(
            D.stateShape(
              span,
              `the value of '${base}' before its first step has shape ${formatShape(shape)}, but a step of '${base}' has shape ${formatShape(step)}`,
            ),
          );
          return null;
        }
        inits.push(init);
      }
      const inOrder = this.reverse ? host.outer.op("flip", [source], {}, span) : source;
      return host.outer.op("delay", [inOrder, ...inits], { k }, span);
    });
  }

  equation(name: string, span: Span): NodeId | null {
    if (this.nodeOf.has(name)) return this.nodeOf.get(name)!;
    if (this.lowering.includes(name)) {
      const cycle = [...this.lowering.slice(this.lowering.indexOf(name)), name].map(
        (n) => `${n}_${this.index}`,
      );
      // `h_t-1`, as lecture notes write the step before, reads h_t minus 1.
      const lag = /^\s*-\s*(\d+)/.exec(this.host.source.slice(span.end))?.[1];
      const hint = lag
        ? `'${name}_${this.index}-${lag}' is ${name}_${this.index} minus ${lag}: the step before is written ${name}_<${this.index}-${lag}>`
        : undefined;
      this.host.report(D.cycle(span, cycle, hint));
      this.nodeOf.set(name, null);
      return null;
    }
    this.lowering.push(name);
    const e = this.equations.get(name)!;
    this.b.currentSpan = e.value.span;
    const id = lowerExpr(this.host, e.value);
    this.lowering.pop();
    this.nodeOf.set(name, id);
    return id;
  }

  /** An outer value as the body sees it: constants are copied in (so they still fold), the rest read in place. */
  private outerValue(id: NodeId | null | undefined): NodeId | null {
    if (id === null || id === undefined) return null;
    const n = this.host.outer.node(id);
    if (n.kind === "const") return this.b.constant(n.value, n.shape, n.span);
    return this.b.add({ kind: "outer", source: id, shape: n.shape, span: n.span }, `outer|${id}`);
  }

  reference(name: SubscriptedName): NodeId | null {
    const host = this.host;
    const a = analyzeName(name, host.symbols.indices);
    if (a.kind === "error") {
      host.report(D.badSubscript(name.span, a.message));
      return null;
    }
    if (a.kind === "plain") {
      if (host.symbols.isOuterName(a.name))
        return this.outerValue(this.scans.outside(() => host.lowerName(a.name, name.span)));
      if (host.symbols.dims.has(a.name)) return host.dimValue(a.name, name.span);
      if (this.equations.has(a.name) || host.symbols.sequences.has(a.name)) {
        host.report(
          D.stepContext(
            name.span,
            `'${a.name}' has one value per step: write '${a.name}_${this.index}' for the current step or '${a.name}_<${this.index}-1>' for the one before`,
          ),
        );
        return null;
      }
      return host.unknown(name, a.name);
    }
    if (a.ref.kind === "literal" && a.ref.n <= 0 && host.symbols.hasInit(a.base, a.ref.n)) {
      return this.outerValue(
        this.scans.outside(() => host.initValue(a.base, a.ref.kind === "literal" ? a.ref.n : 0, name.span)),
      );
    }
    const sequence = host.symbols.sequences.get(a.base);
    const computedEarlier = this.earlier.get(a.base);
    if (computedEarlier !== undefined && (!a.index || a.index === this.index)) {
      if (a.ref.kind === "current") return this.sliceOf(computedEarlier, name.span);
      if (a.ref.kind === "literal" || a.ref.kind === "fromEnd")
        return this.outerValue(this.scans.outside(() => host.reference(name)));
      host.report(
        D.stepContext(
          name.span,
          `'${name.identifier}${name.subscript ? "_<…>" : ""}' reads another step of '${a.base}', which a recurrence running the other way computes; read '${a.base}_${this.index}', the current step`,
        ),
      );
      return null;
    }
    const ownIndex = this.equations.has(a.base) ? this.index : sequence?.index;
    if (ownIndex === undefined) {
      const elsewhere = [...host.symbols.stepEquations].find(([, eqs]) => eqs.has(a.base));
      if (elsewhere) {
        host.report(
          D.stepContext(
            name.span,
            `'${a.base}' is a recurrence over '${elsewhere[0]}'; recurrences over different indices cannot read each other's steps inside their bodies`,
          ),
        );
        return null;
      }
      return host.unknown(name, a.base);
    }
    if (ownIndex !== this.index || (a.index && a.index !== this.index)) {
      if (a.ref.kind === "literal" || a.ref.kind === "fromEnd")
        return this.outerValue(this.scans.outside(() => host.reference(name)));
      host.report(
        D.stepContext(
          name.span,
          `'${a.base}' has one value per step of '${ownIndex}', but this is the recurrence over '${this.index}'`,
        ),
      );
      return null;
    }
    const ref = a.ref;
    // Steps already computed: earlier ones going forwards, later ones going backwards.
    const done = this.reverse ? "lead" : "lag";
    if (!sequence && (ref.kind === "lead" || ref.kind === "lag") && ref.kind !== done) {
      host.report(
        ref.kind === "lead"
          ? D.futureStep(name.span, `${a.base}_<${this.index}+${ref.k}>`)
          : D.stepContext(
              name.span,
              `'${a.base}_<${this.index}-${ref.k}>' is not computed yet: this recurrence runs backwards, from the last step, and reads later steps`,
            ),
      );
      return null;
    }
    if (ref.kind === "literal" || ref.kind === "fromEnd") {
      if (sequence) return this.outerValue(this.scans.outside(() => host.reference(name)));
      host.report(
        D.stepContext(
          name.span,
          `a step such as '${name.identifier}' of '${a.base}' can only be read outside the recurrence that computes it`,
        ),
      );
      return null;
    }
    if (sequence && ref.kind === (this.reverse ? "lead" : "lag")) {
      const delayed = this.delayed(a.base, ref.k, name.span);
      if (delayed !== undefined) return delayed === null ? null : this.sliceOf(delayed, name.span, true);
    }
    if (sequence) {
      if (ref.kind === "lag" || ref.kind === "lead") {
        host.report(
          D.stepOutOfRange(
            name.span,
            ref.kind === "lag"
              ? `'${a.base}_<${this.index}-${ref.k}>' reads before the first step of the sequence '${a.base}'${this.reverse ? "" : `; give its value${ref.k > 1 ? "s" : ""} before the first step (${Array.from({ length: ref.k }, (_, i) => (i === ref.k - 1 ? `'${a.base}_0 = …'` : `'${a.base}_<${i + 1 - ref.k}> = …'`)).join(", ")}) to read it there`}`
              : `'${a.base}_<${this.index}+${ref.k}>' reads after the last step of the sequence '${a.base}'${this.reverse ? `; give its value${ref.k > 1 ? "s" : ""} after the last step ('${a.base}_<T+1> = …') to read it there` : ""}`,
          ),
        );
        return null;
      }
      const source = this.scans.outside(() => host.lowerName(a.base, name.span));
      if (source === null || source === undefined) return null;
      return this.sliceOf(source, name.span);
    }
    if (ref.kind === "current") return this.equation(a.base, name.span);
    const state = this.states.get(a.base);
    if (!state) return null;
    return this.b.add(
      {
        kind: "carry",
        state: state.index,
        lag: ref.k,
        shape: state.shape,
        span: name.span,
      },
      `carry|${state.index}|${ref.k}`,
    );
  }
}
