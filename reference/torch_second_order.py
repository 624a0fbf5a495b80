#!/usr/bin/python3
"""Reference values from PyTorch for models whose gradient needs second derivatives.

TF.js cannot check them: its tanh and sigmoid gradients read their saved outputs outside
the tape, so a gradient of a gradient through them is wrong or throws. PyTorch's double
backward is independent of nabla and exact to float64.

Reads {"model": name, "values": {name: nested list}} on stdin and prints
{"loss": number, "gradients": {param: nested list}, "values": {name: nested list}}.
Run by test/autodiff/inner.test.ts with Debian's python3-torch (/usr/bin/python3).
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)


def gradient_penalty(v):
    """examples/gradient_penalty.nabla: a WGAN-GP critic with λ = 10."""
    W, b, w = v["W"], v["b"], v["v"]

    def critic(X):
        return torch.tanh(X @ W + b) @ w

    Xm = v["Xm"].clone().requires_grad_(True)
    (G,) = torch.autograd.grad(critic(Xm).sum(), Xm, create_graph=True)
    n = torch.sqrt((G**2).sum(dim=1))
    loss = critic(v["Xf"]).mean() - critic(v["Xr"]).mean() + 10 * ((n - 1) ** 2).mean()
    return loss, {"G": G}


def double_backprop(v):
    """A softmax classifier penalised by the squared gradient of its loss w.r.t. its input."""
    X = v["X"].clone().requires_grad_(True)
    logits = torch.relu(X @ v["W1"]) @ v["W2"]
    E = torch.nn.functional.cross_entropy(logits, v["labels"].long(), reduction="sum") / X.shape[0]
    (G,) = torch.autograd.grad(E, X, create_graph=True)
    return E + 0.5 * (G**2).sum(), {"E": E}


def gradient_norm(v):
    """A squared error penalised by the squared norm of its own gradient w.r.t. the weights."""
    E = ((torch.sigmoid(v["X"] @ v["w"]) - v["y"]).sum()) ** 2
    (G,) = torch.autograd.grad(E, v["w"], create_graph=True)
    return E + 0.1 * (G**2).sum(), {"E": E}


MODELS = {
    "gradient_penalty": (gradient_penalty, ["W", "b", "v"]),
    "double_backprop": (double_backprop, ["W1", "W2"]),
    "gradient_norm": (gradient_norm, ["w"]),
}


def main():
    request = json.load(sys.stdin)
    values = {k: torch.tensor(x, dtype=torch.float64) for k, x in request["values"].items()}
    build, params = MODELS[request["model"]]
    for p in params:
        values[p].requires_grad_(True)
    loss, shown = build(values)
    grads = torch.autograd.grad(loss, [values[p] for p in params])
    json.dump(
        {
            "loss": loss.item(),
            "gradients": {p: g.tolist() for p, g in zip(params, grads)},
            "values": {k: t.detach().tolist() for k, t in shown.items()},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
