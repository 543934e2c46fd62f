#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Models' ResNet backbones (tests/SharpSeg.Models.Tests/Backbones).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/gen_models_golden_backbones.py
Writes tests/SharpSeg.Models.Tests/Golden/Backbones/:
  keys/<name>.txt          state-dict "key shape" lines (+ "# parameters N") of every torchvision ResNet and of
                           ResNet_vd in timm resnet*d naming; keys/<name>.paddle.txt the same ResNet_vd in PaddleSeg names
  <case>.npy               float32 outputs of models whose every state-dict tensor is filled by the formula below,
                           run in eval mode in float64 on an input also given by a formula (so no weights are committed)

Weight formula (twin of tests/SharpSeg.Models.Tests/Support/FormulaWeights.cs): for the k-th state-dict entry (k counts
every entry, buffers included, in state-dict order) and its flat element i, s = sin(0.37 i + 1.7 k) and
  *.num_batches_tracked -> 0;  *.running_var -> 1 + 0.5|s|;  *.running_mean -> 0.1 s;
  rank >= 2 (conv/linear weight) -> 2 s / sqrt(numel / shape[0]);  other *.weight -> 1 + 0.2 s;  anything else -> 0.1 s.
Input formula: element i of the [N, C, H, W] input is sin(0.71 i) + 0.5 cos(0.13 i).
"""
import math
import os
import re

import numpy as np
import torch
import torch.nn as nn
import torchvision

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Models.Tests", "Golden", "Backbones")


def fill_one(key, k, t):
    """Fills tensor t, the k-th state-dict entry called key, by the weight formula."""
    if key.endswith("num_batches_tracked"):
        t.zero_()
        return
    i = torch.arange(t.numel(), dtype=torch.float64)
    s = torch.sin(0.37 * i + 1.7 * k)
    if key.endswith("running_var"):
        v = 1 + 0.5 * s.abs()
    elif key.endswith("running_mean"):
        v = 0.1 * s
    elif t.dim() >= 2:
        v = 2 * s / math.sqrt(t.numel() // t.shape[0])
    elif key.endswith("weight"):
        v = 1 + 0.2 * s
    else:
        v = 0.1 * s
    # Round through float32 so the float64 reference sees exactly the weights the C# twin builds.
    t.copy_(v.float().reshape(t.shape).to(t.dtype))


def formula_fill(model):
    with torch.no_grad():
        for k, (name, t) in enumerate(model.state_dict().items()):
            fill_one(name, k, t)


def formula_input(*shape):
    i = torch.arange(int(np.prod(shape)), dtype=torch.float64)
    return (torch.sin(0.71 * i) + 0.5 * torch.cos(0.13 * i)).float().double().reshape(shape)


def write_keys(name, state_dict, parameters, classifier=()):
    """classifier: reference key prefixes a headless registered backbone drops (its "# classifier" line)."""
    os.makedirs(os.path.join(OUT, "keys"), exist_ok=True)
    with open(os.path.join(OUT, "keys", name + ".txt"), "w") as f:
        f.write(f"# parameters {parameters}\n")
        if classifier:
            f.write(f"# classifier {' '.join(classifier)}\n")
        for key, t in state_dict.items():
            f.write(f"{key} {'x'.join(str(d) for d in t.shape) or 'scalar'}\n")


def save(name, tensor):
    np.save(os.path.join(OUT, name + ".npy"), tensor.detach().float().numpy())


# ---- ResNet_vd: a literal translation of PaddleSeg's paddleseg/models/backbones/resnet_vd.py (Paddle's names) ----

class ConvBNLayer(nn.Module):
    def __init__(self, cin, cout, k, stride=1, dilation=1, is_vd_mode=False, act=None):
        super().__init__()
        self.is_vd_mode = is_vd_mode
        # Paddle AvgPool2D(exclusive=True) == count_include_pad=False.
        self._pool2d_avg = nn.AvgPool2d(2, 2, 0, ceil_mode=True, count_include_pad=False)
        self._conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 if dilation == 1 else dilation, dilation, bias=False)
        self._batch_norm = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        if self.is_vd_mode:
            x = self._pool2d_avg(x)
        y = self._batch_norm(self._conv(x))
        return torch.relu(y) if self.act == "relu" else y


class BottleneckBlock(nn.Module):
    def __init__(self, cin, cout, stride, shortcut, if_first, dilation):
        super().__init__()
        self.conv0 = ConvBNLayer(cin, cout, 1, act="relu")
        self.conv1 = ConvBNLayer(cout, cout, 3, stride=stride, act="relu", dilation=dilation)
        self.conv2 = ConvBNLayer(cout, cout * 4, 1)
        if not shortcut:
            self.short = ConvBNLayer(cin, cout * 4, 1, 1, is_vd_mode=False if if_first or stride == 1 else True)
        self.shortcut = shortcut

    def forward(self, x):
        y = self.conv2(self.conv1(self.conv0(x)))
        return torch.relu((x if self.shortcut else self.short(x)) + y)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, dilation, shortcut, if_first):
        super().__init__()
        self.conv0 = ConvBNLayer(cin, cout, 3, stride=stride, dilation=dilation, act="relu")
        self.conv1 = ConvBNLayer(cout, cout, 3, dilation=dilation)
        if not shortcut:
            self.short = ConvBNLayer(cin, cout, 1, 1, is_vd_mode=False if if_first or stride == 1 else True)
        self.shortcut = shortcut

    def forward(self, x):
        y = self.conv1(self.conv0(x))
        return torch.relu((x if self.shortcut else self.short(x)) + y)


class ResNet_vd(nn.Module):
    def __init__(self, layers=50, output_stride=8, multi_grid=(1, 1, 1), in_channels=3):
        super().__init__()
        depth = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
                 152: [3, 8, 36, 3], 200: [3, 12, 48, 3]}[layers]
        num_channels = [64, 256, 512, 1024] if layers >= 50 else [64, 64, 128, 256]
        num_filters = [64, 128, 256, 512]
        dilation_dict = {2: 2, 3: 4} if output_stride == 8 else {3: 2} if output_stride == 16 else None
        self.conv1_1 = ConvBNLayer(in_channels, 32, 3, stride=2, act="relu")
        self.conv1_2 = ConvBNLayer(32, 32, 3, stride=1, act="relu")
        self.conv1_3 = ConvBNLayer(32, 64, 3, stride=1, act="relu")
        self.pool2d_max = nn.MaxPool2d(3, 2, 1)
        self.stage_list = []
        for block in range(len(depth)):
            shortcut = False
            block_list = []
            for i in range(depth[block]):
                dilation_rate = dilation_dict[block] if dilation_dict and block in dilation_dict else 1
                if block == 3:
                    dilation_rate = dilation_rate * multi_grid[i]
                stride = 2 if i == 0 and block != 0 and dilation_rate == 1 else 1
                if layers >= 50:
                    b = BottleneckBlock(num_channels[block] if i == 0 else num_filters[block] * 4, num_filters[block],
                                        stride, shortcut, block == i == 0, dilation_rate)
                else:
                    b = BasicBlock(num_channels[block] if i == 0 else num_filters[block], num_filters[block],
                                   stride, dilation_rate, shortcut, block == i == 0)
                self.add_module("bb_%d_%d" % (block, i), b)
                block_list.append(b)
                shortcut = True
            self.stage_list.append(block_list)

    def forward(self, x):
        y = self.pool2d_max(self.conv1_3(self.conv1_2(self.conv1_1(x))))
        feats = []
        for stage in self.stage_list:
            for b in stage:
                y = b(y)
            feats.append(y)
        return feats


def paddle_to_timm(key):
    """The rename SharpSeg's ResNetVd.PaddleSegKeyMap performs (on torch-side buffer names)."""
    stem = {"conv1_1._conv": "conv1.0", "conv1_1._batch_norm": "conv1.1", "conv1_2._conv": "conv1.3",
            "conv1_2._batch_norm": "conv1.4", "conv1_3._conv": "conv1.6", "conv1_3._batch_norm": "bn1"}
    for src, dst in stem.items():
        if key.startswith(src + "."):
            return dst + key[len(src):]
    m = re.match(r"bb_(\d)_(\d+)\.(conv(\d)|short)\.(_conv|_batch_norm)\.(.*)", key)
    stage, block, layer, index, kind, leaf = m.groups()
    if layer == "short":
        name = "downsample.1" if kind == "_conv" else "downsample.2"
    else:
        name = ("conv" if kind == "_conv" else "bn") + str(int(index) + 1)
    return f"layer{int(stage) + 1}.{block}.{name}.{leaf}"


def timm_named_state_dict(paddle_model):
    return {paddle_to_timm(k): v for k, v in paddle_model.state_dict().items()}


def timm_resnet_d_keys(tv_model, basic):
    """timm's resnet*d naming derived from torchvision's keys: deep stem conv1.{0,1,3,4,6} + bn1, and downsample
    indices shifted by one (downsample.0 is the average pool); PaddleSeg's basic blocks add layer1.0.downsample."""
    keys = set()
    for k in tv_model.state_dict():
        if k.startswith("conv1.") or k.startswith("fc."):
            continue
        keys.add(re.sub(r"downsample\.(\d)", lambda m: f"downsample.{int(m.group(1)) + 1}", k))
    for i in (0, 1, 3, 4, 6):
        keys.add(f"conv1.{i}.weight")
    for i in (1, 4):
        for leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            keys.add(f"conv1.{i}.{leaf}")
    if basic:
        keys.add("layer1.0.downsample.1.weight")
        for leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            keys.add(f"layer1.0.downsample.2.{leaf}")
    return keys


TV = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
      "wide_resnet50_2", "wide_resnet101_2"]


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)

    tv_models = {}
    for name in TV:
        model = getattr(torchvision.models, name)()
        tv_models[name] = model
        write_keys(name, model.state_dict(), sum(p.numel() for p in model.parameters()), classifier=("fc.",))
        print(name, sum(p.numel() for p in model.parameters()))

    for depth in (18, 34, 50, 101, 152, 200):
        paddle = ResNet_vd(depth, output_stride=32)
        sd = timm_named_state_dict(paddle)
        tv_name = f"resnet{depth}" if depth != 200 else None
        if tv_name:
            assert set(sd) == timm_resnet_d_keys(tv_models[tv_name], depth < 50), depth
        params = sum(p.numel() for p in paddle.parameters())
        write_keys(f"resnet{depth}_vd", sd, params)
        if depth in (18, 50):
            paddle_sd = {k.replace("running_mean", "_mean").replace("running_var", "_variance"): v
                         for k, v in paddle.state_dict().items() if not k.endswith("num_batches_tracked")}
            write_keys(f"resnet{depth}_vd.paddle", paddle_sd, params)
        print(f"resnet{depth}_vd", params)

    # Golden outputs: torchvision classifiers at 64x64.
    for name, kwargs, case in [("resnet18", {}, "resnet18_logits"), ("resnet50", {}, "resnet50_logits"),
                               ("resnext50_32x4d", {}, "resnext50_32x4d_logits")]:
        model = getattr(torchvision.models, name)(**kwargs)
        formula_fill(model)
        model.double().eval()
        with torch.no_grad():
            save(case, model(formula_input(1, 3, 64, 64)))

    # Golden outputs: ResNet_vd features from the PaddleSeg translation, weights filled in timm key order.
    for depth, os_, grid, shape, case in [(18, 32, (1, 1, 1), (1, 3, 37, 29), "resnet18_vd_os32"),
                                          (18, 8, (1, 2, 4), (1, 3, 37, 29), "resnet18_vd_os8"),
                                          (50, 16, (1, 1, 1), (1, 3, 29, 23), "resnet50_vd_os16")]:
        paddle = ResNet_vd(depth, output_stride=os_, multi_grid=grid)
        with torch.no_grad():
            for k, (key, t) in enumerate(paddle.state_dict().items()):
                fill_one(paddle_to_timm(key), k, t)
        paddle.double().eval()
        with torch.no_grad():
            feats = paddle(formula_input(*shape))
        for s, f in enumerate(feats):
            save(f"{case}_layer{s + 1}", f)


if __name__ == "__main__":
    main()
