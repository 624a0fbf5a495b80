import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");
const cli = join(root, "dist/src/cli.js");
const nabla = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });

const model = "examples/moons.nabla";
const trainCsv = "examples/data/moons_train.csv";
const validCsv = "examples/data/moons_valid.csv";
const temp = () => mkdtempSync(join(tmpdir(), "nabla-train-"));

/** The per-epoch lines a run printed (stdout is not a terminal here: plain lines). */
function epochs(stdout: string) {
  return [
    ...stdout.matchAll(
      /^epoch (\d+)\/\d+(?: \(\d+ of \d+ steps\))?  train loss (\S+)(?:  valid loss (\S+))?/gm,
    ),
  ].map((m) => ({
    epoch: Number(m[1]),
    train: Number(m[2]),
    valid: m[3] === undefined ? undefined : Number(m[3]),
  }));
}

/** A CSV file of the moons data as JSON ({"X": rows, "label": [...]}), to run the model on. */
function csvAsJson(file: string): { X: number[][]; label: number[] } {
  const rows = readFileSync(join(root, file), "utf8").trim().split("\n").slice(1);
  const cells = rows.map((r) => r.split(",").map(Number));
  return { X: cells.map((c) => [c[0]!, c[1]!]), label: cells.map((c) => c[2]!) };
}

describe("nabla train", () => {
  it("trains the moons classifier: the loss goes down, a line per epoch, the params and the plot written", () => {
    const out = temp();
    const r = nabla(
      "train",
      model,
      "--data",
      trainCsv,
      "--valid",
      validCsv,
      "--epochs",
      "30",
      "--batch",
      "16",
      "--accuracy",
      "P",
      "-o",
      out,
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = epochs(r.stdout);
    expect(lines.map((l) => l.epoch)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(lines[29]!.train).toBeLessThan(lines[0]!.train / 2);
    expect(lines[29]!.valid).toBeLessThan(lines[0]!.valid! / 2);
    const accuracy = /valid accuracy (\S+)%  \S+ s\ntrained 30 epochs/.exec(r.stdout);
    expect(Number(accuracy?.[1])).toBeGreaterThanOrEqual(95);
    expect(existsSync(join(out, "moons.params.json"))).toBe(true);
    expect(existsSync(join(out, "moons.loss.svg"))).toBe(true);
  });

  it("writes params that nabla run --values reads, giving the validation loss training reported", () => {
    const out = temp();
    const valid = csvAsJson(validCsv);
    writeFileSync(join(out, "valid.json"), JSON.stringify(valid));
    const r = nabla(
      "train",
      model,
      "--data",
      trainCsv,
      "--valid",
      join(out, "valid.json"),
      "--epochs",
      "5",
      "-o",
      out,
    );
    expect(r.status).toBe(0);
    const last = epochs(r.stdout).at(-1)!;
    const params = JSON.parse(readFileSync(join(out, "moons.params.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(Object.keys(params).sort()).toEqual(["W1", "W2", "b1", "b2"]);
    writeFileSync(join(out, "run.json"), JSON.stringify({ ...params, ...valid }));
    const run = nabla("run", model, "--values", join(out, "run.json"), "--json");
    expect(run.status).toBe(0);
    const loss = JSON.parse(run.stdout).loss as number;
    // The line prints 4 significant digits.
    expect(Math.abs(loss - last.valid!) / loss).toBeLessThan(1e-3);
    // The params file alone is a values file too: the example's inputs with the trained params;
    // and --values starts training from it.
    expect(nabla("run", model, "--values", join(out, "moons.params.json")).status).toBe(0);
    const more = nabla(
      "train",
      model,
      "--data",
      trainCsv,
      "--valid",
      join(out, "valid.json"),
      "--values",
      join(out, "moons.params.json"),
      "--epochs",
      "1",
      "--lr",
      "0",
      "-o",
      join(out, "more"),
    );
    expect(more.stderr).toMatch(/--lr needs a positive number/);
    const resumed = nabla(
      "train",
      model,
      "--data",
      trainCsv,
      "--valid",
      join(out, "valid.json"),
      "--values",
      join(out, "moons.params.json"),
      "--epochs",
      "1",
      "--lr",
      "1e-12",
      "-o",
      join(out, "more"),
    );
    expect(resumed.status).toBe(0);
    expect(Math.abs(epochs(resumed.stdout)[0]!.valid! - last.valid!) / last.valid!).toBeLessThan(1e-3);
  });

  it("plots the train and validation losses as a well-formed SVG with two polylines", () => {
    const out = temp();
    const r = nabla("train", model, "--data", trainCsv, "--valid", validCsv, "--epochs", "4", "-o", out);
    expect(r.status).toBe(0);
    const svg = readFileSync(join(out, "moons.loss.svg"), "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    // Well-formed: every element opened is closed, in order.
    const stack: string[] = [];
    for (const m of svg.matchAll(/<(\/?)([a-z]+)\b[^>]*?(\/?)>/g)) {
      if (m[1]) expect(stack.pop()).toBe(m[2]);
      else if (!m[3]) stack.push(m[2]!);
    }
    expect(stack).toEqual([]);
    const polylines = [...svg.matchAll(/<polyline class="(\w+)"[^>]*points="([^"]*)"/g)];
    expect(polylines.map((p) => p[1])).toEqual(["train", "validation"]);
    for (const p of polylines) expect(p[2]!.split(" ")).toHaveLength(4);
    expect(svg).toContain(">epoch</text>");
    expect(svg).toContain(">loss</text>");
  });

  // util-linux's script(1) runs the command on a pseudo-terminal.
  it.skipIf(!existsSync("/usr/bin/script"))(
    "shows a progress bar on a terminal, above which the epoch lines go",
    () => {
      const out = temp();
      const command = [
        process.execPath,
        cli,
        "train",
        model,
        "--data",
        trainCsv,
        "--epochs",
        "200",
        "--batch",
        "4",
        "-o",
        out,
      ]
        .map((a) => `'${a}'`)
        .join(" ");
      const r = spawnSync("/usr/bin/script", ["-qfec", command, "/dev/null"], {
        cwd: root,
        encoding: "utf8",
      });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/epoch \d+\/200 [=-]+ step \d+\/75 \| loss \S+ \| \d+ steps\/s \| \S+ left/);
      expect(r.stdout).toMatch(/epoch 200\/200  train loss \S+/);
      expect(r.stdout).toMatch(/trained 200 epochs in/);
    },
  );

  it("reproduces a run with the same seed, and shuffles differently with another", () => {
    const run = (seed: string) => {
      const out = temp();
      const r = nabla(
        "train",
        model,
        "--data",
        trainCsv,
        "--epochs",
        "2",
        "--batch",
        "8",
        "--seed",
        seed,
        "-o",
        out,
      );
      expect(r.status).toBe(0);
      return readFileSync(join(out, "moons.params.json"), "utf8");
    };
    const a = run("7");
    expect(run("7")).toBe(a);
    expect(run("8")).not.toBe(a);
  });

  it("takes a batch bigger than the data set: one step per epoch on every row", () => {
    const out = temp();
    const r = nabla("train", model, "--data", validCsv, "--epochs", "3", "--batch", "1000", "-o", out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/3 epochs of 1 steps of 100 rows/);
    expect(epochs(r.stdout)).toHaveLength(3);
  });

  it("reports a bad CSV row with its file and line, and a missing column with the expected ones", () => {
    const dir = temp();
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "X_1,X_2,label\n0.1,0.2,0\n# a comment\n0.3,oops,1\n");
    let r = nabla("train", model, "--data", bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^nabla: error: .*bad\.csv:4: column 'X_2' is 'oops', expected a finite number\n/,
    );
    writeFileSync(bad, "X_1,X_2,label\n0.1,0.2,0\n0.3,0.4,1.5\n");
    expect(nabla("train", model, "--data", bad).stderr).toMatch(
      /bad\.csv:3: column 'label' is '1\.5', expected a whole number from 0 \(int data\)/,
    );
    writeFileSync(bad, "X_1,X_2,label\n0.1,0.2,0\n0.3,0.4\n");
    expect(nabla("train", model, "--data", bad).stderr).toMatch(
      /bad\.csv:3: a row of 2 fields where the header has 3/,
    );
    writeFileSync(bad, "x_1,X_2,label\n0.1,0.2,0\n");
    r = nabla("train", model, "--data", bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /bad\.csv:1: unknown column 'x_1'; did you mean 'X_1'\? \(Moons reads one column per entry, counted from 1: X_1, X_2, label\)/,
    );
    writeFileSync(bad, "X_1,label\n0.1,0\n");
    expect(nabla("train", model, "--data", bad).stderr).toMatch(/bad\.csv:1: no column 'X_2'/);
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ X: [[1, 2]], label: [0, 1] }));
    expect(nabla("train", model, "--data", join(dir, "bad.json")).stderr).toMatch(
      /bad\.json: 'label' has 2 rows but 'X' has 1/,
    );
    expect(nabla("train", model, "--data", join(dir, "none.csv")).stderr).toMatch(/cannot read data file/);
    // The module's own check, on the whole set before training: a label past the classes.
    writeFileSync(bad, "X_1,X_2,label\n0.1,0.2,0\n0.3,0.4,5\n");
    r = nabla("train", model, "--data", bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.csv: inputs\.label holds 5 at entry 1, outside 0\.\.1/);
    expect(r.stdout).not.toMatch(/^epoch/m);
  });

  it("answers missing or bad options with exit status 2 and the command's help", () => {
    let r = nabla("train", model);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/train needs a data set: --data/);
    expect(r.stderr).toContain("nabla train <model.nabla> --data");
    expect(nabla("train", model, "--data", trainCsv, "--epochs", "0").stderr).toMatch(
      /--epochs needs a whole number from 1, not '0'/,
    );
    expect(nabla("train", model, "--data", trainCsv, "--lr=-1").stderr).toMatch(
      /--lr needs a positive number, not '-1'/,
    );
    expect(nabla("train", model, "--data", trainCsv, "--lr", "-1").stderr).toMatch(
      /write --lr=-1 for a value that starts with '-'/,
    );
    r = nabla("train", model, "--data", trainCsv, "--accuracy", "p");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--accuracy names a value of the model; did you mean 'P'\?/);
    r = nabla("train", "examples/linear_chain.nabla", "--data", trainCsv);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has no batch dim/);
    const taken = join(temp(), "taken");
    writeFileSync(taken, "");
    r = nabla("train", model, "--data", trainCsv, "-o", taken);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a file is in the way of the folder/);
    expect(r.stdout).toBe("");
    expect(nabla("help", "train").stdout.replace(/\s+/g, " ")).toMatch(/Ctrl-C stops after the current step/);
  });

  it("stops on a loss that is not finite, naming the epoch and step, with exit status 5", () => {
    const dir = temp();
    // Least squares with far too large a step: every step overshoots more, until the loss overflows.
    writeFileSync(
      join(dir, "line.nabla"),
      "model Line\ndim N\ninput x: [N]\ntarget y: [N]\nparam w\nloss L = sum((w*x - y)^2) / N\nexample {\n  x = [1]\n  y = [2]\n  w = 0.5\n}\ntrain sgd(lr = 10, steps = 1)\n",
    );
    writeFileSync(join(dir, "line.csv"), "x,y\n1,2\n2,4\n3,6\n");
    const out = join(dir, "out");
    const r = nabla(
      "train",
      join(dir, "line.nabla"),
      "--data",
      join(dir, "line.csv"),
      "--epochs",
      "1000",
      "--batch",
      "1",
      "-o",
      out,
    );
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(
      /^nabla: error: the loss is (Infinity|NaN) at epoch \d+, step [123] of 3: training stopped \(a smaller --lr may help\)/,
    );
    expect(existsSync(join(out, "line.params.json"))).toBe(false);
    expect(existsSync(join(out, "line.loss.svg"))).toBe(true);
  });

  it("on Ctrl-C stops after the current step and writes the params and the plot so far (exit status 130)", async () => {
    const out = temp();
    const child = spawn(
      process.execPath,
      [
        cli,
        "train",
        model,
        "--data",
        trainCsv,
        "--valid",
        validCsv,
        "--epochs",
        "100000",
        "--batch",
        "4",
        "-o",
        out,
      ],
      { cwd: root },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    // Interrupt once a few epochs are done.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (epochs(stdout).length >= 3) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    child.kill("SIGINT");
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(status).toBe(130);
    expect(stderr).toMatch(/interrupted: stopping after this step/);
    expect(stdout).toMatch(/interrupted at epoch \d+, step \d+ of 75 in/);
    const params = JSON.parse(readFileSync(join(out, "moons.params.json"), "utf8"));
    expect(params.W1).toHaveLength(2);
    expect(readFileSync(join(out, "moons.loss.svg"), "utf8")).toContain("<polyline");
  }, 30_000);
});

describe("nabla train --target wasm", () => {
  it("trains with the WebAssembly module: the same params as the JavaScript module's, and in f32 within float32's rounding", () => {
    const run = (...extra: string[]) => {
      const out = temp();
      const r = nabla(
        "train",
        model,
        "--data",
        trainCsv,
        "--epochs",
        "3",
        "--batch",
        "16",
        "-o",
        out,
        ...extra,
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      return { stdout: r.stdout, params: JSON.parse(readFileSync(join(out, "moons.params.json"), "utf8")) };
    };
    const js = run();
    const wasm = run("--target", "wasm");
    const single = run("--target", "wasm", "--precision", "f32");
    expect(js.stdout).not.toContain("WebAssembly");
    expect(wasm.stdout).toContain("the WebAssembly module (f64)");
    expect(single.stdout).toContain("the WebAssembly module (f32)");
    const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
    for (const name of Object.keys(js.params)) {
      const [a, b, c] = [js, wasm, single].map((r) => flat(r.params[name]));
      expect(a.length).toBeGreaterThan(0);
      a.forEach((x, i) => {
        expect(Math.abs(b![i]! - x)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(x)));
        expect(Math.abs(c![i]! - x)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(x)));
      });
      // Single precision rounds differently: not the same numbers, only close ones.
      expect(c).not.toEqual(a);
    }
  });

  it("refuses --precision without --target wasm", () => {
    const r = nabla("train", model, "--data", trainCsv, "--precision", "f32");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--precision is the WebAssembly module's");
  });
});
