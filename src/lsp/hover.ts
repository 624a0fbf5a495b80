import type { Hover } from "vscode-languageserver";
import { signature, surfaceFunction } from "../ir/registry.js";
import { formatShape } from "../ir/types.js";
import { operationNote } from "../handout/glossary.js";
import { writtenShape, type DocumentAnalysis, type ModelSymbol, type NameAt } from "./model.js";
import type { Derivatives } from "./derivative.js";

/** What a name is, for a hover: its kind and shape, its equation, and its gradient as the derivation records it. */
export function hoverAt(
  analysis: DocumentAnalysis,
  offset: number,
  derivatives: () => Derivatives | undefined,
): Hover | null {
  const at = analysis.nameAt(offset);
  if (!at) return null;
  const range = analysis.source.range(at.span);
  const symbol = at.called ? undefined : analysis.definitionOf(at);
  const text = symbol ? describeSymbol(analysis, symbol, at, derivatives) : describeFunction(analysis, at);
  return text === undefined ? null : { contents: { kind: "markdown", value: text }, range };
}

const code = (text: string, language = "nabla") => `\`\`\`${language}\n${text}\n\`\`\``;

function describeSymbol(
  analysis: DocumentAnalysis,
  symbol: ModelSymbol,
  at: NameAt,
  derivatives: () => Derivatives | undefined,
): string {
  const s = symbol.statement;
  if (s.kind === "model") return code(`model ${s.name}`);
  if (s.kind === "dim") {
    const size = s.value ?? analysis.dimSize(s.name);
    return [
      code(`dim ${s.name}${size === undefined ? "" : ` = ${size}`}`),
      s.value === undefined ? (size === undefined ? "Set by the data." : "Set by the example's data.") : "",
    ]
      .filter((p) => p !== "")
      .join("\n\n");
  }
  if (s.kind === "index") {
    const upper = s.upper.kind === "named" ? s.upper.name : String(s.upper.value);
    const size = s.upper.kind === "named" ? analysis.dimSize(s.upper.name) : undefined;
    return code(
      `index ${s.name} in ${s.lower}..${upper}${size === undefined ? "" : `  # ${upper} = ${size}`}`,
    );
  }
  const parts: string[] = [code(`${symbol.kind} ${symbol.name}: ${shapeOf(analysis, symbol)}`)];
  const named = analysis.namedValue(symbol.name);
  const index =
    named?.index ??
    (symbol.step !== undefined && analysis.indices.has(symbol.step) ? symbol.step : undefined);
  if (index !== undefined)
    parts.push(
      `One value per step of \`${index}\`: \`${symbol.name}_${index}\`${at.written !== symbol.written ? `; here \`${at.written}\`` : ""}.`,
    );
  // The statement as the model writes it: the equation, or the declaration with its value.
  parts.push(code(analysis.source.text.slice(s.span.start, s.span.end)));
  if (named?.latex !== undefined) parts.push(`Written $${named.latex}$ in the handout.`);
  parts.push(gradientPart(analysis, symbol, derivatives));
  return parts.filter((p) => p !== "").join("\n\n");
}

/** `[T, H] = [3, 4]`: the shape as declared, with the sizes where the analysis knows them. */
function shapeOf(analysis: DocumentAnalysis, symbol: ModelSymbol): string {
  const named = analysis.namedValue(symbol.name);
  const node = named ? analysis.graph?.nodes[named.node] : undefined;
  if (named && node) {
    const declared = formatShape(named.declaredShape);
    const sizes = formatShape(node.shape);
    if (node.shape.length === 0) return "[] (a scalar)";
    return declared === sizes ? declared : `${declared} = ${sizes}`;
  }
  const s = symbol.statement;
  if (s.kind === "declaration") return s.shape ? writtenShape(s.shape) : "[] (a scalar)";
  return "unknown until the model's errors are fixed";
}

function gradientPart(
  analysis: DocumentAnalysis,
  symbol: ModelSymbol,
  derivatives: () => Derivatives | undefined,
): string {
  if (symbol.kind === "input" || symbol.kind === "target" || symbol.kind === "const") return "";
  if (!analysis.gradient) return "_Its gradient is derived once the model has no errors._";
  let d;
  try {
    d = derivatives()?.of(symbol.name);
  } catch {
    // The hover still shows what the model says about the name.
    return "";
  }
  const loss = analysis.graph?.named.find((n) => n.kind === "loss")?.name ?? "L";
  if (!d || d.kind === "given") return "";
  if (d.kind === "zero")
    return `The loss does not depend on \`${symbol.name}\`: ∂${loss}/∂${symbol.name} = 0.`;
  const what =
    symbol.kind === "param" ? `The gradient ∂${loss}/∂${symbol.name}` : `Its δ = ∂${loss}/∂${symbol.written}`;
  return [
    `${what}, as the derivation records it (the handout's lines, with the example's numbers where it has them):`,
    code(d.latex, "latex"),
    ...d.notes,
  ].join("\n\n");
}

/** A function's signature from the op table, and what the handout says about it. */
function describeFunction(analysis: DocumentAnalysis, at: NameAt): string | undefined {
  const name = at.identifier;
  const reduction = /^(sum|mean)_([A-Za-z][A-Za-z0-9]*)$/.exec(name);
  if (reduction && analysis.indices.has(reduction[2]!)) {
    const [, op, index] = reduction;
    return [
      code(`${name}(e)`),
      `The ${op === "sum" ? "sum" : "mean"} of \`e\` over the steps of \`${index}\`.`,
    ].join("\n\n");
  }
  if (name === "grad")
    return [
      code("grad(f, x)"),
      "The gradient ∂f/∂x of a scalar `f` with respect to `x`, taken by the model itself (it has the shape of `x`); the loss's gradient then flows through it too.",
    ].join("\n\n");
  const def = surfaceFunction(name);
  if (!def) return undefined;
  const params = def.surface!.params;
  const parts = [code(signature(name, params))];
  const note = operationNote(name);
  if (note) parts.push(note);
  const constants = params.filter((p) => p.attr || p.list);
  if (constants.length > 0)
    parts.push(
      `${constants.map((p) => `\`${p.name}\``).join(", ")} ${constants.length === 1 ? "is a constant" : "are constants"} written in the model, not a value to differentiate.`,
    );
  return parts.join("\n\n");
}
