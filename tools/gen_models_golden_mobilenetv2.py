#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Models' MobileNetV2 (tests/SharpSeg.Models.Tests/MobileNetV2).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/gen_models_golden_mobilenetv2.py
Writes
  tests/SharpSeg.Models.Tests/Golden/Backbones/keys/mobilenetv2_x<w>.txt
      torchvision mobilenet_v2(width_mult=w)'s state-dict "key shape" lines, "# parameters N" of the whole classifier
      and "# classifier features.18. classifier." (what the registered, headless backbone leaves out)
  tests/SharpSeg.Models.Tests/Golden/MobileNetV2/<case>_<module>.npy and mobilenetv2_x1.0_logits.npy
      float32 outputs of torchvision's own model, every state-dict tensor filled by the formula of
      tools/gen_models_golden_backbones.py (fill_one, twin of tests/SharpSeg.Models.Tests/Support/FormulaWeights.cs),
      run in eval mode in float64 on that script's formula input.

Output stride 16 and 8: torchvision has no dilated MobileNetV2, so dilate_mobilenet_v2 edits torchvision's model in place
the way TF DeepLab's slim mobilenet (output_stride / rate) and timm's EfficientNetBuilder(output_stride) build it: once
the running stride has reached the output stride, a depthwise convolution that would stride runs at stride 1 with the
current rate, and the rate is multiplied by that stride for every later block. Shortcuts stay as torchvision built them.
"""
import os

import numpy as np
import torch
from torchvision.models import mobilenet_v2

from gen_models_golden_backbones import fill_one, formula_input, write_keys

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Models.Tests", "Golden")
OUT = os.path.join(ROOT, "MobileNetV2")
KEYS = os.path.join(ROOT, "Backbones", "keys")

WIDTHS = {"0.25": 0.25, "0.5": 0.5, "1.0": 1.0, "1.5": 1.5, "2.0": 2.0}
FEATURES = [3, 6, 13, 17]  # last block at reductions 4, 8, 16, 32
CLASSIFIER = ["features.18.", "classifier."]


def formula_model(width):
    model = mobilenet_v2(width_mult=width)
    with torch.no_grad():
        for k, (key, t) in enumerate(model.state_dict().items()):
            fill_one(key, k, t)
    return model.double().eval()


def depthwise(block):
    return next(m for m in block.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1)


def dilate_mobilenet_v2(model, output_stride):
    current_stride, rate = 2, 1
    for block in list(model.features)[1:18]:
        conv = depthwise(block)
        stride = conv.stride[0]
        if current_stride == output_stride:
            layer_stride, layer_rate = 1, rate
            rate *= stride
        else:
            layer_stride, layer_rate = stride, 1
            current_stride *= stride
        conv.stride, conv.dilation, conv.padding = (layer_stride,) * 2, (layer_rate,) * 2, (layer_rate,) * 2


def features(model, x):
    out = []
    for i, layer in enumerate(model.features[:18]):
        x = layer(x)
        if i in FEATURES:
            out.append(x)
    return out


def save(name, tensor):
    np.save(os.path.join(OUT, name + ".npy"), tensor.detach().float().numpy())


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)

    for name, width in WIDTHS.items():
        model = mobilenet_v2(width_mult=width)
        parameters = sum(p.numel() for p in model.parameters())
        headless = sum(p.numel() for k, p in model.named_parameters() if not any(k.startswith(c) for c in CLASSIFIER))
        path = f"mobilenetv2_x{name}"
        write_keys(path, model.state_dict(), parameters)
        with open(os.path.join(KEYS, path + ".txt")) as f:
            lines = f.readlines()
        lines.insert(1, "# classifier " + " ".join(CLASSIFIER) + "\n")
        with open(os.path.join(KEYS, path + ".txt"), "w") as f:
            f.writelines(lines)
        print(path, "parameters", parameters, "headless", headless)

    model = formula_model(1.0)
    with torch.no_grad():
        save("mobilenetv2_x1.0_logits", model(formula_input(1, 3, 32, 32)))

    # Odd sizes: every stride-2 3x3 convolution (padding 1) maps n to ceil(n / 2).
    for name, os_, shape in [("1.0", 32, (1, 3, 37, 29)), ("0.5", 16, (1, 3, 35, 27)), ("0.25", 8, (1, 3, 33, 26))]:
        model = formula_model(WIDTHS[name])
        if os_ != 32:
            dilate_mobilenet_v2(model, os_)
        with torch.no_grad():
            for index, f in zip(FEATURES, features(model, formula_input(*shape))):
                save(f"mobilenetv2_x{name}_os{os_}_features.{index}", f)
                print(f"mobilenetv2_x{name}_os{os_} features.{index}", tuple(f.shape), float(f.abs().max()))


if __name__ == "__main__":
    main()
