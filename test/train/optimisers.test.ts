import { describe, expect, it } from "vitest";
import { compile } from "../../src/index.js";
import { loadModule } from "../../src/run.js";
import { toNested } from "../../src/ir/tensor.js";
import { OptimizerRun, trainingStates } from "../../src/train/update.js";
import { compileOk, splitValues } from "../support/check.js";
import { formatNumber } from "../../src/handout/numbers.js";
import { flat, torchAvailable } from "../support/torch.js";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The optimisers of a model's `train` line (momentum, Nesterov, RMSProp, Adam, AdamW, with
 * gradient clipping and a step schedule): the generated module's steps against PyTorch's
 * torch.optim on the same model and settings, the handout's worked steps against the
 * module's, and located diagnostics for a misspelt optimiser or setting.
 */
type Arrays = Record<string, Float64Array>;
type Module = Awaited<ReturnType<typeof loadModule>> & {
  trainStep(p: Arrays, i: Arrays, lr?: number, dims?: unknown, state?: unknown): number;
  createOptimizerState?(p: Arrays): { step: number };
  optimizerStep?(p: Arrays, g: Arrays, state: unknown, lr?: number): void;
};

const TINY = `
model Tiny

dim N = 4, D = 2, H = 3
input  X: [N, D]
target y: [N]
param  W: [D, H]
param  b: [H]
param  v: [H]
param  c
Hh = tanh(X*W + b)
yhat = Hh*v + c
loss L = sum((yhat - y)^2) / N

example {
  X = [[1, 2], [0.5, -1], [-1, 0.3], [2, 0.5]]
  y = [1, -0.5, 0.3, 2]
  W = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]
  b = [0.1, 0, -0.1]
  v = [0.5, -0.3, 0.8]
  c = 0.2
}
`;

const ELMAN = `
model Elman

index t in 1..4
input  x_t
target y
param  Wxh
param  Whh
param  Why
h_0 = 0
h_t = tanh(Wxh*x_t + Whh*h_<t-1>)
loss L = (Why*h_4 - y)^2

example {
  x_1 = 1.5
  x_2 = -0.5
  x_3 = 2
  x_4 = 0.7
  y = 3
  Wxh = 0.6
  Whh = 0.4
  Why = 1.2
}
`;

/** PyTorch's params after each step of its optimiser, on the model's example values. */
function torchSteps(
  model: "tiny" | "elman",
  optimizer: string,
  settings: Record<string, number>,
  values: ReadonlyMap<string, { shape: readonly number[]; data: Float64Array }>,
): { losses: number[]; params: Record<string, unknown>[] } {
  const input = JSON.stringify({
    model,
    optimizer,
    settings,
    values: Object.fromEntries([...values].map(([k, t]) => [k, toNested(t.shape as number[], t.data)])),
  });
  const path = fileURLToPath(new URL("../../reference/torch_optimisers.py", import.meta.url));
  const r = spawnSync("/usr/bin/python3", [path], { input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`torch_optimisers.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { losses: number[]; params: Record<string, unknown>[] };
}

const train = (optimizer: string, settings: Record<string, number>) =>
  `train ${optimizer}(${Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join(", ")})`;

const CASES: {
  name: string;
  model: "tiny" | "elman";
  optimizer: string;
  settings: Record<string, number>;
}[] = [
  { name: "sgd", model: "tiny", optimizer: "sgd", settings: { lr: 0.1, steps: 6 } },
  { name: "momentum", model: "tiny", optimizer: "momentum", settings: { lr: 0.1, beta: 0.9, steps: 8 } },
  { name: "nesterov", model: "tiny", optimizer: "nesterov", settings: { lr: 0.05, beta: 0.8, steps: 8 } },
  {
    name: "rmsprop",
    model: "tiny",
    optimizer: "rmsprop",
    settings: { lr: 0.01, rho: 0.9, eps: 1e-6, steps: 8 },
  },
  { name: "adam", model: "tiny", optimizer: "adam", settings: { lr: 0.05, steps: 10 } },
  {
    name: "adam, its betas and eps",
    model: "tiny",
    optimizer: "adam",
    settings: { lr: 0.02, beta1: 0.8, beta2: 0.95, eps: 0.001, steps: 10 },
  },
  { name: "adamw", model: "tiny", optimizer: "adamw", settings: { lr: 0.05, weight_decay: 0.1, steps: 10 } },
  { name: "sgd with clipping", model: "elman", optimizer: "sgd", settings: { lr: 0.1, clip: 0.5, steps: 6 } },
  {
    name: "adam with clipping",
    model: "elman",
    optimizer: "adam",
    settings: { lr: 0.1, clip: 0.25, steps: 8 },
  },
  {
    name: "momentum with a step schedule",
    model: "tiny",
    optimizer: "momentum",
    settings: { lr: 0.1, decay: 0.5, every: 3, steps: 10 },
  },
  {
    name: "rmsprop with an exponential schedule and clipping",
    model: "elman",
    optimizer: "rmsprop",
    settings: { lr: 0.01, decay: 0.9, clip: 1, steps: 8 },
  },
  {
    name: "adamw with a schedule and clipping",
    model: "tiny",
    optimizer: "adamw",
    settings: { lr: 0.05, decay: 0.5, every: 2, clip: 0.3, steps: 9 },
  },
];

const maxDifference = (a: Float64Array, b: Float64Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!) / Math.max(1, Math.abs(b[i]!))), 0);

describe.skipIf(!torchAvailable)("optimisers against PyTorch's torch.optim", () => {
  for (const c of CASES)
    it(`${c.name}: ${train(c.optimizer, c.settings)}`, async () => {
      const source = `${c.model === "tiny" ? TINY : ELMAN}\n${train(c.optimizer, c.settings)}\n`;
      const compiled = await compileOk(source);
      const mod = (await loadModule(compiled.module.javascript)) as Module;
      const { params, inputs } = splitValues(compiled, compiled.graph.example);
      const reference = torchSteps(c.model, c.optimizer, c.settings, compiled.graph.example);
      expect(reference.params).toHaveLength(c.settings.steps!);
      // The module: trainStep with its own state, step after step; the handout's rule: the same numbers.
      const states = trainingStates(
        compiled.gradient.nodes,
        compiled.gradient.params,
        compiled.graph.example,
        compiled.graph.train!.lr,
        c.settings.steps!,
        compiled.graph.train,
      );
      for (let k = 0; k < c.settings.steps!; k++) {
        const loss = mod.trainStep(params, inputs);
        expect(Math.abs(loss - reference.losses[k]!)).toBeLessThan(1e-10 * Math.max(1, Math.abs(loss)));
        for (const [name, value] of Object.entries(params)) {
          const expected = flat(reference.params[k]![name]);
          expect(maxDifference(value, expected), `${name} after step ${k + 1}`).toBeLessThan(1e-10);
          expect(maxDifference(states[k + 1]!.values.get(name)!.data, value)).toBeLessThan(1e-12);
        }
      }
    });
});

describe("optimisers in the generated module", () => {
  it("an explicit state: createOptimizerState and optimizerStep give trainStep's numbers", async () => {
    const compiled = await compileOk(`${TINY}\ntrain adam(lr = 0.05, steps = 3, clip = 1)\n`);
    const mod = (await loadModule(compiled.module.javascript)) as Module;
    const a = splitValues(compiled, compiled.graph.example);
    const b = splitValues(compiled, compiled.graph.example);
    const state = mod.createOptimizerState!(b.params);
    for (let k = 0; k < 3; k++) {
      mod.trainStep(a.params, a.inputs);
      const { gradients } = mod.gradient(b.params, b.inputs);
      mod.optimizerStep!(b.params, gradients, state);
    }
    expect(state.step).toBe(3);
    for (const name of Object.keys(a.params)) expect(b.params[name]).toEqual(a.params[name]);
    expect(() => mod.optimizerStep!(b.params, mod.zeroGradients(b.params), {})).toThrow(
      "nabla: state.average must be an object",
    );
  });

  it("plain sgd keeps its module: sgdStep and trainStep without a state", async () => {
    const compiled = await compileOk(`${TINY}\ntrain sgd(lr = 0.1, steps = 2)\n`);
    expect(compiled.module.typescript).not.toContain("optimizerStep");
    expect(compiled.module.typescript).toContain("sgdStep");
  });
});

describe("optimisers in the handout", () => {
  it("the worked steps are the module's: the table's last row holds the module's params", async () => {
    const compiled = await compileOk(
      `${TINY}\ntrain adam(lr = 0.05, steps = 4, clip = 1, decay = 0.5, every = 2)\n`,
    );
    const mod = (await loadModule(compiled.module.javascript)) as Module;
    const { params, inputs } = splitValues(compiled, compiled.graph.example);
    for (let k = 0; k < 4; k++) mod.trainStep(params, inputs);
    expect(compiled.latex).toContain("\\hat{m}");
    expect(compiled.latex).toContain("\\beta_1");
    expect(compiled.latex).toContain("StepLR");
    expect(compiled.latex).toContain("clip\\_grad\\_norm\\_");
    // The scalar param c's column, row 4, as the handout prints it.
    const run = new OptimizerRun(compiled.graph.train);
    let values = new Map(compiled.graph.example);
    for (let k = 0; k < 4; k++) {
      const states = trainingStates(compiled.gradient.nodes, compiled.gradient.params, values, 0.05, 0);
      const ev = states[0]!.evaluator;
      const grads = new Map(
        [...compiled.gradient.params].map(([name, g]) => [
          name,
          g === null ? values.get(name)! : ev.value(g),
        ]),
      );
      values = run.step(values, grads).values;
    }
    expect(values.get("c")!.data[0]).toBeCloseTo(params.c![0]!, 12);
    // The table's row 4 prints the module's c and loss after four steps.
    const rows = compiled.latex.split("\n").filter((l) => /^\s*\$4\$ &/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows.join(" ")).toContain(`$${formatNumber(params.c![0]!)}$`);
    expect(rows.join(" ")).toContain(`$${formatNumber(mod.forward(params, inputs).loss)}$`);
  });
});

describe("optimiser diagnostics", () => {
  it("a misspelt optimiser: NB5008 at its name, with the closest", async () => {
    const r = await compile(`${TINY}\ntrain adma(lr = 0.1)\n`, { file: "m.nabla" });
    const d = r.diagnostics.find((x) => x.code === "NB5008");
    expect(d?.message).toContain("unknown optimiser 'adma'; did you mean 'adam'?");
    expect(r.rendered).toMatch(/m\.nabla:24:7: error NB5008/);
  });

  it("a misspelt setting: NB5009 at the setting, with the closest", async () => {
    const r = await compile(`${TINY}\ntrain adam(lr = 0.1, beta_1 = 0.8)\n`, { file: "m.nabla" });
    const d = r.diagnostics.find((x) => x.code === "NB5009");
    expect(d?.message).toContain("unknown setting 'beta_1' for adam; did you mean 'beta1'?");
    expect(r.rendered).toMatch(/m\.nabla:24:22: error NB5009/);
  });

  it("a hyper-parameter out of range: NB5003", async () => {
    const r = await compile(`${TINY}\ntrain momentum(beta = 1.5)\n`, { file: "m.nabla" });
    expect(r.diagnostics.map((x) => x.message)).toContain(
      "beta must be a number from 0 up to (not including) 1",
    );
  });
});
