#!/usr/bin/env python3
"""Golden fixtures for the segmentation models of SharpSeg.Models (tests/SharpSeg.Models.Tests/Golden/Segmentation/).

Run once with PyTorch 1.13 (Debian's python3-torch): /usr/bin/python3 tools/gen_models_golden_segmentation.py
CI never runs this; the outputs are committed.

The torch modules below are twins of the C# ones with the same state-dict keys; the ResNet_vd backbone is the
PaddleSeg translation of tools/gen_models_golden_backbones.py, its keys renamed to timm's as SharpSeg names them. No
weights are committed: every state-dict tensor is filled by the backbones script's formula (fill_one, twin of
tests/SharpSeg.Models.Tests/Support/FormulaWeights.cs) and the models run in float64 in eval mode on its formula input.
Each fixture holds the logits (float32) for inputs of one or two sizes, with the C# base class's size handling
reproduced: pad right/bottom with zeros to a multiple of the size divisor, run, resize the logits bilinearly to the
padded size, crop back to the input. Beside each fixture, <name>_keys.txt lists the twin's state-dict keys and shapes.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_models_golden_backbones import ResNet_vd, fill_one, formula_input, paddle_to_timm

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Models.Tests", "Golden", "Segmentation")


def save_safetensors(path, tensors):
    """tensors: dict name -> float32 torch tensor; written as the safetensors format specifies."""
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


def fill_formula(model, rename=lambda key: key):
    with torch.no_grad():
        for k, (key, t) in enumerate(model.state_dict().items()):
            fill_one(rename(key), k, t)


class ConvBnAct(nn.Module):
    def __init__(self, cin, cout, k, stride=1, dilation=1, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SeparableConv(nn.Module):
    def __init__(self, cin, cout, k=3, dilation=1):
        super().__init__()
        self.depthwise = ConvBnAct(cin, cin, k, dilation=dilation, groups=cin)
        self.pointwise = ConvBnAct(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class TinyBackbone(nn.Module):
    """Twin of tests/SharpSeg.Models.Tests/Segmentation/TinyBackbone.cs: features at reductions 4, 8, 16, 32 (capped by dilation)."""
    channels = [12, 16, 20, 24]

    def __init__(self, in_channels=3, output_stride=32):
        super().__init__()
        self.stem = ConvBnAct(in_channels, 8, 3, stride=2)
        strides, dilations, reduction, dilation = [], [], 2, 1
        for _ in range(4):
            if reduction < output_stride:
                reduction *= 2
                strides.append(2)
            else:
                dilation *= 2
                strides.append(1)
            dilations.append(dilation)
        cin = 8
        for idx, c in enumerate(self.channels):
            setattr(self, f"stage{idx + 1}", ConvBnAct(cin, c, 3, stride=strides[idx], dilation=dilations[idx]))
            cin = c

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for idx in range(4):
            x = getattr(self, f"stage{idx + 1}")(x)
            feats.append(x)
        return feats


class Aspp(nn.Module):
    def __init__(self, cin, cout, rates, separable, pool_window, align_corners):
        super().__init__()
        self.pool_window = pool_window
        self.align_corners = align_corners
        self.image_pool = ConvBnAct(cin, cout, 1)
        self.branches = nn.ModuleList([ConvBnAct(cin, cout, 1)] +
                                      [SeparableConv(cin, cout, 3, r) if separable else ConvBnAct(cin, cout, 3, dilation=r) for r in rates])
        self.project = ConvBnAct(cout * (len(rates) + 2), cout, 1)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        h, w = x.shape[2:]
        pooled = x.mean((2, 3), keepdim=True) if self.pool_window is None else F.avg_pool2d(x, self.pool_window, 1)
        pooled = F.interpolate(self.image_pool(pooled), (h, w), mode="bilinear", align_corners=self.align_corners)
        return self.dropout(self.project(torch.cat([pooled] + [b(x) for b in self.branches], 1)))


class Decoder(nn.Module):
    def __init__(self, encoder_channels, low_channels, projected, cout, separable, align_corners):
        super().__init__()
        self.align_corners = align_corners
        self.low_level_project = ConvBnAct(low_channels, projected, 1)
        fused = encoder_channels + projected
        if separable:
            self.fuse = nn.Sequential(SeparableConv(fused, cout), SeparableConv(cout, cout))
        else:
            self.fuse = nn.Sequential(ConvBnAct(fused, cout, 3), ConvBnAct(cout, cout, 3))

    def forward(self, x, low):
        low = self.low_level_project(low)
        x = F.interpolate(x, low.shape[2:], mode="bilinear", align_corners=self.align_corners)
        return self.fuse(torch.cat([x, low], 1))


class DeepLabV3Plus(nn.Module):
    def __init__(self, backbone, channels, low_index, num_classes, output_stride=16, aspp_with_sep_conv=True,
                 decoder_use_sep_conv=True, encoder_with_aspp=True, enable_decoder=True, pooling_crop_size=None,
                 aspp_out_channels=256, low_level_channels=48, align_corners=False):
        super().__init__()
        self.backbone = backbone
        self.low_index = low_index
        self.size_divisor = output_stride
        c = channels[-1]
        self.aspp = None
        self.decoder = None
        if encoder_with_aspp:
            rates = [6, 12, 18] if output_stride == 16 else [12, 24, 36]
            window = None
            if pooling_crop_size is not None:
                cw, ch = pooling_crop_size
                window = (int((ch - 1.0) / output_stride + 1.0), int((cw - 1.0) / output_stride + 1.0))
            self.aspp = Aspp(c, aspp_out_channels, rates, aspp_with_sep_conv, window, align_corners)
            c = aspp_out_channels
        if enable_decoder:
            self.decoder = Decoder(c, channels[low_index], low_level_channels, aspp_out_channels, decoder_use_sep_conv, align_corners)
            c = aspp_out_channels
        self.classifier = nn.Conv2d(c, num_classes, 1)

    def forward_logits(self, x):
        feats = self.backbone(x)
        y = feats[-1]
        if self.aspp is not None:
            y = self.aspp(y)
        if self.decoder is not None:
            y = self.decoder(y, feats[self.low_index])
        return [self.classifier(y)]


def double_conv(cin, cout):
    return nn.Sequential(ConvBnAct(cin, cout, 3), ConvBnAct(cout, cout, 3))


class UNetEncoder(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        ch = [64, 128, 256, 512, 512]
        self.double_conv = double_conv(in_channels, 64)
        self.down_sample_list = nn.ModuleList(
            [nn.Sequential(nn.MaxPool2d(2, 2), ConvBnAct(ch[i - 1], ch[i], 3), ConvBnAct(ch[i], ch[i], 3)) for i in range(1, 5)])

    def forward(self, x):
        outs = [self.double_conv(x)]
        for down in self.down_sample_list:
            outs.append(down(outs[-1]))
        return outs


class UpBlock(nn.Module):
    def __init__(self, cin, skip, cout, deconv, align_corners):
        super().__init__()
        self.align_corners = align_corners
        up = cin
        self.deconv = None
        if deconv:
            up = cout // 2
            self.deconv = nn.ConvTranspose2d(cin, up, 2, stride=2)
        self.double_conv = double_conv(up + skip, cout)

    def forward(self, x, skip):
        if self.deconv is not None:
            x = self.deconv(x)
        else:
            x = F.interpolate(x, skip.shape[2:], mode="bilinear", align_corners=self.align_corners)
        return self.double_conv(torch.cat([x, skip], 1))


class UNetDecoder(nn.Module):
    def __init__(self, deconv, align_corners):
        super().__init__()
        enc = [64, 128, 256, 512, 512]
        dec = [256, 128, 64, 64]
        blocks, c = [], 512
        for i, out in enumerate(dec):
            blocks.append(UpBlock(c, enc[3 - i], out, deconv, align_corners))
            c = out
        self.up_sample_list = nn.ModuleList(blocks)


class UNet(nn.Module):
    size_divisor = 16

    def __init__(self, num_classes, in_channels=3, deconv=False, align_corners=False):
        super().__init__()
        self.encoder = UNetEncoder(in_channels)
        self.decoder = UNetDecoder(deconv, align_corners)
        self.classifier = nn.Conv2d(64, num_classes, 3, padding=1)

    def forward_logits(self, x):
        skips = self.encoder(x)
        y = skips[-1]
        for i, up in enumerate(self.decoder.up_sample_list):
            y = up(y, skips[3 - i])
        return [self.classifier(y)]


def forward_any_size(model, x, align_corners):
    """The C# SegmentationModel.Forward: pad to the size divisor, run, resize to the padded size, crop."""
    h, w = x.shape[2:]
    d = model.size_divisor
    ph, pw = (d - h % d) % d, (d - w % d) % d
    padded = F.pad(x, [0, pw, 0, ph])
    out = []
    for logit in model.forward_logits(padded):
        if logit.shape[2:] != padded.shape[2:]:
            logit = F.interpolate(logit, padded.shape[2:], mode="bilinear", align_corners=align_corners)
        out.append(logit[:, :, :h, :w])
    return out


def write_case(name, model, sizes, in_channels, align_corners=False, rename=lambda key: key):
    fill_formula(model, rename)
    model.double().eval()
    tensors = {}
    with torch.no_grad():
        for h, w in sizes:
            x = formula_input(1, in_channels, h, w)
            for j, logit in enumerate(forward_any_size(model, x, align_corners)):
                tensors[f"logits{j}_{h}x{w}"] = logit
    save_safetensors(os.path.join(OUT, name + ".safetensors"), tensors)
    with open(os.path.join(OUT, name + "_keys.txt"), "w") as f:
        for key, t in ((rename(k), v) for k, v in model.state_dict().items()):
            f.write(f"{key} {','.join(str(s) for s in t.shape)}\n")
    print(name, {k: tuple(v.shape) for k, v in tensors.items()},
          "max|logit|", max(float(v.abs().max()) for k, v in tensors.items() if k.startswith("logits")))


def tiny_deeplab(output_stride=16, **kw):
    backbone = TinyBackbone(kw.pop("in_channels", 3), output_stride)
    return DeepLabV3Plus(backbone, TinyBackbone.channels, 0, num_classes=3, output_stride=output_stride,
                         aspp_out_channels=16, low_level_channels=8, **kw)


class PaddleSegBackbone(nn.Module):
    """ResNet_vd as the backbone child (its state-dict order equals timm's, so only the names need renaming)."""

    def __init__(self, depth, output_stride, in_channels=3):
        super().__init__()
        self.net = ResNet_vd(depth, output_stride=output_stride, multi_grid=(1, 2, 4) if output_stride == 8 else (1, 1, 1),
                             in_channels=in_channels)

    def forward(self, x):
        return self.net(x)


def timm_backbone_key(key):
    """backbone.net.<PaddleSeg name> -> backbone.<timm name>, as the C# ResNetVd names its keys."""
    prefix = "backbone.net."
    return "backbone." + paddle_to_timm(key[len(prefix):]) if key.startswith(prefix) else key


def resnet18_vd_deeplab(output_stride, **kw):
    return DeepLabV3Plus(PaddleSegBackbone(18, output_stride), [64, 128, 256, 512], 0, num_classes=3,
                         output_stride=output_stride, **kw)


def main():
    torch.set_grad_enabled(False)
    os.makedirs(OUT, exist_ok=True)
    sizes = [(48, 48), (37, 29)]
    write_case("deeplabv3p_tiny_os16", tiny_deeplab(16), sizes, 3)
    write_case("deeplabv3p_tiny_os8_plain_aligned", tiny_deeplab(8, aspp_with_sep_conv=False, decoder_use_sep_conv=False,
                                                                 align_corners=True), sizes, 3, align_corners=True)
    write_case("deeplabv3p_tiny_os16_pooling_crop", tiny_deeplab(16, pooling_crop_size=(32, 32)), sizes, 3)
    write_case("deeplabv3p_tiny_no_aspp", tiny_deeplab(16, encoder_with_aspp=False, in_channels=4), sizes[:1], 4)
    write_case("deeplabv3p_tiny_no_decoder", tiny_deeplab(16, enable_decoder=False), sizes[:1], 3)
    write_case("deeplabv3p_resnet18_vd_os16", resnet18_vd_deeplab(16), sizes, 3, rename=timm_backbone_key)
    write_case("deeplabv3p_resnet18_vd_os8_aligned", resnet18_vd_deeplab(8, align_corners=True), sizes[1:], 3, align_corners=True,
               rename=timm_backbone_key)
    write_case("unet_bilinear", UNet(2), [(32, 32), (19, 13)], 3)
    write_case("unet_deconv", UNet(2, in_channels=1, deconv=True), [(32, 32), (19, 13)], 1)


if __name__ == "__main__":
    main()
