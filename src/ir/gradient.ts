import * as D from "../diagnostics/codes.js";
import type { Expr } from "../syntax/ast.js";
import { lowerExpr, type ExprHost } from "./expr.js";
import type { GradientInModel, InnerGradient, NodeId } from "./types.js";
import { formatShape } from "./types.js";

type CallExpr = Extract<Expr, { kind: "call" }>;

/**
 * `grad(f, x)`: the gradient of a scalar f with respect to a value x of the model, as a value
 * of the same shape as x that later equations may use (a gradient penalty, double backprop).
 * It is built by `differentiate` over the nodes lowered so far; the loss's gradient then
 * differentiates through it.
 */
export function lowerGradient(
  host: ExprHost,
  call: CallExpr,
  differentiate: InnerGradient | undefined,
  recorded: GradientInModel[],
): NodeId | null {
  const usage = "grad(f, x) takes a scalar f and the name of a value x it depends on, e.g. grad(D, X)";
  if (call.args.length !== 2 || call.args.some((a) => a.name !== undefined)) {
    host.report(D.badArguments(call.span, usage));
    return null;
  }
  const [ofArg, wrtArg] = call.args as [(typeof call.args)[0], (typeof call.args)[0]];
  if (wrtArg.value.kind !== "name") {
    host.report(D.badArguments(wrtArg.span, `${usage}: the second argument must be a name`));
    return null;
  }
  const of = lowerExpr(host, ofArg.value);
  const wrt = lowerExpr(host, wrtArg.value);
  if (of === null || wrt === null) return null;
  const b = host.builder;
  if (b.shape(of).length !== 0) {
    host.report(
      D.rankError(
        ofArg.span,
        `grad(f, x) differentiates a scalar: f has shape ${formatShape(b.shape(of))} (sum it, or take one entry)`,
      ),
    );
    return null;
  }
  if (b.node(wrt).kind === "const") {
    host.report(
      D.badArguments(
        wrtArg.span,
        `'${wrtArg.value.name.identifier}' is a constant: there is nothing to differentiate by`,
      ),
    );
    return null;
  }
  if (!differentiate) {
    host.report(D.unsupported(call.span, "grad(f, x) is taken in equations of the model, not here"));
    return null;
  }
  const result = differentiate(b, of, wrt);
  if (result !== null && "unsupported" in result) {
    host.report(D.unsupported(call.span, result.unsupported));
    return null;
  }
  if (result === null) {
    host.report(
      D.badArguments(
        call.span,
        `the first argument of grad does not depend on '${wrtArg.value.name.identifier}': its gradient is 0 everywhere`,
      ),
    );
    return null;
  }
  recorded.push({ node: result.node, of, wrt, adjoints: result.adjoints });
  return result.node;
}
