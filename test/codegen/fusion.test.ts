import { describe, expect, it } from "vitest";
import { loadModule } from "../../src/run.js";
import { analyze } from "../../src/analyze.js";
import { renderModule } from "../../src/codegen/module.js";
import { Evaluator } from "../../src/ir/evaluate.js";
import { tensor, type Tensor } from "../../src/ir/tensor.js";
import {
  compileOk,
  evaluatorGradient,
  finiteDifferences,
  maxRelativeError,
  splitValues,
} from "../support/check.js";

/**
 * Elementwise chains fused into one loop: a fused value read at a broadcast offset (a
 * per-row statistic inside a per-entry expression) must be computed there, not read from a
 * buffer nothing wrote.
 */
describe("fused elementwise chains", () => {
  it("compute a fused per-row value where an entry of the row reads it", async () => {
    const compiled = await compileOk(`
      dim N = 4, D = 3
      input X: [N, D]
      target Y: [N, D]
      param g: [D]
      param b: [D]
      mu = mean(X, axis = 1, keep = 1)
      s2 = mean((X - mu)^2, axis = 1, keep = 1)
      Z = g .* (X - mu) / sqrt(s2 + 0.00001) + b
      loss L = sum((Z - Y)^2) / N
      example {
        X = [[1, 2, 3], [0.5, -1, 2], [3, 3.5, -2], [0, 1, 0.25]]
        Y = [[0.1, 0.2, 0.3], [-0.5, 1, 0], [1, 0, -1], [0.3, 0.2, 0.1]]
        g = [1, 0.5, 2]
        b = [0, 0.1, -0.1]
      }
    `);
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    const { values } = mod.forward(data.params, data.inputs);
    const evaluator = new Evaluator(compiled.gradient.nodes, compiled.graph.example);
    for (const name of ["mu", "s2", "Z", "L"]) {
      const node = compiled.graph.named.find((n) => n.name === name)!.node;
      expect(
        maxRelativeError({ [name]: values[name]! }, { [name]: evaluator.value(node).data }),
        name,
      ).toBeLessThan(1e-12);
    }
  });
});

/**
 * conv2d + elementwise + max-pool fused into one loop nest over the pooling windows (the
 * winners recorded forward), and the backward pass over the winners only. Each model's
 * gradient from the generated module is compared with the reference evaluator's (the IR run
 * op by op, with its own first-maximum rule) and, where no window ties, with central
 * differences of the module's loss.
 */
describe("conv + bias + activation + max-pool fused", () => {
  /** A model's params and inputs: uniform on ±1 (or `x` constant, for windows that tie), from a fixed seed. */
  function valuesFor(compiled: Awaited<ReturnType<typeof compileOk>>, seed: number, constantX = false) {
    let s = seed;
    const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const values = new Map<string, Tensor>();
    for (const n of compiled.graph.named) {
      if (n.kind !== "param" && n.kind !== "input" && n.kind !== "target") continue;
      const shape = compiled.graph.nodes[n.node]!.shape as number[];
      const t = tensor(shape);
      if (n.kind === "target") t.data[0] = 1;
      else for (let i = 0; i < t.data.length; i++) t.data[i] = constantX && n.name === "x" ? 0.5 : random();
      values.set(n.name, t);
    }
    return values;
  }

  /** The sizes of the Float64Arrays the module's workspace allocates. */
  const allocated = (javascript: string) => {
    const body = javascript.slice(
      javascript.indexOf("function allocate("),
      javascript.indexOf("function buffers("),
    );
    return [...body.matchAll(/new Float64Array\((\d+)\)/g)].map((m) => Number(m[1]));
  };

  async function check(source: string, opts: { ties?: boolean; activation: number; fused: boolean }) {
    const compiled = await compileOk(source);
    const mod = await loadModule(compiled.module.javascript);
    const values = valuesFor(compiled, 7, opts.ties);
    const data = splitValues(compiled, values);
    const reference = evaluatorGradient(compiled, values);
    const got = mod.gradient(data.params, data.inputs);
    expect(Math.abs(got.loss - reference.loss)).toBeLessThan(1e-12 * Math.max(1, Math.abs(reference.loss)));
    expect(maxRelativeError(got.gradients, reference.gradients)).toBeLessThan(1e-12);
    // The gradient is not all zeros (every window dead would test nothing).
    expect(Object.values(got.gradients).some((g) => g.some((v) => v !== 0))).toBe(true);
    if (!opts.ties) expect(maxRelativeError(got.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
    // Fused, no array of the activation's size is allocated: not the convolution's output, the
    // activation, its δ or the ReLU mask.
    expect(allocated(compiled.module.javascript).includes(opts.activation)).toBe(!opts.fused);
    // The winners (pool_argmax's offsets), fused or not, are integers in an Int32Array.
    expect(compiled.module.javascript).toMatch(/= new Int32Array\(\d+\);/);
    return { compiled, mod, data, values };
  }

  const dense = (n: number) => `param W: [2, ${n}]\nz = W*flatten(P)\nloss L = cross_entropy(softmax(z), y)`;

  it("on one channel with odd sizes: windows leave the last row and column out", async () => {
    // conv 7×9 → 5×7, pooled 2×3: the conv outputs of row 4 and column 6 reach no window.
    await check(
      `input x: [1, 7, 9]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nP = maxpool(relu(conv2d(x, k) + bk), size=2, stride=2)\n${dense(12)}`,
      { activation: 70, fused: true },
    );
  });

  it("with several channels, a strided padded convolution and a 2×3 window", async () => {
    // conv 3×9×8, stride 2, padding 1 → 5×4; 2×3 windows, stride (2, 3) → 2×1.
    await check(
      `input x: [3, 9, 8]\ntarget y: [2]\nparam k: [4, 3, 3, 3]\nparam bk: [4, 1, 1]\nP = maxpool(relu(conv2d(x, k, stride=2, padding=1) + bk), size=[2, 3], stride=[2, 3])\n${dense(8)}`,
      { activation: 80, fused: true },
    );
  });

  it("on a batch, with windows further apart than their size and a non-square kernel", async () => {
    // [2, 2, 8, 9] ⋆ [3, 2, 2, 3] → [2, 3, 7, 7]; 2×2 windows with stride 3 → 2×2.
    await check(
      `input x: [2, 2, 8, 9]\ntarget y: [2]\nparam k: [3, 2, 2, 3]\nparam bk: [3, 1, 1]\nP = maxpool(relu(conv2d(x, k) + bk), size=2, stride=3)\n${dense(24)}`,
      { activation: 294, fused: true },
    );
  });

  it("on a plain image with tanh: the derivative read at the winner is the pooled value", async () => {
    await check(
      `input x: [6, 6]\ntarget y: [2]\nparam k: [3, 3]\nparam c: []\nP = maxpool(tanh(conv2d(x, k) + c))\n${dense(4)}`,
      { activation: 16, fused: true },
    );
  });

  it("when windows tie: the first maximum in row-major order takes the gradient", async () => {
    // A constant image: every output of a filter is the same, so every window ties. With
    // the image a param, its gradient shows which position of each window won; the filter
    // gradient at points does not take the image's gradient, so the activation is stored.
    await check(
      `param x: [2, 6, 6]\ntarget y: [2]\nparam k: [2, 2, 3, 3]\nparam bk: [2, 1, 1]\nP = maxpool(conv2d(x, k) + bk)\n${dense(8)}`,
      { ties: true, activation: 32, fused: false },
    );
  });

  it("in two layers: the second layer's input gradient is not taken at points, so its activation is kept", async () => {
    const { compiled } = await check(
      `input x: [1, 10, 10]\ntarget y: [2]\nparam k1: [2, 1, 3, 3]\nparam b1: [2, 1, 1]\nparam k2: [3, 2, 2, 2]\nparam b2: [3, 1, 1]\nA1 = maxpool(relu(conv2d(x, k1) + b1))\nP = maxpool(relu(conv2d(A1, k2) + b2))\n${dense(3)}`,
      // The first layer's [2, 8, 8] activation is never stored; the second's [3, 3, 3] is
      // (the 27 entries, where the first layer's 128 are absent).
      { activation: 128, fused: true },
    );
    expect(allocated(compiled.module.javascript)).toContain(27);
  });

  it("not with overlapping windows, which would compute outputs twice", async () => {
    await check(
      `input x: [1, 7, 7]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nP = maxpool(relu(conv2d(x, k) + bk), size=3, stride=2)\n${dense(8)}`,
      { activation: 50, fused: false },
    );
  });

  it("storing a named activation that the windows cover, and returning it from forward", async () => {
    const { compiled, mod, data, values } = await check(
      `input x: [1, 6, 6]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nA = relu(conv2d(x, k) + bk)\nP = maxpool(A)\n${dense(8)}`,
      // The forward function returns A: it is stored, but nothing else of its size is.
      { activation: 32, fused: false },
    );
    expect(allocated(compiled.module.javascript).filter((n) => n === 32)).toHaveLength(1);
    // Storing A, forward applies ReLU to each value, not once to the window's maximum.
    const js = compiled.module.javascript;
    const forward = js.slice(js.indexOf("function forward("), js.indexOf("function zeroGradients("));
    expect(forward).not.toMatch(/\] = Math\.max\(m\d+, 0\);/);
    expect(forward.match(/Math\.max\(/g)).toHaveLength(4);
    const evaluator = new Evaluator(compiled.gradient.nodes, values);
    const node = compiled.graph.named.find((n) => n.name === "A")!.node;
    expect(
      maxRelativeError(
        { A: mod.forward(data.params, data.inputs).values.A! },
        { A: evaluator.value(node).data },
      ),
    ).toBe(0);
  });

  it("with two pools of one activation: one kernel computes it, the other pool reads it stored", async () => {
    // An earlier planner let the second pool's kernel replace the first's: P was never computed.
    await check(
      `input x: [1, 6, 6]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nparam V: [2, 2]\nA = relu(conv2d(x, k) + bk)\nP = maxpool(A)\nQ = maxpool(A, size=4, stride=4)\nparam W: [2, 8]\nz = W*flatten(P) + V*flatten(Q)\nloss L = cross_entropy(softmax(z), y)`,
      { activation: 32, fused: false },
    );
  });

  it("with ReLU applied once per window, to the maximum, where no activation is stored; dead windows pass nothing", async () => {
    // A negative bias for the second filter: many of its windows are all ≤ 0 (pooled 0), where
    // the winner recorded (the first maximum before ReLU) may differ from pool_argmax's.
    const { compiled, mod, data } = await check(
      `input x: [1, 8, 8]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nP = maxpool(relu(conv2d(x, k) + bk - [[[0]], [[1.5]]]))\n${dense(18)}`,
      { activation: 72, fused: true },
    );
    const js = compiled.module.javascript;
    const gradient = js.slice(js.indexOf("function gradient("));
    expect(gradient).toMatch(/\] = Math\.max\(m\d+, 0\);/);
    const pooled = mod.forward(data.params, data.inputs).values.P!;
    expect(pooled.some((v) => v === 0)).toBe(true);
    expect(pooled.some((v) => v > 0)).toBe(true);
  });

  it("records the winners' receptive fields for the filter gradient, or their offsets where a point needs its indices", async () => {
    // Unpadded: each window records its winner's receptive field in the image (kb + 0, 1, W,
    // W + 1), which the backward loop reads as is; padded, the offset in the activation, which
    // the backward loop turns back into a row and a column.
    const js = (
      await check(
        `input x: [1, 6, 6]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nP = maxpool(relu(conv2d(x, k) + bk))\n${dense(8)}`,
        { activation: 32, fused: true },
      )
    ).compiled.module.javascript;
    const gradient = js.slice(js.indexOf("function gradient("));
    expect(gradient).toMatch(/q\d+ = kb\d+ \+ 7;/);
    expect(gradient).not.toMatch(/\+\(r\d+ >= /);
    const padded = (
      await check(
        `input x: [1, 6, 6]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nP = maxpool(relu(conv2d(x, k, padding=1) + bk))\n${dense(18)}`,
        { activation: 72, fused: true },
      )
    ).compiled.module.javascript;
    expect(padded).not.toMatch(/kb\d+/);
    expect(padded).toMatch(/\+\(r\d+ >= 6\)/);
  });

  it("with the WebAssembly target, the winners stay in its float workspace", async () => {
    const source = `input x: [1, 6, 6]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nP = maxpool(relu(conv2d(x, k) + bk))\n${dense(8)}`;
    const { graph, gradient, rendered } = analyze(source, { file: "model.nabla" });
    if (!graph || !gradient) throw new Error(rendered);
    expect(renderModule(graph, gradient, "javascript")).toContain("new Int32Array(");
    expect(renderModule(graph, gradient, "javascript", { target: "wasm" })).not.toContain("Int32Array");
  });

  it("a named activation the windows do not cover is computed unfused", async () => {
    const { compiled, mod, data, values } = await check(
      `input x: [1, 7, 7]\ntarget y: [2]\nparam k: [2, 1, 3, 3]\nparam bk: [2, 1, 1]\nA = relu(conv2d(x, k) + bk)\nP = maxpool(A)\n${dense(8)}`,
      { activation: 50, fused: false },
    );
    const evaluator = new Evaluator(compiled.gradient.nodes, values);
    const node = compiled.graph.named.find((n) => n.name === "A")!.node;
    expect(
      maxRelativeError(
        { A: mod.forward(data.params, data.inputs).values.A! },
        { A: evaluator.value(node).data },
      ),
    ).toBe(0);
  });
});

/**
 * A weight's gradient g hᵀ and the δ passed below it, Wᵀ g, computed in one pass over W's
 * rows: row counts that take the four-row block with a remainder, the five-row block, and
 * fewer rows than a block.
 */
describe("a weight's rank-1 gradient and Wᵀδ in one pass", () => {
  for (const rows of [7, 10, 3]) {
    it(`with ${rows} rows`, async () => {
      const compiled = await compileOk(`
        input x: [5]
        target y: [${rows}]
        param V: [6, 5]
        param W: [${rows}, 6]
        h = tanh(V*x)
        z = W*h
        loss L = sum((z - y)^2)
      `);
      // The pass is one loop: no transposed product reads W down its columns (W[pm + i], pm = p · 6).
      expect(compiled.module.javascript).not.toMatch(/W\[pm\d+ \+ i\d+/);
      const mod = await loadModule(compiled.module.javascript);
      let s = 3;
      const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
      const values = new Map<string, Tensor>();
      for (const n of compiled.graph.named)
        if (n.kind !== "equation" && n.kind !== "loss") {
          const t = tensor(compiled.graph.nodes[n.node]!.shape as number[]);
          for (let i = 0; i < t.data.length; i++) t.data[i] = random();
          values.set(n.name, t);
        }
      const data = splitValues(compiled, values);
      const got = mod.gradient(data.params, data.inputs);
      expect(maxRelativeError(got.gradients, evaluatorGradient(compiled, values).gradients)).toBeLessThan(
        1e-12,
      );
      expect(maxRelativeError(got.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
    });
  }
});

/**
 * A recurrence's step: both products and tanh in one pass over the rows (tanh applied as each
 * row is stored), and backward the summed ∂Whh += δ h_{t−1}ᵀ with Whhᵀδ in one pass; sizes
 * that leave a remainder after the four-row blocks.
 */
describe("a recurrence's products fused with their step", () => {
  it("gives the reference gradient with H = 7, D = 3", async () => {
    const compiled = await compileOk(`
      dim D = 3, H = 7, O = 2, T = 4
      index t in 1..T
      input x_t: [D]
      target y: [O]
      param Wxh: [H, D]
      param Whh: [H, H]
      param bh: [H]
      param Why: [O, H]
      h_0 = 0
      h_t = tanh(Wxh*x_t + Whh*h_<t-1> + bh)
      loss L = cross_entropy(softmax(Why*h_T), y)
    `);
    const js = compiled.module.javascript;
    // The step stores tanh of the two products' row sums: no product is written to a buffer.
    expect(js).toMatch(/= Math\.tanh\(\(?s\d+_0_0 \+ s\d+_1_0\)? \+ bh\[/);
    // Backward, ∂Whh and Whhᵀδ share one loop: the update and the product read the same row offset.
    expect(js).toMatch(/dL_dWhh\[(o\d+_0) \+ (j\d+)\] \+= [^;]+;[^}]*Whh\[\1 \+ \2\]/);
    // x_t, h_{t−1}, h_t and δ_t are read and written where they lie (x, the states' arrays): no
    // copies into step buffers, no second store of h_t for the backward loop.
    expect(js).toMatch(/Wxh\[[^\]]+\] \* x\d+/);
    expect(js).toMatch(/const x\d+ = x\[o\d+ \+ p\d+\];/);
    expect(js).toMatch(/const x\d+ = h_steps\[o\d+ \+ p\d+\];/);
    expect(js).toMatch(/h_steps\[o\d+ \+ i\d+\] = Math\.tanh/);
    expect(js).not.toMatch(/h_prev|\bx_t\[|\.set\(h_t/);
    expect(js).toMatch(/dL_dh_steps\[o\d+ \+ i\d+\] \* \(1 - \(?h_steps\[o\d+ \+ i\d+\]/);
    // Whhᵀδ_t is added straight into δ's row for the step before: no buffer zeroed and added per step.
    expect(js).toMatch(/dL_dh_steps\[o\d+ \+ j\d+\] \+= Whh\[/);
    const mod = await loadModule(js);
    let s = 11;
    const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const values = new Map<string, Tensor>();
    for (const n of compiled.graph.named)
      if (n.kind === "param" || n.kind === "input" || n.kind === "target") {
        const t = tensor(compiled.graph.nodes[n.node]!.shape as number[]);
        for (let i = 0; i < t.data.length; i++)
          t.data[i] = n.kind === "target" ? (i === 0 ? 1 : 0) : random();
        values.set(n.name, t);
      }
    const data = splitValues(compiled, values);
    const got = mod.gradient(data.params, data.inputs);
    expect(maxRelativeError(got.gradients, evaluatorGradient(compiled, values).gradients)).toBeLessThan(
      1e-12,
    );
    expect(maxRelativeError(got.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
  });

  it("copies a step's values into buffers when the step uses one whole (a state that is another's last value)", async () => {
    // a_t = b_{t−1}: the step stores the carry b_{t−1} (its buffer named a_t) whole as a's next
    // value (a .set), so the step is built with its values copied, as before.
    const compiled = await compileOk(`
      index t in 1..4
      input x_t: [2]
      target y: [2]
      param W: [2, 2]
      a_0 = 1
      b_0 = 0
      a_t = b_<t-1>
      b_t = tanh(W*a_<t-1> + x_t)
      loss L = sum((a_4 + b_4 - y)^2)
    `);
    const js = compiled.module.javascript;
    const step = js.slice(js.indexOf("function gradient("), js.indexOf("backpropagation through time"));
    expect(step).toMatch(/a_prev\[i\d+\] = a_steps\[o\d+ \+ i\d+\]/);
    expect(step).toMatch(/\.set\(a_t, /);
    const mod = await loadModule(js);
    let s = 5;
    const random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const values = new Map<string, Tensor>();
    for (const n of compiled.graph.named)
      if (n.kind === "param" || n.kind === "input" || n.kind === "target") {
        const t = tensor(compiled.graph.nodes[n.node]!.shape as number[]);
        for (let i = 0; i < t.data.length; i++) t.data[i] = random();
        values.set(n.name, t);
      }
    const data = splitValues(compiled, values);
    const got = mod.gradient(data.params, data.inputs);
    expect(maxRelativeError(got.gradients, evaluatorGradient(compiled, values).gradients)).toBeLessThan(
      1e-12,
    );
    expect(maxRelativeError(got.gradients, finiteDifferences(mod, data))).toBeLessThan(1e-6);
  });
});
