#!/usr/bin/python3
"""PyTorch's time for one of nabla's benchmark workloads, float64 and float32, one thread.

Run by bench/pytorch.ts (part of `npm run bench`), not by hand:

    /usr/bin/python3 bench/torch/bench.py WORKLOAD.json

WORKLOAD.json is written by the Node bench and holds everything this script needs:

    {"name": "rnn-large", "model": "rnn", "dims": {"D": 128, ...},
     "params": {"Wxh": [...], ...}, "inputs": {"x": [...], "y": [...]},
     "reference": {"loss": L, "gradients": {"Wxh": [...], ...}},   # nabla's generated gradient
     "seconds": 4, "roundMs": 30, "checkOnly": false}

The arrays are flat and row-major, by the names the nabla model declares, so the model
here reads exactly the data the JavaScript implementations run on (no second random
generator to keep in step). For each dtype the script builds the model in torch, computes
the loss and the gradients with `torch.autograd.grad`, and reports their error against the
reference (|Δloss|/|loss| and max|a−b|/max|b| per gradient, as bench/run.ts does); then,
unless checkOnly, it times one forward + gradient call, the float64 and float32 versions
alternating round by round (about roundMs of calls each) until the time is spent, after a
warm-up. It prints one JSON object on stdout (see `main`).

One thread: torch.set_num_threads(1) and set_num_interop_threads(1); the Node side also
starts this process with OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1, and leaves the rest of
the environment (e.g. OPENBLAS_CORETYPE) as it is. Which BLAS library torch called is read
from /proc/self/maps and reported, since the figures depend on it.
"""

import json
import sys
import time

import torch


def build_mlp(p, x, dims):
    """P = softmax(sigmoid(X W1 + b1) W2 + b2), L = −Σ Y ⊙ log P (summed over the batch)."""
    n, d, h, k = dims["N"], dims["D"], dims["H"], dims["K"]
    X = x["X"].reshape(n, d)
    Y = x["Y"].reshape(n, k)
    shapes = {"W1": (d, h), "b1": (h,), "W2": (h, k), "b2": (k,)}

    def loss(W1, b1, W2, b2):
        hid = torch.sigmoid(X @ W1 + b1)
        return -(Y * torch.log_softmax(hid @ W2 + b2, dim=1)).sum()

    return shapes, loss


def build_rnn(p, x, dims):
    """h_t = tanh(Wxh x_t + Whh h_{t−1} + bh), h_0 = 0; p = softmax(Why h_T + by); L = −Σ y ⊙ log p.

    The input projections of all T steps are one matrix product before the loop (as
    torch.nn.RNN does); the recurrence is T matrix-vector products.
    """
    d, h, o, t = dims["D"], dims["H"], dims["O"], dims["T"]
    X = x["x"].reshape(t, d)
    y = x["y"].reshape(o)
    shapes = {"Wxh": (h, d), "Whh": (h, h), "bh": (h,), "Why": (o, h), "by": (o,)}

    def loss(Wxh, Whh, bh, Why, by):
        U = X @ Wxh.t() + bh  # [T, H]
        hs = torch.tanh(U[0])  # h_0 = 0
        for s in range(1, t):
            hs = torch.tanh(U[s] + Whh @ hs)
        return -(y * torch.log_softmax(Why @ hs + by, dim=0)).sum()

    return shapes, loss


def build_cnn(p, x, dims):
    """A = relu(conv2d(x, k) + bk); P = maxpool 2×2 stride 2; z = W flatten(P) + b; L = −Σ y ⊙ log softmax z."""
    c, hh, ww, f, k = dims["C"], dims["H"], dims["W"], dims["F"], dims["K"]
    n = f * ((hh - 2) // 2) * ((ww - 2) // 2)
    X = x["x"].reshape(1, c, hh, ww)
    y = x["y"].reshape(k)
    shapes = {"k": (f, c, 3, 3), "bk": (f, 1, 1), "W": (k, n), "b": (k,)}

    def loss(kk, bk, W, b):
        A = torch.relu(torch.nn.functional.conv2d(X, kk)[0] + bk)
        P = torch.nn.functional.max_pool2d(A, 2, 2)
        z = W @ P.reshape(n) + b
        return -(y * torch.log_softmax(z, dim=0)).sum()

    return shapes, loss


BUILDERS = {"mlp": build_mlp, "rnn": build_rnn, "cnn": build_cnn}


class Model:
    """The workload in one dtype: its parameters (requiring grad), inputs and loss function."""

    def __init__(self, spec, dtype):
        self.dtype = dtype
        x = {k: torch.tensor(v, dtype=dtype) for k, v in spec["inputs"].items()}
        shapes, self.loss = BUILDERS[spec["model"]](spec["params"], x, spec["dims"])
        self.names = list(shapes)
        self.params = [
            torch.tensor(spec["params"][name], dtype=dtype).reshape(shape).requires_grad_()
            for name, shape in shapes.items()
        ]

    def step(self):
        """One forward + gradient evaluation; returns the loss (the timed call)."""
        value = self.loss(*self.params)
        torch.autograd.grad(value, self.params)
        return value.item()

    def evaluate(self):
        value = self.loss(*self.params)
        grads = torch.autograd.grad(value, self.params)
        return value.item(), {n: g.detach().reshape(-1).to(torch.float64) for n, g in zip(self.names, grads)}


def relative_error(a, b):
    """max|a − b| / max|b| (NaN anywhere gives inf)."""
    diff = (a - b).abs().max().item()
    scale = b.abs().max().item()
    if diff != diff:
        return float("inf")
    return diff if scale == 0 else diff / scale


def check(model, reference):
    loss, grads = model.evaluate()
    ref_loss = reference["loss"]
    errors = {"loss": abs(loss - ref_loss) / abs(ref_loss) if loss == loss else float("inf")}
    for name, ref in reference["gradients"].items():
        g = grads.get(name)
        r = torch.tensor(ref, dtype=torch.float64)
        errors[name] = relative_error(g, r) if g is not None and g.numel() == r.numel() else float("inf")
    return loss, errors


def quantile(s, q):
    x = q * (len(s) - 1)
    i = int(x)
    f = x - i
    return s[i] * (1 - f) + s[i + 1] * f if i + 1 < len(s) else s[i]


def time_interleaved(models, seconds, round_ms):
    """Warm-up, then rounds in rotating order until `seconds` are spent (at least 8 rounds)."""
    sink = 0.0
    for _ in range(2):
        for m in models:
            t0 = time.perf_counter()
            n = 0
            while n < 10 or time.perf_counter() - t0 < 0.2:
                sink += m.step()
                n += 1
    samples = [[] for _ in models]
    calls = []
    for m in models:
        est = []
        for _ in range(3):
            t0 = time.perf_counter()
            sink += m.step()
            est.append((time.perf_counter() - t0) * 1000)
        calls.append(max(1, round(round_ms / sorted(est)[1])))
    start = time.perf_counter()
    rounds = 0
    while rounds < 8 or time.perf_counter() - start < seconds:
        for k in range(len(models)):
            i = (rounds + k) % len(models)
            m = models[i]
            for _ in range(calls[i]):
                t0 = time.perf_counter()
                sink += m.step()
                samples[i].append((time.perf_counter() - t0) * 1000)
        rounds += 1
    stats = []
    for s in samples:
        s.sort()
        stats.append({"median": quantile(s, 0.5), "p10": quantile(s, 0.1), "p90": quantile(s, 0.9), "n": len(s)})
    return stats, rounds, sink


def blas_library():
    """The BLAS shared library mapped into this process (after a matrix product has run)."""
    torch.ones(64, 64, dtype=torch.float64) @ torch.ones(64, 64, dtype=torch.float64)
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    except OSError:
        return "unknown"
    return ", ".join(libs) if libs else "none found (torch's own gemm)"


def main():
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set; only possible if something ran in parallel first
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    models = [Model(spec, torch.float64), Model(spec, torch.float32)]
    out = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "results": {},
    }
    for m in models:
        key = "f64" if m.dtype == torch.float64 else "f32"
        loss, errors = check(m, spec["reference"])
        out["results"][key] = {"loss": loss, "errors": errors}
    if not spec.get("checkOnly"):
        stats, rounds, sink = time_interleaved(models, spec["seconds"], spec.get("roundMs", 30))
        out["rounds"] = rounds
        out["finite"] = sink == sink and abs(sink) != float("inf")
        for m, s in zip(models, stats):
            out["results"]["f64" if m.dtype == torch.float64 else "f32"].update(s)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
