import katex from "katex";
import type { Block, Diagram, Document, EquationRow, Inline, Table } from "../handout/document.js";

/*
 * The handout's HTML without the page around it: no file is read here, so the playground
 * renders derivations in the browser with the same code as `nabla compile --html`.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Maths rendered by KaTeX when the handout is printed (the page needs no script, only KaTeX's
 * CSS and fonts), and kept by its source, so recompiling an edited model in the playground typesets
 * only what changed: KaTeX costs far more than the rest of the pipeline.
 */
const typeset = new Map<string, string>();
const TYPESET_KEPT = 4000;

/** Forgets every typeset formula: a measurement of compiling something new starts here. */
export function forgetTypeset(): void {
  typeset.clear();
}

function tex(source: string, displayMode: boolean): string {
  const key = `${displayMode ? "D" : "I"}${source}`;
  const kept = typeset.get(key);
  if (kept !== undefined) return kept;
  const html = katex.renderToString(source, {
    displayMode,
    throwOnError: false,
    // Nothing in a handout needs \href, \url or HTML extensions; a model's names never get them.
    trust: false,
    strict: "ignore",
    output: "htmlAndMathml",
  });
  if (typeset.size >= TYPESET_KEPT) typeset.delete(typeset.keys().next().value!);
  // KaTeX builds its HTML by concatenation, a tree of pieces that every later join of the
  // page walks again; reading a character makes V8 flatten it into one string, once.
  html.charCodeAt(0);
  typeset.set(key, html);
  return html;
}

function inline(parts: readonly Inline[]): string {
  return parts
    .map((p) => {
      if ("text" in p) return escapeHtml(p.text);
      if ("math" in p) return tex(p.math, false);
      if ("strong" in p) return `<strong>${inline(p.strong)}</strong>`;
      return `<em>${inline(p.emph)}</em>`;
    })
    .join("");
}

function equations(rows: readonly EquationRow[]): string {
  const body = rows.map((r) => `${r.lhs} &${r.rel ?? "="} ${r.rhs}`).join(" \\\\ ");
  return `<div class="display">${tex(`\\begin{aligned} ${body} \\end{aligned}`, true)}</div>`;
}

function table(t: Table): string {
  const cells = (row: readonly (readonly Inline[])[], tag: string) =>
    row.map((c, i) => `<${tag} class="${t.columns[i] ?? "l"}">${inline(c)}</${tag}>`).join("");
  const rows = t.rows.map(
    (r, i) => `<tr${t.groupAfter?.includes(i) ? ' class="group-end"' : ""}>${cells(r, "td")}</tr>`,
  );
  return `<div class="table"><table><thead><tr>${cells(t.header, "th")}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

const CM = 48;

/** A computation graph as SVG arrows under absolutely placed KaTeX labels. */
function diagram(d: Diagram): string {
  const at = new Map(d.nodes.map((n) => [n.id, n]));
  const lines = d.edges.map((e) => {
    const a = at.get(e.from)!;
    const b = at.get(e.to)!;
    // Stop short of the boxes: the labels sit on top of the line ends.
    const [dx, dy] = [b.x - a.x, b.y - a.y];
    const len = Math.hypot(dx, dy) || 1;
    const cut = 0.45 / len;
    const [x1, y1] = [(a.x + dx * cut) * CM, (a.y + dy * cut) * CM];
    const [x2, y2] = [(b.x - dx * cut) * CM, (b.y - dy * cut) * CM];
    return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}"${e.carried ? ' stroke-dasharray="5 3"' : ""} marker-end="url(#arrow)"/>`;
  });
  const labels = d.nodes.map(
    (n) =>
      // The SVG's origin is half a centimetre in from the canvas corner; the labels are placed to match.
      `<div class="node ${n.role}" style="left:${(n.x * CM + CM / 2).toFixed(1)}px;top:${(n.y * CM + CM / 2).toFixed(1)}px">${tex(n.label, false)}</div>`,
  );
  const [w, h] = [(d.width + 1) * CM, (d.height + 1) * CM];
  return `<figure class="diagram"><div class="canvas" style="width:${w.toFixed(0)}px;height:${h.toFixed(0)}px"><svg width="${w.toFixed(0)}" height="${h.toFixed(0)}" viewBox="${-CM / 2} ${-CM / 2} ${w.toFixed(0)} ${h.toFixed(0)}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>${lines.join("")}</svg>${labels.join("")}</div><figcaption>${inline(d.caption)}</figcaption></figure>`;
}

function block(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `<h${b.level + 1}>${inline(b.title)}</h${b.level + 1}>`;
    case "paragraph":
      return `<p>${inline(b.content)}</p>`;
    case "equations":
      return equations(b.rows);
    case "table":
      return table(b);
    case "list":
      return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join("")}</ul>`;
    case "note":
      return `<aside class="note ${b.tone}"><p class="title">${inline(b.title)}</p>${b.body.map(block).join("\n")}</aside>`;
    case "diagram":
      return diagram(b);
  }
}

/**
 * The handout as HTML pieces: the title with its bylines, then one piece per block. The
 * playground replaces only the pieces an edit changed; KaTeX's stylesheet and HANDOUT_CSS style them.
 */
export function printHandoutBlocks(doc: Document): string[] {
  const title = `<h1>${escapeHtml(doc.title)}</h1>
${doc.subtitle ? `<p class="byline">${escapeHtml(doc.subtitle)}</p>\n` : ""}<p class="byline">Generated by nabla</p>`;
  return [title, ...doc.blocks.map(block)];
}

export function printHandoutBody(doc: Document): string {
  return printHandoutBlocks(doc).join("\n");
}

export const HANDOUT_CSS = `
body { font: 17px/1.5 KaTeX_Main, "Latin Modern Roman", Georgia, serif; max-width: 52rem; margin: 2rem auto; padding: 0 1.5rem; color: #111; }
h1 { font-size: 1.7rem; text-align: center; margin-bottom: 0.2rem; }
.byline { text-align: center; color: #555; margin-top: 0; }
h2 { font-size: 1.35rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.12rem; margin-top: 1.4rem; }
h4 { font-size: 1rem; margin-top: 1rem; }
.display { overflow-x: auto; overflow-y: hidden; }
.table { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; margin: 0 auto; font-size: 0.92rem; }
th, td { padding: 0.15rem 0.6rem; }
thead th { border-top: 2px solid #333; border-bottom: 1px solid #333; }
tbody tr:last-child td { border-bottom: 2px solid #333; }
tr.group-end td { padding-bottom: 0.5rem; }
td.r, th.r { text-align: right; } td.c, th.c { text-align: center; } td.l, th.l { text-align: left; }
aside.note { border-left: 3px solid #1a4d99; padding: 0.2rem 0 0.2rem 1rem; margin: 1rem 0; }
aside.note.slip { border-left-color: #bf1a1a; }
aside.note .title { font-weight: bold; color: #1a4d99; margin: 0.2rem 0; }
aside.note.slip .title { color: #bf1a1a; }
figure.diagram { margin: 1.2rem auto; text-align: center; }
figure.diagram .canvas { position: relative; margin: 0 auto; }
figure.diagram svg { position: absolute; left: 0; top: 0; stroke: #333; stroke-width: 1.2; fill: #333; }
figure.diagram .node { position: absolute; transform: translate(-50%, -50%); border: 1px solid #333; border-radius: 4px; padding: 0.1rem 0.4rem; background: #fff; white-space: nowrap; }
figure.diagram .node.param { background: #e8eefc; border-width: 2px; }
figure.diagram .node.input, figure.diagram .node.const { background: #f4f4f4; }
figure.diagram .node.loss { background: #fce8e8; }
figcaption { font-size: 0.9rem; color: #333; margin-top: 0.5rem; }
`;
