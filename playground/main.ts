/**
 * The playground page: a model typed on the left, compiled in the page as one types, with its
 * derivation, the generated module run on the example values, the shapes of every name and
 * the generated TypeScript on the right. The compiler is the command line's, bundled.
 */
import "katex/dist/katex.min.css";
import examples from "nabla:examples";
import { compileForPage, type PageDerivation, type PageResult } from "../src/playground/compile.js";
import type { DerivationRequest } from "./derivation-worker.js";
import { HANDOUT_CSS } from "../src/html/body.js";
import {
  createEditor,
  keepCursorVisible,
  replaceText,
  revealOffset,
  setModelNames,
  showDiagnostics,
} from "./editor.js";
import { renderRun, renderShapes, runModule } from "./results.js";
import { decodeModel, encodeModel, exampleInAddress } from "./share.js";

const DEFAULT_EXAMPLE = "next_word_rnn";
/** Typing pauses this long before the model is compiled again. */
const COMPILE_DELAY_MS = 60;
const ADDRESS_DELAY_MS = 400;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLSpanElement>("status");
const problems = $<HTMLUListElement>("problems");
const picker = $<HTMLSelectElement>("examples");
const frame = $<HTMLIFrameElement>("derivation");
const typescriptView = $<HTMLPreElement>("typescript");

let compiles = 0;
let latest: PageResult | undefined;
let formattedFor: PageResult | undefined;

/** The derivation's frame keeps the handout's own styles apart from the page's. */
const frameReady = new Promise<Document>((resolve) => {
  frame.addEventListener("load", () => resolve(frame.contentDocument!), { once: true });
  frame.srcdoc = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="stylesheet" href="${new URL("playground.css", location.href).href}"><style>${HANDOUT_CSS}
.stale { border: 1px solid #e0b4b0; background: #fdf0ef; color: #8a1c13; padding: 0.4rem 0.8rem; font: 14px system-ui, sans-serif; border-radius: 4px; }</style></head><body></body></html>`;
});

function setStatus(text: string, tone: "good" | "bad" | ""): void {
  status.textContent = text;
  status.className = tone;
}

function listProblems(result: PageResult): void {
  const height = problems.offsetHeight;
  problems.replaceChildren(
    ...result.diagnostics.map((d) => {
      const item = document.createElement("li");
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = `${d.line}:${d.column} `;
      const code = document.createElement("span");
      code.className = "code";
      code.textContent = `${d.code} `;
      item.append(where, code, d.message);
      item.addEventListener("click", () => revealOffset(editor, d.from));
      return item;
    }),
  );
  if (problems.offsetHeight !== height) keepCursorVisible(editor);
}

/** The derivation's pieces now shown, each in its own element: an edit replaces only those it changed. */
let shownPieces: string[] = [];

function showStale(doc: Document): void {
  // The last derivation stays, under a note that it is not this text's.
  const note = doc.createElement("p");
  note.className = "stale";
  note.textContent =
    "The model has errors (listed under the editor): this is the derivation of the last version that compiled.";
  doc.body.prepend(note);
}

async function showDerivation(pieces: readonly string[] | undefined): Promise<void> {
  const doc = await frameReady;
  doc.querySelector(".stale")?.remove();
  if (pieces === undefined) return showStale(doc);
  const holders = [...doc.body.children] as HTMLElement[];
  for (let i = 0; i < pieces.length; i++) {
    if (shownPieces[i] === pieces[i]) continue;
    let holder = holders[i];
    if (!holder) {
      holder = doc.createElement("div");
      doc.body.append(holder);
    }
    holder.innerHTML = pieces[i]!;
  }
  for (const extra of holders.slice(pieces.length)) extra.remove();
  shownPieces = [...pieces];
}

/*
 * The derivation is typeset in a worker: the page sends it each new source that compiled, at
 * most one at a time, the newest waiting; a result for an older version than the newest is dropped.
 */
const worker = new Worker(new URL("derivation-worker.js", import.meta.url), { type: "module" });
let derivationVersion = 0;
let workerBusy = false;
let waiting: DerivationRequest | undefined;
let requestedAt = 0;

function requestDerivation(source: string | undefined): void {
  derivationVersion++;
  requestedAt = performance.now();
  if (source === undefined) {
    waiting = undefined;
    const version = derivationVersion;
    void showDerivation(undefined).then(() => {
      document.body.dataset.derivations = String(version);
    });
    return;
  }
  const request = { version: derivationVersion, source };
  if (workerBusy) waiting = request;
  else {
    workerBusy = true;
    worker.postMessage(request);
  }
}

worker.onmessage = async (event: MessageEvent<PageDerivation & { version: number; failure?: string }>) => {
  workerBusy = false;
  if (waiting) {
    workerBusy = true;
    worker.postMessage(waiting);
    waiting = undefined;
  }
  const { version, pieces, millis, failure } = event.data;
  if (version !== derivationVersion) return;
  if (failure !== undefined) {
    setStatus(`the derivation failed: ${failure}`, "bad");
    return;
  }
  await showDerivation(pieces);
  document.body.dataset.derivationMillis = millis.toFixed(2);
  // From the edit compiled to its derivation shown, waiting for the worker included.
  document.body.dataset.derivationLatency = (performance.now() - requestedAt).toFixed(2);
  document.body.dataset.derivations = String(version);
  derivationNote = ` · derivation in ${millis.toFixed(0)} ms`;
  if (status.className === "good") status.textContent = compiledNote + derivationNote;
};

let compiledNote = "";
let derivationNote = "";

/**
 * A failure of nabla itself (never of the model: those are diagnostics) is said in the status
 * line, with the panels left dimmed, rather than lost as an unhandled rejection.
 */
function compile(text: string): void {
  const run = ++compiles;
  try {
    update(text, run);
  } catch (error) {
    setStatus(
      `nabla failed on this model (please report it with the model): ${error instanceof Error ? error.message : String(error)}`,
      "bad",
    );
    document.body.dataset.state = "errors";
    document.body.dataset.compiles = String(run);
  }
}

function update(text: string, run: number): void {
  const begun = performance.now();
  const result = compileForPage(text);
  latest = result;
  showDiagnostics(editor, result.diagnostics);
  listProblems(result);
  requestDerivation(result.script === undefined ? undefined : text);
  if (!result.script) {
    const n = result.diagnostics.length;
    setStatus(`${n} problem${n === 1 ? "" : "s"} · checked in ${result.millis.toFixed(0)} ms`, "bad");
    document.body.dataset.state = "errors";
    document.body.dataset.compiles = String(run);
    return;
  }
  formattedFor = undefined;
  const started = performance.now();
  const ran = runModule(result.script, result.runnable);
  const runMillis = performance.now() - started;
  setModelNames([
    ...Object.keys(ran.module.shapeNames.params),
    ...Object.keys(ran.module.shapeNames.inputs),
    ...Object.keys(ran.module.shapeNames.values),
  ]);
  renderShapes($("panel-shapes"), ran.module);
  renderRun($("panel-run"), ran);
  compiledNote =
    `compiled in ${result.millis.toFixed(0)} ms · ran in ${runMillis.toFixed(0)} ms` +
    (ran.loss !== undefined ? ` · loss ${Number(ran.loss.toPrecision(6))}` : "");
  derivationNote = " · typesetting the derivation…";
  setStatus(compiledNote + derivationNote, "good");
  document.body.dataset.state = "ok";
  document.body.dataset.compileMillis = result.millis.toFixed(2);
  // From the text to every panel but the derivation updated: compile, run and tables.
  document.body.dataset.updateMillis = (performance.now() - begun).toFixed(2);
  document.body.dataset.compiles = String(run);
  if ($("panel-typescript").hidden) typescriptView.textContent = "";
  else formatShown();
}

/** The TypeScript tab shows the module laid out as `nabla compile` writes it, only while the tab is open. */
function formatShown(): void {
  const shown = latest?.typescript;
  if (!shown || formattedFor === latest) return;
  typescriptView.textContent = shown();
  formattedFor = latest;
}

function selectTab(tab: HTMLButtonElement): void {
  for (const other of document.querySelectorAll<HTMLButtonElement>('[role="tab"]')) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    $(other.getAttribute("aria-controls")!).hidden = !selected;
  }
  if (tab.id === "tab-typescript") formatShown();
}

let compileTimer: ReturnType<typeof setTimeout> | undefined;
let addressTimer: ReturnType<typeof setTimeout> | undefined;

function edited(text: string): void {
  clearTimeout(compileTimer);
  clearTimeout(addressTimer);
  compileTimer = setTimeout(() => compile(text), COMPILE_DELAY_MS);
  picker.value = exampleNamed(text) ?? "";
  addressTimer = setTimeout(async () => {
    const example = exampleNamed(text);
    history.replaceState(null, "", example ? `#example=${example}` : await encodeModel(text));
  }, ADDRESS_DELAY_MS);
}

/** The example whose text this is, unedited. */
const exampleNamed = (text: string) => Object.entries(examples).find(([, source]) => source === text)?.[0];

async function initialModel(): Promise<string> {
  const shared = await decodeModel(location.hash);
  if (shared !== undefined) return shared;
  const named = exampleInAddress(location.hash);
  return examples[named && named in examples ? named : DEFAULT_EXAMPLE]!;
}

for (const name of Object.keys(examples)) picker.add(new Option(name, name));
picker.add(new Option("(edited)", ""));
for (const tab of document.querySelectorAll<HTMLButtonElement>('[role="tab"]'))
  tab.addEventListener("click", () => selectTab(tab));

const editor = createEditor($("editor"), "", edited);
picker.addEventListener("change", () => {
  if (picker.value) replaceText(editor, examples[picker.value]!);
});
$("share").addEventListener("click", async () => {
  const link = location.origin + location.pathname + (await encodeModel(editor.state.doc.toString()));
  history.replaceState(null, "", link);
  try {
    await navigator.clipboard.writeText(link);
    setStatus("link copied", "good");
  } catch {
    setStatus("the address bar holds the link", "good");
  }
});

// A link pasted into this tab's address bar changes only the hash: load the model it holds.
window.addEventListener("hashchange", async () => {
  const model = await initialModel();
  if (model !== editor.state.doc.toString()) replaceText(editor, model);
});

replaceText(editor, await initialModel());
