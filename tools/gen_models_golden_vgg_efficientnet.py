#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Models' VGG and EfficientNet backbones (tests/SharpSeg.Models.Tests/Vgg, .../EfficientNet).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/gen_models_golden_vgg_efficientnet.py
Writes
  tests/SharpSeg.Models.Tests/Golden/Backbones/keys/<name>.txt  for vgg11 ... vgg19_bn and efficientnet_b0 ... b7:
      "# parameters N" (the whole torchvision classifier, 1000 classes), "# classifier <prefixes>" (the reference keys the
      headless backbone drops), then the state-dict "key shape" lines of torchvision's model
  tests/SharpSeg.Models.Tests/Golden/Vgg/*.safetensors, .../Golden/EfficientNet/*.safetensors:
      float32 outputs of torchvision's own models whose every state-dict tensor is filled by the formula of
      tools/gen_models_golden_backbones.py (fill_one, twin of tests/SharpSeg.Models.Tests/Support/FormulaWeights.cs),
      run in eval mode in float64 on its formula input; no weights are committed.

Where SharpSeg's headless backbones differ from torchvision's forward, the reference model is changed here the same way
and nothing else:
  * VGG as a backbone rounds its max pools up (ceil_mode=True) so inputs under 32 pixels still have a reduction-32 map;
  * the VGG logits come from a classifier 64 wide instead of 4096 (SharpSeg's classifierWidth), same layers and keys;
  * EfficientNet at output stride 8/16 turns strides into dilations as timm's EfficientNetBuilder does: the first
    block of a stage whose stride would exceed the output stride keeps the previous dilation and stride 1, the following
    blocks use the dilation multiplied by that stride; every depthwise convolution pads dilation * (k - 1) / 2.
"""
import os

import torch
import torch.nn as nn
import torchvision

from gen_models_golden_backbones import fill_one, formula_input
from gen_models_golden_segmentation import save_safetensors

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Models.Tests", "Golden")
KEYS = os.path.join(ROOT, "Backbones", "keys")

VGG = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
EFFICIENTNET = [f"efficientnet_b{i}" for i in range(8)]
CLASSIFIER = {"vgg": "classifier.", "efficientnet": "features.8. classifier."}


def write_keys(name, model, classifier):
    os.makedirs(KEYS, exist_ok=True)
    with open(os.path.join(KEYS, name + ".txt"), "w") as f:
        f.write(f"# parameters {sum(p.numel() for p in model.parameters())}\n")
        f.write(f"# classifier {classifier}\n")
        for key, t in model.state_dict().items():
            f.write(f"{key} {'x'.join(str(d) for d in t.shape) or 'scalar'}\n")


def formula_fill(model):
    with torch.no_grad():
        for k, (key, t) in enumerate(model.state_dict().items()):
            fill_one(key, k, t)


def save(folder, name, tensors):
    os.makedirs(os.path.join(ROOT, folder), exist_ok=True)
    save_safetensors(os.path.join(ROOT, folder, name + ".safetensors"), tensors)


def vgg_features(model, x):
    """timm's VGG feature points: the activation before each max pool (reductions 1 ... 16) and the last pool's output."""
    feats = []
    layers = list(model.features)
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.MaxPool2d):
            feats.append(x)
        x = layer(x)
    feats.append(x)
    return feats


def dilate_efficientnet(model, output_stride):
    """timm's output_stride rule applied to torchvision's EfficientNet stages features.1 ... features.7."""
    stride, dilation = 2, 1
    for stage in list(model.features)[1:8]:
        for i, block in enumerate(stage):
            dw = block.block[1][0] if len(block.block) == 4 else block.block[0][0]
            next_dilation = dilation
            if dw.stride[0] > 1:
                if stride * dw.stride[0] > output_stride:
                    next_dilation = dilation * dw.stride[0]
                    dw.stride = (1, 1)
                else:
                    stride *= dw.stride[0]
            k = dw.kernel_size[0]
            dw.dilation = (dilation, dilation)
            dw.padding = (dilation * (k - 1) // 2,) * 2
            dilation = next_dilation


def efficientnet_features(model, x):
    """timm's EfficientNet feature points: the last block of each resolution (features.1, .2, .3, .5, .7)."""
    feats = []
    for i, layer in enumerate(list(model.features)[:8]):
        x = layer(x)
        if i in (1, 2, 3, 5, 7):
            feats.append(x)
    return feats


def main():
    torch.manual_seed(0)
    for name in VGG:
        model = getattr(torchvision.models, name)(init_weights=False)
        write_keys(name, model, CLASSIFIER["vgg"])
        print(name, sum(p.numel() for p in model.parameters()))
    for name in EFFICIENTNET:
        model = getattr(torchvision.models, name)()
        write_keys(name, model, CLASSIFIER["efficientnet"])
        print(name, sum(p.numel() for p in model.parameters()))

    # vgg11_bn classifier on 79x47: floor-mode pools on odd sizes leave a 2x1 map that the adaptive pool spreads to 7x7.
    # Its hidden linear layers are 64 wide instead of 4096 (SharpSeg's classifierWidth), so the C# test builds and fills
    # 1.7M classifier weights instead of 120M; the layers, keys and order are torchvision's.
    model = torchvision.models.vgg11_bn(num_classes=10, init_weights=False)
    model.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 64), nn.ReLU(True), nn.Dropout(), nn.Linear(64, 64), nn.ReLU(True),
                                     nn.Dropout(), nn.Linear(64, 10))
    formula_fill(model)
    model.double().eval()
    with torch.no_grad():
        x = formula_input(1, 3, 79, 47)
        save("Vgg", "vgg11_bn_logits", {"logits": model(x)})
        # The headless backbone: ceil-mode pools, so a 13x11 input reaches reduction 32.
        for m in model.features:
            if isinstance(m, nn.MaxPool2d):
                m.ceil_mode = True
        feats = vgg_features(model, formula_input(1, 3, 13, 11))
        save("Vgg", "vgg11_bn_features", {f"feature{i}": f for i, f in enumerate(feats)})

    model = torchvision.models.efficientnet_b0()
    formula_fill(model)
    model.double().eval()
    with torch.no_grad():
        x = formula_input(1, 3, 33, 31)
        save("EfficientNet", "efficientnet_b0_logits", {"logits": model(x)})
        save("EfficientNet", "efficientnet_b0_features", {f"feature{i}": f for i, f in enumerate(efficientnet_features(model, x))})
    for output_stride in (16, 8):
        model = torchvision.models.efficientnet_b0()
        dilate_efficientnet(model, output_stride)
        formula_fill(model)
        model.double().eval()
        with torch.no_grad():
            feats = efficientnet_features(model, formula_input(1, 3, 33, 31))
        save("EfficientNet", f"efficientnet_b0_os{output_stride}_features", {f"feature{i}": f for i, f in enumerate(feats)})

    # B5 has BatchNorm eps 1e-3 (torchvision 0.14); its features at a small size check the eps and the widths.
    model = torchvision.models.efficientnet_b5()
    formula_fill(model)
    model.double().eval()
    with torch.no_grad():
        feats = efficientnet_features(model, formula_input(1, 3, 17, 15))
    save("EfficientNet", "efficientnet_b5_features", {f"feature{i}": f for i, f in enumerate(feats)})


if __name__ == "__main__":
    main()
