import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");
const cli = join(root, "dist/src/cli.js");
const nabla = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });

describe("--target wasm", () => {
  it("nabla run runs the WebAssembly module: the JavaScript module's numbers", () => {
    const js = nabla("run", "examples/next_word_rnn.nabla", "--json");
    const wasm = nabla("run", "examples/next_word_rnn.nabla", "--json", "--target", "wasm");
    expect(wasm.stderr).toBe("");
    expect(wasm.status).toBe(0);
    const [a, b] = [JSON.parse(js.stdout), JSON.parse(wasm.stdout)];
    expect(b.loss).toBeCloseTo(a.loss, 12);
    for (const [name, g] of Object.entries(a.gradients as Record<string, number[][]>))
      (g.flat() as number[]).forEach((x, i) => expect(b.gradients[name].flat()[i]).toBeCloseTo(x, 12));
  });

  it("nabla compile writes a module that embeds its kernels and imports nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-wasm-"));
    const r = nabla("compile", "examples/moons.nabla", "-o", dir, "--target", "wasm");
    expect(r.status).toBe(0);
    const js = readFileSync(join(dir, "moons.js"), "utf8");
    expect(js).toContain("await WebAssembly.instantiate(");
    expect(js).toContain("nablaGemm(");
    expect(js).not.toMatch(/^\s*import /m);
    expect(readFileSync(join(dir, "moons.ts"), "utf8")).toContain("WebAssembly.Memory");
  });

  it("an unknown target is a usage error (exit status 2) naming the targets", () => {
    const r = nabla("compile", "examples/moons.nabla", "--target", "wsm");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown target 'wsm'; did you mean 'wasm'? (targets: js, wasm)");
    expect(nabla("run", "examples/moons.nabla", "--target", "gpu").status).toBe(2);
  });
});
