import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flat, torchAvailable } from "../support/torch.js";

const root = join(import.meta.dirname, "../..");
const cli = join(root, "dist/src/cli.js");
const nabla = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });

describe("nabla export", () => {
  it.skipIf(!torchAvailable)(
    "writes <dir>/<model>.py, which run by itself prints nabla run's loss and gradients",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "nabla-export-"));
      const r = nabla("export", "examples/next_word_rnn.nabla", "--target", "pytorch", "-o", dir);
      expect(r.status).toBe(0);
      const path = join(dir, "next_word_rnn.py");
      expect(r.stdout).toBe(`exported examples/next_word_rnn.nabla for PyTorch: ${path}\n`);
      const python = spawnSync("/usr/bin/python3", [path], { encoding: "utf8" });
      expect(python.stderr).toBe("");
      const torch = JSON.parse(python.stdout) as { loss: number; gradients: Record<string, unknown> };
      const run = JSON.parse(nabla("run", "examples/next_word_rnn.nabla", "--json").stdout) as typeof torch;
      expect(Math.abs(torch.loss - run.loss)).toBeLessThan(1e-10);
      expect(Object.keys(torch.gradients)).toEqual(Object.keys(run.gradients));
      for (const [name, g] of Object.entries(run.gradients)) {
        const [a, b] = [flat(torch.gradients[name]), flat(g)];
        expect(a.length, name).toBe(b.length);
        a.forEach((v, i) => expect(Math.abs(v - b[i]!), name).toBeLessThan(1e-10));
      }
    },
  );

  it.skipIf(!torchAvailable)(
    "names the module so Python can import it, and prints a loss that is not finite as nabla run --json does",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "nabla-export-"));
      writeFileSync(
        join(dir, "my-model.nabla"),
        "input x\nparam w\nloss L = log(w*x)\nexample {\n  x = 0\n  w = 1\n}\n",
      );
      expect(nabla("export", join(dir, "my-model.nabla"), "--target", "pytorch", "-o", dir).status).toBe(0);
      const python = spawnSync(
        "/usr/bin/python3",
        ["-c", "import my_model, runpy; runpy.run_module('my_model', run_name='__main__')"],
        {
          cwd: dir,
          encoding: "utf8",
        },
      );
      expect(python.stderr).toBe("");
      const printed = JSON.parse(python.stdout);
      const run = JSON.parse(nabla("run", join(dir, "my-model.nabla"), "--json").stdout);
      expect(printed).toEqual({ loss: "-Infinity", gradients: { w: "NaN" } });
      expect(printed.loss).toBe(run.loss);
      expect(printed.gradients.w).toBe(run.gradients.w);
    },
  );

  it("an unknown target is a usage error naming the closest one", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-export-"));
    const r = nabla("export", "examples/lstm.nabla", "--target", "pytorc", "-o", dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^nabla: error: unknown target 'pytorc'; did you mean 'pytorch'\? \(targets: pytorch\)\n/,
    );
    expect(r.stderr).toContain("nabla export <model.nabla> --target pytorch");
    expect(existsSync(join(dir, "lstm.py"))).toBe(false);
    const missing = nabla("export", "examples/lstm.nabla");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^nabla: error: export needs --target \(one of: pytorch\)\n/);
  });

  it("a model with errors exits 1 with its diagnostics and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-export-"));
    writeFileSync(join(dir, "bad.nabla"), "model Bad\ninput x: [2]\nloss L = sum(y)\n");
    const r = nabla("export", join(dir, "bad.nabla"), "--target", "pytorch", "-o", dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.nabla:3:14: error NB2001: unknown name 'y'/);
    expect(existsSync(join(dir, "bad.py"))).toBe(false);
  });

  it("help describes the command and its options", () => {
    const r = nabla("help", "export");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^nabla export <model\.nabla> --target pytorch \[-o <dir>\]/);
    expect(r.stdout).toContain("--target <name>");
    expect(r.stdout).toContain("DistributedDataParallel");
    expect(nabla("--help").stdout).toContain("nabla export");
  });
});
