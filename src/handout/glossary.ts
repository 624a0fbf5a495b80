import type { Node, NodeId } from "../ir/types.js";
import type { Block, Inline } from "./document.js";
import { prose } from "./document.js";

/**
 * What the handout says about an operation the first time a model uses it: its definition
 * and the derivative the derivation relies on. Fused rules (softmax with cross-entropy,
 * sigmoid with BCE) are explained, not asserted: the Jacobian behind ŷ − y is shown.
 */
const DEFINITIONS: Record<string, string> = {
  mul: "$\\odot$ is the elementwise (Hadamard) product; between scalars, products are written side by side or with $\\cdot$.",
  matmul:
    "A product of matrices and vectors is the usual matrix product; $^{\\top}$ is the transpose. For $u = A\\,b$: $\\partial L/\\partial A = \\delta_u\\, b^{\\top}$ and $\\partial L/\\partial b = A^{\\top} \\delta_u$.",
  sigmoid:
    "$\\sigma(a) = 1/(1 + e^{-a})$ is the logistic sigmoid, with $\\sigma'(a) = \\sigma(a)\\,(1 - \\sigma(a))$.",
  tanh: "$\\tanh'(a) = 1 - \\tanh^2 a$: when $|a|$ is large, $\\tanh a$ is close to $\\pm 1$ (saturated) and its derivative close to 0.",
  relu: "$\\operatorname{ReLU}(a) = \\max(0, a)$, with $\\operatorname{ReLU}'(a) = H(a)$, where $H(a) = 1$ if $a > 0$ and 0 otherwise: the gradient passes only where the input was positive.",
  heaviside:
    "$H(a) = 1$ if $a > 0$ and 0 otherwise (the step function); its derivative is taken as 0 everywhere.",
  softplus:
    "$\\operatorname{softplus}(a) = \\log(1 + e^{a})$, with $\\operatorname{softplus}'(a) = \\sigma(a)$. It is computed as $a + \\log(1 + e^{-a})$ when $a > 0$, so it stays finite for large $a$ (a model's $\\log(1 + e^{a})$ is computed this way too).",
  log_sigmoid:
    "$\\log\\sigma(a)$, with derivative $1 - \\sigma(a)$, is computed as $-\\operatorname{softplus}(-a) = -\\log(1 + e^{-a})$: $\\sigma(a)$ itself rounds to 0 when $a$ is very negative, and its logarithm would be $-\\infty$.",
  log_softmax:
    "$\\log\\operatorname{softmax}(z)_i = z_i - \\log\\sum_j e^{z_j}$, with $\\partial \\log\\operatorname{softmax}(z)_i / \\partial z_j = \\delta_{ij} - \\operatorname{softmax}(z)_j$. It is computed in this form, the row maximum subtracted before the exponentials, so it stays finite where a softmax rounds to 0 and its logarithm would be $-\\infty$.",
  leaky_relu:
    "$\\operatorname{LReLU}_\\alpha(a) = a$ for $a > 0$ and $\\alpha a$ otherwise; its derivative is 1 or $\\alpha$.",
  elu: "$\\operatorname{ELU}_\\alpha(a) = a$ for $a > 0$ and $\\alpha\\,(e^{a} - 1)$ otherwise ($\\alpha = 1$ unless written); its derivative is 1 or $\\alpha e^{a}$.",
  gelu: "$\\operatorname{GELU}(a) = a\\,\\Phi(a)$, where $\\Phi(a) = \\frac{1}{2}\\left(1 + \\operatorname{erf}(a/\\sqrt{2})\\right)$ is the standard normal distribution function; its derivative is $\\Phi(a) + a\\,\\varphi(a)$ with $\\varphi(a) = e^{-a^2/2}/\\sqrt{2\\pi}$.",
  silu: "$\\operatorname{SiLU}(a) = a\\,\\sigma(a)$ (also called swish), with derivative $\\sigma(a)\\,(1 + a\\,(1 - \\sigma(a)))$.",
  mish: "$\\operatorname{mish}(a) = a\\,\\tanh(\\operatorname{softplus}(a))$, with derivative $\\tanh(\\operatorname{sp}(a)) + a\\,\\sigma(a)\\,(1 - \\tanh^2(\\operatorname{sp}(a)))$, where $\\operatorname{sp} = \\operatorname{softplus}$.",
  softsign: "$\\operatorname{softsign}(a) = a / (1 + |a|)$, with derivative $1 / (1 + |a|)^2$.",
  huber:
    "$H_\\delta(a) = \\frac{1}{2}a^2$ for $|a| \\le \\delta$ and $\\delta\\,(|a| - \\frac{1}{2}\\delta)$ otherwise (the Huber loss of a residual $a$): quadratic near 0, linear in the tails, with derivative $a$ or $\\delta\\,\\operatorname{sign}(a)$.",
  clamp:
    "$\\operatorname{clamp}(a, l, h) = \\min(\\max(a, l), h)$: its derivative is 1 where $l \\le a \\le h$ and 0 outside, where $l$ or $h$ receives it.",
  max: "$\\max(a, b)$ is taken entry by entry; its derivative is $[a \\ge b]$ with respect to $a$ and $[a < b]$ with respect to $b$ ($[\\cdot]$ is 1 where the condition holds and 0 elsewhere).",
  min: "$\\min(a, b)$ is taken entry by entry; its derivative is $[a \\le b]$ with respect to $a$ and $[a > b]$ with respect to $b$.",
  compare:
    "$[a > b]$ is 1 where the condition holds and 0 elsewhere (Iverson's bracket); its derivative is taken as 0.",
  where:
    "A case distinction picks, entry by entry, its first value where the condition holds and its second elsewhere; the δ goes to the value that was picked, and nothing to the condition.",
  erf: "$\\operatorname{erf}(a) = \\frac{2}{\\sqrt{\\pi}}\\int_0^a e^{-s^2}\\,ds$, with derivative $\\frac{2}{\\sqrt{\\pi}}e^{-a^2}$.",
  log1p: "$\\partial \\log(1 + a)/\\partial a = 1/(1 + a)$.",
  gather:
    "$E_{y}$ takes the rows of the table $E$ at the indices $y$ (counted from 0): an embedding looks up one row per token. Its gradient sends each row's $\\delta$ back to the row it was read from, $\\partial L/\\partial E_{v} = \\sum_{i : y_i = v} \\delta_i$ (a row read twice receives both, a row never read receives 0); that is $\\operatorname{scatter}_{y}(\\delta)$.",
  onehot:
    "$\\mathbf{e}_{y}$ is the row of the identity at the class label $y$ (counted from 0): 1 at $y$ and 0 elsewhere, so that $\\operatorname{CE}(\\hat y, \\mathbf{e}_{y}) = -\\log \\hat y_{y}$.",
  exp: "$\\partial e^{a}/\\partial a = e^{a}$.",
  log: "$\\partial \\log a/\\partial a = 1/a$ ($\\log$ is the natural logarithm).",
  pow: "$\\partial a^{p}/\\partial a = p\\,a^{p-1}$.",
  softmax:
    "$\\operatorname{softmax}(z)_i = e^{z_i} / \\sum_j e^{z_j}$. Its Jacobian is $\\partial \\hat y_i / \\partial z_j = \\hat y_i(\\delta_{ij} - \\hat y_j)$: $\\hat y_i(1 - \\hat y_i)$ on the diagonal and $-\\hat y_i \\hat y_j$ off it ($\\delta_{ij}$ is 1 when $i = j$ and 0 otherwise).",
  cross_entropy:
    "$\\operatorname{CE}(\\hat y, y) = -\\sum_i y_i \\log \\hat y_i$ is the cross-entropy of a prediction $\\hat y$ against a target $y$.",
  softmax_cross_entropy:
    "$\\operatorname{CE}(\\hat y, y) = -\\sum_i y_i \\log \\hat y_i$ is the cross-entropy. When $\\hat y = \\operatorname{softmax}(z)$, the chain rule through the softmax Jacobian gives $\\partial L/\\partial z_j = \\sum_i \\left(-\\frac{y_i}{\\hat y_i}\\right) \\hat y_i (\\delta_{ij} - \\hat y_j) = \\hat y_j \\sum_i y_i - y_j$, which is $\\hat y_j - y_j$ when the entries of $y$ sum to 1 (one-hot or soft labels): $\\partial L/\\partial z = \\hat y - y$. (The loss is computed from $z$ as $\\log\\sum_j e^{z_j} - \\sum_i y_i z_i$, which stays finite for large $z$.)",
  bce: "$\\operatorname{BCE}(p, y) = -\\sum_i \\left(y_i \\log p_i + (1 - y_i)\\log(1 - p_i)\\right)$ is the binary cross-entropy, summed over the entries, with $\\partial \\operatorname{BCE}/\\partial p_i = (p_i - y_i)/(p_i(1 - p_i))$.",
  sigmoid_bce:
    "$\\operatorname{BCE}(p, y) = -\\sum_i \\left(y_i \\log p_i + (1 - y_i)\\log(1 - p_i)\\right)$ is the binary cross-entropy. When $p = \\sigma(z)$, $\\partial \\operatorname{BCE}/\\partial p_i = (p_i - y_i)/(p_i(1 - p_i))$ and $\\sigma'(z_i) = p_i(1 - p_i)$ cancel: $\\partial L/\\partial z = \\sigma(z) - y$.",
  mse: "$\\operatorname{MSE}(\\hat y, y) = \\frac{1}{n}\\sum_i (\\hat y_i - y_i)^2$ is the mean of the squared errors over the $n$ entries, so $\\partial \\operatorname{MSE}/\\partial \\hat y = \\frac{2}{n}(\\hat y - y)$.",
  sum: "$\\sum$ adds every entry; each entry's derivative is 1, so the gradient of a sum is a tensor of ones $\\mathbf{1}$ times the δ of the sum.",
  mean: "$\\operatorname{mean}$ divides the sum of the $n$ entries by $n$, so each entry receives $1/n$ of the δ.",
  conv2d:
    "$x \\star k$ is the (cross-)correlation of an image with a kernel, as deep-learning libraries compute a convolution: $(x \\star k)_{ij} = \\sum_{u,v} x_{i+u-1,\\,j+v-1}\\, k_{uv}$ (indices from 1), the kernel laid on the image at $(i, j)$, multiplied entry by entry and summed. Its gradient with respect to the kernel correlates the image with the δ of the output: $\\partial L/\\partial k_{uv} = \\sum_{i,j} \\delta_{ij}\\, x_{i+u-1,\\,j+v-1}$, the sum over the regions the kernel visited, each weighted by that output's δ.",
  maxpool:
    "$\\operatorname{maxpool}$ takes the maximum of each window; its gradient sends each window's δ to the position of the window's maximum (the first, on a tie) and nothing to the others, adding where windows overlap.",
  avgpool:
    "$\\operatorname{avgpool}$ takes the mean of each window; its gradient spreads each window's δ evenly over the window.",
  flatten:
    "$\\operatorname{vec}$ reads a tensor's entries row by row into a vector; its gradient reshapes the δ back.",
  transpose: "$^{\\top}$ is the transpose.",
};

/** What the handout says about an operation (LaTeX in $…$), for an editor's hover; undefined for one it does not explain. */
export function operationNote(op: string): string | undefined {
  return Object.hasOwn(DEFINITIONS, op) ? DEFINITIONS[op] : undefined;
}

/** The ops a model's forward graph (and its recurrences' bodies) uses, in order of first use. */
export function opsUsed(nodes: readonly Node[], roots: readonly NodeId[]): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  // Only what the model computes: a lecture block's formulas (sigmoid for softmax) are not the model's.
  const visit = (list: readonly Node[], id: NodeId, scope: string) => {
    const key = `${scope}:${id}`;
    if (seen.has(key)) return;
    seen.add(key);
    const n = list[id]!;
    if (n.kind === "op") {
      out.add(n.op);
      n.args.forEach((a) => visit(list, a, scope));
    } else if (n.kind === "scan") {
      n.args.forEach((a) => visit(list, a, scope));
      n.body.forEach((b) => visit(n.body, b.id, `${scope}/${n.id}`));
    } else if (n.kind === "project") visit(list, n.scan, scope);
  };
  roots.forEach((r) => visit(nodes, r, ""));
  return [...out];
}

/** A paragraph per operation the model uses that needs one. */
export function glossary(ops: readonly string[]): Block[] {
  const items: Inline[][] = [];
  const seen = new Set<string>();
  for (const op of ops) {
    const key = op === "neg" || op === "add" || op === "sub" || op === "div" ? undefined : op;
    if (key === undefined || seen.has(key) || DEFINITIONS[key] === undefined) continue;
    seen.add(key);
    items.push(prose(DEFINITIONS[key]!));
  }
  return items.length === 0 ? [] : [{ kind: "list", items }];
}
