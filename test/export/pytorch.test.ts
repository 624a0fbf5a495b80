import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyze, toPytorch, type PytorchModule } from "../../src/index.js";
import { exportPytorch } from "../../src/export/pytorch.js";
import { loadModule } from "../../src/run.js";
import { compileOk, splitValues } from "../support/check.js";
import { flat, torchAvailable } from "../support/torch.js";

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
import importlib.util, json, sys, traceback
results = {}
for path in sys.argv[1:]:
    try:
        spec = importlib.util.spec_from_file_location("exported", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.Model()
        values = model.values(**module.example_inputs())
        loss = model(**module.example_inputs())
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
function runExported(modules: Record<string, string>): Record<string, TorchRun> {
  const dir = mkdtempSync(join(tmpdir(), "nabla-pytorch-"));
  const paths = Object.entries(modules).map(([stem, python]) => {
    const path = join(dir, `${stem}.py`);
    writeFileSync(path, python);
    return [stem, path] as const;
  });
  const r = spawnSync(PYTHON, ["-c", DRIVER, ...paths.map(([, p]) => p)], {
    encoding: "utf8",
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

/** max |a − b| / max(1, |b|) over the entries of two equal-length arrays. */
function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < b.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

describe.skipIf(!torchAvailable)("nabla export --target pytorch", () => {
  it("every example's exported module has nabla's loss, values and gradients (1e-10), by torch.autograd", async () => {
    expect(examples.length).toBeGreaterThanOrEqual(25);
    const sources = Object.fromEntries(examples.map((f) => [f, readFileSync(join(examplesDir, f), "utf8")]));
    const modules = Object.fromEntries(examples.map((f) => [f, exported(sources[f]!, f)]));
    const runs = runExported(
      Object.fromEntries(examples.map((f) => [f.replace(/\.nabla$/, ""), modules[f]!.python])),
    );
    for (const file of examples) {
      const run = runs[file.replace(/\.nabla$/, "")]!;
      expect(run.error, file).toBeUndefined();
      const compiled = await compileOk(sources[file]!, file);
      const mod = await loadModule(compiled.module.javascript);
      const data = splitValues(compiled, compiled.graph.example);
      const nabla = mod.gradient(data.params, data.inputs);
      const forward = mod.forward(data.params, data.inputs);
      expect(
        Math.abs(run.loss - nabla.loss) / Math.max(1, Math.abs(nabla.loss)),
        `${file}: loss`,
      ).toBeLessThan(TOLERANCE);
      for (const [name, attribute] of modules[file]!.paramAttributes) {
        const torchGradient = run.gradients[attribute];
        const expected = nabla.gradients[name]!;
        const got = torchGradient === null ? new Float64Array(expected.length) : flat(torchGradient);
        expect(maxRelative(got, expected), `${file}: d loss / d ${name}`).toBeLessThan(TOLERANCE);
      }
      for (const n of compiled.graph.named.filter((v) => v.kind === "equation" || v.kind === "loss"))
        expect(
          maxRelative(flat(run.values[n.name]), forward.values[n.name]!),
          `${file}: ${n.name}`,
        ).toBeLessThan(TOLERANCE);
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
    const run = runExported({ hostile: module.python }).hostile!;
    expect(run.error).toBeUndefined();
    const compiled = await compileOk(source, "hostile.nabla");
    const mod = await loadModule(compiled.module.javascript);
    const data = splitValues(compiled, compiled.graph.example);
    const nabla = mod.gradient(data.params, data.inputs);
    expect(Math.abs(run.loss - nabla.loss)).toBeLessThan(TOLERANCE);
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
z = w .* x * big / big + 1e-9   # a comment with """ and \\ in it
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
    expect(runExported({ odd: python }).odd!.error).toBeUndefined();
  });

  it("refuses with a located diagnostic an op it has no PyTorch form for", () => {
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
