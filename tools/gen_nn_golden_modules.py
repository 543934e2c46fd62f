#!/usr/bin/env python3
"""Golden fixtures for SharpSeg.Nn modules, layers and safetensors (tests/SharpSeg.Nn.Tests/Golden/).

Run once with PyTorch 1.13 (Debian's python3-torch): /usr/bin/python3 tools/gen_nn_golden_modules.py
CI never runs this; the outputs are committed. torch 1.13 has no safetensors package, so the files are written
here with struct/json exactly as the format specifies (8-byte little-endian header length, JSON header padded with
spaces to a multiple of 8, raw little-endian data with offsets relative to the data start).
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Nn.Tests", "Golden")


def raw(dtype, shape, data):
    return (dtype, list(shape), data)


def f32(t):
    t = t.detach().contiguous()
    return raw("F32", t.shape, t.numpy().astype("<f4").tobytes())


def i64(t):
    t = t.detach().contiguous()
    return raw("I64", t.shape, t.numpy().astype("<i8").tobytes())


def from_torch(t):
    return i64(t) if t.dtype == torch.int64 else f32(t)


def save_safetensors(path, entries, metadata=None, data_order=None):
    """entries: list of (name, (dtype, shape, bytes)); data_order: names in the order their bytes are laid out."""
    order = data_order or [name for name, _ in entries]
    by_name = dict(entries)
    offsets, offset = {}, 0
    for name in order:
        size = len(by_name[name][2])
        offsets[name] = (offset, offset + size)
        offset += size
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, _) in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in order:
            f.write(by_name[name][2])


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class TinyResNet(nn.Module):
    """torchvision resnet naming at toy width, with a Sequential head that has parameterless members."""

    def __init__(self, num_classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8))
        down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2, down), BasicBlock(16, 16))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, num_classes))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.classifier(self.avgpool(x))


def keys_file(path, module):
    with open(path, "w") as f:
        for k, v in module.state_dict().items():
            f.write(f"{k} {','.join(str(d) for d in v.shape)}\n")


def tiny_resnet():
    torch.manual_seed(0)
    model = TinyResNet()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
    model.train()
    for _ in range(2):
        model(torch.randn(4, 3, 32, 32) * 1.5 + 0.3)
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = model(x)
    sd = model.state_dict()
    save_safetensors(os.path.join(OUT, "tiny_resnet.safetensors"), [(k, from_torch(v)) for k, v in sd.items()],
                     metadata={"format": "pt", "source": "tools/gen_nn_golden_modules.py"})
    save_safetensors(os.path.join(OUT, "tiny_resnet_io.safetensors"), [("input", f32(x)), ("output", f32(y))])
    keys_file(os.path.join(OUT, "tiny_resnet_keys.txt"), model)
    seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4), nn.Dropout(), nn.MaxPool2d(2),
                        nn.Sequential(nn.Identity(), nn.Linear(4, 2)))
    keys_file(os.path.join(OUT, "sequential_keys.txt"), seq)


def batchnorm():
    torch.manual_seed(1)
    bn = nn.BatchNorm2d(3)
    cumulative = nn.BatchNorm2d(3, momentum=None)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
        bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    scale = torch.tensor([1.0, 3.0, 0.5]).view(1, 3, 1, 1)
    shift = torch.tensor([2.0, -1.0, 0.0]).view(1, 3, 1, 1)
    inputs = [torch.randn(4, 3, 5, 6) * scale + shift for _ in range(3)]
    bn.train()
    cumulative.train()
    outputs = [bn(x) for x in inputs]
    for x in inputs:
        cumulative(x)
    bn.eval()
    x_eval = torch.randn(2, 3, 4, 4) * scale + shift
    with torch.no_grad():
        y_eval = bn(x_eval)
    entries = [(f"x{i}", f32(x)) for i, x in enumerate(inputs)]
    entries += [("y2", f32(outputs[2])), ("x_eval", f32(x_eval)), ("y_eval", f32(y_eval))]
    entries += [(f"bn.{k}", from_torch(v)) for k, v in bn.state_dict().items()]
    entries += [(f"cumulative.{k}", from_torch(v)) for k, v in cumulative.state_dict().items()]
    save_safetensors(os.path.join(OUT, "batchnorm.safetensors"), entries)


def layers():
    torch.manual_seed(2)
    x = torch.randn(2, 4, 7, 9) * 4
    entries = [("x", f32(x))]
    activations = {
        "relu": nn.ReLU(), "relu6": nn.ReLU6(), "leaky_relu": nn.LeakyReLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(),
        "hardsigmoid": nn.Hardsigmoid(), "hardswish": nn.Hardswish(), "gelu": nn.GELU(), "silu": nn.SiLU(),
        "flatten": nn.Flatten(), "maxpool_k2": nn.MaxPool2d(2), "maxpool_k3s2p1_ceil": nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        "avgpool_k3s2p1": nn.AvgPool2d(3, 2, 1), "avgpool_k2_nopad_count": nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        "adaptive_2x3": nn.AdaptiveAvgPool2d((2, 3)), "upsample_nearest_x2": nn.Upsample(scale_factor=2),
        "upsample_bilinear_9x11": nn.Upsample(size=(9, 11), mode="bilinear", align_corners=False),
        "upsample_bilinear_ac": nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
    }
    with torch.no_grad():
        for name, m in activations.items():
            entries.append((name, f32(m(x))))
        conv = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)
        deconv = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        linear = nn.Linear(9, 3)
        for prefix, m in [("conv", conv), ("deconv", deconv), ("linear", linear)]:
            entries += [(f"{prefix}.{k}", f32(v)) for k, v in m.state_dict().items()]
            entries.append((f"{prefix}.out", f32(m(x))))
    save_safetensors(os.path.join(OUT, "layers.safetensors"), entries)


def dtypes():
    """Every dtype the reader converts, with values the test states literally; data laid out in reverse header order."""
    bf16 = torch.tensor([1.0, -3.5, 2.0 ** 100, 0.15625, float("-inf")], dtype=torch.bfloat16)
    entries = [
        ("f32", raw("F32", [2, 2], np.array([1, 2, 3, 4], "<f4").tobytes())),
        ("f16", raw("F16", [2, 3], np.array([1.5, -2.0, 65504.0, 2.0 ** -24, -0.0, np.inf], "<f2").tobytes())),
        ("bf16", raw("BF16", [5], bf16.view(torch.int16).numpy().astype("<i2").tobytes())),
        ("f64", raw("F64", [4], np.array([0.1, 1e-50, -123.25, 1e300], "<f8").tobytes())),
        ("i64", raw("I64", [3], np.array([2 ** 62, -1, 3], "<i8").tobytes())),
        ("i64_scalar", raw("I64", [], np.array([42], "<i8").tobytes())),
        ("i32", raw("I32", [4], np.array([-2 ** 31, 2 ** 31 - 1, 0, -5], "<i4").tobytes())),
        ("i16", raw("I16", [3], np.array([-32768, 32767, 7], "<i2").tobytes())),
        ("i8", raw("I8", [3], np.array([-128, 127, -1], "i1").tobytes())),
        ("u8", raw("U8", [3], np.array([0, 255, 128], "u1").tobytes())),
        ("bool", raw("BOOL", [3], np.array([True, False, True], np.bool_).tobytes())),
        ("empty", raw("F32", [0, 3], b"")),
    ]
    order = [name for name, _ in reversed(entries)]
    save_safetensors(os.path.join(OUT, "dtypes.safetensors"), entries, metadata={"note": "dtype fixture"}, data_order=order)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    tiny_resnet()
    batchnorm()
    layers()
    dtypes()
    print("wrote", sorted(os.listdir(OUT)))
