import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");
const cli = join(root, "dist/src/cli.js");
const nabla = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });

/** The two-layer linear chain by hand: x1 = w1 x0 + b1, x2 = w2 x1 + b2, E = (x2 - y)^2. */
function chain(x0: number, y: number, w1: number, b1: number, w2: number, b2: number) {
  const x1 = w1 * x0 + b1;
  const x2 = w2 * x1 + b2;
  const e = 2 * (x2 - y);
  return {
    loss: (x2 - y) ** 2,
    x1,
    x2,
    gradients: { w1: e * w2 * x0, b1: e * w2, w2: e * x1, b2: e },
  };
}

describe("nabla run", () => {
  it("--json prints loss, values and gradients of the example values", () => {
    const r = nabla("run", "examples/linear_chain.nabla", "--json");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    const expected = chain(1.5, 0.5, 0.8, 1, 0.8, 1);
    expect(out.loss).toBeCloseTo(expected.loss, 12);
    expect(out.values.x1).toBeCloseTo(expected.x1, 12);
    expect(out.values.x2).toBeCloseTo(expected.x2, 12);
    for (const [k, v] of Object.entries(expected.gradients)) expect(out.gradients[k]).toBeCloseTo(v, 12);
  });

  it("takes values from a file over the example's, nested arrays for tensors", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-cli-"));
    writeFileSync(join(dir, "v.json"), JSON.stringify({ x0: 2, w2: -0.5 }));
    const r = nabla("run", "examples/linear_chain.nabla", "--values", join(dir, "v.json"), "--json");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    const expected = chain(2, 0.5, 0.8, 1, -0.5, 1);
    for (const [k, v] of Object.entries(expected.gradients)) expect(out.gradients[k]).toBeCloseTo(v, 12);
    writeFileSync(
      join(dir, "m.json"),
      JSON.stringify({
        W1: [
          [0.1, 0.2],
          [0.3, 0.4],
        ],
      }),
    );
    const m = JSON.parse(
      nabla("run", "examples/sigmoid_2_2_2_matrix.nabla", "--values", join(dir, "m.json"), "--json").stdout,
    );
    expect(m.gradients.W1).toHaveLength(2);
    expect(m.gradients.W1[0]).toHaveLength(2);
    expect(m.values.net_h[0]).toBeCloseTo(0.1 * 0.05 + 0.2 * 0.1 + 0.35, 12);
  });

  it("prints a readable table without --json", () => {
    const r = nabla("run", "examples/sigmoid_2_2_2_matrix.nabla");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^loss = /);
    expect(r.stdout).toMatch(/d loss \/ d W2 = \[/);
  });

  it("reports a bad values file with its name and exit status 2, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-cli-"));
    const cases: [string, RegExp][] = [
      ["{ not json", /not valid JSON/],
      [JSON.stringify({ nope: 1 }), /'nope', which is not an input, target or param/],
      [JSON.stringify({ x0: [1, 2] }), /'x0' has shape \[2\], but the model declares \[\]/],
      [JSON.stringify({ x0: "one" }), /x0 must be a finite number, found "one"/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(join(dir, "bad.json"), text);
      const r = nabla("run", "examples/linear_chain.nabla", "--values", join(dir, "bad.json"));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("bad.json");
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("reports model errors with exit status 1", () => {
    const r = nabla("check", "test/bad/shape_mismatch.nabla");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/test\/bad\/shape_mismatch\.nabla:6:5: error NB3002/);
  });

  it("reports usage errors with exit status 2", () => {
    expect(nabla("frobnicate").status).toBe(2);
    expect(nabla("run").status).toBe(2);
    expect(nabla("run", "no/such/file.nabla").stderr).toMatch(/cannot read model file/);
  });

  it("answers a mistyped command or option with the closest valid one", () => {
    const command = nabla("compil", "examples/linear_chain.nabla");
    expect(command.status).toBe(2);
    expect(command.stderr).toMatch(/^nabla: error: unknown command 'compil'; did you mean 'compile'\?\n/);
    const option = nabla("run", "examples/linear_chain.nabla", "--jsn");
    expect(option.status).toBe(2);
    expect(option.stderr).toMatch(/^nabla: error: unknown option '--jsn'; did you mean '--json'\?\n/);
    expect(option.stderr).not.toMatch(/positional|'--' /);
    const misplaced = nabla("compile", "examples/linear_chain.nabla", "--json");
    expect(misplaced.status).toBe(2);
    expect(misplaced.stderr).toMatch(
      /^nabla: error: compile takes no option '--json'\n\nnabla compile <model.nabla>/,
    );
    expect(nabla("compile", "examples/linear_chain.nabla", "-o").stderr).toMatch(/option '-o' needs a value/);
  });

  it("an output path that is a file is an ordinary error with exit status 2, not an internal one", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-cli-"));
    writeFileSync(join(dir, "taken"), "");
    const r = nabla("compile", "examples/linear_chain.nabla", "-o", join(dir, "taken"));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nabla: error: cannot write to '.*taken': a file is in the way of the folder/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe("nabla gradcheck", () => {
  it("prints every param's agreement with central differences and exits 0", () => {
    const r = nabla("gradcheck", "examples/lstm.nabla");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}Wf +\d+ +\S+ +\S+ {2}ok$/m);
    expect(r.stdout).toMatch(/every gradient agrees\n$/);
  });

  it("exits 4 naming the param where they differ (a kink: relu at 0)", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-cli-"));
    writeFileSync(join(dir, "kink.nabla"), "param w = 0\nparam v = 2\nloss L = relu(w) + v^2\n");
    const r = nabla("gradcheck", join(dir, "kink.nabla"));
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/^ {2}w +1 +5\.0e-1 +5\.0e-1 {2}DIFFERS$/m);
    expect(r.stdout).toMatch(/^ {2}v +1 .* ok$/m);
    expect(r.stdout).toMatch(/w differs \(near a kink/);
  });
});

describe("a loss or gradient that is not finite", () => {
  it("nabla run warns, naming the first value that is not finite and its line", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-cli-"));
    writeFileSync(
      join(dir, "inf.nabla"),
      "input x\nparam w = 1\na = x + w\nz = log(x * w)\nloss L = z + a\nexample { x = 0 }\n",
    );
    const r = nabla("run", join(dir, "inf.nabla"), "--json");
    expect(r.status).toBe(0);
    // Not null: JSON has no -Infinity or NaN, so they are strings that say which.
    const out = JSON.parse(r.stdout);
    expect(out.loss).toBe("-Infinity");
    expect(out.values.z).toBe("-Infinity");
    expect(out.gradients.w).toBe("NaN");
    expect(out.values.a).toBe(1);
    expect(r.stderr).toBe(
      "nabla: warning: the loss is -Infinity; the first value that is not finite is 'z' (line 4)\n",
    );
    expect(nabla("run", "examples/linear_chain.nabla").stderr).toBe("");
  });
});

describe("help", () => {
  it("nabla help <command> and nabla <command> --help describe one command and its options", () => {
    for (const args of [
      ["help", "compile"],
      ["compile", "--help"],
      ["compile", "-h"],
    ]) {
      const r = nabla(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(
        /^nabla compile <model.nabla> \[-o <dir>\] \[--html\] \[--target wasm \[--precision f32\]\]\n/,
      );
      expect(r.stdout).toMatch(/-o, --out <dir>/);
      expect(r.stdout).not.toMatch(/--values/);
    }
    expect(nabla("help", "run").stdout).toMatch(/--values <file.json>/);
  });

  it("nabla help and nabla --help list every command with the exit statuses", () => {
    for (const args of [["help"], ["--help"]]) {
      const r = nabla(...args);
      expect(r.status).toBe(0);
      for (const command of ["compile", "run", "check", "demo", "help"])
        expect(r.stdout).toContain(`nabla ${command}`);
      expect(r.stdout).toMatch(/Exit status: 0 success, 1 the model has errors, 2 a usage/);
    }
    expect(nabla("help", "compil").stderr).toMatch(/did you mean 'compile'/);
  });
});

describe("the nabla command", () => {
  it("is an executable script", () => {
    const r = spawnSync(join(root, "bin/nabla.js"), ["--version"], { cwd: root, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^nabla \d+\.\d+\.\d+/);
  });
});

describe("nabla compile and demo", () => {
  it("compile writes the module, its JavaScript and the handout", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-out-"));
    const r = nabla("compile", "examples/matrix_two_layer.nabla", "-o", dir);
    expect(r.status).toBe(0);
    for (const ext of ["ts", "js", "tex"])
      expect(existsSync(join(dir, `matrix_two_layer.${ext}`))).toBe(true);
    expect(readFileSync(join(dir, "matrix_two_layer.tex"), "utf8")).toContain("\\begin{document}");
  });
  it("compile --html also writes the handout as one HTML page", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-out-"));
    const r = nabla("compile", "examples/linear_neuron.nabla", "-o", dir, "--html");
    expect(r.status).toBe(0);
    const html = readFileSync(join(dir, "linear_neuron.html"), "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('class="katex"');
  });
  it("demo compiles and runs the built-in example", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-demo-"));
    const r = nabla("demo", "-o", dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/loss = /);
  });
});

describe("nabla run on a sequence model", () => {
  /** The next-word RNN by hand (H = 1): its loss for given params, to difference numerically. */
  function nextWordLoss(x: number[][], y: number[], wxh: number[], whh: number, whz: number[]): number {
    let h = 0;
    for (const xt of x) h = Math.tanh(xt.reduce((s, v, i) => s + v * wxh[i]!, 0) + whh * h);
    const z = whz.map((w) => w * h);
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    return -y.reduce((s, v, i) => s + v * (z[i]! - lse), 0);
  }

  it("takes sequences as arrays over t and prints stacked values", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-seq-"));
    const x = [
      [0, 0, 0, 1],
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
    ];
    writeFileSync(join(dir, "v.json"), JSON.stringify({ x: x.slice(0, 3) }));
    const r = nabla("run", "examples/next_word_rnn.nabla", "--values", join(dir, "v.json"), "--json");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.values.h).toHaveLength(3);
    const wxh = [0.5, -0.4, 0.3, 0.1];
    const whz = [0.1, 0.2, 0.3, 0.4];
    const y = [0, 0, 0, 1];
    const h = 1e-6;
    expect(out.loss).toBeCloseTo(nextWordLoss(x.slice(0, 3), y, wxh, 0.2, whz), 12);
    const dWhh =
      (nextWordLoss(x.slice(0, 3), y, wxh, 0.2 + h, whz) -
        nextWordLoss(x.slice(0, 3), y, wxh, 0.2 - h, whz)) /
      (2 * h);
    expect(out.gradients.Whh[0][0]).toBeCloseTo(dWhh, 8);
    wxh.forEach((_, i) => {
      const up = wxh.map((v, j) => (j === i ? v + h : v));
      const down = wxh.map((v, j) => (j === i ? v - h : v));
      const fd =
        (nextWordLoss(x.slice(0, 3), y, up, 0.2, whz) - nextWordLoss(x.slice(0, 3), y, down, 0.2, whz)) /
        (2 * h);
      expect(out.gradients.Wxh[0][i]).toBeCloseTo(fd, 8);
    });
    // The model fixes T = 3: a sequence of another length is refused with the file's name.
    writeFileSync(join(dir, "long.json"), JSON.stringify({ x }));
    const bad = nabla("run", "examples/next_word_rnn.nabla", "--values", join(dir, "long.json"));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /long\.json: 'x' has shape \[4, 4\], but the model declares \[T, V\] = \[3, 4\]\n/,
    );
  });

  it("names the entry of a values file that is wrong, by its path", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-cli-"));
    const cases: [string, object, RegExp][] = [
      [
        "layer_norm",
        {
          X: [
            [1, 2, 3],
            [4, 5],
            [1, 2, 3],
            [1, 1, 1],
          ],
        },
        /X\[1\] has 2 entries where X\[0\] has 3: the rows of 'X' differ in length/,
      ],
      [
        "layer_norm",
        {
          X: [
            [1, 2, 3],
            [4, 5, "a"],
            [1, 2, 3],
            [1, 1, 1],
          ],
        },
        /X\[1\]\[2\] must be a finite number, found "a"/,
      ],
      [
        "layer_norm",
        {
          X: [
            [1, 2],
            [4, 5],
            [1, 2],
            [1, 1],
          ],
        },
        /'X' has shape \[4, 2\], but the model declares \[N, D\] = \[4, 3\]/,
      ],
      [
        "lstm",
        { x_1: [1, 2] },
        /gives 'x_1', .*; a sequence is given whole, one array over its steps: "x": \[/,
      ],
    ];
    for (const [model, values, message] of cases) {
      writeFileSync(join(dir, "v.json"), JSON.stringify(values));
      const r = nabla("run", `examples/${model}.nabla`, "--values", join(dir, "v.json"));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("nabla check on a model with a lecture block", () => {
  it("lists each printed number, located, and exits 3 when one is wrong", () => {
    const r = nabla("check", "examples/next_word_rnn.nabla");
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(
      /examples\/next_word_rnn\.nabla:\d+:\d+: WRONG {2}dL\/dWhz: .*computed with h_1 where h_3 belongs/,
    );
    expect(r.stdout).toMatch(/next_word_rnn\.nabla: 7 of the 16 numbers the lecture prints are wrong/);
  });
  it("exits 0 when every printed number is right", () => {
    const r = nabla("check", "examples/linear_neuron.nabla");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /all 21 numbers the lecture prints are right; both formulas the lecture prints are right/,
    );
  });
});
