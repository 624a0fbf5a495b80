import { CompletionItemKind, InsertTextFormat, type CompletionItem } from "vscode-languageserver";
import { Identifier, keywords } from "../../grammar/tokens.js";
import { signature, surfaceFunction, surfaceNames } from "../ir/registry.js";
import { formatShape } from "../ir/types.js";
import { writtenShape, type DocumentAnalysis, type ModelSymbol } from "./model.js";
import { OPTIMIZERS as OPTIMIZER_TABLE } from "../ir/optimisers.js";

/** The optimisers `train` takes. */
const OPTIMIZERS = Object.keys(OPTIMIZER_TABLE);

const SYMBOL_KINDS: Record<ModelSymbol["kind"], CompletionItemKind> = {
  input: CompletionItemKind.Variable,
  target: CompletionItemKind.Variable,
  param: CompletionItemKind.Field,
  const: CompletionItemKind.Constant,
  value: CompletionItemKind.Variable,
  loss: CompletionItemKind.Variable,
  dim: CompletionItemKind.TypeParameter,
  index: CompletionItemKind.TypeParameter,
  model: CompletionItemKind.Module,
};

/**
 * Every name the cursor could be starting: the model's names (from its declarations and
 * equations, or — where the text does not parse — from its tokens), its dims and indices, the
 * functions with their parameters, and the keywords. The editor filters them by what is typed.
 */
export function completionsAt(analysis: DocumentAnalysis, offset: number): CompletionItem[] {
  const items = new Map<string, CompletionItem>();
  const add = (item: CompletionItem) => {
    if (!items.has(item.label)) items.set(item.label, item);
  };
  for (const s of analysis.symbols) {
    if (s.kind === "model") continue;
    add({ label: s.name, kind: SYMBOL_KINDS[s.kind], detail: detailOf(analysis, s), sortText: `0${s.name}` });
    // A value with one entry per step is mostly read at a step: offer `x_t` beside `x`.
    if (s.step !== undefined && analysis.indices.has(s.step))
      add({
        label: `${s.name}_${s.step}`,
        kind: SYMBOL_KINDS[s.kind],
        detail: `${detailOf(analysis, s)}, at step ${s.step}`,
        sortText: `0${s.name}_${s.step}`,
      });
  }
  // Where the text does not parse, statements the parser skipped declare nothing: every other
  // identifier in the text stands in for them, except the one being typed.
  const typing = analysis.nameAt(offset);
  const unparsed =
    analysis.diagnostics.some((d) => d.code.startsWith("NB1")) || analysis.failure !== undefined;
  for (const [i, t] of unparsed ? analysis.tokens.entries() : []) {
    if (t.tokenType !== Identifier || (typing && t.startOffset === typing.span.start)) continue;
    if (analysis.tokens[i + 1]?.tokenType.name === "LParen" || surfaceFunction(t.image)) continue;
    const base = analysis.baseName({ identifier: t.image, subscripted: false });
    add({ label: base, kind: CompletionItemKind.Text, sortText: `1${base}` });
  }
  for (const name of surfaceNames()) {
    const params = surfaceFunction(name)!.surface!.params;
    add({
      label: name,
      kind: CompletionItemKind.Function,
      detail: signature(name, params),
      insertText: `${name}($0)`,
      insertTextFormat: InsertTextFormat.Snippet,
      sortText: `2${name}`,
    });
  }
  const functions = [
    { label: "grad", detail: "grad(f, x): ∂f/∂x, taken by the model" },
    ...[...analysis.indices].flatMap((t) => [
      { label: `sum_${t}`, detail: `sum_${t}(e): the sum of e over the steps of ${t}` },
      { label: `mean_${t}`, detail: `mean_${t}(e): the mean of e over the steps of ${t}` },
    ]),
  ];
  for (const f of functions)
    add({
      ...f,
      kind: CompletionItemKind.Function,
      insertText: `${f.label}($0)`,
      insertTextFormat: InsertTextFormat.Snippet,
      sortText: `2${f.label}`,
    });
  for (const k of [...keywords, ...OPTIMIZERS])
    add({ label: k, kind: CompletionItemKind.Keyword, sortText: `3${k}` });
  return [...items.values()];
}

function detailOf(analysis: DocumentAnalysis, s: ModelSymbol): string {
  const st = s.statement;
  if (st.kind === "dim") {
    const size = st.value ?? analysis.dimSize(st.name);
    return `dim${size === undefined ? "" : ` = ${size}`}`;
  }
  if (st.kind === "index")
    return `index in ${st.lower}..${st.upper.kind === "named" ? st.upper.name : st.upper.value}`;
  const named = analysis.namedValue(s.name);
  const shape = named
    ? formatShape(named.declaredShape)
    : st.kind === "declaration" && st.shape
      ? writtenShape(st.shape)
      : undefined;
  return `${s.kind}${shape === undefined ? "" : ` ${shape}`}`;
}
