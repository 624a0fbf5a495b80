/**
 * Models that grow with a parameter, for `npm run bench:compile` (does compile time grow
 * faster than the model?) and the tests that compile them (does a large model compile at all,
 * and right?).
 */

/** A network of `layers` dense tanh layers written out one equation each, H units wide. */
export function layeredModel(layers: number, H = 8): string {
  const lines = [`model Deep${layers}`, `dim H = ${H}`, "input  a0: [H]", "target y: [H]"];
  for (let l = 1; l <= layers; l++) lines.push(`param  W${l}: [H, H]`, `param  b${l}: [H]`);
  for (let l = 1; l <= layers; l++) lines.push(`a${l} = tanh(W${l}*a${l - 1} + b${l})`);
  lines.push(`loss L = 0.5 * sum((a${layers} - y)^2)`);
  return `${lines.join("\n")}\n`;
}

/** A chain of `equations` scalar equations over a few shared params, alternating functions. */
export function chainModel(equations: number): string {
  const lines = [`model Chain${equations}`, "input  x0", "target y", "param  w = 0.9", "param  b = 0.1"];
  const functions = ["tanh", "sigmoid", "softplus"];
  for (let e = 1; e <= equations; e++) {
    const f = functions[e % functions.length]!;
    lines.push(e % 2 === 0 ? `x${e} = ${f}(w*x${e - 1} + b)` : `x${e} = x${e - 1} + 0.5*${f}(x${e - 1})`);
  }
  lines.push(`loss L = (x${equations} - y)^2`);
  lines.push("example {", "  x0 = 0.3", "  y = 0.2", "}");
  return `${lines.join("\n")}\n`;
}
