"""EfficientDet reference (Tan, Pang and Le, "EfficientDet: Scalable and Efficient Object Detection", 2020) for
SharpSeg's goldens, written from the paper and the structure of rwightman's efficientdet-pytorch (module names, so the
state-dict keys are that repository's), because neither efficientdet-pytorch nor timm is installed here.

What it models, with efficientdet-pytorch's names:
  backbone  timm's EfficientNet with features_only=True, out_indices (2, 3, 4): conv_stem, bn1, blocks.S.B
            (DepthwiseSeparableConv: conv_dw, bn1, se, conv_pw, bn2; InvertedResidual: conv_pw, bn1, conv_dw, bn2, se,
            conv_pwl, bn3; SqueezeExcite: conv_reduce, conv_expand); tf_ variants use TF "SAME" padding and BN eps 1e-3;
            lite variants drop SE and use ReLU6.
  fpn       BiFpn: resample.L (extra levels P6/P7 from the last backbone map), cell.R.fnode.N (FpnCombine with
            resample.O and edge_weights, after_combine act + SeparableConv2d).
  class_net / box_net  HeadNet: conv_rep.i (shared SeparableConv2d), bn_rep.i.level.bn (per-level BN), predict.
  anchors, anchor labeler (ArgMaxMatcher 0.5/0.5, force match per gt, FasterRcnnBoxCoder ty, tx, th, tw with eps 1e-7),
  focal loss (new_focal_loss, alpha 0.25, gamma 1.5) and Huber box loss (delta 0.1, weight 50) normalised by
  positives + 1, post-processing (top-k 5000 over all levels, decode, clip, batched NMS 0.5, 100 detections).

Weights are the formula of tools/gen_models_golden_backbones.py (fill_one over state-dict order); nothing is committed
but outputs (tests/SharpSeg.Detection.Tests/Golden/EfficientDet/) and key files with parameter counts of the full
efficientdet_d0 and tf_efficientdet_lite0 (90 classes). Used by tests/SharpSeg.Detection.Tests/Models/EfficientDetTests.cs.
Run: /usr/bin/python3 tools/efficientdet_reference.py
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import batched_nms

sys.path.insert(0, os.path.dirname(__file__))
from gen_models_golden_backbones import fill_one, formula_input  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Detection.Tests", "Golden", "EfficientDet")


# ---------------------------------------------------------------- padding ("same" = TensorFlow SAME, "" = symmetric)

def same_pads(size, k, s, d=1):
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


class Conv2d(nn.Conv2d):
    """timm's create_conv2d: symmetric padding, or SAME (static when stride 1, dynamic otherwise)."""

    def __init__(self, cin, cout, k, stride=1, groups=1, bias=False, pad_type=""):
        self.dynamic = pad_type == "same" and stride > 1
        super().__init__(cin, cout, k, stride, 0 if self.dynamic else ((stride - 1) + (k - 1)) // 2, groups=groups, bias=bias)

    def forward(self, x):
        if self.dynamic:
            k, s = self.kernel_size[0], self.stride[0]
            ph, pw = same_pads(x.shape[-2], k, s), same_pads(x.shape[-1], k, s)
            x = F.pad(x, [pw[0], pw[1], ph[0], ph[1]])
        return super().forward(x)


class MaxPool(nn.Module):
    def __init__(self, k, s, pad_type):
        super().__init__()
        self.k, self.s, self.same = k, s, pad_type == "same"

    def forward(self, x):
        if self.same:
            ph, pw = same_pads(x.shape[-2], self.k, self.s), same_pads(x.shape[-1], self.k, self.s)
            x = F.pad(x, [pw[0], pw[1], ph[0], ph[1]], value=-float("inf"))
            return F.max_pool2d(x, self.k, self.s)
        return F.max_pool2d(x, self.k, self.s, ((self.s - 1) + (self.k - 1)) // 2)


def act(kind):
    return {"swish": nn.SiLU, "relu6": nn.ReLU6}[kind]()


# ---------------------------------------------------------------- backbone (timm EfficientNet, features_only)

BASE = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
        (6, 3, 1, 320, 1)]  # expand, kernel, stride, out, repeats


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class SqueezeExcite(nn.Module):
    def __init__(self, chs, rd, act_kind):
        super().__init__()
        self.conv_reduce = nn.Conv2d(chs, rd, 1)
        self.act1 = act(act_kind)
        self.conv_expand = nn.Conv2d(rd, chs, 1)

    def forward(self, x):
        return x * self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True)))).sigmoid()


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout, k, s, cfg):
        super().__init__()
        self.conv_dw = Conv2d(cin, cin, k, s, groups=cin, pad_type=cfg["pad"])
        self.bn1 = nn.BatchNorm2d(cin, eps=cfg["eps"])
        self.act1 = act(cfg["act"])
        self.se = SqueezeExcite(cin, round(cin * 0.25), cfg["act"]) if cfg["se"] else nn.Identity()
        self.conv_pw = Conv2d(cin, cout, 1, pad_type=cfg["pad"])
        self.bn2 = nn.BatchNorm2d(cout, eps=cfg["eps"])
        self.skip = s == 1 and cin == cout

    def forward(self, x):
        y = self.bn2(self.conv_pw(self.se(self.act1(self.bn1(self.conv_dw(x))))))
        return y + x if self.skip else y


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, k, s, e, cfg):
        super().__init__()
        mid = make_divisible(cin * e)
        self.conv_pw = Conv2d(cin, mid, 1, pad_type=cfg["pad"])
        self.bn1 = nn.BatchNorm2d(mid, eps=cfg["eps"])
        self.act1 = act(cfg["act"])
        self.conv_dw = Conv2d(mid, mid, k, s, groups=mid, pad_type=cfg["pad"])
        self.bn2 = nn.BatchNorm2d(mid, eps=cfg["eps"])
        self.act2 = act(cfg["act"])
        self.se = SqueezeExcite(mid, round(mid * 0.25 / e), cfg["act"]) if cfg["se"] else nn.Identity()
        self.conv_pwl = Conv2d(mid, cout, 1, pad_type=cfg["pad"])
        self.bn3 = nn.BatchNorm2d(cout, eps=cfg["eps"])
        self.skip = s == 1 and cin == cout

    def forward(self, x):
        y = self.act1(self.bn1(self.conv_pw(x)))
        y = self.se(self.act2(self.bn2(self.conv_dw(y))))
        y = self.bn3(self.conv_pwl(y))
        return y + x if self.skip else y


class EfficientNetFeatures(nn.Module):
    def __init__(self, width, depth, cfg):
        super().__init__()
        lite = not cfg["se"]
        stem = 32 if lite else make_divisible(32 * width)
        self.conv_stem = Conv2d(3, stem, 3, 2, pad_type=cfg["pad"])
        self.bn1 = nn.BatchNorm2d(stem, eps=cfg["eps"])
        self.act1 = act(cfg["act"])
        self.blocks = nn.Sequential()
        cin, self.channels = stem, []
        for i, (e, k, s, c, r) in enumerate(BASE):
            cout = make_divisible(c * width)
            repeats = r if lite and i in (0, len(BASE) - 1) else int(math.ceil(r * depth))
            stage = nn.Sequential()
            for b in range(repeats):
                stride = s if b == 0 else 1
                stage.append(DepthwiseSeparable(cin, cout, k, stride, cfg) if e == 1 else InvertedResidual(cin, cout, k, stride, e, cfg))
                cin = cout
            self.blocks.append(stage)
            self.channels.append(cout)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv_stem(x)))
        out = []
        for i, stage in enumerate(self.blocks):
            x = stage(x)
            if i in (2, 4, 6):
                out.append(x)
        return out


# ---------------------------------------------------------------- BiFPN and heads

def feat_sizes(size, max_level):
    sizes = [size]
    for _ in range(max_level):
        size = ((size[0] - 1) // 2 + 1, (size[1] - 1) // 2 + 1)
        sizes.append(size)
    return sizes


class SeparableConv2d(nn.Module):
    def __init__(self, cin, cout, bias, bn, cfg):
        super().__init__()
        self.conv_dw = Conv2d(cin, cin, 3, groups=cin, pad_type=cfg["pad"])
        self.conv_pw = Conv2d(cin, cout, 1, bias=bias, pad_type=cfg["pad"])
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01) if bn else None

    def forward(self, x):
        x = self.conv_pw(self.conv_dw(x))
        return self.bn(x) if self.bn is not None else x


class ConvBn(nn.Module):
    def __init__(self, cin, cout, cfg):
        super().__init__()
        self.conv = Conv2d(cin, cout, 1, bias=cfg["redundant_bias"], pad_type=cfg["pad"])
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)

    def forward(self, x):
        return self.bn(self.conv(x))


class Resample(nn.Sequential):
    def __init__(self, cin, cout, in_size, out_size, cfg):
        super().__init__()
        if cin != cout:
            self.add_module("conv", ConvBn(cin, cout, cfg))
        if in_size[0] > out_size[0] and in_size[1] > out_size[1]:
            stride = (in_size[0] - 1) // out_size[0] + 1
            self.add_module("downsample", MaxPool(stride + 1, stride, cfg["pad"]))
        elif in_size[0] < out_size[0] or in_size[1] < out_size[1]:
            self.add_module("upsample", Upsample(out_size))


class Upsample(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.size = size

    def forward(self, x):
        return F.interpolate(x, size=self.size, mode="nearest")


class FpnCombine(nn.Module):
    def __init__(self, info, offsets, out_size, cfg):
        super().__init__()
        self.offsets, self.weighted = offsets, cfg["weighted"]
        self.resample = nn.ModuleDict()
        for o in offsets:
            self.resample[str(o)] = Resample(info[o][0], cfg["fpn_channels"], info[o][1], out_size, cfg)
        if self.weighted:
            self.edge_weights = nn.Parameter(torch.ones(len(offsets)))

    def forward(self, x):
        nodes = [r(x[o]) for o, r in zip(self.offsets, self.resample.values())]
        if not self.weighted:
            return sum(nodes)
        w = F.relu(self.edge_weights)
        total = w.sum()
        return sum(n * w[i] / (total + 1e-4) for i, n in enumerate(nodes))


class Fnode(nn.Module):
    def __init__(self, info, offsets, out_size, cfg):
        super().__init__()
        self.combine = FpnCombine(info, offsets, out_size, cfg)
        self.after_combine = nn.Sequential()
        self.after_combine.add_module("act", act(cfg["act"]))
        self.after_combine.add_module("conv", SeparableConv2d(cfg["fpn_channels"], cfg["fpn_channels"], cfg["redundant_bias"], True, cfg))

    def forward(self, x):
        return self.after_combine(self.combine(x))


def bifpn_nodes(min_level, max_level):
    num = max_level - min_level + 1
    ids = {min_level + i: [i] for i in range(num)}
    nodes, nxt = [], num
    for lvl in range(max_level - 1, min_level - 1, -1):
        nodes.append((lvl, [ids[lvl][-1], ids[lvl + 1][-1]]))
        ids[lvl].append(nxt)
        nxt += 1
    for lvl in range(min_level + 1, max_level + 1):
        nodes.append((lvl, ids[lvl] + [ids[lvl - 1][-1]]))
        ids[lvl].append(nxt)
        nxt += 1
    return nodes


class BiFpnLayer(nn.Module):
    def __init__(self, info, sizes, cfg):
        super().__init__()
        info = list(info)
        self.fnode = nn.ModuleList()
        for lvl, offsets in bifpn_nodes(cfg["min_level"], cfg["max_level"]):
            self.fnode.append(Fnode(info, offsets, sizes[lvl], cfg))
            info.append((cfg["fpn_channels"], sizes[lvl]))
        self.num_levels = cfg["max_level"] - cfg["min_level"] + 1
        self.info = info[-self.num_levels:]

    def forward(self, x):
        x = list(x)
        for fn in self.fnode:
            x.append(fn(x))
        return x[-self.num_levels:]


class BiFpn(nn.Module):
    def __init__(self, channels, cfg):
        super().__init__()
        sizes = feat_sizes(cfg["image_size"], cfg["max_level"])
        self.resample = nn.ModuleDict()
        info = []
        num_levels = cfg["max_level"] - cfg["min_level"] + 1
        prev = sizes[cfg["min_level"]]
        for level in range(num_levels):
            size = sizes[level + cfg["min_level"]]
            if level < len(channels):
                cin = channels[level]
                info.append((cin, size))
            else:
                self.resample[str(level)] = Resample(cin, cfg["fpn_channels"], prev, size, cfg)
                cin = cfg["fpn_channels"]
                info.append((cin, size))
            prev = size
        self.cell = nn.Sequential()
        for r in range(cfg["fpn_cell_repeats"]):
            layer = BiFpnLayer(info, sizes, cfg)
            self.cell.add_module(str(r), layer)
            info = layer.info

    def forward(self, x):
        x = list(x)
        for r in self.resample.values():
            x.append(r(x[-1]))
        for layer in self.cell:
            x = layer(x)
        return x


class HeadNet(nn.Module):
    def __init__(self, outputs, cfg):
        super().__init__()
        c, levels = cfg["fpn_channels"], cfg["max_level"] - cfg["min_level"] + 1
        self.conv_rep = nn.ModuleList([SeparableConv2d(c, c, cfg["redundant_bias"], False, cfg) for _ in range(cfg["box_class_repeats"])])
        self.bn_rep = nn.ModuleList()
        for _ in range(cfg["box_class_repeats"]):
            lst = nn.ModuleList()
            for _ in range(levels):
                seq = nn.Sequential()
                seq.add_module("bn", nn.BatchNorm2d(c, eps=1e-3, momentum=0.01))
                lst.append(seq)
            self.bn_rep.append(lst)
        self.act = act(cfg["act"])
        self.predict = SeparableConv2d(c, outputs * 9, True, False, cfg)

    def forward(self, x):
        out = []
        for level, xl in enumerate(x):
            for conv, bn in zip(self.conv_rep, self.bn_rep):
                xl = self.act(bn[level](conv(xl)))
            out.append(self.predict(xl))
        return out


class EfficientDet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        bcfg = dict(pad=cfg["backbone_pad"], eps=cfg["backbone_eps"], act=cfg["backbone_act"], se=cfg["se"])
        self.backbone = EfficientNetFeatures(cfg["width"], cfg["depth"], bcfg)
        ch = self.backbone.channels
        self.fpn = BiFpn([ch[2], ch[4], ch[6]], cfg)
        self.class_net = HeadNet(cfg["num_classes"], cfg)
        self.box_net = HeadNet(4, cfg)

    def forward(self, x):
        x = self.fpn(self.backbone(x))
        return self.class_net(x), self.box_net(x)


# ---------------------------------------------------------------- anchors, labeler, loss, post-processing (yxyx inside)

def anchors(cfg):
    sizes = feat_sizes(cfg["image_size"], cfg["max_level"])
    H, W = cfg["image_size"]
    out = []
    for level in range(cfg["min_level"], cfg["max_level"] + 1):
        sy, sx = sizes[0][0] / sizes[level][0], sizes[0][1] / sizes[level][1]
        per = []
        for octave in range(3):
            for ax, ay in [(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]:
                bx = cfg["anchor_scale"] * sx * 2 ** (octave / 3) * ax / 2
                by = cfg["anchor_scale"] * sy * 2 ** (octave / 3) * ay / 2
                xs, ys = np.arange(sx / 2, W, sx), np.arange(sy / 2, H, sy)
                xv, yv = np.meshgrid(xs, ys)
                xv, yv = xv.reshape(-1), yv.reshape(-1)
                per.append(np.stack([yv - by, xv - bx, yv + by, xv + bx], 1)[:, None])
        out.append(np.concatenate(per, 1).reshape(-1, 4))
    return torch.from_numpy(np.concatenate(out)).float().double()


def iou_yxyx(a, b):
    ih = (torch.min(a[:, None, 2], b[None, :, 2]) - torch.max(a[:, None, 0], b[None, :, 0])).clamp(min=0)
    iw = (torch.min(a[:, None, 3], b[None, :, 3]) - torch.max(a[:, None, 1], b[None, :, 1])).clamp(min=0)
    inter = ih * iw
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(inter == 0, torch.zeros_like(inter), inter / union)


def encode(boxes, anc, eps=1e-7):
    yca, xca = (anc[:, 0] + anc[:, 2]) / 2, (anc[:, 1] + anc[:, 3]) / 2
    ha, wa = anc[:, 2] - anc[:, 0] + eps, anc[:, 3] - anc[:, 1] + eps
    yc, xc = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    h, w = boxes[:, 2] - boxes[:, 0] + eps, boxes[:, 3] - boxes[:, 1] + eps
    return torch.stack([(yc - yca) / ha, (xc - xca) / wa, torch.log(h / ha), torch.log(w / wa)], 1)


def label_anchors(anc, gt_yxyx, gt_cls):
    """ArgMaxMatcher(0.5, 0.5, force_match_for_each_row) + FasterRcnnBoxCoder; returns cls target (-1 = background,
    0-based class) and box targets per anchor and the number of positives."""
    n = anc.shape[0]
    if gt_yxyx.shape[0] == 0:
        return torch.full((n,), -1, dtype=torch.long), torch.zeros(n, 4, dtype=anc.dtype), 0
    sim = iou_yxyx(gt_yxyx, anc)
    vals, matches = sim.max(0)
    matches = torch.where(vals < 0.5, torch.full_like(matches, -1), matches)
    force = sim.argmax(1)
    for row in range(gt_yxyx.shape[0] - 1, -1, -1):  # lowest row wins a column claimed twice, as torch.max over one-hot
        matches[force[row]] = row
    pos = matches >= 0
    cls = torch.where(pos, gt_cls[matches.clamp(min=0)] - 1, torch.full_like(matches, -1))
    box = torch.where(pos[:, None], encode(gt_yxyx[matches.clamp(min=0)], anc), torch.zeros(n, 4, dtype=anc.dtype))
    return cls, box, int(pos.sum())


def flatten_levels(outputs, per):
    n = outputs[0].shape[0]
    return torch.cat([o.permute(0, 2, 3, 1).reshape(n, -1, per) for o in outputs], 1)


def losses(cls_out, box_out, anc, targets, num_classes):
    cls_all, box_all = flatten_levels(cls_out, num_classes), flatten_levels(box_out, 4)
    # Labelled in float32 as efficientdet-pytorch does: a code component that is exactly 0 there (a box centred on its
    # anchor) is left out of the box loss by its `box_targets != 0` mask, while float64 would leave ~1e-8 and count it.
    labeled = [label_anchors(anc.float(), t[0].float(), t[1]) for t in targets]
    labeled = [(c, b.double(), p) for c, b, p in labeled]
    normalizer = sum(p for _, _, p in labeled) + 1.0
    cls_loss, box_loss = 0, 0
    for i, (cls_t, box_t, _) in enumerate(labeled):
        onehot = torch.zeros(cls_t.shape[0], num_classes, dtype=cls_all.dtype)
        onehot[cls_t >= 0, cls_t[cls_t >= 0]] = 1
        logits = cls_all[i]
        p = logits.sigmoid()
        p_t = onehot * p + (1 - onehot) * (1 - p)
        alpha = onehot * 0.25 + (1 - onehot) * 0.75
        ce = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
        cls_loss = cls_loss + (alpha * (1 - p_t) ** 1.5 * ce).sum() / normalizer
        err = (box_all[i] - box_t).abs()
        quad = err.clamp(max=0.1)
        huber = 0.5 * quad ** 2 + 0.1 * (err - quad)
        box_loss = box_loss + (huber * (box_t != 0)).sum() / (normalizer * 4)
    return cls_loss, 50 * box_loss


def decode(codes, anc):
    yca, xca = (anc[:, 0] + anc[:, 2]) / 2, (anc[:, 1] + anc[:, 3]) / 2
    ha, wa = anc[:, 2] - anc[:, 0], anc[:, 3] - anc[:, 1]
    ty, tx, th, tw = codes.unbind(1)
    w, h = torch.exp(tw) * wa, torch.exp(th) * ha
    yc, xc = ty * ha + yca, tx * wa + xca
    return torch.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], 1)


def detect(cls_out, box_out, anc, num_classes, scale, valid_hw, top_k=5000, max_det=100):
    cls_all, box_all = flatten_levels(cls_out, num_classes)[0], flatten_levels(box_out, 4)[0]
    _, idx = torch.topk(cls_all.reshape(-1), min(top_k, cls_all.numel()))
    anchor_idx, classes = idx // num_classes, idx % num_classes
    boxes = decode(box_all[anchor_idx], anc[anchor_idx])
    size = torch.tensor([valid_hw[1], valid_hw[0], valid_hw[1], valid_hw[0]], dtype=boxes.dtype)
    boxes = boxes.clamp(min=0).min(size)
    scores = cls_all[anchor_idx, classes].sigmoid()
    keep = batched_nms(boxes, scores, classes, 0.5)[:max_det]
    return boxes[keep] * scale, scores[keep], classes[keep] + 1


# ---------------------------------------------------------------- configurations and outputs

def config(**kw):
    cfg = dict(min_level=3, max_level=7, anchor_scale=4.0, weighted=True, redundant_bias=False, pad="", act="swish",
               backbone_pad="", backbone_eps=1e-5, backbone_act="swish", se=True, width=1.0, depth=1.0)
    cfg.update(kw)
    return cfg


# The golden configurations: D0's structure with a narrow BiFPN, and lite0's (SAME padding, ReLU6, plain sum, biases).
SMALL_D0 = config(image_size=(128, 128), fpn_channels=16, fpn_cell_repeats=2, box_class_repeats=2, num_classes=3)
SMALL_LITE0 = config(image_size=(96, 96), fpn_channels=16, fpn_cell_repeats=2, box_class_repeats=2, num_classes=3,
                     anchor_scale=3.0, weighted=False, redundant_bias=True, pad="same", act="relu6", backbone_pad="same",
                     backbone_eps=1e-3, backbone_act="relu6", se=False)
FULL_D0 = config(image_size=(512, 512), fpn_channels=64, fpn_cell_repeats=3, box_class_repeats=3, num_classes=90)
FULL_LITE0 = dict(SMALL_LITE0, image_size=(320, 320), fpn_channels=64, fpn_cell_repeats=3, box_class_repeats=3, num_classes=90)

MEAN, STD = torch.tensor([0.485, 0.456, 0.406]).double(), torch.tensor([0.229, 0.224, 0.225]).double()


def build(cfg):
    """The model with formula weights, except the BiFPN edge weights: the formula gives them ±0.1, and a node whose
    weights are all negative outputs zeros after the ReLU, so they become 1 + 2 w (0.8 to 1.2) to keep every path alive."""
    model = EfficientDet(cfg).double()
    with torch.no_grad():
        for k, (name, t) in enumerate(model.state_dict().items()):
            fill_one(name, k, t)
            if name.endswith("edge_weights"):
                t.copy_((1 + 2 * t).float().double())
    return model


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(torch.as_tensor(t).detach().to(torch.float32).numpy()))


def write_keys(name, model):
    os.makedirs(os.path.join(OUT, "keys"), exist_ok=True)
    with open(os.path.join(OUT, "keys", name + ".txt"), "w") as f:
        f.write(f"# parameters {sum(p.numel() for p in model.parameters())}\n")
        f.write(f"# trainable {' '.join(n for n, p in model.named_parameters() if p.requires_grad)}\n")
        for key, t in model.state_dict().items():
            f.write(f"{key} {'x'.join(str(d) for d in t.shape) or 'scalar'}\n")


def prepare(image, size, mean, std):
    """ResizePad as efficientdet-pytorch's eval transform: scale the longer side to the model size (bilinear, here
    torch's interpolate on floats), pad bottom/right with the mean, then normalise; returns the batch and 1/scale."""
    _, h, w = image.shape
    scale = min(size[0] / h, size[1] / w)
    sh, sw = int(h * scale), int(w * scale)
    if (sh, sw) != (h, w):
        image = F.interpolate(image[None], size=(sh, sw), mode="bilinear", align_corners=False)[0]
    canvas = mean[:, None, None].expand(3, size[0], size[1]).clone()
    canvas[:, :sh, :sw] = image
    return ((canvas - mean[:, None, None]) / std[:, None, None])[None], 1 / scale, (h * scale, w * scale)


def synthetic_maps(sizes, num_classes):
    """Class logits -3 + 6 ((7919 j) mod N) / N over the flat index j of all levels' logits together (N of them), so all
    differ by at least 6 / N and no two scores tie; box codes 0.5 sin(0.23 i + l) over each level's flat index i."""
    total = sum(9 * num_classes * h * w for h, w in sizes)
    cls_maps, box_maps, offset = [], [], 0
    for level, (h, w) in enumerate(sizes):
        j = torch.arange(offset, offset + 9 * num_classes * h * w, dtype=torch.int64)
        offset += j.numel()
        cls_maps.append((-3 + 6 * ((7919 * j) % total).double() / total).float().double().reshape(1, 9 * num_classes, h, w))
        i = torch.arange(9 * 4 * h * w, dtype=torch.float64)
        box_maps.append((0.5 * torch.sin(0.23 * i + level)).float().double().reshape(1, 36, h, w))
    return cls_maps, box_maps


def main():
    torch.set_grad_enabled(False)
    os.makedirs(OUT, exist_ok=True)
    for name, cfg in [("efficientdet_d0", FULL_D0), ("tf_efficientdet_lite0", FULL_LITE0)]:
        write_keys(name, EfficientDet(cfg))

    for name, cfg in [("small_d0", SMALL_D0), ("small_lite0", SMALL_LITE0)]:
        model = build(cfg).eval()
        write_keys(name, model)
        cls_out, box_out = model(formula_input(1, 3, *cfg["image_size"]))
        for level, (c, b) in enumerate(zip(cls_out, box_out)):
            save(f"{name}_class_{level}", c)
            save(f"{name}_box_{level}", b)
        save(f"{name}_anchors", anchors(cfg))

    # Pre-processing: a 100 x 128 image padded to 128 x 128, and a 50 x 40 one resized by 2.56 to 128 x 102 and padded;
    # the finest class map shows the prepared input went through the network unchanged.
    model = build(SMALL_D0).eval()
    anc = anchors(SMALL_D0)
    for tag, shape in [("pad", (3, 100, 128)), ("resize", (3, 50, 40))]:
        x, _, _ = prepare(formula_input(*shape) * 0.5 + 0.5, SMALL_D0["image_size"], MEAN, STD)
        save(f"small_d0_prepared_{tag}_class_0", model(x)[0][0])

    # Post-processing on synthetic head outputs, well spread so that no two logits tie (the formula-weight network's
    # logits barely differ, which would make the top-k and NMS order arbitrary): float32 throughout, as the C# side.
    sizes = feat_sizes(SMALL_D0["image_size"], 7)[3:]
    cls_maps, box_maps = synthetic_maps(sizes, 3)
    boxes, scores, labels = detect([c.float() for c in cls_maps], [b.float() for b in box_maps], anc.float(), 3, 1 / 2.56, (128.0, 102.4))
    save("small_d0_detect_boxes", boxes)
    save("small_d0_detect_scores", scores)
    save("small_d0_detect_labels", labels.double())

    # Training losses on two images (128 x 128 and 96 x 128, padded), boxes xyxy in the images' pixels, labels 1-based;
    # the boxes are placed so that no two anchors tie for a ground truth's best IoU and no IoU lies within 0.006 of 0.5
    # (a tie would make the forced match depend on rounding).
    torch.set_grad_enabled(True)
    model = build(SMALL_D0).train()
    images = [formula_input(3, 128, 128) * 0.5 + 0.5, formula_input(3, 96, 128) * 0.25 + 0.5]
    targets = [
        (torch.tensor([[12.0, 18.0, 76.0, 66.0], [63.0, 66.0, 123.0, 122.0], [27.0, 87.0, 48.0, 112.0]]), torch.tensor([1, 3, 2])),
        (torch.tensor([[5.0, 10.0, 98.0, 87.0]]), torch.tensor([2])),
    ]
    batch = torch.cat([prepare(im, SMALL_D0["image_size"], MEAN, STD)[0] for im in images])
    yxyx = [(b.double()[:, [1, 0, 3, 2]], l) for b, l in targets]
    cls_loss, box_loss = losses(*model(batch), anc, yxyx, 3)
    (cls_loss + box_loss).backward()
    save("small_d0_train_loss_class", cls_loss)
    save("small_d0_train_loss_box", box_loss)
    params = dict(model.named_parameters())
    for key in ["class_net.predict.conv_pw.bias", "box_net.predict.conv_pw.weight", "fpn.cell.0.fnode.0.combine.edge_weights",
                "class_net.bn_rep.1.4.bn.weight", "backbone.blocks.6.0.bn3.weight"]:
        save("small_d0_train_grad_" + key.replace(".", "_"), params[key].grad)
    labeled = label_anchors(anc.float(), yxyx[0][0].float(), yxyx[0][1])
    save("small_d0_labels_cls", labeled[0].double())
    save("small_d0_labels_box", labeled[1])


if __name__ == "__main__":
    main()
