/**
 * The optimisers a model's `train` line may name, with their hyper-parameters and defaults.
 * The names, defaults and formulas are PyTorch's (torch.optim.SGD with momentum and
 * Nesterov, RMSprop, Adam, AdamW), so that a model trains as it would there; the update
 * rules themselves are built as IR in src/train/update.ts.
 */
export type OptimizerName = "sgd" | "momentum" | "nesterov" | "rmsprop" | "adam" | "adamw" | "newton";

export interface HyperParameter {
  readonly name: string;
  /** How the handout writes it. */
  readonly latex: string;
  readonly value: number;
  /** What values it may take, and how a diagnostic says so. */
  readonly valid: (v: number) => boolean;
  readonly range: string;
}

const fraction = (name: string, latex: string, value: number): HyperParameter => ({
  name,
  latex,
  value,
  valid: (v) => v >= 0 && v < 1,
  range: "a number from 0 up to (not including) 1",
});
const eps: HyperParameter = {
  name: "eps",
  latex: "\\epsilon",
  value: 1e-8,
  valid: (v) => v > 0 && Number.isFinite(v),
  range: "a positive number",
};

export interface OptimizerSpec {
  /** The learning rate when the model gives none (PyTorch's default where it has one). */
  readonly lr: number;
  readonly hyper: readonly HyperParameter[];
}

export const OPTIMIZERS: Readonly<Record<OptimizerName, OptimizerSpec>> = {
  sgd: { lr: 0.1, hyper: [] },
  momentum: { lr: 0.1, hyper: [fraction("beta", "\\beta", 0.9)] },
  nesterov: { lr: 0.1, hyper: [fraction("beta", "\\beta", 0.9)] },
  rmsprop: { lr: 0.01, hyper: [fraction("rho", "\\rho", 0.99), eps] },
  adam: { lr: 0.001, hyper: [fraction("beta1", "\\beta_1", 0.9), fraction("beta2", "\\beta_2", 0.999), eps] },
  adamw: {
    lr: 0.001,
    hyper: [
      fraction("beta1", "\\beta_1", 0.9),
      fraction("beta2", "\\beta_2", 0.999),
      eps,
      {
        name: "weight_decay",
        latex: "\\lambda",
        value: 0.01,
        valid: (v) => v >= 0 && Number.isFinite(v),
        range: "a number of at least 0",
      },
    ],
  },
  newton: { lr: 1, hyper: [] },
};

export const isOptimizer = (name: string): name is OptimizerName => Object.hasOwn(OPTIMIZERS, name);

/** What every first-order optimiser takes besides its own hyper-parameters. */
export const COMMON_SETTINGS = ["lr", "steps", "clip", "decay", "every"] as const;
