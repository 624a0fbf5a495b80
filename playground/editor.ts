/**
 * The model editor: CodeMirror with nabla's own lexer for highlighting (so the colours follow
 * the language exactly), the compiler's diagnostics as lint marks, and completion of keywords,
 * functions and the model's names.
 */
import { EditorView, basicSetup } from "codemirror";
import { EditorState, RangeSetBuilder, type Extension } from "@codemirror/state";
import { Decoration, ViewPlugin, type DecorationSet, type ViewUpdate } from "@codemirror/view";
import { setDiagnostics, lintGutter, type Diagnostic as LintDiagnostic } from "@codemirror/lint";
import { autocompletion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { keywords, nablaLexer } from "../grammar/tokens.js";
import { getOp, signature, surfaceNames } from "../src/ir/registry.js";
import type { PageDiagnostic } from "../src/playground/compile.js";

const KEYWORDS = new Set(keywords);
const FUNCTIONS = new Set(surfaceNames());

const mark = (cls: string) => Decoration.mark({ class: cls });
const MARKS = {
  keyword: mark("nb-keyword"),
  function: mark("nb-function"),
  number: mark("nb-number"),
  string: mark("nb-string"),
  comment: mark("nb-comment"),
  operator: mark("nb-operator"),
};

function highlight(view: EditorView): DecorationSet {
  const text = view.state.doc.toString();
  const builder = new RangeSetBuilder<Decoration>();
  // Comments are skipped by the lexer: they are what lies between tokens after a '#'.
  const comments = (from: number, to: number) => {
    for (let at = text.indexOf("#", from); at >= 0 && at < to; at = text.indexOf("#", at)) {
      const lineEnd = text.indexOf("\n", at);
      const end = lineEnd < 0 || lineEnd > to ? to : lineEnd;
      builder.add(at, end, MARKS.comment);
      at = end;
    }
  };
  let end = 0;
  for (const token of nablaLexer.tokenize(text).tokens) {
    comments(end, token.startOffset);
    const to = (token.endOffset ?? token.startOffset) + 1;
    const name = token.tokenType.name;
    const image = token.image;
    const kind =
      KEYWORDS.has(image) && name !== "Identifier"
        ? MARKS.keyword
        : name === "Identifier" && FUNCTIONS.has(image) && text[to] === "("
          ? MARKS.function
          : name === "NumberLiteral"
            ? MARKS.number
            : name === "StringLiteral"
              ? MARKS.string
              : /^(Plus|Minus|Star|Slash|Caret|Hadamard|Transpose|Equals|SubscriptOpen|RAngle)$/.test(name)
                ? MARKS.operator
                : undefined;
    if (kind) builder.add(token.startOffset, to, kind);
    end = to;
  }
  comments(end, text.length);
  return builder.finish();
}

const highlighting = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = highlight(view);
    }
    update(update: ViewUpdate) {
      if (update.docChanged) this.decorations = highlight(update.view);
    }
  },
  { decorations: (v) => v.decorations },
);

const theme = EditorView.theme({
  ".nb-keyword": { color: "#7a1fa2", fontWeight: "600" },
  ".nb-function": { color: "#1a4d99" },
  ".nb-number": { color: "#b35c00" },
  ".nb-string": { color: "#1e7a3c" },
  ".nb-comment": { color: "#6a737d", fontStyle: "italic" },
  ".nb-operator": { color: "#444" },
});

/** Names the last successful compile knew, offered by completion alongside keywords and functions. */
let modelNames: readonly string[] = [];

export function setModelNames(names: readonly string[]): void {
  modelNames = names;
}

function complete(context: CompletionContext): CompletionResult | null {
  const word = context.matchBefore(/[A-Za-z][A-Za-z0-9_]*/);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  return {
    from: word.from,
    options: [
      ...[...KEYWORDS].map((k) => ({ label: k, type: "keyword" })),
      ...[...FUNCTIONS].map((f) => ({
        label: f,
        type: "function",
        detail: signature(f, getOp(f).surface?.params ?? []),
        apply: `${f}(`,
      })),
      ...modelNames.map((n) => ({ label: n, type: "variable" })),
    ],
    validFor: /^[A-Za-z][A-Za-z0-9_]*$/,
  };
}

export function createEditor(parent: HTMLElement, doc: string, onChange: (text: string) => void): EditorView {
  const extensions: Extension[] = [
    basicSetup,
    EditorView.lineWrapping,
    highlighting,
    theme,
    lintGutter(),
    autocompletion({ override: [complete] }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) onChange(u.state.doc.toString());
    }),
  ];
  return new EditorView({ parent, state: EditorState.create({ doc, extensions }) });
}

export function replaceText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

export function showDiagnostics(view: EditorView, diagnostics: readonly PageDiagnostic[]): void {
  const length = view.state.doc.length;
  const marks: LintDiagnostic[] = diagnostics.map((d) => ({
    from: Math.min(d.from, length),
    to: Math.min(d.to, length),
    severity: "error",
    source: d.code,
    message: d.message,
  }));
  view.dispatch(setDiagnostics(view.state, marks));
}

export function revealOffset(view: EditorView, offset: number): void {
  const at = Math.min(offset, view.state.doc.length);
  view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
  view.focus();
}

/** After the editor's box changed size (the problems list grew or shrank), keep the cursor in view. */
export function keepCursorVisible(view: EditorView): void {
  if (view.hasFocus) view.dispatch({ effects: EditorView.scrollIntoView(view.state.selection.main.head) });
}
