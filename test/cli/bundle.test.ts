import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/*
 * bin/nabla.js runs the bundled CLI (dist/cli/nabla.cjs, built by the test script) from V8's
 * code cache beside it. Each test runs a copy of the package's command in a folder of its own,
 * so the cache it writes or spoils is its own.
 */
const root = join(import.meta.dirname, "../..");

function packageCopy(): { dir: string; nabla: (...args: string[]) => ReturnType<typeof spawnSync> } {
  const dir = mkdtempSync(join(tmpdir(), "nabla-bundle-"));
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "dist/cli"), { recursive: true });
  copyFileSync(join(root, "bin/nabla.js"), join(dir, "bin/nabla.js"));
  copyFileSync(join(root, "dist/cli/nabla.cjs"), join(dir, "dist/cli/nabla.cjs"));
  copyFileSync(join(root, "package.json"), join(dir, "package.json"));
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  const nabla = (...args: string[]) =>
    spawnSync(process.execPath, [join(dir, "bin/nabla.js"), ...args], { cwd: root, encoding: "utf8" });
  return { dir, nabla };
}

/** The unbundled CLI, as tsc compiled it: what the bundle must behave like. */
const unbundled = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, "dist/src/cli.js"), ...args], { cwd: root, encoding: "utf8" });

describe("the bundled command", () => {
  it("writes its code cache on the first run and compiles as the unbundled CLI does, with and without it", () => {
    const { dir, nabla } = packageCopy();
    const cache = join(dir, "dist/cli/nabla.cache");
    const [first, second, reference] = ["a", "b", "c"].map((k) => join(dir, k));
    expect(existsSync(cache)).toBe(false);
    const cold = nabla("compile", "examples/lstm.nabla", "--html", "-o", first!);
    expect(cold.stderr).toBe("");
    expect(cold.status).toBe(0);
    expect(existsSync(cache)).toBe(true);
    const cached = readFileSync(cache);
    expect(nabla("compile", "examples/lstm.nabla", "--html", "-o", second!).status).toBe(0);
    // Accepted, so not written again.
    expect(readFileSync(cache).equals(cached)).toBe(true);
    expect(unbundled("compile", "examples/lstm.nabla", "--html", "-o", reference!).status).toBe(0);
    for (const file of ["lstm.ts", "lstm.js", "lstm.tex", "lstm.html"]) {
      const expected = readFileSync(join(reference!, file), "utf8");
      expect(readFileSync(join(first!, file), "utf8")).toBe(expected);
      expect(readFileSync(join(second!, file), "utf8")).toBe(expected);
    }
  });

  it("runs past a cache this Node rejects, and writes it anew", () => {
    const { dir, nabla } = packageCopy();
    const cache = join(dir, "dist/cli/nabla.cache");
    const garbage = Buffer.alloc(4096, 7);
    writeFileSync(cache, garbage);
    const r = nabla("run", "examples/linear_chain.nabla", "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout as string)).toEqual(
      JSON.parse(unbundled("run", "examples/linear_chain.nabla", "--json").stdout),
    );
    expect(readFileSync(cache).equals(garbage)).toBe(false);
  });

  it("imports the generated module it runs (a vm script cannot import: the launcher lends it import)", () => {
    const { nabla } = packageCopy();
    for (const target of ["js", "wasm"]) {
      nabla("run", "examples/next_word_rnn.nabla", "--target", target, "--json");
      const r = nabla("run", "examples/next_word_rnn.nabla", "--target", target, "--json");
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const expected = JSON.parse(
        unbundled("run", "examples/next_word_rnn.nabla", "--target", target, "--json").stdout,
      );
      expect(JSON.parse(r.stdout as string)).toEqual(expected);
    }
  });
});
