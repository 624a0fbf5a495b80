import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyze, toPytorch, type PytorchModule } from "../../src/index.js";
import { exportPytorch } from "../../src/export/pytorch.js";
import { bindValues, loadModule, type LoadedModule } from "../../src/run.js";
import { generateModule } from "../../src/codegen/module.js";
import { flat, torchAvailable } from "../support/torch.js";
import { buildCase, cases } from "../support/opCases.js";
import { differentiate } from "../../src/autodiff/reverse.js";
import { Evaluator } from "../../src/ir/evaluate.js";
import { mulberry32 } from "../../bench/workload.js";

const PYTHON = "/usr/bin/python3";
const TOLERANCE = 1e-10;
const examplesDir = join(import.meta.dirname, "../../examples");
const examples = readdirSync(examplesDir).filter((f) => f.endsWith(".nabla"));

/**
 * Imports each exported module in one Python process (importing torch takes seconds), runs
 * Model() on example_inputs() and backward() on the loss, and prints per module the loss,
 * every value of values() and every param's gradient by module attribute — or the error.
 */
const DRIVER = `
import importlib.util, json, os, sys, traceback
# A batch of the first rows of every input, when asked: a dim the model leaves free then changes size.
rows = int(os.environ.get("NABLA_ROWS", "0"))
def inputs(module):
    given = module.example_inputs()
    return {k: v[:rows] for k, v in given.items()} if rows else given
results = {}
for path in sys.argv[1:]:
    try:
        spec = importlib.util.spec_from_file_location("exported", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.Model()
        values = model.values(**inputs(module))
        loss = model(**inputs(module))
        if loss.requires_grad:  # a loss no param reaches (a test's op of sizes only) has no gradient
            loss.backward()
        results[path] = {
            "loss": loss.item(),
            "values": {k: v.detach().tolist() for k, v in values.items()},
            "gradients": {k: None if p.grad is None else p.grad.tolist() for k, p in model.named_parameters()},
        }
    except Exception:
        results[path] = {"error": traceback.format_exc()}
print(json.dumps(results))
`;

interface TorchRun {
  loss: number;
  values: Record<string, unknown>;
  gradients: Record<string, unknown>;
  error?: string;
}

/** Writes each module to a fresh folder and runs them all through the driver. */
function runExported(modules: Record<string, string>, rows = 0): Record<string, TorchRun> {
  const dir = mkdtempSync(join(tmpdir(), "nabla-pytorch-"));
  const paths = Object.entries(modules).map(([stem, python]) => {
    const path = join(dir, `${stem}.py`);
    writeFileSync(path, python);
    return [stem, path] as const;
  });
  const r = spawnSync(PYTHON, ["-c", DRIVER, ...paths.map(([, p]) => p)], {
    encoding: "utf8",
    env: { ...process.env, NABLA_ROWS: String(rows) },
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`the driver failed:\n${r.stderr}`);
  const results = JSON.parse(r.stdout) as Record<string, TorchRun>;
  return Object.fromEntries(paths.map(([stem, path]) => [stem, results[path]!]));
}

function exported(source: string, file: string): PytorchModule {
  const r = toPytorch(source, { file });
  if (!r.pytorch) throw new Error(`expected an export:\n${r.rendered}`);
  return r.pytorch;
}

/**
 * nabla's generated module for a model, and the example's values bound as its arguments
 * (the handout is not built: only the module is compared).
 */
async function nablaModule(source: string, file: string) {
  const analysis = analyze(source, { file });
  if (!analysis.graph || !analysis.gradient)
    throw new Error(`expected a clean compile:\n${analysis.rendered}`);
  const generated = await generateModule(analysis.graph, analysis.gradient);
  const mod: LoadedModule = await loadModule(generated.javascript);
  return { graph: analysis.graph, mod, data: bindValues(analysis.graph, new Map()) };
}

/** The shape of a nested list of numbers (torch's tolist()). */
function nestedShape(x: unknown): number[] {
  const shape: number[] = [];
  for (let probe = x; Array.isArray(probe); probe = probe[0]) shape.push(probe.length);
  return shape;
}

/** max |a − b| / max(1, |b|) over the entries of two equal-length arrays. */
function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < b.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

/**
 * Exports each model, runs them all in one Python process, and checks every module's loss,
 * named values and param gradients (by torch.autograd) against nabla's generated module.
 */
async function expectAgreement(sources: Record<string, string>): Promise<Record<string, PytorchModule>> {
  const stems = Object.keys(sources);
  const modules = Object.fromEntries(stems.map((stem) => [stem, exported(sources[stem]!, `${stem}.nabla`)]));
  const runs = runExported(Object.fromEntries(stems.map((stem) => [stem, modules[stem]!.python])));
  for (const stem of stems) {
    const run = runs[stem]!;
    expect(run.error, stem).toBeUndefined();
    const { graph, mod, data } = await nablaModule(sources[stem]!, `${stem}.nabla`);
    const nabla = mod.gradient(data.params, data.inputs, undefined, data.dims);
    const forward = mod.forward(data.params, data.inputs, data.dims);
    expect(Math.abs(run.loss - nabla.loss) / Math.max(1, Math.abs(nabla.loss)), `${stem}: loss`).toBeLessThan(
      TOLERANCE,
    );
    for (const [name, attribute] of modules[stem]!.paramAttributes) {
      const expected = nabla.gradients[name]!;
      const torchGradient = run.gradients[attribute];
      // torch leaves .grad unset for a param the loss does not read; nabla's gradient is then zero.
      const got = torchGradient === null ? new Float64Array(expected.length) : flat(torchGradient);
      expect(maxRelative(got, expected), `${stem}: d loss / d ${name}`).toBeLessThan(TOLERANCE);
    }
    for (const n of graph.named.filter((v) => v.kind === "equation" || v.kind === "loss")) {
      const shape = graph.nodes[n.node]!.shape.map((d) => (typeof d === "number" ? d : data.dims[d]!));
      expect(nestedShape(run.values[n.name]), `${stem}: the shape of ${n.name}`).toEqual(shape);
      expect(
        maxRelative(flat(run.values[n.name]), forward.values[n.name]!),
        `${stem}: ${n.name}`,
      ).toBeLessThan(TOLERANCE);
    }
  }
  return modules;
}

/** Models that between them use every op a model can write that no example uses. */
const OP_MODELS: Record<string, string> = {
  elementwise: `model Elementwise
dim N = 3, D = 2
input  x: [N, D]
target y: [N, D]
target q: [N, D]
param  w: [D]
param  c: [D]
a = x .* w + c
e1 = exp(a) + log(abs(a) + 1) + log1p(sigmoid(a)) + sqrt(a.^2 + 1) + erf(a) + softsign(a)
e2 = relu(a) + heaviside(a) + softplus(a) + log_sigmoid(a) + gelu(a) + silu(a) + mish(a)
e3 = leaky_relu(a, alpha = 0.2) + elu(a, alpha = 0.5) + huber(a, delta = 0.3) + clamp(a, -0.2, 0.3)
e4 = max(a, x) + min(a, 0.1) + where(a > 0, a, 0.1 * a) + (a >= x) .* a + a ./ (1 + a.^2) + (abs(a) + 1) .^ w
s = softmax(a, axis = 0) + log_softmax(a) + mean(a, axis = 1, keep = 1) + sum(a, axis = 0) - tanh(a)^T^T
loss L = mse(e1 + e2 + e3 + e4, y) + sum(s) + bce(sigmoid(a), q) + bce(q, sigmoid(a)) + cross_entropy(softmax(a), q) + mean(a)
example {
  x = [[0.5, -1.2], [0.3, 0.8], [-0.7, 0.1]]
  y = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
  q = [[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]
  w = [0.9, -0.6]
  c = [0.05, -0.15]
}
`,
  shapes: `model Shapes
dim N = 2, C = 2, Len = 6, F = 3, V = 5, K = 3
input  x: [N, C, Len]
input  img: [5, 5]
input  ids: [N] int
target label: [N] int
param  k: [F, C, 3]
param  k2: [2, 2]
param  E: [V, F]
param  W: [F, K]
const  M[i, j]: [F, F] = where(j <= i, 1, 0)
h = conv1d(x, k, stride = 1, padding = 1)
g = reshape(h, [N, F, 2, 3])
p = maxpool(g, size = [2, 1], stride = [1, 1])
a = avgpool(img, size = 2, stride = 1)
c = conv2d(img, k2, stride = [2, 1], padding = [1, 0])
m = maxpool(c, size = 2, stride = 2)
u = flatten(p, from = 1)
z = concat(slice(u, 0, 3), E[ids]) * concat(W, W, axis = 0) + reshape(slice(sum(permute(g, [0, 2, 3, 1]), axis = 1), 0, 1, axis = 1), [N, F])
v = avgpool(reshape(g, [N, F, 1, 2, 3]), size = [1, 3], stride = [1, 3])
loss L = cross_entropy(softmax(z), label) / N + sum(a) + sum(m) + sum(v .* v) + sum(M * W) + sum(g * permute(g, [0, 1, 3, 2]))
example {
  x = [[[0.1, 0.5, -0.3, 0.8, 0.2, -0.6], [0.4, -0.1, 0.7, 0.3, -0.5, 0.9]], [[-0.2, 0.6, 0.1, -0.4, 0.5, 0.3], [0.8, 0.2, -0.7, 0.1, 0.4, -0.3]]]
  img = [[0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1], [0.9, -0.1, 0.3, 0.7, -0.5], [0.2, 0.6, -0.8, 0.4, 0.0], [0.3, -0.3, 0.5, -0.5, 0.7]]
  ids = [4, 1]
  label = [2, 0]
  k = [[[0.1, -0.2, 0.3], [0.2, 0.1, -0.1]], [[-0.3, 0.2, 0.1], [0.05, -0.15, 0.25]], [[0.2, 0.2, -0.2], [0.1, 0.3, -0.3]]]
  k2 = [[0.5, -0.4], [0.3, 0.2]]
  E = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [-0.1, -0.2, -0.3], [0.7, -0.8, 0.9], [0.05, 0.15, -0.25]]
  W = [[0.3, -0.2, 0.1], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9]]
}
`,
  steps: `model Steps
dim D = 2, H = 2
index t in 1..4
input  x_t: [D]
target y_t: [D]
param  W: [H, D]
param  U: [H, H]
param  V: [H, H]
param  y0: [D]
y_0 = y0
h_0 = 0
g_5 = 0
h_t = tanh(W * y_<t-1> + U * h_<t-1>)
g_t = sigmoid(W * x_t + V * g_<t+1>)
o_t = h_t .* g_t
loss L = sum_t(sum((o_t - y_t)^2)) + sum(h_1) + sum(g_2 .* h_4)
example {
  x_1 = [0.1, -0.2]
  x_2 = [0.3, 0.4]
  x_3 = [-0.5, 0.6]
  x_4 = [0.7, -0.8]
  y_1 = [0.2, 0.1]
  y_2 = [-0.1, 0.3]
  y_3 = [0.4, -0.2]
  y_4 = [0.0, 0.5]
  W = [[0.5, -0.3], [0.2, 0.4]]
  U = [[0.1, 0.2], [-0.3, 0.4]]
  V = [[0.3, -0.1], [0.2, 0.2]]
  y0 = [0.05, -0.05]
}
`,
};

describe.skipIf(!torchAvailable)("nabla export --target pytorch", () => {
  it("every example's exported module has nabla's loss, values and gradients (1e-10), by torch.autograd", async () => {
    expect(examples.length).toBeGreaterThanOrEqual(25);
    await expectAgreement(
      Object.fromEntries(
        examples.map((f) => [f.replace(/\.nabla$/, ""), readFileSync(join(examplesDir, f), "utf8")]),
      ),
    );
  });

  it("every op a model can write is written so that torch agrees with nabla (1e-10)", async () => {
    await expectAgreement(OP_MODELS);
  });

  it("every op's torch rule on the derivative test's cases: torch.autograd's gradient is nabla's (1e-10)", () => {
    const modules: Record<string, string> = {};
    const expected: Record<string, { loss: number; gradients: Map<string, Float64Array> }> = {};
    const refused: string[] = [];
    for (const [opName, list] of Object.entries(cases))
      list.forEach((c, k) => {
        // Integer operands come from a model's int inputs (the examples' gather and onehot), a
        // size from a dim the model declares; these cases give them as constants.
        if (c.fixed || opName === "dim_size") return;
        const stem = `${opName}_${k}`;
        const { graph, values } = buildCase(opName, c, mulberry32(4321 + k));
        const r = exportPytorch(graph, `${stem}.nabla`);
        if ("diagnostics" in r) {
          expect(r.diagnostics.map((d) => d.code)).toEqual(["NB4003"]);
          refused.push(stem);
          return;
        }
        modules[stem] = r.module.python;
        const gradient = differentiate(graph);
        const ev = new Evaluator(gradient.nodes, values);
        const gradients = new Map<string, Float64Array>();
        for (const [name, g] of gradient.params)
          gradients.set(
            name,
            g === null ? new Float64Array(values.get(name)!.data.length) : ev.value(g).data,
          );
        expected[stem] = { loss: ev.value(graph.loss).data[0]!, gradients };
      });
    // Only the ops and forms that gradients alone use: torch.autograd computes those itself.
    expect(refused.sort()).toEqual(
      [
        "avgpool_3",
        "conv2d_5",
        "conv2d_6",
        "conv2d_7",
        "conv2d_8",
        "place_0",
        "pool_argmax_0",
        "softmax_xent_grad_0",
      ].sort(),
    );
    const runs = runExported(modules);
    for (const [stem, want] of Object.entries(expected)) {
      const run = runs[stem]!;
      expect(run.error, stem).toBeUndefined();
      expect(Math.abs(run.loss - want.loss) / Math.max(1, Math.abs(want.loss)), `${stem}: loss`).toBeLessThan(
        TOLERANCE,
      );
      for (const [name, g] of want.gradients) {
        const got =
          run.gradients[name] === null || run.gradients[name] === undefined
            ? new Float64Array(g.length)
            : flat(run.gradients[name]);
        expect(maxRelative(got, g), `${stem}: d loss / d ${name}`).toBeLessThan(TOLERANCE);
      }
    }
  });

  it("names that are Python's keywords, builtins or the module's own become identifiers that shadow nothing", async () => {
    // Every name here means something to Python, to torch or to the exported module.
    const source = `model Hostile
dim N = 3, D = 2
index t in 1..N
input  torch: [N, D]
input  self_t: [D]
target None: [N]
param  lambda: [D]
param  forward: [D]
param  nn: [D, D]
const  F = 0.5
class = tanh(torch * lambda) .* F
return = class + torch * forward
values = sum(return) / N
tmp3 = sigmoid(nn * lambda + forward)
h_0 = 0
h_t = tanh(nn * h_<t-1> + self_t)
loss math = mse(return, None) + values^2 + sum(tmp3) + sum(h_N)
example {
  torch = [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]
  self_1 = [0.3, -0.2]
  self_2 = [0.1, 0.4]
  self_3 = [-0.5, 0.2]
  None = [1, 0, -1]
  lambda = [0.7, -0.3]
  forward = [0.2, 0.5]
  nn = [[0.1, -0.2], [0.3, 0.4]]
}
`;
    const module = exported(source, "hostile.nabla");
    expect(module.paramAttributes.get("lambda")).toBe("lambda_");
    expect(module.paramAttributes.get("forward")).toBe("forward_");
    expect(module.inputArguments.get("torch")).toBe("torch_");
    expect(module.inputArguments.get("None")).toBe("None_");
    await expectAgreement({ hostile: source });
  });

  it("reads a dim the model leaves free from the inputs: the batch of a data-parallel shard", async () => {
    // bars_lenet declares `dim N`: its exported module takes 2 of the example's 4 images.
    const source = readFileSync(join(examplesDir, "bars_lenet.nabla"), "utf8");
    const module = exported(source, "bars_lenet.nabla");
    expect(module.python).toContain("N = X.shape[0]");
    const run = runExported({ bars: module.python }, 2).bars!;
    expect(run.error).toBeUndefined();
    const { mod, data } = await nablaModule(source, "bars_lenet.nabla");
    const half = { X: data.inputs.X!.slice(0, 2 * 36), Y: data.inputs.Y!.slice(0, 2 * 2) };
    const nabla = mod.gradient(data.params, half, undefined, { N: 2 });
    expect(Math.abs(run.loss - nabla.loss)).toBeLessThan(TOLERANCE);
    expect(
      Math.abs(run.loss - mod.gradient(data.params, data.inputs, undefined, data.dims).loss),
    ).toBeGreaterThan(1e-6);
    for (const [name, attribute] of module.paramAttributes)
      expect(maxRelative(flat(run.gradients[attribute]), nabla.gradients[name]!), name).toBeLessThan(
        TOLERANCE,
      );
  });

  it("writes comments on one line and numbers Python reads, whatever the model holds", () => {
    const source = `model Odd
input x: [2]
param w: [2]
const big = 1e300
z = (w .* x * big / big
     + 1e-9)
loss L = sum(z^2)
example {
  x = [1, 2]
  w = [0.5, -0.25]
}
`;
    const python = exported(source, 'odd"\nname.nabla').python;
    expect(python).toContain("1e+300");
    expect(python).toContain("1e-9");
    // The file name's line break does not end the header comment: no line starts with its second half.
    expect(python.split("\n").some((l) => l.startsWith("name.nabla"))).toBe(false);
    // The equation written over two lines is one comment line.
    expect(python).toContain("# z = (w .* x * big / big + 1e-9)\n");
    expect(runExported({ odd: python }).odd!.error).toBeUndefined();
  });
});

describe.skipIf(!torchAvailable)("the exported module, used as PyTorch users do", () => {
  const source = `model Device
dim N
index i in 1..N
input x: [N]
target y
param w
const c = 0.5
const M[i, j]: [N, N] = where(j <= i, 1, 0)
z = exp(c) * w * x
loss L = (sum(M * max(z, c)) - y)^2
example {
  x = [1, 2, 3]
  y = 1
  w = 0.5
}
`;

  it("a named number inside a function call (exp(c), max(z, c)) agrees with nabla", async () => {
    await expectAgreement({ device: source });
  });

  it("runs where its params are: a tensor it makes (a causal mask's positions) goes on their device", () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-device-"));
    writeFileSync(join(dir, "device_model.py"), exported(source, "device_model.nabla").python);
    // PyTorch's meta device stands for any other (a GPU): shapes and devices without numbers.
    const r = spawnSync(
      PYTHON,
      [
        "-c",
        "import device_model as m\nmodel = m.Model().to('meta')\ninputs = {k: v.to('meta') for k, v in m.example_inputs().items()}\nprint(model(**inputs).device)",
      ],
      { cwd: dir, encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("meta\n");
  });
});

describe.skipIf(!torchAvailable)("the exported optimiser", () => {
  const STEPS = 5;
  const TRAINER = `
import importlib.util, json, sys
out = {}
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("exported", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    model = m.Model()
    optimizer, scheduler = m.make_optimizer(model)
    for _ in range(${STEPS}):
        m.train_step(model, optimizer, scheduler, **m.example_inputs())
    out[path] = {k: p.detach().tolist() for k, p in model.named_parameters()}
print(json.dumps(out))
`;
  const base = readFileSync(join(examplesDir, "adam_logistic.nabla"), "utf8");
  const trainLine = /^train .*$/m;
  const lines: Record<string, string> = {
    adam_clip: base.match(trainLine)![0],
    sgd: "train sgd(lr = 0.3, steps = 5)",
    momentum_schedule: "train momentum(lr = 0.3, beta = 0.8, decay = 0.5, every = 2, steps = 5)",
    nesterov: "train nesterov(lr = 0.2, steps = 5)",
    rmsprop: "train rmsprop(lr = 0.05, rho = 0.9, steps = 5)",
    adamw_clip: "train adamw(lr = 0.1, weight_decay = 0.1, clip = 0.3, steps = 5)",
  };

  it("takes the steps nabla's module takes: make_optimizer and train_step, for every optimiser (1e-10)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nabla-optim-"));
    const sources = Object.fromEntries(
      Object.entries(lines).map(([name, line]) => [name, base.replace(trainLine, line)]),
    );
    const paths = Object.entries(sources).map(([name, source]) => {
      const path = join(dir, `${name}.py`);
      writeFileSync(path, exported(source, `${name}.nabla`).python);
      return [name, path] as const;
    });
    const r = spawnSync(PYTHON, ["-c", TRAINER, ...paths.map(([, p]) => p)], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const trained = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    for (const [name, path] of paths) {
      const { mod, data } = await nablaModule(sources[name]!, `${name}.nabla`);
      for (let i = 0; i < STEPS; i++) mod.trainStep(data.params, data.inputs);
      const module = exported(sources[name]!, `${name}.nabla`);
      for (const [param, attribute] of module.paramAttributes)
        expect(
          maxRelative(flat(trained[path]![attribute]), data.params[param]!),
          `${name}: ${param}`,
        ).toBeLessThan(TOLERANCE);
    }
  });
});

describe("what nabla export needs of a model", () => {
  it("only its loss: a model Newton's method cannot train here (its Hessian too large) still exports", () => {
    const entries = (n: number, f: (i: number) => number) =>
      Array.from({ length: n }, (_, i) => f(i)).join(", ");
    const source = `dim D = 20
input x: [D]
target y: [D]
param W: [D, D]
loss L = sum((W*x - y)^2)
train newton(lr = 1, steps = 1)
example {
  x = [${entries(20, (i) => i / 10)}]
  y = [${entries(20, (i) => i / 7)}]
  W = [${entries(20, (i) => `[${entries(20, (j) => ((i * j) % 5) / 10)}]`)}]
}
`;
    expect(analyze(source).diagnostics.map((d) => d.code)).toEqual(["NB4002"]);
    expect(toPytorch(source, { file: "newton_big.nabla" }).pytorch?.python).toContain(
      "class Model(nn.Module)",
    );
  });
});

describe("nabla export --target pytorch refuses, with a located diagnostic", () => {
  it("a model whose example gives no value for a param (NB5007)", () => {
    const r = toPytorch(
      "model M\ninput x: [2]\nparam w: [2]\nloss L = sum(w .* x)\nexample {\n  x = [1, 2]\n}\n",
      {
        file: "m.nabla",
      },
    );
    expect(r.pytorch).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.code, d.span.line])).toEqual([["NB5007", 3]]);
    expect(r.rendered).toContain(
      "m.nabla:3:7: error NB5007: the PyTorch export writes the example's values, and the example block gives none for param 'w'",
    );
  });

  it("an op it has no PyTorch form for (NB4003)", () => {
    // Only gradients use such ops (softmax_xent_grad, the ŷ − y of a softmax's cross-entropy):
    // a model cannot write one, so the exporter is handed a forward graph with one swapped in.
    const source = `model P
input x: [2]
target y: [2]
param w: [2]
p = softmax(w .* x)
loss L = sum((p - y)^2)
example {
  x = [1, 2]
  y = [0, 1]
  w = [0.5, -0.25]
}
`;
    const graph = analyze(source, { file: "p.nabla" }).graph!;
    const p = graph.named.find((n) => n.name === "p")!;
    const nodes = graph.nodes.map((n) =>
      n.id === p.node && n.kind === "op"
        ? { ...n, op: "softmax_xent_grad", args: [n.args[0]!, n.args[0]!] }
        : n,
    );
    const r = exportPytorch({ ...graph, nodes }, "p.nabla");
    expect("diagnostics" in r).toBe(true);
    if (!("diagnostics" in r)) return;
    expect(r.diagnostics.map((d) => [d.code, d.span.line])).toEqual([["NB4003", 5]]);
    expect(r.diagnostics[0]!.message).toContain("softmax_xent_grad");
  });
});
