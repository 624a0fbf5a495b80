/**
 * Serves the built playground (npm run build:site) on localhost: `nabla playground`, and the
 * page's end-to-end tests. Files only, from one folder; nothing the request names leaves it.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { packagePath } from "../paths.js";

/** Where `npm run build:site` writes the page, beside the compiled CLI. */
export const BUILT_SITE = packagePath("dist", "site");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
};

export class SiteMissing extends Error {}

export interface Serving {
  readonly server: Server;
  readonly url: string;
}

/** Starts serving `folder` on 127.0.0.1 (port 0: any free one); resolves once listening. */
export function servePlayground(folder: string = BUILT_SITE, port = 0): Promise<Serving> {
  const root = resolve(folder);
  if (!existsSync(join(root, "index.html")))
    throw new SiteMissing(
      `the playground is not built in ${root}: run 'npm run build:site' in nabla's folder`,
    );
  const refuse = (response: ServerResponse, status: number, text: string) => {
    response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    response.end(`${text}\n`);
  };
  const server = createServer((request, response) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    } catch {
      // A malformed escape (%E0%A4%A) is the request's fault; it must not end the server.
      return refuse(response, 400, "bad request");
    }
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if ((file !== root && !file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile())
      return refuse(response, 404, "not found");
    response.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": "no-cache",
    });
    response.end(readFileSync(file));
  });
  return new Promise((resolveServing, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const actual = typeof address === "object" && address ? address.port : port;
      resolveServing({ server, url: `http://127.0.0.1:${actual}/` });
    });
  });
}
