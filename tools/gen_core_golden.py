#!/usr/bin/env python3
"""Golden fixtures for SharpSeg.Core's ops, printed once by PyTorch (run by hand, never by CI).

    /usr/bin/python3 tools/gen_core_golden.py          # writes tests/SharpSeg.Core.Tests/Golden/*.json

Precision: every input is drawn as float32 (so it is exact in both precisions), the op and its backward run
in float64 on those values, and the outputs and gradients are rounded once to float32. The fixture is thus
the correctly rounded answer rather than one particular float32 summation order. Each case is also run in
float32 and must agree with the float64 run (integer outputs exactly, floats to 1e-4 of their scale); this
catches inputs that sit on a tie or a kink, where the gradient would depend on rounding.

Output, one JSON file per op family:
    {"generator": ..., "torch": ..., "precision": ..., "cases": [
        {"name", "op", "params": {every argument passed to torch, None -> null, tuples -> lists},
         "tensors": {name: {"shape": [...], "dtype": "float32" | "int64" | "bool", "data": [flat C order]}}}]}
Tensor names: inputs (x, or a/b for binary ops, weight, bias, target, pos_weight, running_mean, ...), the
random upstream gradient dy (never ones; a scalar for scalar outputs), the forward result y, extra outputs
(indices, running_mean_after, ...), and the gradients d<input> (dx, dweight, dbias, da, db).
Floats are printed as the shortest decimal that parses back (as float32) to the same float32.

Every case draws its inputs after torch.manual_seed(crc32 of "<file>/<case name>"), so adding or reordering
cases does not change the others.
"""

import json
import math
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "SharpSeg.Core.Tests", "Golden")


# ---------------------------------------------------------------------------------------------------------
# Case runner


def randn(*shape, scale=1.0, shift=0.0):
    return torch.randn(*shape, dtype=torch.float32) * scale + shift


def uniform(*shape, low=0.0, high=1.0):
    return torch.rand(*shape, dtype=torch.float32) * (high - low) + low


def away_from(x, points, margin=0.05):
    """Moves values closer than `margin` to a kink (relu's 0, hardswish's +-3, ...) to `margin` from it."""
    x = x.clone()
    for p in points:
        near = (x - p).abs() < margin
        side = torch.where(x >= p, torch.ones_like(x), -torch.ones_like(x))
        x[near] = (p + side * margin)[near]
    return x


def cast(t, dtype):
    return t.to(dtype) if t.is_floating_point() else t


def run_in(inputs, grads, forward, dy, dtype):
    ins = {}
    for k, v in inputs.items():
        v = cast(v, dtype).detach().clone()
        if k in grads:
            v.requires_grad_(True)
        ins[k] = v
    outs = forward(ins)
    if not isinstance(outs, dict):
        outs = {"y": outs}
    result = {k: v.detach() for k, v in outs.items()}
    if grads:
        outs["y"].backward(cast(dy, dtype))
        for k in grads:
            g = ins[k].grad
            if g is None:
                raise RuntimeError(f"no gradient reached input {k}")
            result["d" + k] = g.detach()
    return result


def check_agree(case_name, r32, r64):
    for k, v64 in r64.items():
        v32 = r32[k]
        if not v64.is_floating_point():
            if not torch.equal(v32, v64):
                raise RuntimeError(f"{case_name}: integer output {k} differs between float32 and float64")
            continue
        scale = max(1.0, v64.abs().max().item()) if v64.numel() else 1.0
        err = (v32.double() - v64).abs().max().item() if v64.numel() else 0.0
        if not err <= 1e-4 * scale:
            raise RuntimeError(f"{case_name}: {k} float32 vs float64 differ by {err} (scale {scale}); "
                               "an input probably sits on a tie or a kink")


class GoldenFile:
    def __init__(self, file_name):
        self.file_name = file_name
        self.cases = []
        self.names = set()

    def case(self, name, op, params, make_inputs, forward, grads=()):
        """make_inputs() draws the inputs (seeded); forward(dict) returns y or {"y": y, extras...}.
        grads: names of float inputs to differentiate; dy is drawn after the inputs from the same seed."""
        if name in self.names:
            raise RuntimeError(f"duplicate case {name} in {self.file_name}")
        self.names.add(name)
        torch.manual_seed(zlib.crc32(f"{self.file_name}/{name}".encode()))
        inputs = make_inputs()
        probe = forward({k: cast(v, torch.float64) for k, v in inputs.items()})
        y_probe = probe["y"] if isinstance(probe, dict) else probe
        dy = None
        if grads:
            dy = torch.randn(y_probe.shape, dtype=torch.float32)
        r64 = run_in(inputs, grads, forward, dy, torch.float64)
        r32 = run_in(inputs, grads, forward, dy, torch.float32)
        check_agree(name, r32, r64)
        tensors = dict(inputs)
        if dy is not None:
            tensors["dy"] = dy
        for k, v in r64.items():
            if k in tensors:
                raise RuntimeError(f"{name}: output name {k} clashes with an input")
            tensors[k] = cast(v, torch.float32)
        self.cases.append({"name": name, "op": op, "params": params, "tensors": tensors})
        return tensors

    def write(self):
        path = os.path.join(OUT_DIR, self.file_name)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("{\n")
            f.write('  "generator": "tools/gen_core_golden.py",\n')
            f.write(f'  "torch": {json.dumps(torch.__version__)},\n')
            f.write('  "precision": "float32 inputs, float64 computation, outputs rounded to float32",\n')
            f.write('  "cases": [\n')
            for i, c in enumerate(self.cases):
                f.write("    {\n")
                f.write(f'      "name": {json.dumps(c["name"])},\n')
                f.write(f'      "op": {json.dumps(c["op"])},\n')
                f.write(f'      "params": {json.dumps(c["params"])},\n')
                f.write('      "tensors": {\n')
                items = list(c["tensors"].items())
                for j, (k, t) in enumerate(items):
                    sep = "," if j + 1 < len(items) else ""
                    f.write(f'        {json.dumps(k)}: {tensor_json(t)}{sep}\n')
                f.write("      }\n")
                f.write("    }" + ("," if i + 1 < len(self.cases) else "") + "\n")
            f.write("  ]\n}\n")
        return path


def format_float32(v):
    v = np.float32(v)
    if not np.isfinite(v):
        raise RuntimeError(f"non-finite value {v} in a fixture")
    text = str(v)
    # A reader that parses through double and then rounds to float must get the same float32 (no double rounding).
    if np.float32(float(text)) != v:
        raise RuntimeError(f"{text} does not round-trip through double to float32 {v!r}")
    return text


def tensor_json(t):
    values = t.detach().contiguous().reshape(-1).numpy()
    if t.dtype == torch.float32:
        dtype, data = "float32", ", ".join(format_float32(v) for v in values)
    elif t.dtype == torch.int64:
        dtype, data = "int64", ", ".join(str(int(v)) for v in values)
    elif t.dtype == torch.bool:
        dtype, data = "bool", ", ".join("true" if v else "false" for v in values)
    else:
        raise RuntimeError(f"unsupported fixture dtype {t.dtype}")
    return f'{{"shape": {json.dumps(list(t.shape))}, "dtype": "{dtype}", "data": [{data}]}}'


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else v


# ---------------------------------------------------------------------------------------------------------
# conv2d.json


def gen_conv2d():
    g = GoldenFile("conv2d.json")

    def conv(name, n, cin, h, w, cout, kernel, stride=1, padding=0, dilation=1, groups=1, bias=True):
        kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        params = {"in_channels": cin, "out_channels": cout, "kernel_size": pair(kernel), "stride": pair(stride),
                  "padding": pair(padding), "dilation": pair(dilation), "groups": groups, "bias": bias,
                  "padding_mode": "zeros"}

        def make():
            fan_in = cin // groups * kh * kw
            ins = {"x": randn(n, cin, h, w), "weight": randn(cout, cin // groups, kh, kw, scale=1 / math.sqrt(fan_in))}
            if bias:
                ins["bias"] = randn(cout, scale=0.5)
            return ins

        def fwd(t):
            return F.conv2d(t["x"], t["weight"], t.get("bias"), stride, padding, dilation, groups)

        g.case(name, "conv2d", params, make, fwd, ("x", "weight", "bias") if bias else ("x", "weight"))

    conv("k3_s1_p1_bias_n2", 2, 3, 6, 7, 4, 3, padding=1)
    conv("k3_s2_p1_odd_9x11", 1, 3, 9, 11, 5, 3, stride=2, padding=1)
    conv("k3_s2_p1_odd_n2_nobias", 2, 2, 7, 8, 3, 3, stride=2, padding=1, bias=False)
    conv("k3_d2_p2", 1, 4, 8, 9, 4, 3, padding=2, dilation=2)
    conv("k3_d2_p2_s2", 2, 3, 9, 10, 2, 3, stride=2, padding=2, dilation=2)
    conv("k3_groups2", 2, 4, 6, 6, 6, 3, padding=1, groups=2)
    conv("depthwise_m1", 2, 6, 7, 7, 6, 3, padding=1, groups=6)
    conv("depthwise_m2_s2", 1, 4, 7, 6, 8, 3, stride=2, padding=1, groups=4)
    conv("k1_n2", 2, 5, 4, 6, 7, 1)
    conv("k1_s2_nobias", 1, 6, 7, 5, 3, 1, stride=2, bias=False)
    conv("k1x3_p0x1", 1, 3, 5, 6, 4, (1, 3), padding=(0, 1))
    conv("k3x1_s2x1_p1x0", 2, 3, 6, 5, 2, (3, 1), stride=(2, 1), padding=(1, 0))
    conv("k3_valid_nobias", 2, 3, 5, 5, 4, 3, bias=False)
    conv("k3_c5_to_c7_n2", 2, 5, 5, 6, 7, 3, padding=1)
    conv("k7_s2_p3_stem", 1, 3, 11, 10, 4, 7, stride=2, padding=3)
    return g


# ---------------------------------------------------------------------------------------------------------
# conv_transpose2d.json


def gen_conv_transpose2d():
    g = GoldenFile("conv_transpose2d.json")

    def convt(name, n, cin, h, w, cout, kernel, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
              bias=True):
        kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        params = {"in_channels": cin, "out_channels": cout, "kernel_size": pair(kernel), "stride": pair(stride),
                  "padding": pair(padding), "output_padding": pair(output_padding), "groups": groups,
                  "dilation": pair(dilation), "bias": bias}

        def make():
            # torch's layout: weight is (in_channels, out_channels / groups, kh, kw).
            ins = {"x": randn(n, cin, h, w), "weight": randn(cin, cout // groups, kh, kw, scale=0.3)}
            if bias:
                ins["bias"] = randn(cout, scale=0.5)
            return ins

        def fwd(t):
            return F.conv_transpose2d(t["x"], t["weight"], t.get("bias"), stride, padding, output_padding, groups,
                                      dilation)

        g.case(name, "conv_transpose2d", params, make, fwd, ("x", "weight", "bias") if bias else ("x", "weight"))

    convt("k3_s2_p1_op1_bias_n2", 2, 4, 4, 5, 3, 3, stride=2, padding=1, output_padding=1)
    convt("k3_s1_p1_bias", 1, 3, 5, 4, 2, 3, padding=1)
    convt("k3_s2_p0_groups2", 1, 4, 4, 4, 6, 3, stride=2, groups=2)
    convt("k3_s1_p1_d2", 1, 3, 4, 5, 2, 3, padding=1, dilation=2)
    convt("k3_s2_p1_op1_d2_nobias", 1, 2, 4, 4, 3, 3, stride=2, padding=1, output_padding=1, dilation=2,
          bias=False)
    convt("k4_s2_p1_bias_n2", 2, 3, 5, 6, 4, 4, stride=2, padding=1)
    convt("k4_s2_p1_nobias", 1, 4, 4, 3, 2, 4, stride=2, padding=1, bias=False)
    convt("k2_s2_nobias", 2, 3, 3, 4, 2, 2, stride=2, bias=False)
    convt("k3x2_s2x1_p1x0_op1x0", 1, 3, 4, 5, 2, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0))
    return g


# ---------------------------------------------------------------------------------------------------------
# pooling.json


def gen_pooling():
    g = GoldenFile("pooling.json")

    def max_pool(name, shape, k, s, p=0, ceil=False, dilation=1):
        params = {"kernel_size": pair(k), "stride": pair(s), "padding": pair(p), "dilation": pair(dilation),
                  "ceil_mode": ceil, "return_indices": True}

        def fwd(t):
            y, idx = F.max_pool2d(t["x"], k, s, p, dilation, ceil_mode=ceil, return_indices=True)
            return {"y": y, "indices": idx}

        g.case(name, "max_pool2d", params, lambda: {"x": randn(*shape)}, fwd, ("x",))

    max_pool("max_k3_s2_p1", (2, 3, 8, 9), 3, 2, 1)
    max_pool("max_k3_s2_p1_ceil_8x8", (1, 2, 8, 8), 3, 2, 1, ceil=True)
    max_pool("max_k2_s2_ceil_7x8", (1, 3, 7, 8), 2, 2, 0, ceil=True)
    max_pool("max_k2_s2_floor_7x8", (1, 3, 7, 8), 2, 2, 0, ceil=False)
    max_pool("max_k3_s2_ceil_6x6", (2, 2, 6, 6), 3, 2, 0, ceil=True)
    max_pool("max_k3_s2_floor_6x6", (2, 2, 6, 6), 3, 2, 0, ceil=False)
    max_pool("max_k2_s2_p1_ceil_5x5_last_window_dropped", (1, 2, 5, 5), 2, 2, 1, ceil=True)
    max_pool("max_k2_s2", (1, 2, 6, 8), 2, 2)
    max_pool("max_k3_s1_p1", (1, 2, 5, 6), 3, 1, 1)

    def avg_pool(name, shape, k, s, p, ceil, include_pad):
        params = {"kernel_size": pair(k), "stride": pair(s), "padding": pair(p), "ceil_mode": ceil,
                  "count_include_pad": include_pad, "divisor_override": None}
        g.case(name, "avg_pool2d", params, lambda: {"x": randn(*shape)},
               lambda t: F.avg_pool2d(t["x"], k, s, p, ceil, include_pad), ("x",))

    for ceil in (False, True):
        for include_pad in (True, False):
            avg_pool(f"avg_k3_s2_p1_{'ceil' if ceil else 'floor'}_{'incpad' if include_pad else 'excpad'}",
                     (2, 3, 6, 8), 3, 2, 1, ceil, include_pad)
    avg_pool("avg_k2_s2_p1_ceil_incpad_5x5_last_window_dropped", (1, 2, 5, 5), 2, 2, 1, True, True)
    avg_pool("avg_k2_s2", (1, 2, 6, 8), 2, 2, 0, False, True)

    def adaptive(name, shape, out):
        g.case(name, "adaptive_avg_pool2d", {"output_size": pair(out)}, lambda: {"x": randn(*shape)},
               lambda t: F.adaptive_avg_pool2d(t["x"], out), ("x",))

    adaptive("adaptive_1x1", (2, 3, 5, 6), (1, 1))
    adaptive("adaptive_3x3_from_7x7", (1, 2, 7, 7), (3, 3))
    adaptive("adaptive_4x3_from_5x9", (2, 2, 5, 9), (4, 3))
    adaptive("adaptive_5x5_from_3x3_upsizing", (1, 2, 3, 3), (5, 5))
    adaptive("adaptive_2x6_from_6x4", (1, 2, 6, 4), (2, 6))
    return g


# ---------------------------------------------------------------------------------------------------------
# interpolate.json


def gen_interpolate():
    g = GoldenFile("interpolate.json")

    def interp(name, shape, mode, size=None, scale=None, align_corners=None):
        params = {"size": pair(size), "scale_factor": scale, "mode": mode, "align_corners": align_corners,
                  "recompute_scale_factor": None, "antialias": False}
        g.case(name, "interpolate", params, lambda: {"x": randn(*shape)},
               lambda t: F.interpolate(t["x"], size=size, scale_factor=scale, mode=mode, align_corners=align_corners),
               ("x",))

    for ac in (False, True):
        tag = "ac" if ac else "noac"
        interp(f"bilinear_{tag}_scale2", (2, 2, 4, 5), "bilinear", scale=2.0, align_corners=ac)
        interp(f"bilinear_{tag}_size_13x17", (1, 3, 6, 7), "bilinear", size=(13, 17), align_corners=ac)
        interp(f"bilinear_{tag}_size_down_4x5", (1, 2, 9, 11), "bilinear", size=(4, 5), align_corners=ac)
        interp(f"bilinear_{tag}_scale1_5_7x5", (1, 2, 7, 5), "bilinear", scale=1.5, align_corners=ac)
        interp(f"bilinear_{tag}_scale0_5_9x11", (1, 2, 9, 11), "bilinear", scale=0.5, align_corners=ac)
        interp(f"bilinear_{tag}_size_same_5x6", (1, 2, 5, 6), "bilinear", size=(5, 6), align_corners=ac)
    interp("nearest_scale2", (1, 2, 4, 5), "nearest", scale=2.0)
    interp("nearest_size_13x17", (1, 2, 6, 7), "nearest", size=(13, 17))
    interp("nearest_size_down_4x5", (1, 2, 9, 11), "nearest", size=(4, 5))
    interp("nearest_scale1_5_7x5", (1, 2, 7, 5), "nearest", scale=1.5)
    interp("nearest_scale0_5_9x11", (1, 2, 9, 11), "nearest", scale=0.5)
    # 5 pixels at ×1.7: output 5 reads source floor(5/1.7) = 2 with the given factor, floor(5·5/8) = 3 with in/out.
    interp("nearest_scale1_7_5x5", (1, 2, 5, 5), "nearest", scale=1.7)
    return g


# ---------------------------------------------------------------------------------------------------------
# batch_norm.json


def gen_batch_norm():
    g = GoldenFile("batch_norm.json")

    def bn(name, shape, training, affine, running_mean=None, running_var=None, num_batches=0):
        n, c, h, w = shape
        params = {"num_features": c, "training": training, "affine": affine, "track_running_stats": True,
                  "momentum": 0.1, "eps": 1e-5}

        def make():
            ins = {"x": randn(*shape, scale=2.0, shift=0.5)}
            if affine:
                ins["weight"] = randn(c, scale=0.5, shift=1.0)
                ins["bias"] = randn(c, scale=0.5)
            if running_mean is None:
                ins["running_mean"] = randn(c, scale=0.5) if not training else torch.zeros(c)
                ins["running_var"] = uniform(c, low=0.5, high=2.0) if not training else torch.ones(c)
            else:
                ins["running_mean"], ins["running_var"] = running_mean.clone(), running_var.clone()
            ins["num_batches_tracked"] = torch.tensor(num_batches, dtype=torch.int64)
            return ins

        def fwd(t):
            m = torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1, affine=affine, track_running_stats=True)
            m = m.to(t["x"].dtype)
            with torch.no_grad():
                m.running_mean.copy_(t["running_mean"])
                m.running_var.copy_(t["running_var"])
                m.num_batches_tracked.copy_(t["num_batches_tracked"])
            if affine:
                # The module's parameters are replaced by the case's inputs so that their gradients are recorded.
                del m.weight, m.bias
                m.weight, m.bias = t["weight"], t["bias"]
            m.train(training)
            y = m(t["x"])
            return {"y": y, "running_mean_after": m.running_mean.clone(), "running_var_after": m.running_var.clone(),
                    "num_batches_tracked_after": m.num_batches_tracked.clone()}

        grads = ("x", "weight", "bias") if affine else ("x",)
        return g.case(name, "batch_norm", params, make, fwd, grads)

    step1 = bn("train_affine_n2c3h5w4_step1", (2, 3, 5, 4), True, True)
    bn("train_affine_n2c3h5w4_step2", (2, 3, 5, 4), True, True, step1["running_mean_after"],
       step1["running_var_after"], int(step1["num_batches_tracked_after"]))
    bn("train_noaffine_n2c3h5w4", (2, 3, 5, 4), True, False)
    bn("train_affine_n1c4h1w3", (1, 4, 1, 3), True, True)
    bn("train_noaffine_n1c4h1w3", (1, 4, 1, 3), True, False)
    bn("eval_affine_n2c3h5w4", (2, 3, 5, 4), False, True, num_batches=7)
    bn("eval_noaffine_n1c4h1w3", (1, 4, 1, 3), False, False, num_batches=3)
    return g


# ---------------------------------------------------------------------------------------------------------
# softmax.json


def gen_softmax():
    g = GoldenFile("softmax.json")
    for op, fn in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        g.case(f"{op}_nchw_dim1", op, {"dim": 1}, lambda: {"x": randn(2, 5, 3, 4, scale=2.0)},
               lambda t, fn=fn: fn(t["x"], dim=1), ("x",))
        g.case(f"{op}_2d_dim_minus1", op, {"dim": -1}, lambda: {"x": randn(4, 7, scale=2.0)},
               lambda t, fn=fn: fn(t["x"], dim=-1), ("x",))
        g.case(f"{op}_large_logits_dim1", op, {"dim": 1}, lambda: {"x": randn(2, 3, 2, 2, scale=30.0, shift=50.0)},
               lambda t, fn=fn: fn(t["x"], dim=1), ("x",))
    return g


# ---------------------------------------------------------------------------------------------------------
# losses.json


def gen_losses():
    g = GoldenFile("losses.json")

    def ce_inputs(shape, weighted):
        n, c = shape[0], shape[1]
        x = randn(*shape, scale=1.5)
        target = torch.randint(0, c, (n,) + tuple(shape[2:]), dtype=torch.int64)
        ignored = torch.rand(target.shape) < 0.2
        ignored.view(-1)[0] = True  # at least one ignored pixel in every case
        ignored.view(-1)[1] = False
        target[ignored] = 255
        ins = {"x": x, "target": target}
        if weighted:
            ins["weight"] = uniform(c, low=0.5, high=2.0)
        return ins

    def ce(name, shape, reduction, weighted):
        params = {"weight": weighted, "ignore_index": 255, "reduction": reduction, "label_smoothing": 0.0}
        g.case(name, "cross_entropy", params, lambda: ce_inputs(shape, weighted),
               lambda t: F.cross_entropy(t["x"], t["target"], t.get("weight"), ignore_index=255,
                                         reduction=reduction), ("x",))

    for weighted in (False, True):
        for reduction in ("mean", "sum", "none"):
            ce(f"ce_nchw_{'weighted' if weighted else 'unweighted'}_{reduction}", (2, 4, 3, 5), reduction, weighted)
    ce("ce_2d_unweighted_mean", (6, 5), "mean", False)
    ce("ce_2d_weighted_mean", (6, 5), "mean", True)
    ce("ce_2d_weighted_none", (6, 5), "none", True)

    def bce(name, shape, reduction, weight_shape=None, pos_weight_shape=None, soft=False):
        params = {"weight": weight_shape is not None, "pos_weight": pos_weight_shape is not None,
                  "reduction": reduction}

        def make():
            ins = {"x": randn(*shape, scale=2.0),
                   "target": uniform(*shape) if soft else (torch.rand(*shape) < 0.4).to(torch.float32)}
            if weight_shape is not None:
                ins["weight"] = uniform(*weight_shape, low=0.2, high=2.0)
            if pos_weight_shape is not None:
                ins["pos_weight"] = uniform(*pos_weight_shape, low=0.5, high=4.0)
            return ins

        g.case(name, "binary_cross_entropy_with_logits", params, make,
               lambda t: F.binary_cross_entropy_with_logits(t["x"], t["target"], t.get("weight"),
                                                            reduction=reduction, pos_weight=t.get("pos_weight")),
               ("x",))

    nchw = (2, 3, 4, 4)
    for reduction in ("mean", "sum", "none"):
        bce(f"bce_logits_{reduction}", nchw, reduction)
        bce(f"bce_logits_weight_{reduction}", nchw, reduction, weight_shape=nchw)
        # pos_weight broadcasts against the target's trailing dims, so (C, 1, 1) weighs channels of NCHW.
        bce(f"bce_logits_pos_weight_{reduction}", nchw, reduction, pos_weight_shape=(3, 1, 1))
    bce("bce_logits_weight_c11_and_pos_weight_mean", nchw, "mean", weight_shape=(1, 3, 1, 1),
        pos_weight_shape=(3, 1, 1))
    bce("bce_logits_2d_pos_weight_mean", (4, 6), "mean", pos_weight_shape=(6,))
    bce("bce_logits_soft_target_mean", nchw, "mean", soft=True)
    return g


# ---------------------------------------------------------------------------------------------------------
# elementwise.json


def gen_elementwise():
    g = GoldenFile("elementwise.json")
    shape = (3, 4, 5)

    def unary(name, op, params, fn, make_x):
        g.case(name, op, params, lambda: {"x": make_x()}, lambda t: fn(t["x"]), ("x",))

    wide = lambda: randn(*shape, scale=3.0)  # noqa: E731
    positive = lambda: uniform(*shape, low=0.1, high=3.0)  # noqa: E731
    unary("relu", "relu", {}, F.relu, lambda: away_from(wide(), [0.0]))
    unary("relu6", "relu6", {}, F.relu6, lambda: away_from(randn(*shape, scale=4.0, shift=2.0), [0.0, 6.0]))
    unary("leaky_relu_0_1", "leaky_relu", {"negative_slope": 0.1}, lambda x: F.leaky_relu(x, 0.1),
          lambda: away_from(wide(), [0.0]))
    unary("sigmoid", "sigmoid", {}, torch.sigmoid, wide)
    unary("tanh", "tanh", {}, torch.tanh, wide)
    unary("hardsigmoid", "hardsigmoid", {}, F.hardsigmoid, lambda: away_from(wide(), [-3.0, 3.0]))
    unary("hardswish", "hardswish", {}, F.hardswish, lambda: away_from(wide(), [-3.0, 3.0]))
    unary("gelu_erf", "gelu", {"approximate": "none"}, lambda x: F.gelu(x, approximate="none"), wide)
    unary("silu", "silu", {}, F.silu, wide)
    unary("exp", "exp", {}, torch.exp, lambda: randn(*shape, scale=2.0))
    unary("log", "log", {}, torch.log, positive)
    unary("sqrt", "sqrt", {}, torch.sqrt, positive)
    unary("rsqrt", "rsqrt", {}, torch.rsqrt, positive)
    unary("pow_scalar_2_5", "pow", {"exponent": 2.5}, lambda x: torch.pow(x, 2.5), positive)
    unary("abs", "abs", {}, torch.abs, lambda: away_from(wide(), [0.0]))
    unary("neg", "neg", {}, torch.neg, wide)
    unary("clamp_m0_5_0_8", "clamp", {"min": -0.5, "max": 0.8}, lambda x: torch.clamp(x, -0.5, 0.8),
          lambda: away_from(randn(*shape), [-0.5, 0.8]))

    def binary(name, op, fn, make_ab, params=None):
        g.case(name, op, params or {}, make_ab, lambda t: fn(t["a"], t["b"]), ("a", "b"))

    def untied(a_shape, b_shape):
        # Ties would make the gradient's split between a and b a convention; redraw until |a - b| >= 0.05.
        while True:
            a, b = randn(*a_shape), randn(*b_shape)
            if (a - b).abs().min() >= 0.05:
                return {"a": a, "b": b}

    binary("pow_tensor_tensor", "pow", torch.pow,
           lambda: {"a": uniform(*shape, low=0.2, high=3.0), "b": randn(*shape)})
    binary("maximum", "maximum", torch.maximum, lambda: untied(shape, shape))
    binary("minimum", "minimum", torch.minimum, lambda: untied(shape, shape))
    binary("maximum_broadcast", "maximum", torch.maximum, lambda: untied((2, 3, 4), (3, 1)))
    binary("add_broadcast_2345_311", "add", torch.add, lambda: {"a": randn(2, 3, 4, 5), "b": randn(3, 1, 1)})
    binary("add_same_shape", "add", torch.add, lambda: {"a": randn(*shape), "b": randn(*shape)})
    binary("sub_same_shape", "sub", torch.sub, lambda: {"a": randn(*shape), "b": randn(*shape)})
    binary("sub_broadcast_2141_1315", "sub", torch.sub, lambda: {"a": randn(2, 1, 4, 1), "b": randn(1, 3, 1, 5)})
    binary("mul_broadcast_2141_1315", "mul", torch.mul, lambda: {"a": randn(2, 1, 4, 1), "b": randn(1, 3, 1, 5)})
    binary("mul_broadcast_2345_5", "mul", torch.mul, lambda: {"a": randn(2, 3, 4, 5), "b": randn(5)})

    def denominator(*s):
        sign = torch.where(torch.rand(*s) < 0.5, -1.0, 1.0)
        return sign * uniform(*s, low=0.5, high=2.0)

    binary("div_broadcast_2345_311", "div", torch.div, lambda: {"a": randn(2, 3, 4, 5), "b": denominator(3, 1, 1)})
    binary("div_broadcast_2141_1315", "div", torch.div,
           lambda: {"a": randn(2, 1, 4, 1), "b": denominator(1, 3, 1, 5)})

    def where(name, cond_shape, a_shape, b_shape):
        g.case(name, "where", {}, lambda: {"cond": torch.rand(*cond_shape) < 0.5, "a": randn(*a_shape),
                                           "b": randn(*b_shape)},
               lambda t: torch.where(t["cond"], t["a"], t["b"]), ("a", "b"))

    where("where_same_shape", shape, shape, shape)
    where("where_broadcast", (3, 1, 5), shape, (1, 4, 1))
    return g


# ---------------------------------------------------------------------------------------------------------
# reductions.json


def gen_reductions():
    g = GoldenFile("reductions.json")
    shape = (3, 4, 5)
    dims_cases = (("dim1", [1]), ("dim0_2", [0, 2]), ("all", None))

    def all_dims(dim):
        return tuple(range(len(shape))) if dim is None else tuple(dim)

    for dim_tag, dim in dims_cases:
        for keepdim in (False, True):
            suffix = f"{dim_tag}_{'keepdim' if keepdim else 'nokeepdim'}"
            params = {"dim": dim, "keepdim": keepdim}
            d = all_dims(dim)
            g.case(f"sum_{suffix}", "sum", params, lambda: {"x": randn(*shape)},
                   lambda t, d=d, k=keepdim: torch.sum(t["x"], d, keepdim=k), ("x",))
            g.case(f"mean_{suffix}", "mean", params, lambda: {"x": randn(*shape)},
                   lambda t, d=d, k=keepdim: torch.mean(t["x"], d, keepdim=k), ("x",))
            for op, fn in (("max", torch.amax), ("min", torch.amin)):
                if dim is not None and len(dim) == 1:
                    def fwd(t, d=d[0], k=keepdim, op=op):
                        values, indices = (torch.max if op == "max" else torch.min)(t["x"], d, keepdim=k)
                        return {"y": values, "indices": indices}
                else:
                    def fwd(t, d=d, k=keepdim, fn=fn):
                        return fn(t["x"], d, keepdim=k)
                g.case(f"{op}_{suffix}", op, params, lambda: {"x": randn(*shape)}, fwd, ("x",))
            for unbiased in (True, False):
                g.case(f"var_{'unbiased' if unbiased else 'biased'}_{suffix}", "var",
                       {"dim": dim, "keepdim": keepdim, "unbiased": unbiased}, lambda: {"x": randn(*shape)},
                       lambda t, d=d, k=keepdim, u=unbiased: torch.var(t["x"], d, unbiased=u, keepdim=k), ("x",))

    for keepdim in (False, True):
        g.case(f"argmax_dim1_{'keepdim' if keepdim else 'nokeepdim'}", "argmax", {"dim": 1, "keepdim": keepdim},
               lambda: {"x": randn(*shape)}, lambda t, k=keepdim: torch.argmax(t["x"], 1, keepdim=k))
    g.case("argmax_dim0_nokeepdim", "argmax", {"dim": 0, "keepdim": False}, lambda: {"x": randn(*shape)},
           lambda t: torch.argmax(t["x"], 0))
    g.case("argmax_all", "argmax", {"dim": None, "keepdim": False}, lambda: {"x": randn(*shape)},
           lambda t: torch.argmax(t["x"]))
    return g


# ---------------------------------------------------------------------------------------------------------
# matmul.json


def gen_matmul():
    g = GoldenFile("matmul.json")

    def mm(name, a_shape, b_shape):
        g.case(name, "matmul", {}, lambda: {"a": randn(*a_shape), "b": randn(*b_shape)},
               lambda t: torch.matmul(t["a"], t["b"]), ("a", "b"))

    mm("mm_5x7_7x3", (5, 7), (7, 3))
    mm("bmm_2x4x5_2x5x6", (2, 4, 5), (2, 5, 6))
    mm("broadcast_2x4x5_5x6", (2, 4, 5), (5, 6))
    mm("broadcast_4x5_2x5x6", (4, 5), (2, 5, 6))
    mm("broadcast_2x1x3x4_3x4x2", (2, 1, 3, 4), (3, 4, 2))

    def linear(name, x_shape, out_features, bias):
        in_features = x_shape[-1]

        def make():
            ins = {"x": randn(*x_shape), "weight": randn(out_features, in_features, scale=1 / math.sqrt(in_features))}
            if bias:
                ins["bias"] = randn(out_features, scale=0.5)
            return ins

        g.case(name, "linear", {"in_features": in_features, "out_features": out_features, "bias": bias}, make,
               lambda t: F.linear(t["x"], t["weight"], t.get("bias")),
               ("x", "weight", "bias") if bias else ("x", "weight"))

    linear("linear_bias_2x3x7_to_4", (2, 3, 7), 4, True)
    linear("linear_bias_5x7_to_3", (5, 7), 3, True)
    linear("linear_nobias_5x7_to_3", (5, 7), 3, False)
    return g


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)
    total = 0
    for gen in (gen_conv2d, gen_conv_transpose2d, gen_pooling, gen_interpolate, gen_batch_norm, gen_softmax,
                gen_losses, gen_elementwise, gen_reductions, gen_matmul):
        g = gen()
        path = g.write()
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path)}: {len(g.cases)} cases, {size / 1024:.1f} KiB")
    print(f"total {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
