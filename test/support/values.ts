/**
 * Example values for test models, drawn from a seeded generator so a model's test states
 * its shapes, not pages of numbers. `exampleBlock({ W: [3, 2], ids: { shape: [4], below: 6 } })`
 * gives an `example { … }` block with W's entries in [-0.5, 0.5) and ids' in 0 … 5.
 */
import { seededRandom } from "../../src/train/loop.js";

export type ValueSpec =
  | number[]
  | { shape: number[]; below: number }
  | { shape: number[]; low: number; high: number }
  | { shape: number[]; choices: number[] };

export function exampleBlock(specs: Record<string, ValueSpec>, seed = 1): string {
  const random = seededRandom(seed);
  const lines = Object.entries(specs).map(([name, spec]) => {
    const shape = Array.isArray(spec) ? spec : spec.shape;
    const entry = (): number => {
      if (Array.isArray(spec)) return round(random() - 0.5);
      if ("below" in spec) return Math.floor(random() * spec.below);
      if ("choices" in spec) return spec.choices[Math.floor(random() * spec.choices.length)];
      return round(spec.low + random() * (spec.high - spec.low));
    };
    return `  ${name} = ${literal(shape, entry)}`;
  });
  return `example {\n${lines.join("\n")}\n}`;
}

function literal(shape: number[], entry: () => number): string {
  if (shape.length === 0) return String(entry());
  const [first, ...rest] = shape;
  return `[${Array.from({ length: first }, () => literal(rest, entry)).join(", ")}]`;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
