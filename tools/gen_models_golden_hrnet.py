#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Models' HRNet backbone and the `hrnet` segmentation model (FCN head).

Run once with PyTorch 1.13 (Debian python3-torch): /usr/bin/python3 tools/gen_models_golden_hrnet.py
CI never runs this; the outputs are committed.

The torch modules below are a literal translation of PaddleSeg 2.x's paddleseg/models/backbones/hrnet.py (HRNet with
its default padding_same=True and use_psa=False) and paddleseg/models/fcn.py (FCN, FCNHead), with the module attribute
names PaddleSeg gives (conv_layer1_1, la1.bb_layer2_1, tr1.transition_tr1_layer_2, st2.stage_st2_1.branches_func…,
fuse_func.residual_st2_1_layer_1_2, se.squeeze …) and PyTorch's leaf names; PaddleSeg's ConvBN/ConvBNReLU children
_conv/_batch_norm are called conv/bn here, as SharpSeg names them. Paddle's padding='same' (TensorFlow's SAME: for a
3x3/2 convolution of an even size the one padding row goes below, none above) is written out as an explicit F.pad.

Writes:
  Golden/Backbones/keys/hrnet_*.txt      "# parameters N" and "key shape" lines of every registered variant (headless:
                                          PaddleSeg's HRNet has no classifier)
  Golden/Backbones/keys/hrnet_w18_small_v1.paddle.txt  the same in PaddleSeg's own names (_conv, _batch_norm, _mean,
                                          _variance; no num_batches_tracked), as a converted .pdparams has them
  Golden/HRNet/hrnet_tiny_se.paddle.txt   PaddleSeg names of the tiny squeeze-excitation backbone (Linear weights [in, out])
  Golden/HRNet/hrnet_w18_small_v1_branch{1..4}.npy   the four stage-4 branches of HRNet_W18_Small_V1 at 1x3x37x45
  Golden/HRNet/<case>.safetensors + <case>_keys.txt  logits of FCN(HRNet) models, with SharpSeg's SegmentationModel
                                          size handling reproduced (pad right/bottom to a multiple of 32, resize the
                                          logits to the padded size, crop)
Every state-dict tensor is filled by fill_one (tools/gen_models_golden_backbones.py), the models run in float64 in eval
mode on formula_input.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_models_golden_backbones import fill_one, formula_input

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Models.Tests", "Golden")
KEYS = os.path.join(ROOT, "Backbones", "keys")
OUT = os.path.join(ROOT, "HRNet")


def same_pads(n, k, s):
    """Paddle's padding='same' along one axis of size n: (before, after)."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class ConvBN(nn.Module):
    """PaddleSeg layers.ConvBN / ConvBNReLU with padding='same' (bias only where asked: bias_attr=False elsewhere)."""

    def __init__(self, cin, cout, k, stride=1, relu=True, bias=False):
        super().__init__()
        self.k, self.stride, self.relu = k, stride, relu
        self.conv = nn.Conv2d(cin, cout, k, stride, 0, bias=bias)
        self.bn = nn.BatchNorm2d(cout)  # Paddle BatchNorm2D(momentum=0.9, epsilon=1e-5) == torch's defaults

    def forward(self, x):
        top, bottom = same_pads(x.shape[2], self.k, self.stride)
        left, right = same_pads(x.shape[3], self.k, self.stride)
        y = self.bn(self.conv(F.pad(x, [left, right, top, bottom])))
        return F.relu(y) if self.relu else y


class SELayer(nn.Module):
    def __init__(self, channels, reduction_ratio=16):
        super().__init__()
        med = int(channels / reduction_ratio)
        self.squeeze = nn.Linear(channels, med)
        self.excitation = nn.Linear(med, channels)

    def forward(self, x):
        pool = x.mean((2, 3))
        e = torch.sigmoid(self.excitation(F.relu(self.squeeze(pool))))
        return x * e.reshape(x.shape[0], x.shape[1], 1, 1)


class BottleneckBlock(nn.Module):
    def __init__(self, cin, filters, has_se, downsample):
        super().__init__()
        self.has_se, self.downsample = has_se, downsample
        self.conv1 = ConvBN(cin, filters, 1)
        self.conv2 = ConvBN(filters, filters, 3)
        self.conv3 = ConvBN(filters, filters * 4, 1, relu=False)
        if downsample:
            self.conv_down = ConvBN(cin, filters * 4, 1, relu=False)
        if has_se:
            self.se = SELayer(filters * 4)

    def forward(self, x):
        y = self.conv3(self.conv2(self.conv1(x)))
        residual = self.conv_down(x) if self.downsample else x
        if self.has_se:
            y = self.se(y)
        return F.relu(y + residual)


class BasicBlock(nn.Module):
    def __init__(self, cin, filters, has_se):
        super().__init__()
        self.has_se = has_se
        self.conv1 = ConvBN(cin, filters, 3)
        self.conv2 = ConvBN(filters, filters, 3, relu=False)
        if has_se:
            self.se = SELayer(filters)

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        if self.has_se:
            y = self.se(y)
        return F.relu(y + x)


class Layer1(nn.Module):
    def __init__(self, cin, filters, blocks, has_se, name):
        super().__init__()
        self.blocks = []
        for i in range(blocks):
            block = BottleneckBlock(cin if i == 0 else filters * 4, filters, has_se, downsample=i == 0)
            self.add_module(f"bb_{name}_{i + 1}", block)
            self.blocks.append(block)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class TransitionLayer(nn.Module):
    def __init__(self, cins, couts, name):
        super().__init__()
        self.funcs = []
        for i, cout in enumerate(couts):
            func = None
            if i < len(cins):
                if cins[i] != cout:
                    func = ConvBN(cins[i], cout, 3)
            else:
                func = ConvBN(cins[-1], cout, 3, stride=2)
            if func is not None:
                self.add_module(f"transition_{name}_layer_{i + 1}", func)
            self.funcs.append(func)

    def forward(self, xs):
        outs = []
        for i, func in enumerate(self.funcs):
            if func is None:
                outs.append(xs[i])
            else:
                outs.append(func(xs[i] if i < len(xs) else xs[-1]))
        return outs


class Branches(nn.Module):
    def __init__(self, blocks, channels, has_se, name):
        super().__init__()
        self.lists = []
        for i, c in enumerate(channels):
            lst = []
            for j in range(blocks[i]):
                block = BasicBlock(c, c, has_se)
                self.add_module(f"bb_{name}_branch_layer_{i + 1}_{j + 1}", block)
                lst.append(block)
            self.lists.append(lst)

    def forward(self, xs):
        outs = []
        for x, lst in zip(xs, self.lists):
            for block in lst:
                x = block(x)
            outs.append(x)
        return outs


class FuseLayers(nn.Module):
    def __init__(self, channels, name, align_corners):
        super().__init__()
        self.channels, self.align_corners = channels, align_corners
        self.funcs = []
        for i in range(len(channels)):
            for j in range(len(channels)):
                if j > i:
                    func = ConvBN(channels[j], channels[i], 1, relu=False)
                    self.add_module(f"residual_{name}_layer_{i + 1}_{j + 1}", func)
                    self.funcs.append(func)
                elif j < i:
                    pre = channels[j]
                    for k in range(i - j):
                        last = k == i - j - 1
                        out = channels[i] if last else channels[j]
                        func = ConvBN(pre, out, 3, stride=2, relu=not last)
                        self.add_module(f"residual_{name}_layer_{i + 1}_{j + 1}_{k + 1}", func)
                        self.funcs.append(func)
                        pre = out

    def forward(self, xs):
        outs, idx = [], 0
        for i in range(len(self.channels)):
            residual = xs[i]
            for j in range(len(self.channels)):
                if j > i:
                    y = self.funcs[idx](xs[j])
                    idx += 1
                    residual = residual + F.interpolate(y, residual.shape[-2:], mode="bilinear", align_corners=self.align_corners)
                elif j < i:
                    y = xs[j]
                    for _ in range(i - j):
                        y = self.funcs[idx](y)
                        idx += 1
                    residual = residual + y
            outs.append(F.relu(residual))
        return outs


class HighResolutionModule(nn.Module):
    def __init__(self, channels, blocks, has_se, name, align_corners):
        super().__init__()
        self.branches_func = Branches(blocks, channels, has_se, name)
        self.fuse_func = FuseLayers(channels, name, align_corners)

    def forward(self, xs):
        return self.fuse_func(self.branches_func(xs))


class Stage(nn.Module):
    def __init__(self, channels, modules, blocks, has_se, name, align_corners):
        super().__init__()
        self.mods = []
        for i in range(modules):
            m = HighResolutionModule(channels, blocks, has_se, f"{name}_{i + 1}", align_corners)
            self.add_module(f"stage_{name}_{i + 1}", m)
            self.mods.append(m)

    def forward(self, xs):
        for m in self.mods:
            xs = m(xs)
        return xs


class HRNet(nn.Module):
    def __init__(self, cfg, in_channels=3, has_se=False, align_corners=False):
        super().__init__()
        (b1, c1), (m2, b2, c2), (m3, b3, c3), (m4, b4, c4) = cfg
        self.align_corners = align_corners
        self.feat_channels = [sum(c4)]
        self.conv_layer1_1 = ConvBN(in_channels, 64, 3, stride=2)
        self.conv_layer1_2 = ConvBN(64, 64, 3, stride=2)
        self.la1 = Layer1(64, c1, b1, has_se, "layer2")
        self.tr1 = TransitionLayer([c1 * 4], c2, "tr1")
        self.st2 = Stage(c2, m2, b2, has_se, "st2", align_corners)
        self.tr2 = TransitionLayer(c2, c3, "tr2")
        self.st3 = Stage(c3, m3, b3, has_se, "st3", align_corners)
        self.tr3 = TransitionLayer(c3, c4, "tr3")
        self.st4 = Stage(c4, m4, b4, has_se, "st4", align_corners)

    def branches(self, x):
        x = self.la1(self.conv_layer1_2(self.conv_layer1_1(x)))
        return self.st4(self.tr3(self.st3(self.tr2(self.st2(self.tr1([x]))))))

    def forward(self, x):
        st4 = self.branches(x)
        size = st4[0].shape[2:]
        ups = [F.interpolate(t, size, mode="bilinear", align_corners=self.align_corners) for t in st4[1:]]
        return [torch.cat([st4[0]] + ups, 1)]


class FCNHead(nn.Module):
    def __init__(self, num_classes, channels):
        super().__init__()
        self.conv_1 = ConvBN(channels, channels, 1, bias=True)
        self.cls = nn.Conv2d(channels, num_classes, 1)

    def forward(self, feats):
        return [self.cls(self.conv_1(feats[-1]))]


class FCN(nn.Module):
    size_divisor = 32

    def __init__(self, num_classes, backbone, align_corners=False):
        super().__init__()
        self.backbone = backbone
        self.head = FCNHead(num_classes, backbone.feat_channels[0])
        self.align_corners = align_corners

    def forward_logits(self, x):
        return self.head(self.backbone(x))


# (stage-1 blocks, channels), then (modules, blocks, channels) of stages 2-4: PaddleSeg's HRNet_W* factories.
def standard(w):
    return (4, 64), (1, [4, 4], [w, 2 * w]), (4, [4, 4, 4], [w, 2 * w, 4 * w]), (3, [4] * 4, [w, 2 * w, 4 * w, 8 * w])


CONFIGS = {
    "hrnet_w18_small_v1": ((1, 32), (1, [2, 2], [16, 32]), (1, [2, 2, 2], [16, 32, 64]), (1, [2] * 4, [16, 32, 64, 128])),
    "hrnet_w18_small_v2": ((2, 64), (1, [2, 2], [18, 36]), (3, [2, 2, 2], [18, 36, 72]), (2, [2] * 4, [18, 36, 72, 144])),
    **{f"hrnet_w{w}": standard(w) for w in (18, 30, 32, 40, 44, 48, 60, 64)},
}

# Small custom configurations: two modules in stages 2 and 3, one and two blocks per branch; every SE layer needs
# channels >= 16 (PaddleSeg's int(channels / 16) squeezed units).
TINY = ((1, 16), (2, [1, 2], [16, 32]), (2, [1, 1, 1], [16, 16, 32]), (1, [1, 1, 1, 2], [16, 16, 32, 32]))


def parameters(model):
    return sum(p.numel() for p in model.parameters())


def write_keys(path, state_dict, params):
    with open(path, "w") as f:
        f.write(f"# parameters {params}\n")
        for key, t in state_dict.items():
            f.write(f"{key} {'x'.join(str(d) for d in t.shape) or 'scalar'}\n")


def paddle_state_dict(model):
    """The names a PaddleSeg .pdparams gives the same tensors (Linear weights stored [in, out])."""
    out = {}
    for key, t in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        parts = key.split(".")
        parts = ["_conv" if p == "conv" else "_batch_norm" if p == "bn" else p for p in parts]
        leaf = {"running_mean": "_mean", "running_var": "_variance"}.get(parts[-1], parts[-1])
        is_linear = parts[-2] in ("squeeze", "excitation") and leaf == "weight"
        out[".".join(parts[:-1] + [leaf])] = t.t() if is_linear else t
    return out


def fill(model):
    with torch.no_grad():
        for k, (key, t) in enumerate(model.state_dict().items()):
            fill_one(key, k, t)
    return model.double().eval()


def forward_any_size(model, x):
    """The C# SegmentationModel.Forward: pad to the size divisor, run, resize to the padded size, crop."""
    h, w = x.shape[2:]
    d = model.size_divisor
    padded = F.pad(x, [0, (d - w % d) % d, 0, (d - h % d) % d])
    out = []
    for logit in model.forward_logits(padded):
        if logit.shape[2:] != padded.shape[2:]:
            logit = F.interpolate(logit, padded.shape[2:], mode="bilinear", align_corners=model.align_corners)
        out.append(logit[:, :, :h, :w])
    return out


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().float().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


def write_model_case(name, model, sizes, in_channels=3):
    fill(model)
    tensors = {}
    for h, w in sizes:
        for j, logit in enumerate(forward_any_size(model, formula_input(1, in_channels, h, w))):
            tensors[f"logits{j}_{h}x{w}"] = logit
    save_safetensors(os.path.join(OUT, name + ".safetensors"), tensors)
    with open(os.path.join(OUT, name + "_keys.txt"), "w") as f:
        for key, t in model.state_dict().items():
            f.write(f"{key} {','.join(str(s) for s in t.shape)}\n")
    print(name, {k: tuple(v.shape) for k, v in tensors.items()}, "max|logit|", max(float(v.abs().max()) for v in tensors.values()))


def main():
    torch.set_grad_enabled(False)
    os.makedirs(KEYS, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)

    for name, cfg in CONFIGS.items():
        backbone = HRNet(cfg)
        write_keys(os.path.join(KEYS, name + ".txt"), backbone.state_dict(), parameters(backbone))
        if name == "hrnet_w18_small_v1":
            write_keys(os.path.join(KEYS, name + ".paddle.txt"), paddle_state_dict(backbone), parameters(backbone))
        print(f"{name}: backbone {parameters(backbone):,}  hrnet model (19 classes) {parameters(FCN(19, HRNet(cfg))):,}")
    tiny_se = HRNet(TINY, has_se=True)
    write_keys(os.path.join(OUT, "hrnet_tiny_se.paddle.txt"), paddle_state_dict(tiny_se), parameters(tiny_se))

    backbone = fill(HRNet(CONFIGS["hrnet_w18_small_v1"]))
    for i, t in enumerate(backbone.branches(formula_input(1, 3, 37, 45))):
        np.save(os.path.join(OUT, f"hrnet_w18_small_v1_branch{i + 1}.npy"), t.float().numpy())
        print(f"branch{i + 1}", tuple(t.shape), "max|x|", float(t.abs().max()))

    write_model_case("hrnet_w18_small_v1_fcn", FCN(3, HRNet(CONFIGS["hrnet_w18_small_v1"])), [(37, 45)])
    write_model_case("hrnet_tiny_se_fcn", FCN(3, HRNet(TINY, has_se=True)), [(37, 45), (64, 32)])
    write_model_case("hrnet_tiny_aligned_fcn", FCN(2, HRNet(TINY, in_channels=4, align_corners=True), align_corners=True),
                     [(37, 45), (64, 32)], in_channels=4)


if __name__ == "__main__":
    main()
