#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Detection's FPN and Faster R-CNN (tests/SharpSeg.Detection.Tests/Models).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/golden_detection_models.py
Writes tests/SharpSeg.Detection.Tests/Golden/Models/:
  keys/<name>.txt      "# parameters N", "# trainable KEY…" lines, then "key shape" per state-dict entry
  fpn_r18_<map>.npy    resnet_fpn_backbone("resnet18", FrozenBatchNorm2d, trainable_layers=3) outputs "0".."3", "pool"
                       on the formula input [1, 3, 64, 96], float64 reference
  frcnn_<name>.npy     Faster R-CNN ResNet-50-FPN (FrozenBatchNorm2d, as fasterrcnn_resnet50_fpn with pretrained weights)
                       with 5 classes, min_size 128, max_size 160, rpn_post_nms_top_n_test 200, box_detections_per_img 300
                       (so no near-tied score sits at the cut), in eval mode (float64)
                       on the formula input [3, 100, 130]: boxes, scores, labels (as floats) and the RPN proposals.
                       The formula weights give near-equal scores (gaps down to 1e-7), so the C# test matches detections
                       as a set, not by rank
  train_*.npy          the same model in training mode (rpn_post_nms_top_n_train 100, sampler quotas 100000 so every
                       candidate is used) on two target boxes: the four losses and gradients of four parameters
  train_empty_*.npy    the same on an image with no objects (torchvision's negative-only image): the four losses
No weights are committed: every state-dict entry is filled by the formula of tools/gen_models_golden_backbones.py
(twin: tests/SharpSeg.Models.Tests/Support/FormulaWeights.cs), in state-dict order.
"""
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.dirname(__file__))
from gen_models_golden_backbones import fill_one, formula_input  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Detection.Tests", "Golden", "Models")


def formula_fill(model):
    with torch.no_grad():
        for k, (name, t) in enumerate(model.state_dict().items()):
            fill_one(name, k, t)


def write_keys(name, model):
    os.makedirs(os.path.join(OUT, "keys"), exist_ok=True)
    with open(os.path.join(OUT, "keys", name + ".txt"), "w") as f:
        f.write(f"# parameters {sum(p.numel() for p in model.parameters())}\n")
        f.write(f"# trainable {' '.join(n for n, p in model.named_parameters() if p.requires_grad)}\n")
        for key, t in model.state_dict().items():
            f.write(f"{key} {'x'.join(str(d) for d in t.shape) or 'scalar'}\n")


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(t.detach().to(torch.float32).numpy()))


def resnet_fpn(arch, trainable, returned=None, frozen=True):
    norm = FrozenBatchNorm2d if frozen else torch.nn.BatchNorm2d
    return _resnet_fpn_extractor(torchvision.models.__dict__[arch](weights=None, norm_layer=norm), trainable, returned)


def main():
    os.makedirs(OUT, exist_ok=True)

    fpn = resnet_fpn("resnet18", 3)
    write_keys("fpn_resnet18", fpn)
    formula_fill(fpn)
    fpn = fpn.double().eval()
    with torch.no_grad():
        for name, t in fpn(formula_input(1, 3, 64, 96)).items():
            save(f"fpn_r18_{name}", t)
    # Key layout only: returned layers 2-4 and a BatchNorm2d body trained in full (torchvision's from-scratch default).
    write_keys("fpn_resnet50_l234_bn_t5", resnet_fpn("resnet50", 5, [2, 3, 4], frozen=False))

    torch.manual_seed(0)
    model = FasterRCNN(resnet_fpn("resnet50", 3), num_classes=5, min_size=128, max_size=160, rpn_post_nms_top_n_test=200,
                       box_detections_per_img=300)
    write_keys("fasterrcnn_resnet50_fpn_c5", model)
    formula_fill(model)
    model = model.double().eval()
    proposals = {}
    model.rpn.register_forward_hook(lambda m, i, o: proposals.update(p=o[0][0]))
    with torch.no_grad():
        out = model([formula_input(3, 100, 130)])[0]
    save("frcnn_boxes", out["boxes"])
    save("frcnn_scores", out["scores"])
    save("frcnn_labels", out["labels"])
    save("frcnn_proposals", proposals["p"])
    # Training: sampler quotas above the candidate counts take every candidate, so no random draw is involved.
    model = FasterRCNN(resnet_fpn("resnet50", 3), num_classes=5, min_size=128, max_size=160, rpn_post_nms_top_n_train=100,
                       rpn_batch_size_per_image=100000, box_batch_size_per_image=100000)
    formula_fill(model)
    model = model.double().train()
    targets = [{"boxes": torch.tensor([[10.0, 12.0, 60.0, 70.0], [70.0, 30.0, 125.0, 95.0]], dtype=torch.float64),
                "labels": torch.tensor([1, 3])}]
    losses = model([formula_input(3, 100, 130)], targets)
    for name, value in losses.items():
        save(f"train_{name}", value.reshape(1))
    sum(losses.values()).backward()
    for key in ["roi_heads.box_predictor.cls_score.bias", "rpn.head.cls_logits.bias", "backbone.fpn.layer_blocks.0.0.bias",
                "backbone.body.layer2.0.conv1.weight"]:
        save("train_grad_" + key.replace(".", "_"), dict(model.named_parameters())[key].grad)
    print({k: v.item() for k, v in losses.items()})
    # An image with no objects: every anchor and proposal is background, so both box losses are zero.
    model.zero_grad()
    empty = [{"boxes": torch.zeros((0, 4), dtype=torch.float64), "labels": torch.zeros((0,), dtype=torch.int64)}]
    losses = model([formula_input(3, 100, 130)], empty)
    for name, value in losses.items():
        save(f"train_empty_{name}", value.reshape(1))
    print("no objects:", {k: v.item() for k, v in losses.items()})

    gaps = (out["scores"][:-1] - out["scores"][1:]).min().item()
    print(len(out["boxes"]), "detections; smallest score gap", gaps, "labels", out["labels"].bincount().tolist(), "scores", out["scores"][[0, -1]].tolist())


if __name__ == "__main__":
    main()
