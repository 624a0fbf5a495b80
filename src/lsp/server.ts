import { fileURLToPath } from "node:url";
import {
  createConnection,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { DocumentAnalysis } from "./model.js";
import { Derivatives } from "./derivative.js";
import { editorDiagnostics } from "./diagnostics.js";
import { hoverAt } from "./hover.js";
import { completionsAt } from "./completion.js";

/** Edits within this many milliseconds of each other are analysed once, after the last. */
const ANALYSIS_DELAY_MS = 120;

/** One version of a document, analysed; the handout's derivation is built on the first hover that needs it. */
interface Analysed {
  readonly version: number;
  readonly analysis: DocumentAnalysis;
  derivatives?: Derivatives | undefined;
}

/**
 * The language server's features over a connection: diagnostics while typing, hover, go to
 * definition and completion. Every feature reads the same analysis of the document's current
 * version, and a failure in one request answers that request with nothing: the server goes on.
 */
export function serve(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const analysed = new Map<string, Analysed>();
  const pending = new Map<string, NodeJS.Timeout>();

  const analyse = (document: TextDocument): Analysed => {
    const known = analysed.get(document.uri);
    if (known && known.version === document.version) return known;
    const fresh = {
      version: document.version,
      analysis: new DocumentAnalysis(document.getText(), fileName(document.uri)),
    };
    analysed.set(document.uri, fresh);
    return fresh;
  };

  const publish = (document: TextDocument) => {
    const { analysis, version } = analyse(document);
    void connection.sendDiagnostics({ uri: document.uri, version, diagnostics: editorDiagnostics(analysis) });
  };

  /** Runs a request's work; an unexpected failure is logged in one line and the request answered with `fallback`. */
  const guarded = <T>(what: string, fallback: T, work: () => T): T => {
    try {
      return work();
    } catch (error) {
      connection.console.error(
        `nabla: ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return fallback;
    }
  };

  connection.onInitialize((): InitializeResult => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      definitionProvider: true,
      completionProvider: {},
    },
    serverInfo: { name: "nabla" },
  }));

  documents.onDidChangeContent(({ document }) => {
    clearTimeout(pending.get(document.uri));
    pending.set(
      document.uri,
      setTimeout(() => {
        pending.delete(document.uri);
        // The document may have closed or changed again meanwhile: analyse what is open now.
        const open = documents.get(document.uri);
        if (open) guarded("checking the model", undefined, () => publish(open));
      }, ANALYSIS_DELAY_MS),
    );
  });

  documents.onDidClose(({ document }) => {
    clearTimeout(pending.get(document.uri));
    pending.delete(document.uri);
    analysed.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onHover(({ textDocument, position }) =>
    guarded("hover", null, () => {
      const document = documents.get(textDocument.uri);
      if (!document) return null;
      const entry = analyse(document);
      const { analysis } = entry;
      return hoverAt(analysis, analysis.source.offset(position), () => {
        if (!analysis.graph || !analysis.gradient) return undefined;
        entry.derivatives ??= new Derivatives(analysis.graph, analysis.gradient);
        return entry.derivatives;
      });
    }),
  );

  connection.onDefinition(({ textDocument, position }) =>
    guarded("go to definition", null, () => {
      const document = documents.get(textDocument.uri);
      if (!document) return null;
      const { analysis } = analyse(document);
      const name = analysis.nameAt(analysis.source.offset(position));
      if (!name || name.called) return null;
      const symbol = analysis.definitionOf(name);
      return symbol ? { uri: document.uri, range: analysis.source.range(symbol.span) } : null;
    }),
  );

  connection.onCompletion(({ textDocument, position }) =>
    guarded("completion", [], () => {
      const document = documents.get(textDocument.uri);
      if (!document) return [];
      const { analysis } = analyse(document);
      return completionsAt(analysis, analysis.source.offset(position));
    }),
  );

  documents.listen(connection);
  connection.listen();
}

/** The file name diagnostics are rendered with: the path of a file URI, the URI otherwise (an unsaved buffer). */
function fileName(uri: string): string {
  try {
    return uri.startsWith("file:") ? fileURLToPath(uri) : uri;
  } catch {
    return uri;
  }
}

/**
 * `nabla lsp --stdio`: the server over stdin and stdout. Stdout carries the protocol, so
 * anything else printed goes to stderr; an error that escapes a handler is logged and the
 * server goes on. The server ends the process itself, on the client's `exit` or when stdin closes.
 */
export function runLanguageServer(): void {
  console.log = console.error;
  console.info = console.error;
  const connection = createConnection(process.stdin, process.stdout);
  process.on("uncaughtException", (error) => {
    connection.console.error(`nabla: ${error.message}`);
  });
  process.on("unhandledRejection", (reason) => {
    connection.console.error(`nabla: ${reason instanceof Error ? reason.message : String(reason)}`);
  });
  serve(connection);
}
