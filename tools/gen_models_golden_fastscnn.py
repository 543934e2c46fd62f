#!/usr/bin/env python3
"""Golden fixtures for SharpSeg.Models' Fast-SCNN (tests/SharpSeg.Models.Tests/Golden/FastScnn/).

Run once with PyTorch 1.13 (Debian's python3-torch): /usr/bin/python3 tools/gen_models_golden_fastscnn.py
CI never runs this; the outputs are committed.

FastScnn below is a PyTorch twin of src/SharpSeg.Models/Segmentation/FastScnn.cs with the same state-dict keys: the
network of PaddleSeg 2.x's paddleseg/models/fast_scnn.py (module paths as PaddleSeg names them, its ConvBNReLU/ConvBN
written as conv/bn children, Paddle's default conv biases kept, Paddle's padding='same' of the first stride-2
convolution reproduced), plus the auxiliary heads of PaddleX 1.x's paddlex/cv/nets/segmentation/fast_scnn.py
(aux_layer_higher on the learning-to-downsample output, aux_layer_lower on the global feature extractor output).
Every state-dict tensor is filled by fill_one of tools/gen_models_golden_backbones.py (twin of
tests/SharpSeg.Models.Tests/Support/FormulaWeights.cs); the model runs in float64 in eval mode on the formula input,
with the C# SegmentationModel's size handling reproduced (pad right/bottom to a multiple of 32, run, resize the logits
bilinearly to the padded size, crop). Each fixture holds logits{j}_{h}x{w} (float32) for every output j; beside it,
<name>_keys.txt lists the twin's state-dict keys and shapes. Also prints the parameter count for 19 classes.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_models_golden_segmentation import fill_formula, forward_any_size, save_safetensors
from gen_models_golden_backbones import formula_input

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Models.Tests", "Golden", "FastScnn")


class ConvBnAct(nn.Module):
    """PaddleSeg's ConvBNReLU (act=True) / ConvBN (act=False); Paddle's Conv2D has a bias unless bias_attr=False."""

    def __init__(self, cin, cout, k, stride=1, padding=None, groups=1, bias=True, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 if padding is None else padding, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(cout)  # Paddle BatchNorm2D: epsilon 1e-5, momentum 0.9 == torch momentum 0.1
        self.act = act

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.relu(y) if self.act else y


def paddle_same_pad(x, k, s):
    """Paddle's padding='same': out = ceil(n / s), the total padding split with the odd pixel after (TensorFlow's SAME)."""
    pads = []
    for n in (x.shape[3], x.shape[2]):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class SeparableConvBNReLU(nn.Module):
    """PaddleSeg's SeparableConvBNReLU: a linear depthwise ConvBN, then a 1x1 ConvBNReLU (both with Paddle's default bias)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.depthwise_conv = ConvBnAct(cin, cin, 3, stride, 1, groups=cin, act=False)
        self.piontwise_conv = ConvBnAct(cin, cout, 1)

    def forward(self, x):
        return self.piontwise_conv(self.depthwise_conv(x))


class LearningToDownsample(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.conv_bn_relu = ConvBnAct(in_channels, 32, 3, 2, padding=0)
        self.dsconv_bn_relu1 = SeparableConvBNReLU(32, 48, 2)
        self.dsconv_bn_relu2 = SeparableConvBNReLU(48, 64, 2)

    def forward(self, x):
        return self.dsconv_bn_relu2(self.dsconv_bn_relu1(self.conv_bn_relu(paddle_same_pad(x, 3, 2))))


class InvertedBottleneck(nn.Module):
    def __init__(self, cin, cout, expansion, stride):
        super().__init__()
        self.use_shortcut = stride == 1 and cin == cout
        e = cin * expansion
        self.block = nn.Sequential(ConvBnAct(cin, e, 1, bias=False),
                                   ConvBnAct(e, e, 3, stride, 1, groups=e, bias=False),
                                   ConvBnAct(e, cout, 1, bias=False, act=False))

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_shortcut else y


class PPModule(nn.Module):
    def __init__(self, cin, cout, bin_sizes, align_corners):
        super().__init__()
        inter = cin // len(bin_sizes)
        self.stages = nn.ModuleList([nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvBnAct(cin, inter, 1)) for s in bin_sizes])
        self.conv_bn_relu2 = ConvBnAct(cin + inter * len(bin_sizes), cout, 3, padding=1)
        self.align_corners = align_corners

    def forward(self, x):
        ups = [F.interpolate(stage(x), x.shape[2:], mode="bilinear", align_corners=self.align_corners) for stage in self.stages]
        return self.conv_bn_relu2(torch.cat([x] + ups[::-1], 1))


class GlobalFeatureExtractor(nn.Module):
    def __init__(self):
        super().__init__()
        channels, cin = [64, 96, 128], 64
        for i, (c, s) in enumerate(zip(channels, [2, 2, 1])):
            setattr(self, f"bottleneck{i + 1}",
                    nn.Sequential(InvertedBottleneck(cin, c, 6, s), InvertedBottleneck(c, c, 6, 1), InvertedBottleneck(c, c, 6, 1)))
            cin = c
        # PaddleSeg passes align_corners=True here whatever the model's option.
        self.ppm = PPModule(128, 128, (1, 2, 3, 6), align_corners=True)

    def forward(self, x):
        return self.ppm(self.bottleneck3(self.bottleneck2(self.bottleneck1(x))))


class FeatureFusionModule(nn.Module):
    def __init__(self, align_corners):
        super().__init__()
        self.dwconv = ConvBnAct(128, 128, 3, padding=1, groups=128, bias=False)
        self.conv_low_res = ConvBnAct(128, 128, 1, act=False)
        self.conv_high_res = ConvBnAct(64, 128, 1, act=False)
        self.align_corners = align_corners

    def forward(self, high, low):
        low = F.interpolate(low, high.shape[2:], mode="bilinear", align_corners=self.align_corners)
        low = self.conv_low_res(self.dwconv(low))
        return F.relu(self.conv_high_res(high) + low)


class Classifier(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.dsconv1 = SeparableConvBNReLU(128, 128)
        self.dsconv2 = SeparableConvBNReLU(128, 128)
        self.conv = nn.Conv2d(128, num_classes, 1)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        return self.conv(self.dropout(self.dsconv2(self.dsconv1(x))))


class AuxLayer(nn.Module):
    """PaddleX 1.x's _aux_layer: 3x3 conv to 32 (no bias), BN, ReLU, channel dropout 0.1, 1x1 conv with bias."""

    def __init__(self, cin, num_classes):
        super().__init__()
        self.conv_bn_relu = ConvBnAct(cin, 32, 3, padding=1, bias=False)
        self.dropout = nn.Dropout2d(0.1)
        self.conv = nn.Conv2d(32, num_classes, 1)

    def forward(self, x):
        return self.conv(self.dropout(self.conv_bn_relu(x)))


class FastScnn(nn.Module):
    size_divisor = 32

    def __init__(self, num_classes, in_channels=3, align_corners=False, outputs=1):
        super().__init__()
        self.learning_to_downsample = LearningToDownsample(in_channels)
        self.global_feature_extractor = GlobalFeatureExtractor()
        self.feature_fusion = FeatureFusionModule(align_corners)
        self.classifier = Classifier(num_classes)
        self.outputs = outputs
        if outputs >= 2:
            self.aux_layer_higher = AuxLayer(64, num_classes)
        if outputs >= 3:
            self.aux_layer_lower = AuxLayer(128, num_classes)

    def forward_logits(self, x):
        higher = self.learning_to_downsample(x)
        lower = self.global_feature_extractor(higher)
        logits = [self.classifier(self.feature_fusion(higher, lower))]
        if self.outputs >= 2:
            logits.append(self.aux_layer_higher(higher))
        if self.outputs >= 3:
            logits.append(self.aux_layer_lower(lower))
        return logits


def write_case(name, model, sizes, in_channels, align_corners):
    fill_formula(model)
    model.double().eval()
    tensors = {}
    with torch.no_grad():
        for h, w in sizes:
            for j, logit in enumerate(forward_any_size(model, formula_input(1, in_channels, h, w), align_corners)):
                tensors[f"logits{j}_{h}x{w}"] = logit
    os.makedirs(OUT, exist_ok=True)
    save_safetensors(os.path.join(OUT, name + ".safetensors"), tensors)
    with open(os.path.join(OUT, name + "_keys.txt"), "w") as f:
        for key, t in model.state_dict().items():
            f.write(f"{key} {','.join(str(s) for s in t.shape)}\n")
    print(name, {k: tuple(v.shape) for k, v in tensors.items()}, "max|logit|", max(float(v.abs().max()) for v in tensors.values()))


def main():
    torch.set_grad_enabled(False)
    write_case("fastscnn", FastScnn(3), [(70, 54)], 3, align_corners=False)
    write_case("fastscnn_3outputs_aligned", FastScnn(3, in_channels=4, align_corners=True, outputs=3), [(70, 54)], 4, align_corners=True)
    for outputs in (1, 3):
        print(f"parameters, 19 classes, {outputs} output(s):", sum(p.numel() for p in FastScnn(19, outputs=outputs).parameters()))


if __name__ == "__main__":
    main()
