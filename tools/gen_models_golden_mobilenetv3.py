#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Models' MobileNetV3 family (tests/SharpSeg.Models.Tests/MobileNetV3).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/gen_models_golden_mobilenetv3.py
Writes
  tests/SharpSeg.Models.Tests/Golden/Backbones/keys/<name>.txt
      "# parameters N", for torchvision's classifiers "# classifier classifier.", then one "key shape" line per
      state-dict entry: torchvision's mobilenet_v3_large / mobilenet_v3_small, and the PaddleSeg scales
      mobilenetv3_{small,large}_x{0_35,0_5,0_75,1_0,1_25} from the PaddleSeg twin below,
      in SharpSeg's keys (torchvision's module layout). mobilenetv3_{small,large}_x1_0.paddle.txt list the same
      PaddleSeg networks in PaddleSeg's own names (as in its .pdparams), for the key-map test.
  tests/SharpSeg.Models.Tests/Golden/MobileNetV3/<case>.npy
      float32 outputs of models whose every state-dict tensor is filled by the formula of
      tools/gen_models_golden_backbones.py (fill_one), run in eval mode in float64 on the formula input.

The PaddleSeg twin is a literal PyTorch translation of paddleseg/models/backbones/mobilenetv3.py as of PaddleSeg 2.6 to
2.9 (Paddle names: conv, blocks.i.expand_conv/bottleneck_conv/mid_se/linear_conv): Paddle BatchNorm (eps 1e-5),
an expansion convolution in every block, SE with channel // 4 squeeze channels, ReLU and a hard sigmoid of slope 0.2 and
offset 0.5, symmetric padding (k - 1) // 2 * dilation, no last convolution, features after blocks [2, 5, 11, 14] (large)
or [0, 2, 7, 10] (small). PaddleSeg only ships output stride 32 tables and the x1_0_os8 tables; other output strides
follow the rule those tables use (a stride turned into dilation leaves its own block at the dilation reached so far and
multiplies the dilation of the blocks after it), which with_output_stride() implements and checks against the tables.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torchvision

from gen_models_golden_backbones import fill_one, formula_fill, formula_input

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "SharpSeg.Models.Tests", "Golden")
KEYS = os.path.join(ROOT, "Backbones", "keys")
OUT = os.path.join(ROOT, "MobileNetV3")

# ---- PaddleSeg 2.6+ MobileNetV3 (NET_CONFIG, OUT_INDEX, _make_divisible as PaddleSeg defines them) ----

NET_CONFIG = {
    # k, exp, c, se, act, s
    "large": [
        [3, 16, 16, False, "relu", 1],
        [3, 64, 24, False, "relu", 2],
        [3, 72, 24, False, "relu", 1],
        [5, 72, 40, True, "relu", 2],
        [5, 120, 40, True, "relu", 1],
        [5, 120, 40, True, "relu", 1],
        [3, 240, 80, False, "hardswish", 2],
        [3, 200, 80, False, "hardswish", 1],
        [3, 184, 80, False, "hardswish", 1],
        [3, 184, 80, False, "hardswish", 1],
        [3, 480, 112, True, "hardswish", 1],
        [3, 672, 112, True, "hardswish", 1],
        [5, 672, 160, True, "hardswish", 2],
        [5, 960, 160, True, "hardswish", 1],
        [5, 960, 160, True, "hardswish", 1],
    ],
    "small": [
        [3, 16, 16, True, "relu", 2],
        [3, 72, 24, False, "relu", 2],
        [3, 88, 24, False, "relu", 1],
        [5, 96, 40, True, "hardswish", 2],
        [5, 240, 40, True, "hardswish", 1],
        [5, 240, 40, True, "hardswish", 1],
        [5, 120, 48, True, "hardswish", 1],
        [5, 144, 48, True, "hardswish", 1],
        [5, 288, 96, True, "hardswish", 2],
        [5, 576, 96, True, "hardswish", 1],
        [5, 576, 96, True, "hardswish", 1],
    ],
    # k, exp, c, se, act, s, {d}
    "large_os8": [
        [3, 16, 16, False, "relu", 1],
        [3, 64, 24, False, "relu", 2],
        [3, 72, 24, False, "relu", 1],
        [5, 72, 40, True, "relu", 2],
        [5, 120, 40, True, "relu", 1],
        [5, 120, 40, True, "relu", 1],
        [3, 240, 80, False, "hardswish", 1],
        [3, 200, 80, False, "hardswish", 1, 2],
        [3, 184, 80, False, "hardswish", 1, 2],
        [3, 184, 80, False, "hardswish", 1, 2],
        [3, 480, 112, True, "hardswish", 1, 2],
        [3, 672, 112, True, "hardswish", 1, 2],
        [5, 672, 160, True, "hardswish", 1, 2],
        [5, 960, 160, True, "hardswish", 1, 4],
        [5, 960, 160, True, "hardswish", 1, 4],
    ],
    "small_os8": [
        [3, 16, 16, True, "relu", 2],
        [3, 72, 24, False, "relu", 2],
        [3, 88, 24, False, "relu", 1],
        [5, 96, 40, True, "hardswish", 1],
        [5, 240, 40, True, "hardswish", 1, 2],
        [5, 240, 40, True, "hardswish", 1, 2],
        [5, 120, 48, True, "hardswish", 1, 2],
        [5, 144, 48, True, "hardswish", 1, 2],
        [5, 288, 96, True, "hardswish", 1, 2],
        [5, 576, 96, True, "hardswish", 1, 4],
        [5, 576, 96, True, "hardswish", 1, 4],
    ],
}

OUT_INDEX = {"large": [2, 5, 11, 14], "small": [0, 2, 7, 10]}


def make_divisible(v, divisor=8, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def with_output_stride(cfg, output_stride):
    """The table at another output stride, by the rule of PaddleSeg's *_os8 tables (see the module docstring)."""
    out, stride, dilation = [], 2, 1
    for k, exp, c, se, act, s in cfg:
        if stride * s > output_stride:
            out.append([k, exp, c, se, act, 1] + ([dilation] if dilation > 1 else []))
            dilation *= s
        else:
            stride *= s
            out.append([k, exp, c, se, act, s] + ([dilation] if dilation > 1 else []))
    return out


def create_act(act):
    return {"hardswish": nn.Hardswish(), "relu": nn.ReLU(), None: None}[act]


class ConvBNLayer(nn.Module):
    def __init__(self, in_c, out_c, filter_size, stride, padding, num_groups=1, if_act=True, act=None, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, filter_size, stride, padding, dilation, num_groups, bias=False)
        self.bn = nn.BatchNorm2d(out_c, eps=1e-5, momentum=0.1)  # paddle.nn.BatchNorm: epsilon 1e-5, momentum 0.9
        self.if_act = if_act
        self.act = create_act(act)

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.act(x) if self.if_act else x


class SEModule(nn.Module):
    def __init__(self, channel, reduction=4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = nn.Conv2d(channel, channel // reduction, 1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channel // reduction, channel, 1)

    def forward(self, x):
        s = self.conv2(self.relu(self.conv1(self.avg_pool(x))))
        # paddle.nn.functional.hardsigmoid(x, slope=0.2, offset=0.5) = clip(0.2 x + 0.5, 0, 1)
        return x * torch.clamp(0.2 * s + 0.5, 0, 1)


class ResidualUnit(nn.Module):
    def __init__(self, in_c, mid_c, out_c, filter_size, stride, use_se, act=None, dilation=1):
        super().__init__()
        self.if_shortcut = stride == 1 and in_c == out_c
        self.if_se = use_se
        self.expand_conv = ConvBNLayer(in_c, mid_c, 1, 1, 0, if_act=True, act=act)
        self.bottleneck_conv = ConvBNLayer(mid_c, mid_c, filter_size, stride, int((filter_size - 1) // 2) * dilation,
                                           num_groups=mid_c, if_act=True, act=act, dilation=dilation)
        if self.if_se:
            self.mid_se = SEModule(mid_c)
        self.linear_conv = ConvBNLayer(mid_c, out_c, 1, 1, 0, if_act=False, act=None)

    def forward(self, x):
        identity = x
        x = self.bottleneck_conv(self.expand_conv(x))
        if self.if_se:
            x = self.mid_se(x)
        x = self.linear_conv(x)
        return identity + x if self.if_shortcut else x


class PaddleSegMobileNetV3(nn.Module):
    def __init__(self, config, out_index, in_channels=3, scale=1.0):
        super().__init__()
        self.cfg = config
        self.out_index = out_index
        inplanes = 16
        self.conv = ConvBNLayer(in_channels, make_divisible(inplanes * scale), 3, 2, 1, 1, True, "hardswish")
        self.blocks = nn.Sequential(*[
            ResidualUnit(
                in_c=make_divisible(inplanes * scale if i == 0 else config[i - 1][2] * scale),
                mid_c=make_divisible(scale * exp),
                out_c=make_divisible(scale * c),
                filter_size=k, stride=s, use_se=se, act=act, dilation=td[0] if td else 1)
            for i, (k, exp, c, se, act, s, *td) in enumerate(config)
        ])

    def forward(self, x):
        x = self.conv(x)
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.out_index:
                feats.append(x)
        return feats


def paddleseg_to_ours(key, config):
    """PaddleSeg's names to SharpSeg's (torchvision's layout: features.0 stem, features.{i+1}.block.{j} per block)."""
    parts = key.split(".")
    norm = {"conv": "0", "bn": "1"}
    if parts[0] == "conv":
        return ".".join(["features.0", norm[parts[1]]] + parts[2:])
    i, layer = int(parts[1]), parts[2]
    has_se = config[i][3]
    if layer == "mid_se":
        return ".".join([f"features.{i + 1}.block.2", {"conv1": "fc1", "conv2": "fc2"}[parts[3]]] + parts[4:])
    index = {"expand_conv": 0, "bottleneck_conv": 1, "linear_conv": 3 if has_se else 2}[layer]
    return ".".join([f"features.{i + 1}.block.{index}", norm[parts[3]]] + parts[4:])


def paddleseg_model(arch, scale, output_stride=32, in_channels=3):
    cfg = with_output_stride(NET_CONFIG[arch], output_stride)
    return PaddleSegMobileNetV3(cfg, OUT_INDEX[arch], in_channels, scale), cfg


# ---- output ----

def write_keys(name, state_dict, parameters, classifier=None):
    os.makedirs(KEYS, exist_ok=True)
    with open(os.path.join(KEYS, name + ".txt"), "w") as f:
        f.write(f"# parameters {parameters}\n")
        if classifier:
            f.write(f"# classifier {classifier}\n")
        for key, t in state_dict.items():
            f.write(f"{key} {'x'.join(str(d) for d in t.shape) or 'scalar'}\n")


def save(name, tensor):
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, name + ".npy"), tensor.detach().float().numpy())


def params(model):
    return sum(p.numel() for p in model.parameters())


def torchvision_features(model, x, taps):
    feats = []
    for i, layer in enumerate(model.features):
        x = layer(x)
        if i in taps:
            feats.append(x)
    return feats


TV_TAPS = {"large": [3, 6, 12, 16], "small": [1, 3, 8, 12]}
SCALES = {"x0_35": 0.35, "x0_5": 0.5, "x0_75": 0.75, "x1_0": 1.0, "x1_25": 1.25}


def main():
    torch.manual_seed(0)

    # The generalised output-stride rule reproduces PaddleSeg's own os8 tables.
    for arch in ("large", "small"):
        assert with_output_stride(NET_CONFIG[arch], 8) == NET_CONFIG[arch + "_os8"], arch
        assert with_output_stride(NET_CONFIG[arch], 32) == NET_CONFIG[arch], arch

    # Key files: torchvision (classifier included) and the PaddleSeg scales in our keys.
    for arch in ("large", "small"):
        name = f"mobilenet_v3_{arch}"
        model = getattr(torchvision.models, name)()
        write_keys(name, model.state_dict(), params(model), classifier="classifier.")
        print(name, params(model), params(model.features))
        for suffix, scale in SCALES.items():
            paddle, cfg = paddleseg_model(arch, scale)
            sd = {paddleseg_to_ours(k, cfg): v for k, v in paddle.state_dict().items()}
            write_keys(f"mobilenetv3_{arch}_{suffix}", sd, params(paddle))
            print(f"mobilenetv3_{arch}_{suffix}", params(paddle))
            if suffix == "x1_0":
                paddle_names = {k.replace("running_mean", "_mean").replace("running_var", "_variance"): v
                                for k, v in paddle.state_dict().items() if not k.endswith("num_batches_tracked")}
                write_keys(f"mobilenetv3_{arch}_x1_0.paddle", paddle_names, params(paddle))

    # torchvision: classifier logits and the four features, at output stride 32 and (dilated=True) 16.
    for arch, dilated, shape, case in [("large", False, (1, 3, 48, 40), "mobilenet_v3_large_os32"),
                                       ("large", True, (1, 3, 37, 29), "mobilenet_v3_large_os16"),
                                       ("small", False, (1, 3, 45, 35), "mobilenet_v3_small_os32")]:
        model = getattr(torchvision.models, f"mobilenet_v3_{arch}")(dilated=dilated)
        formula_fill(model)
        model.double().eval()
        x = formula_input(*shape)
        with torch.no_grad():
            for level, f in enumerate(torchvision_features(model, x, TV_TAPS[arch])):
                save(f"{case}_feature{level}", f)
            if not dilated:
                save(f"{case}_logits", model(x))

    # The PaddleSeg twin, filled in our key order (identical to PaddleSeg's order).
    for arch, scale, output_stride, shape, case in [("small", 0.35, 32, (1, 3, 37, 29), "mobilenetv3_small_x0_35_os32"),
                                                     ("small", 0.35, 8, (1, 3, 37, 29), "mobilenetv3_small_x0_35_os8"),
                                                     ("small", 0.35, 4, (1, 3, 21, 18), "mobilenetv3_small_x0_35_os4"),
                                                     ("large", 0.5, 16, (1, 3, 35, 30), "mobilenetv3_large_x0_5_os16")]:
        paddle, cfg = paddleseg_model(arch, scale, output_stride)
        with torch.no_grad():
            for k, (key, t) in enumerate(paddle.state_dict().items()):
                fill_one(paddleseg_to_ours(key, cfg), k, t)
        paddle.double().eval()
        with torch.no_grad():
            for level, f in enumerate(paddle(formula_input(*shape))):
                save(f"{case}_feature{level}", f)


if __name__ == "__main__":
    main()
