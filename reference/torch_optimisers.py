#!/usr/bin/python3
"""Reference parameters from PyTorch's optimisers, for nabla's `train` settings.

Reads {"model": name, "optimizer": name, "settings": {...}, "values": {name: nested list}}
on stdin, trains the model with torch.optim as the setting says (clip_grad_norm_ before each
step, StepLR after it) and prints {"losses": [...], "params": [{param: nested list}, ...]},
the params after each step. Run by test/train/optimisers.test.ts with Debian's python3-torch
(/usr/bin/python3).
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)


def tiny(v):
    """test/train/optimisers.test.ts's model: a tanh layer and a linear output, mean squared error."""
    H = torch.tanh(v["X"] @ v["W"] + v["b"])
    yhat = H @ v["v"] + v["c"]
    return ((yhat - v["y"]) ** 2).sum() / v["X"].shape[0]


def elman(v):
    """A scalar Elman RNN over a sequence, squared error of the last step: what clipping is for."""
    h = torch.zeros(())
    for t in range(v["x"].shape[0]):
        h = torch.tanh(v["Wxh"] * v["x"][t] + v["Whh"] * h)
    return (v["Why"] * h - v["y"]) ** 2


MODELS = {"tiny": (tiny, ["W", "b", "v", "c"]), "elman": (elman, ["Wxh", "Whh", "Why"])}


def optimizer(name, params, s):
    lr = s["lr"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, foreach=False)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD(
            params, lr=lr, momentum=s.get("beta", 0.9), nesterov=name == "nesterov", foreach=False
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=lr, alpha=s.get("rho", 0.99), eps=s.get("eps", 1e-8), foreach=False
        )
    betas = (s.get("beta1", 0.9), s.get("beta2", 0.999))
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=s.get("eps", 1e-8), foreach=False)
    if name == "adamw":
        return torch.optim.AdamW(
            params,
            lr=lr,
            betas=betas,
            eps=s.get("eps", 1e-8),
            weight_decay=s.get("weight_decay", 0.01),
            foreach=False,
        )
    raise ValueError(f"unknown optimiser {name}")


def main():
    request = json.load(sys.stdin)
    values = {k: torch.tensor(x, dtype=torch.float64) for k, x in request["values"].items()}
    loss_of, names = MODELS[request["model"]]
    params = [values[p].requires_grad_(True) for p in names]
    s = request["settings"]
    opt = optimizer(request["optimizer"], params, s)
    schedule = (
        torch.optim.lr_scheduler.StepLR(opt, step_size=s.get("every", 1), gamma=s["decay"])
        if "decay" in s
        else None
    )
    losses, history = [], []
    for _ in range(s["steps"]):
        opt.zero_grad()
        loss = loss_of(values)
        loss.backward()
        if "clip" in s:
            torch.nn.utils.clip_grad_norm_(params, s["clip"])
        opt.step()
        if schedule is not None:
            schedule.step()
        losses.append(loss.item())
        history.append({p: values[p].detach().tolist() for p in names})
    json.dump({"losses": losses, "params": history}, sys.stdout)


if __name__ == "__main__":
    main()
