import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { servePlayground } from "../../src/playground/serve.js";

const root = join(import.meta.dirname, "../..");
const cli = join(root, "dist/src/cli.js");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe("serving the playground", () => {
  it("serves the site's files and nothing outside its folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-serve-"));
    const site = join(dir, "site");
    mkdirSync(site);
    writeFileSync(join(site, "index.html"), "<p>page</p>");
    writeFileSync(join(dir, "secret.txt"), "secret");
    const { server, url } = await servePlayground(site);
    try {
      const index = await fetch(url);
      expect(index.status).toBe(200);
      expect(index.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await index.text()).toBe("<p>page</p>");
      for (const path of ["../secret.txt", "%2e%2e/secret.txt", "..%2fsecret.txt", "missing.js", "%00"])
        expect((await fetch(url + path)).status, path).toBe(404);
      // A malformed escape is refused, and the server goes on serving.
      expect((await fetch(url + "%E0%A4%A")).status).toBe(400);
      expect((await fetch(url)).status).toBe(200);
    } finally {
      server.close();
    }
  });

  it("nabla playground serves the built page on the port asked for, until interrupted", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [cli, "playground", "--port", String(port)], { cwd: root });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out);
      });
      child.on("exit", (code) => reject(new Error(`exited with ${code} before serving`)));
    });
    expect(line).toBe(`nabla playground: http://127.0.0.1:${port}/ (Ctrl-C stops it)\n`);
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain('<script type="module" src="playground.js">');
    const code = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGINT");
    expect(await code).toBe(0);
  });

  it("a port that is not one, or one in use, is a usage error (exit status 2)", async () => {
    const bad = spawnSync(process.execPath, [cli, "playground", "--port", "http"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("nabla: error: --port needs a whole number from 1 to 65535, not 'http'");
    const taken = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => taken.once("listening", r));
    const { port } = taken.address() as { port: number };
    try {
      const busy = spawnSync(process.execPath, [cli, "playground", "--port", String(port)], {
        encoding: "utf8",
      });
      expect(busy.status).toBe(2);
      expect(busy.stderr).toBe(`nabla: error: port ${port} is in use: choose another with --port\n`);
    } finally {
      taken.close();
    }
  });
});
