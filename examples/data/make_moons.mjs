// Writes the two-moons data set of examples/moons.nabla: two interleaved half circles of
// points in the plane, class 0 the upper moon and class 1 the lower, with Gaussian noise.
// Made once with a fixed seed and committed; run again (node examples/data/make_moons.mjs),
// it writes the same files: moons_train.csv (300 rows) and moons_valid.csv (100 rows).
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const NOISE = 0.15;

// mulberry32: a small seeded generator, the same numbers on every machine.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Box–Muller: a standard normal from two uniform numbers.
const normal = (random) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

function moons(rows, seed) {
  const random = seeded(seed);
  const lines = ["X_1,X_2,label"];
  for (let i = 0; i < rows; i++) {
    const label = i % 2;
    const angle = Math.PI * random();
    const [x, y] =
      label === 0 ? [Math.cos(angle), Math.sin(angle)] : [1 - Math.cos(angle), 0.5 - Math.sin(angle)];
    const px = x + NOISE * normal(random);
    const py = y + NOISE * normal(random);
    lines.push(`${px.toFixed(4)},${py.toFixed(4)},${label}`);
  }
  return `${lines.join("\n")}\n`;
}

const here = import.meta.dirname;
writeFileSync(join(here, "moons_train.csv"), moons(300, 1));
writeFileSync(join(here, "moons_valid.csv"), moons(100, 2));
