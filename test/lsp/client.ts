import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from "vscode-languageserver/node";
import type {
  CompletionItem,
  Diagnostic,
  Hover,
  InitializeResult,
  Location,
  Position,
  PublishDiagnosticsParams,
} from "vscode-languageserver";

const root = join(import.meta.dirname, "../..");

/**
 * A language client for tests: `nabla lsp --stdio` from the compiled CLI (bin/nabla.js runs
 * dist/src/cli.js), spoken to over its stdin and stdout with the protocol library's own
 * JSON-RPC connection, as an editor would.
 */
export class TestClient {
  readonly child: ChildProcess;
  readonly connection: MessageConnection;
  readonly stderr: string[] = [];
  private readonly published = new Map<string, PublishDiagnosticsParams[]>();
  private readonly waiting: { uri: string; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  private readonly versions = new Map<string, number>();

  /** `args` follow `nabla lsp --stdio`: what a language client adds. */
  constructor(args: readonly string[] = []) {
    this.child = spawn(process.execPath, [join(root, "bin/nabla.js"), "lsp", "--stdio", ...args], {
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => this.stderr.push(d));
    this.connection = createMessageConnection(
      new StreamMessageReader(this.child.stdout!),
      new StreamMessageWriter(this.child.stdin!),
    );
    this.connection.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      const i = this.waiting.findIndex((w) => w.uri === p.uri);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(p);
      else this.published.set(p.uri, [...(this.published.get(p.uri) ?? []), p]);
    });
    this.connection.listen();
  }

  async initialize(): Promise<InitializeResult> {
    const result = await this.connection.sendRequest<InitializeResult>("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(root).href,
      capabilities: {},
    });
    await this.connection.sendNotification("initialized", {});
    return result;
  }

  /** The next diagnostics published for a document (already published ones first). */
  diagnostics(uri: string): Promise<PublishDiagnosticsParams> {
    const queued = this.published.get(uri);
    if (queued && queued.length > 0) return Promise.resolve(queued.shift()!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri}`)), 20_000);
      this.waiting.push({
        uri,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
    });
  }

  async open(uri: string, text: string): Promise<Diagnostic[]> {
    this.versions.set(uri, 1);
    await this.connection.sendNotification("textDocument/didOpen", {
      textDocument: { uri, languageId: "nabla", version: 1, text },
    });
    return (await this.diagnostics(uri)).diagnostics;
  }

  async replace(uri: string, text: string): Promise<Diagnostic[]> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification("textDocument/didChange", {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
    return (await this.diagnostics(uri)).diagnostics;
  }

  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.connection.sendRequest("textDocument/hover", { textDocument: { uri }, position });
  }

  definition(uri: string, position: Position): Promise<Location | null> {
    return this.connection.sendRequest("textDocument/definition", { textDocument: { uri }, position });
  }

  completion(uri: string, position: Position): Promise<CompletionItem[]> {
    return this.connection.sendRequest("textDocument/completion", { textDocument: { uri }, position });
  }

  /** shutdown, then exit: the server ends its process with status 0. */
  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.child.once("exit", (code) => resolve(code)));
    await this.connection.sendRequest("shutdown");
    await this.connection.sendNotification("exit");
    const code = await Promise.race([
      exited,
      new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000)),
    ]);
    this.connection.dispose();
    if (code === "timeout") {
      this.child.kill();
      throw new Error("the server did not exit after shutdown and exit");
    }
    return code;
  }
}

/** The position of the `nth` occurrence (from 0) of `needle` in `text`, plus `shift` characters. */
export function positionOf(text: string, needle: string, nth = 0, shift = 0): Position {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' occurs fewer than ${nth + 1} times`);
  }
  at += shift;
  const before = text.slice(0, at);
  const line = before.split("\n").length - 1;
  return { line, character: at - (before.lastIndexOf("\n") + 1) };
}
