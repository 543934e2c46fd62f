"""Golden values for SharpSeg.Nn optimizers, gradient clipping and learning-rate schedules.

A tiny conv -> BN(train) -> ReLU -> global-avg-pool -> linear net, written functionally (raw parameter tensors), is
trained for 5 steps with cross-entropy under each optimizer configuration; the fixture holds the inputs, the initial
parameters and, per case, the learning rate, loss and gradient norm of every step and the final parameters.
Run with PyTorch 1.13: /usr/bin/python3 tools/gen_nn_golden_optim.py
Writes tests/SharpSeg.Nn.Tests/Golden/Optim/tiny_net_training.json.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

STEPS = 5
NAMES = ["conv_w", "bn_w", "bn_b", "fc_w", "fc_b"]
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Nn.Tests", "Golden", "Optim", "tiny_net_training.json")


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def initial():
    g = torch.Generator().manual_seed(20261121)
    x = torch.randn(4, 3, 6, 6, generator=g)
    target = torch.randint(0, 3, (4,), generator=g)
    params = {
        "conv_w": torch.randn(4, 3, 3, 3, generator=g) * 0.3,
        "bn_w": 1 + 0.1 * torch.randn(4, generator=g),
        "bn_b": 0.1 * torch.randn(4, generator=g),
        "fc_w": torch.randn(3, 4, generator=g) * 0.5,
        "fc_b": torch.randn(3, generator=g) * 0.1,
    }
    return x, target, params


def loss_of(p, x, target):
    y = F.conv2d(x, p["conv_w"], None, padding=1)
    y = F.batch_norm(y, None, None, p["bn_w"], p["bn_b"], training=True, momentum=0.1, eps=1e-5)
    y = F.relu(y)
    y = F.adaptive_avg_pool2d(y, 1).flatten(1)
    y = F.linear(y, p["fc_w"], p["fc_b"])
    return F.cross_entropy(y, target)


def warmup_poly(step, base=0.1, warmup=2, start=0.01, decay_steps=3, end=0.001, power=0.9):
    """PaddleSeg LinearWarmup(PolynomialDecay): the learning rate at iteration `step`."""
    if step < warmup:
        return (base - start) * step / warmup + start
    s = min(step - warmup, decay_steps)
    return (base - end) * (1 - s / decay_steps) ** power + end


def run(case, x, target, init):
    p = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    kind = case["optimizer"]
    if "groups" in case:
        params = [{"params": [p[n] for n in grp["params"]], **{k: v for k, v in grp.items() if k != "params"}} for grp in case["groups"]]
    else:
        params = [p[n] for n in NAMES]
    opts = dict(case["options"])
    if kind == "sgd":
        opt = torch.optim.SGD(params, **opts)
    elif kind == "adam":
        opts["betas"] = tuple(opts["betas"])
        opt = torch.optim.Adam(params, **opts)
    else:
        opts["betas"] = tuple(opts["betas"])
        opt = torch.optim.AdamW(params, **opts)
    sched = None
    if case.get("schedule") == "warmup_poly":
        base = opts["lr"]
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_poly(s, base=base) / base)
    lrs, losses, norms = [], [], []
    for _ in range(STEPS):
        lrs.append(opt.param_groups[-1]["lr"])  # the last group has lr_mult 1 in every case
        opt.zero_grad(set_to_none=True)
        loss = loss_of(p, x, target)
        loss.backward()
        losses.append(float(loss))
        if "clip_norm" in case:
            norms.append(float(torch.nn.utils.clip_grad_norm_([p[n] for n in NAMES], case["clip_norm"])))
        if "clip_value" in case:
            torch.nn.utils.clip_grad_value_([p[n] for n in NAMES], case["clip_value"])
        opt.step()
        if sched is not None:
            sched.step()
    out = dict(case)
    out.update(lrs=lrs, losses=losses, final={n: floats(p[n]) for n in NAMES})
    if norms:
        out["grad_norms"] = norms
    return out


CASES = {
    "sgd_plain": {"optimizer": "sgd", "options": {"lr": 0.1}},
    "sgd_momentum_dampening": {"optimizer": "sgd", "options": {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}},
    "sgd_nesterov_weight_decay": {"optimizer": "sgd", "options": {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}},
    "adam": {"optimizer": "adam", "options": {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8}},
    "adam_amsgrad_weight_decay": {"optimizer": "adam", "options": {"lr": 0.01, "betas": [0.8, 0.5], "eps": 1e-6, "weight_decay": 0.05, "amsgrad": True}},
    "adamw": {"optimizer": "adamw", "options": {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}},
    "sgd_momentum_warmup_poly": {"optimizer": "sgd", "options": {"lr": 0.1, "momentum": 0.9}, "schedule": "warmup_poly"},
    "sgd_momentum_clip_norm": {"optimizer": "sgd", "options": {"lr": 0.1, "momentum": 0.9}, "clip_norm": 0.3},
    "sgd_clip_value": {"optimizer": "sgd", "options": {"lr": 0.1}, "clip_value": 0.05},
    # Backbone (conv) at lr_mult 0.1, no weight decay on rank <= 1 tensors (BN affine, biases).
    "sgd_groups": {
        "optimizer": "sgd",
        "options": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
        "groups": [
            {"params": ["conv_w"], "lr": 0.01},
            {"params": ["fc_w"]},
            {"params": ["bn_w", "bn_b", "fc_b"], "weight_decay": 0.0},
        ],
    },
}


def main():
    torch.set_num_threads(1)
    x, target, init = initial()
    fixture = {
        "torch_version": torch.__version__,
        "steps": STEPS,
        "input": {"shape": list(x.shape), "data": floats(x)},
        "target": [int(v) for v in target.tolist()],
        "params": {n: {"shape": list(init[n].shape), "data": floats(init[n])} for n in NAMES},
        "cases": {name: run(case, x, target, init) for name, case in CASES.items()},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f)
    for name, case in fixture["cases"].items():
        print(name, "losses", ["%.5f" % v for v in case["losses"]], "norms", case.get("grad_norms"))


if __name__ == "__main__":
    main()
