import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Document } from "../handout/document.js";
import { escapeHtml, HANDOUT_CSS, printHandoutBody } from "./body.js";

const require = createRequire(import.meta.url);

/** KaTeX's stylesheet with its fonts inlined (woff2 only), so the page works offline and alone. */
function katexCss(): string {
  const cssPath = require.resolve("katex/dist/katex.min.css");
  const fonts = join(dirname(cssPath), "fonts");
  return readFileSync(cssPath, "utf8").replace(
    /src:url\(fonts\/([A-Za-z0-9_-]+)\.woff2\) format\("woff2"\)[^;}]*/g,
    (_m, name: string) =>
      `src:url(data:font/woff2;base64,${readFileSync(join(fonts, `${name}.woff2`)).toString("base64")}) format("woff2")`,
  );
}

let cachedCss: string | undefined;

/** The handout as one self-contained HTML page: the same document, maths typeset by KaTeX. */
export function printHtml(doc: Document): string {
  cachedCss ??= katexCss();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<style>${cachedCss}</style>
<style>${HANDOUT_CSS}</style>
</head>
<body>
${printHandoutBody(doc)}
</body>
</html>
`;
}
