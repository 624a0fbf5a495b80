import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { analyze } from "../../src/analyze.js";
import { renderModule } from "../../src/codegen/module.js";
import { loadModule, type LoadedModule } from "../../src/run.js";
import { mlpSource, makeMlpData } from "../../bench/workloads/mlp.js";
import { cnnSourceText } from "../../bench/workloads/cnn.js";
import { seededRandom } from "../../src/train/loop.js";
import { launchChromium, skipWithoutChromium } from "../support/chromium.js";

const examples = join(import.meta.dirname, "../../examples");

type Arrays = Record<string, Float64Array>;
interface Module extends LoadedModule {
  workspaceArrays(dims?: Record<string, number>): { params: Arrays; inputs: Arrays; gradients: Arrays };
  example(): { params: Arrays; inputs: Arrays };
  hessian?(params: Arrays, inputs: Arrays): Float64Array;
  trainStep(params: Arrays, inputs: Arrays): number;
}

/** The JavaScript and the WebAssembly modules of one model, unformatted (formatting changes no code). */
async function both(
  source: string,
  file: string,
): Promise<{ js: Module; wasm: Module; f32: Module; text: string }> {
  const { graph, gradient, rendered } = analyze(source, { file });
  if (!graph || !gradient) throw new Error(rendered);
  const text = renderModule(graph, gradient, "javascript", { target: "wasm" });
  const single = renderModule(graph, gradient, "javascript", { target: "wasm", precision: "f32" });
  return {
    js: (await loadModule(renderModule(graph, gradient, "javascript"))) as Module,
    wasm: (await loadModule(text)) as Module,
    f32: (await loadModule(single)) as Module,
    text,
  };
}

/** max|a − b| / max|a|, over every array of two records with the same keys. */
function difference(a: Arrays, b: Arrays): number {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  let worst = 0;
  for (const [name, x] of Object.entries(a)) {
    const y = b[name]!;
    expect(y.length).toBe(x.length);
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]!));
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    }
    worst = Math.max(worst, scale === 0 ? diff : diff / scale);
  }
  return worst;
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Number.MIN_VALUE);

const files = readdirSync(examples).filter((f) => f.endsWith(".nabla"));

describe("the WebAssembly module", () => {
  it("covers the examples: most of them call the kernel", async () => {
    let calling = 0;
    for (const file of ["lstm.nabla", "matrix_two_layer.nabla", "next_word_rnn.nabla"]) {
      const { text } = await both(readFileSync(join(examples, file), "utf8"), file);
      if (text.includes("nablaGemm(")) calling++;
    }
    expect(calling).toBe(3);
    expect(files.length).toBeGreaterThan(20);
  });

  it("runs the convolutions as its kernels: the examples' and the benchmark CNN's", async () => {
    const sources = [
      ...["bars_lenet.nabla", "cnn_lecture.nabla", "cnn_lecture_bce.nabla"].map((file) => ({
        file,
        source: readFileSync(join(examples, file), "utf8"),
      })),
      { file: "cnn.nabla", source: cnnSourceText },
    ];
    for (const { file, source } of sources) {
      const { text } = await both(source, file);
      // The convolution fused with its pool is computed by the kernel, in forward and gradient.
      expect(text.match(/nablaConv\(/g)?.length, file).toBe(2);
      // cnn_lecture's pool windows overlap: its filters' gradient is the kernel too.
      expect(text.includes("nablaConvFilter("), file).toBe(file.startsWith("cnn_lecture"));
    }
  });

  it("runs the fused elementwise loops as the model's WebAssembly functions", async () => {
    const calls = (text: string) => [...text.matchAll(/nablaElementwise\.(e\d+)\(([^,]*)/g)];
    // The bench MLP: Hid·W2 + b2 (b2 a row of 10, in forward and gradient) and the sigmoid's
    // derivative dL/dHid ⊙ Hid ⊙ (1 − Hid); sigmoid(X·W1 + b1) has an exp, softmax and the
    // cross-entropy are loops over rows, the biases' gradients sums.
    const mlp = await both(mlpSource, "mlp.nabla");
    expect(calls(mlp.text).map((c) => c[1])).toEqual(["e0", "e0", "e1"]);
    expect(mlp.text).toMatch(
      /nablaElementwise\.e0\(\w+\.byteOffset, \w+\.byteOffset, b2\.byteOffset, 10 \* d0, 10\)/,
    );
    expect(mlp.text).toMatch(
      /nablaElementwise\.e1\(\w+\.byteOffset, dL_dHid\.byteOffset, Hid\.byteOffset, 1, 128 \* d0\)/,
    );
    // matrix_two_layer: both sigmoids' derivatives, dE/dO_in and dE/dH_in, are calls.
    const two = await both(
      readFileSync(join(examples, "matrix_two_layer.nabla"), "utf8"),
      "matrix_two_layer.nabla",
    );
    const written = calls(two.text).map((c) => c[2]);
    expect(written).toContain("dE_dO_in.byteOffset");
    expect(written).toContain("dE_dH_in.byteOffset");
    // layer_norm: H − mu reads mu [N, 1] once per row of [N, D] = [4, 3] (a block operand),
    // gamma .* Hhat + beta reads gamma and beta [D] at every row (row operands): 12 entries, rows of 3.
    const norm = await both(readFileSync(join(examples, "layer_norm.nabla"), "utf8"), "layer_norm.nabla");
    expect(norm.text).toMatch(
      /nablaElementwise\.e\d+\(\w+\.byteOffset, H\.byteOffset, mu\.byteOffset, 12, 3\)/,
    );
    expect(norm.text).toMatch(
      /nablaElementwise\.e\d+\(Z\.byteOffset, gamma\.byteOffset, Hhat\.byteOffset, beta\.byteOffset, 12, 3\)/,
    );
    // Every function of the module is called, and a recurrence's per-step loop calls none.
    let calling = 0;
    let steps = 0;
    for (const file of files) {
      const source = readFileSync(join(examples, file), "utf8");
      const { graph, gradient } = analyze(source, { file });
      const text = renderModule(graph!, gradient!, "javascript", { target: "wasm" });
      const names = new Set(calls(text).map((c) => c[1]));
      if (names.size > 0) calling++;
      for (let k = 0; k < names.size; k++) expect(names.has(`e${k}`), file).toBe(true);
      for (const loop of text.matchAll(/for \(let t\d+ = [^{]*\{/g)) {
        let depth = 1;
        let end = loop.index + loop[0].length;
        for (; depth > 0; end++) depth += text[end] === "{" ? 1 : text[end] === "}" ? -1 : 0;
        steps++;
        expect(text.slice(loop.index, end), file).not.toContain("nablaElementwise");
      }
    }
    expect(calling).toBeGreaterThan(files.length / 2);
    expect(steps).toBeGreaterThan(5);
    // The bytes hold no name of the model: renamed, the model has the same module.
    const base64 = (text: string) => text.match(/atob\("([^"]*)"\)/)![1];
    const renamed = readFileSync(join(examples, "matrix_two_layer.nabla"), "utf8")
      .replaceAll("O_out", "Output")
      .replaceAll("H_out", "Hidden")
      .replaceAll("W1", "Alpha");
    const other = await both(renamed, "renamed.nabla");
    expect(base64(other.text)).toBe(base64(two.text));
    expect(other.text).toContain("Output.byteOffset");
  });

  it("computes stacked, strided and padded convolutions in every role as kernel calls, as the JavaScript module does", async () => {
    const source = `model TwoConvs
dim N, C = 2, F = 5, G = 3
input  X: [N, C, 9, 8]
target Y: [N, G, 4, 4]
param  k1: [F, C, 3, 3]
param  k2: [G, F, 2, 3]
H = tanh(conv2d(X, k1, padding=1))
Z = conv2d(H, k2, stride=2, padding=[0, 1])
loss L = sum((Z - Y)^2) / N
`;
    const { js, wasm, f32, text } = await both(source, "two_convs.nabla");
    const gradient = text.slice(text.indexOf("function gradient"));
    // Two convolutions; H's gradient, δ convolved with the flipped k2, one call per phase of
    // H's rows and columns modulo the stride 2 (four); two filter gradients.
    expect(gradient.match(/nablaConv\(/g)?.length).toBe(6);
    expect(gradient.match(/nablaConvFilter\(/g)?.length).toBe(2);
    const random = seededRandom(5);
    const fill = (n: number) => Float64Array.from({ length: n }, () => random() - 0.5);
    const N = 3;
    const params = { k1: fill(5 * 2 * 9), k2: fill(3 * 5 * 6) };
    const inputs = { X: fill(N * 2 * 72), Y: fill(N * 3 * 16) };
    const ga = js.gradient(params, inputs);
    const gb = wasm.gradient(params, inputs);
    expect(relative(ga.loss, gb.loss)).toBeLessThan(1e-12);
    expect(difference(ga.gradients, gb.gradients)).toBeLessThan(1e-12);
    const gc = f32.gradient(params, inputs);
    expect(relative(ga.loss, gc.loss)).toBeLessThan(1e-5);
    expect(difference(ga.gradients, gc.gradients)).toBeLessThan(1e-5);
  });

  it.each(files)(
    "%s: loss, values and every gradient equal the JavaScript module's to 1e-12",
    async (file) => {
      const { js, wasm, f32 } = await both(readFileSync(join(examples, file), "utf8"), file);
      // Each module its own copies: a module must not change its caller's arrays.
      const a = js.example();
      const b = wasm.example();
      const fa = js.forward(a.params, a.inputs);
      const fb = wasm.forward(b.params, b.inputs);
      expect(relative(fa.loss, fb.loss)).toBeLessThan(1e-12);
      expect(difference(fa.values, fb.values)).toBeLessThan(1e-12);
      const ga = js.gradient(a.params, a.inputs);
      const gb = wasm.gradient(b.params, b.inputs);
      expect(relative(ga.loss, gb.loss)).toBeLessThan(1e-12);
      expect(difference(ga.gradients, gb.gradients)).toBeLessThan(1e-12);
      expect(difference(a.params, b.params)).toBe(0);
      expect(difference(a.inputs, b.inputs)).toBe(0);
      // Single precision: within float32's rounding of the loss and gradients' scale (a saturated
      // tanh's 1 − tanh² is 0 in float32 where it is 1e-8 in float64: temperature_rnn).
      const c = js.example();
      const gc = f32.gradient(c.params, c.inputs);
      const scale = Math.max(
        Math.abs(ga.loss),
        ...Object.values(ga.gradients).flatMap((g) => [...g].map(Math.abs)),
        Number.MIN_VALUE,
      );
      expect(Math.abs(gc.loss - ga.loss) / scale).toBeLessThan(1e-5);
      for (const [name, g] of Object.entries(ga.gradients)) {
        const h = gc.gradients[name]!;
        expect(h).toBeInstanceOf(Float64Array);
        for (let i = 0; i < g.length; i++) expect(Math.abs(h[i]! - g[i]!) / scale).toBeLessThan(1e-5);
      }
      const values = f32.forward(c.params, c.inputs).values;
      for (const v of Object.values(values)) expect(v).toBeInstanceOf(Float64Array);
      if (js.hessian)
        expect(
          difference({ H: js.hessian(a.params, a.inputs) }, { H: wasm.hessian!(b.params, b.inputs) }),
        ).toBeLessThan(1e-12);
      // Three steps of the model's own optimiser, through the kernels' gradient.
      for (let step = 0; step < 3; step++) {
        js.trainStep(a.params, a.inputs);
        wasm.trainStep(b.params, b.inputs);
      }
      expect(difference(a.params, b.params)).toBeLessThan(1e-12);
    },
  );

  it("reallocates in its memory when the run-time dims change, and agrees at every size", async () => {
    const { js, wasm } = await both(mlpSource, "mlp.nabla");
    // Growing the memory detaches every view made before: sizes up and down again.
    for (const n of [3, 40, 1, 33]) {
      const data = makeMlpData(seededRandom(n), n);
      const ga = js.gradient(data.params, data.inputs);
      const gb = wasm.gradient(data.params, data.inputs);
      expect(relative(ga.loss, gb.loss)).toBeLessThan(1e-12);
      expect(difference(ga.gradients, gb.gradients)).toBeLessThan(1e-12);
    }
  });

  it("hands out its workspace's arrays: passed back, nothing is copied, and the numbers are the same", async () => {
    const { js, wasm } = await both(mlpSource, "mlp.nabla");
    const data = makeMlpData(seededRandom(5), 7);
    const own = wasm.workspaceArrays({ N: 7 });
    for (const [k, v] of Object.entries(data.params)) own.params[k]!.set(v);
    for (const [k, v] of Object.entries(data.inputs)) own.inputs[k]!.set(v);
    const ga = js.gradient(data.params, data.inputs);
    const gb = wasm.gradient(own.params, own.inputs, own.gradients);
    expect(gb.gradients).toBe(own.gradients);
    expect(relative(ga.loss, gb.loss)).toBeLessThan(1e-12);
    expect(difference(ga.gradients, own.gradients)).toBeLessThan(1e-12);
    // A step in place on the workspace's params, then the gradient there again.
    js.sgdStep(data.params, ga.gradients, 0.5);
    wasm.sgdStep(own.params, own.gradients, 0.5);
    expect(difference(data.params, own.params)).toBeLessThan(1e-12);
    expect(
      difference(
        js.gradient(data.params, data.inputs).gradients,
        wasm.gradient(own.params, own.inputs, own.gradients).gradients,
      ),
    ).toBeLessThan(1e-12);
    // Other dims reallocate the workspace: the old views are refused, not read.
    wasm.gradient(makeMlpData(seededRandom(6), 300).params, makeMlpData(seededRandom(6), 300).inputs);
    expect(() => wasm.gradient(own.params, own.inputs, own.gradients)).toThrow(/nabla:/);
    expect(() => wasm.workspaceArrays()).toThrow(/needs dims.N/);
    // A reallocation that does not grow the memory leaves old views attached, over the new
    // workspace: refused too, as params, as inputs and as out.
    const big = wasm.workspaceArrays({ N: 300 });
    const small = makeMlpData(seededRandom(7), 2);
    wasm.gradient(small.params, small.inputs);
    const stale = /view of the module's memory but not the workspace's array/;
    expect(() => wasm.gradient(big.params, small.inputs)).toThrow(stale);
    expect(() =>
      wasm.gradient(small.params, { X: big.inputs.X!.subarray(0, 2 * 784), Y: small.inputs.Y! }),
    ).toThrow(stale);
    expect(() => wasm.gradient(small.params, small.inputs, big.gradients)).toThrow(stale);
    expect(() => wasm.forward(big.params, small.inputs)).toThrow(stale);
  });

  it("is safe whatever the model names its values: its own names are reserved", async () => {
    const names = ["nablaGemm", "nablaViews", "nablaWasm", "memory", "lengths", "offsets"];
    const source = `
      dim N = 5, D = 3
      input X: [N, D]
      target y: [N]
      param W: [D, D]
      param u: [D]
      ${names.map((n, i) => `${n} = ${i === 0 ? "tanh(X*W)" : `${names[i - 1]}*W`}`).join("\n")}
      loss L = sum((${names.at(-1)}*u - y)^2)
      example {
        X = [[1, 2, 0], [0.5, -1, 1], [0, 1, 0.2], [0.3, 0.1, -0.4], [1, 1, 1]]
        y = [0.3, -0.2, 0.5, 0, 1]
        W = [[0.2, -0.4, 0.1], [0.3, 0.2, -0.1], [0, 0.5, 0.25]]
        u = [0.5, -1, 0.25]
      }`;
    const { js, wasm, text } = await both(source, "names.nabla");
    expect(text.match(/nablaGemm\(/g)!.length).toBeGreaterThan(5);
    const a = js.example();
    const ga = js.gradient(a.params, a.inputs);
    const gb = wasm.gradient(a.params, a.inputs);
    expect(relative(ga.loss, gb.loss)).toBeLessThan(1e-12);
    expect(difference(ga.gradients, gb.gradients)).toBeLessThan(1e-12);
    expect(Object.keys(wasm.forward(a.params, a.inputs).values)).toEqual([...names, "L"]);
  });

  it("type-checks under tsc --strict as an ES module, in both precisions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-wasm-tsc-"));
    // A top-level await needs an ES module: package.json says so.
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const files: string[] = [];
    for (const file of ["lstm.nabla", "newton_logistic.nabla", "adam_logistic.nabla"]) {
      const { graph, gradient } = analyze(readFileSync(join(examples, file), "utf8"), { file });
      for (const precision of ["f64", "f32"] as const) {
        const name = `${file.replace(".nabla", "")}_${precision}.ts`;
        writeFileSync(
          join(dir, name),
          renderModule(graph!, gradient!, "typescript", { target: "wasm", precision }),
        );
        files.push(name);
      }
    }
    const tsc = join(import.meta.dirname, "../../node_modules/.bin/tsc");
    const args = ["--strict", "--noEmit", "--target", "es2022", "--module", "nodenext"];
    let output = "";
    try {
      execFileSync(tsc, [...args, "--noUnusedLocals", "--noUnusedParameters", "--types", "", ...files], {
        cwd: dir,
        encoding: "utf8",
      });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe("");
  });

  it.skipIf(skipWithoutChromium)(
    "runs in a browser (Chromium) as an ES module, with the same gradient",
    async () => {
      const source = readFileSync(join(examples, "lstm.nabla"), "utf8");
      const { js } = await both(source, "lstm.nabla");
      const { graph, gradient } = analyze(source);
      const browser = await launchChromium();
      try {
        const tab = await browser.newPage();
        const [f64, f32] = (["f64", "f32"] as const).map(
          (precision) =>
            `data:text/javascript;base64,${Buffer.from(renderModule(graph!, gradient!, "javascript", { target: "wasm", precision })).toString("base64")}`,
        );
        // A string, not a function: the test runner would rewrite a function's import().
        const got = (await tab.evaluate(`Promise.all(${JSON.stringify([f64, f32])}.map(async (url) => {
        const m = await import(url);
        const e = m.example();
        const { loss, gradients } = m.gradient(e.params, e.inputs);
        return { loss, gradients: Object.fromEntries(Object.entries(gradients).map(([k, v]) => [k, [...v]])) };
      }))`)) as { loss: number; gradients: Record<string, number[]> }[];
        const e = js.example();
        const want = js.gradient(e.params, e.inputs);
        const arrays = (g: Record<string, number[]>) =>
          Object.fromEntries(Object.entries(g).map(([k, v]) => [k, Float64Array.from(v)]));
        expect(relative(want.loss, got[0]!.loss)).toBeLessThan(1e-12);
        expect(difference(want.gradients, arrays(got[0]!.gradients))).toBeLessThan(1e-12);
        expect(difference(want.gradients, arrays(got[1]!.gradients))).toBeLessThan(1e-5);
      } finally {
        await browser.close();
      }
    },
  );

  it("has no script form: it awaits its instance", () => {
    const { graph, gradient } = analyze(readFileSync(join(examples, "moons.nabla"), "utf8"));
    expect(() => renderModule(graph!, gradient!, "script", { target: "wasm" })).toThrow(/ES module/);
  });
});
