import type { SubscriptedName } from "../syntax/ast.js";
import type { Span } from "../diagnostics/span.js";
import * as D from "../diagnostics/codes.js";
import { GraphBuilder } from "./builder.js";
import type { NodeId, Shape } from "./types.js";
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
  ) {}

  equation(name: string, span: Span): NodeId | null {
    if (this.nodeOf.has(name)) return this.nodeOf.get(name)!;
    if (this.lowering.includes(name)) {
      const cycle = [...this.lowering.slice(this.lowering.indexOf(name)), name].map(
        (n) => `${n}_${this.index}`,
      );
      this.host.report(D.cycle(span, cycle));
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
    if (ref.kind === "lead") {
      host.report(D.futureStep(name.span, `${a.base}_<${this.index}+${ref.k}>`));
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
    if (sequence) {
      if (ref.kind === "lag") {
        host.report(
          D.stepOutOfRange(
            name.span,
            `'${a.base}_<${this.index}-${ref.k}>' reads before the first step of the sequence '${a.base}'`,
          ),
        );
        return null;
      }
      const source = this.scans.outside(() => host.lowerName(a.base, name.span));
      if (source === null || source === undefined) return null;
      const shape = host.outer.shape(source).slice(1);
      return this.b.add({ kind: "slice", source, shape, span: name.span }, `slice|${source}`);
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
