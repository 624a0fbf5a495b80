// @ts-check
// The nabla extension's client: it starts `nabla lsp --stdio` for .nabla files and hands the
// editor's requests to it. Plain CommonJS, as VS Code loads extensions, so it needs no build.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

/** @type {LanguageClient | undefined} */
let client;

/**
 * How to start the server. The setting `nabla.server.path` wins: a `.js` file (a checkout's
 * bin/nabla.js) is run with VS Code's own Node, anything else as a command. Without it, the
 * checkout this folder belongs to, when it is built (editors/vscode of a nabla repository);
 * else the `nabla` on PATH.
 * @returns {import("vscode-languageclient/node").ServerOptions}
 */
function serverOptions() {
  const configured = vscode.workspace.getConfiguration("nabla").get("server.path", "").trim();
  const here = fs.realpathSync(__dirname);
  const checkout = path.join(here, "..", "..");
  const script =
    configured !== ""
      ? configured.endsWith(".js")
        ? configured
        : undefined
      : fs.existsSync(path.join(checkout, "dist", "src", "cli.js"))
        ? path.join(checkout, "bin", "nabla.js")
        : undefined;
  if (script !== undefined)
    // The client adds --stdio (and the editor's process id) to the arguments.
    return { module: script, args: ["lsp"], transport: TransportKind.stdio };
  return {
    command: configured !== "" ? configured : "nabla",
    args: ["lsp"],
    transport: TransportKind.stdio,
    // On Windows the `nabla` npm installs is a .cmd script, which only a shell runs.
    options: { shell: process.platform === "win32" },
  };
}

function start() {
  client = new LanguageClient("nabla", "nabla language server", serverOptions(), {
    documentSelector: [
      { scheme: "file", language: "nabla" },
      { scheme: "untitled", language: "nabla" },
    ],
  });
  return client.start().catch((error) => {
    void vscode.window.showErrorMessage(
      `The nabla language server did not start (${error instanceof Error ? error.message : String(error)}). ` +
        "Install nabla (npm install -g, from its repository) or set nabla.server.path.",
    );
  });
}

/** @param {import("vscode").ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("nabla.restartServer", async () => {
      if (client) await client.stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("nabla.server.path")) return;
      if (client) await client.stop();
      await start();
    }),
  );
  await start();
}

async function deactivate() {
  if (client) await client.stop();
}

module.exports = { activate, deactivate };
