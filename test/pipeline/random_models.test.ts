import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadModule } from "../../src/run.js";
import { mulberry32 } from "../../bench/workload.js";
import {
  compileOk,
  evaluatorGradient,
  finiteDifferences,
  maxRelativeError,
  splitValues,
} from "../support/check.js";

const activations = ["sigmoid", "tanh", "softplus", "exp", "leaky_relu", "relu", ""] as const;
const losses = ["mse", "softmax_ce", "sigmoid_bce", "sum_squares", "mean_abs"] as const;

interface Spec {
  batched: boolean;
  sizes: number[];
  acts: (typeof activations)[number][];
  bias: boolean[];
  loss: (typeof losses)[number];
  transposeFirst: boolean;
  seed: number;
}

const spec: fc.Arbitrary<Spec> = fc
  .record({
    batched: fc.boolean(),
    depth: fc.integer({ min: 1, max: 3 }),
    sizes: fc.array(fc.integer({ min: 1, max: 4 }), {
      minLength: 4,
      maxLength: 4,
    }),
    acts: fc.array(fc.constantFrom(...activations), {
      minLength: 3,
      maxLength: 3,
    }),
    bias: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    loss: fc.constantFrom(...losses),
    transposeFirst: fc.boolean(),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map((r) => ({
    ...r,
    sizes: r.sizes.slice(0, r.depth + 1),
    acts: r.acts.slice(0, r.depth),
    bias: r.bias.slice(0, r.depth),
  }));

const literal = (shape: number[], rand: () => number, f = () => 2 * rand() - 1): string =>
  shape.length === 0
    ? f().toFixed(4)
    : `[${Array.from({ length: shape[0]! }, () => literal(shape.slice(1), rand, f)).join(", ")}]`;

/** A random dense model as source text, with worked values: the whole pipeline is under test. */
function modelSource(s: Spec): string {
  const rand = mulberry32(s.seed);
  const n = 3;
  const lines = ["model Random", "dim N = 3"];
  const input = s.batched ? [n, s.sizes[0]!] : [s.sizes[0]!];
  lines.push(`input x: [${input.join(", ")}]`);
  const out = s.sizes[s.sizes.length - 1]!;
  const targetShape = s.batched ? [n, out] : [out];
  lines.push(`target y: [${targetShape.join(", ")}]`);
  let h = "x";
  const example = [`x = ${literal(input, rand)}`];
  s.acts.forEach((act, l) => {
    const [a, b] = [s.sizes[l]!, s.sizes[l + 1]!];
    // Batched rows multiply from the left (X W); vectors from the right (W x), as the lectures write them.
    const wShape = s.batched ? [a, b] : [b, a];
    const transposed = l === 0 && s.transposeFirst;
    const declared = transposed ? [wShape[1]!, wShape[0]!] : wShape;
    lines.push(`param W${l}: [${declared.join(", ")}]`);
    example.push(`W${l} = ${literal(declared, rand)}`);
    const w = transposed ? `W${l}^T` : `W${l}`;
    let z = s.batched ? `${h}*${w}` : `${w}*${h}`;
    if (s.bias[l]) {
      lines.push(`param b${l}: [${b}]`);
      example.push(`b${l} = ${literal([b], rand)}`);
      z = `${z} + b${l}`;
    }
    const last = l === s.acts.length - 1;
    const useAct = last && (s.loss === "softmax_ce" || s.loss === "sigmoid_bce") ? "" : act;
    lines.push(
      `h${l} = ${useAct === "leaky_relu" ? `leaky_relu(${z}, alpha = 0.1)` : useAct ? `${useAct}(${z})` : `(${z})`}`,
    );
    h = `h${l}`;
  });
  const probabilities = (f: () => number) => literal(targetShape, rand, f);
  switch (s.loss) {
    case "mse":
      lines.push(`loss L = mse(${h}, y)`);
      example.push(`y = ${literal(targetShape, rand)}`);
      break;
    case "softmax_ce": {
      lines.push(`p = softmax(${h})`, "loss L = cross_entropy(p, y)");
      const rows = s.batched ? n : 1;
      const hot = Array.from({ length: rows }, () => Math.floor(rand() * out));
      const oneHot = hot.map(
        (k) => `[${Array.from({ length: out }, (_, j) => (j === k ? 1 : 0)).join(", ")}]`,
      );
      example.push(`y = ${s.batched ? `[${oneHot.join(", ")}]` : oneHot[0]}`);
      break;
    }
    case "sigmoid_bce":
      lines.push(`p = sigmoid(${h})`, "loss L = bce(p, y)");
      example.push(`y = ${probabilities(() => (rand() < 0.5 ? 0 : 1))}`);
      break;
    case "sum_squares":
      lines.push(`loss L = sum((${h} - y)^2) / 2`);
      example.push(`y = ${literal(targetShape, rand)}`);
      break;
    case "mean_abs":
      lines.push(`loss L = mean(abs(${h} - y) + 0.5 * ${h} .* ${h})`);
      example.push(`y = ${literal(targetShape, rand)}`);
      break;
  }
  lines.push("example {", ...example.map((e) => `  ${e}`), "}");
  return lines.join("\n");
}

describe("random dense models, source to generated code", () => {
  it("give gradients that match finite differences and the reference evaluator", async () => {
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const source = modelSource(s);
        const compiled = await compileOk(source, "random.nabla");
        const mod = await loadModule(compiled.module.javascript);
        const data = splitValues(compiled, compiled.graph.example);
        const generated = mod.gradient(data.params, data.inputs);
        expect(
          maxRelativeError(
            generated.gradients,
            evaluatorGradient(compiled, compiled.graph.example).gradients,
          ),
        ).toBeLessThan(1e-10);
        // relu and |·| have kinks; random values land on one with probability zero. Central
        // differences also carry rounding of about ε·|L|/h, which matters when exp∘exp makes L large.
        const numeric = finiteDifferences(mod, data);
        for (const [name, g] of Object.entries(generated.gradients)) {
          g.forEach((v, i) => {
            const fd = numeric[name]![i]!;
            expect(Math.abs(v - fd)).toBeLessThan(
              1e-5 * Math.max(1, Math.abs(fd)) + 1e-8 * Math.abs(generated.loss),
            );
          });
        }
      }),
      {
        numRuns: 60,
        examples: [
          [
            {
              batched: false,
              depth: 2,
              sizes: [3, 2, 3],
              acts: ["exp", "exp"],
              bias: [true, false],
              loss: "mse",
              transposeFirst: false,
              seed: 189311,
            },
          ],
        ],
      },
    );
  });
});
