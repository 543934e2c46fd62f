#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Detection's Mask R-CNN (tests/SharpSeg.Detection.Tests/Models/MaskRcnnTests.cs).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/golden_mask_rcnn.py
Writes tests/SharpSeg.Detection.Tests/Golden/Models/:
  keys/maskrcnn_resnet50_fpn.txt, keys/fasterrcnn_resnet50_fpn.txt
                      the state-dict keys and shapes of torchvision's maskrcnn_resnet50_fpn / fasterrcnn_resnet50_fpn
                      (weights=None, weights_backbone=None: BatchNorm2d body, all layers trainable, 91 classes)
  keys/maskrcnn_resnet50_fpn_c5.txt
                      the golden model below: FrozenBatchNorm2d body, trainable_layers 3, 5 classes
  mrcnn_*.npy         that model (min_size 128, max_size 160, rpn_post_nms_top_n_test 200, box_detections_per_img 9,
                      the cut with the widest score gap, 6e-5, among near-tied formula-weight scores) with formula weights in eval mode (float64) on the formula
                      input [3, 100, 130]: boxes, scores, labels, the 28x28 mask probabilities before pasting (masks28) and
                      the pasted [K, 1, 100, 130] masks
  mtrain_*.npy        the same in training mode (rpn_post_nms_top_n_train 100, sampler quotas 100000 so no random draw
                      is involved) on two objects with masks: the five losses and gradients of three head parameters
  mtrain_empty_*.npy  the same on an image without objects (masks [0, 100, 130]): the five losses (loss_mask 0)
  mask_resize.npy     the two training masks resized to 123x160 as GeneralizedRCNNTransform does (nearest)
  paste_*.npy         paste_masks_in_image in float32 on seeded masks [6, 1, 28, 28] and boxes (some past the border,
                      one thinner than a pixel) into a 50x70 image
  project_*.npy       project_masks_on_boxes (RoIAlign 28x28 of gt masks) for seeded masks and boxes
  tiny_maskrcnn.pth   a small Mask R-CNN (one 3x3 stride-4 convolution as backbone "body", width 8, 3 classes, 32-wide
                      box head, 8-channel mask head; min_size 64, max_size 96) with seeded random weights,
                      torch.save'd state dict; tiny_* its eval outputs (float64) on the formula input [3, 60, 80]
Weights of the ResNet-50 models are filled by the formula of tools/gen_models_golden_backbones.py in state-dict order
(twin: tests/SharpSeg.Models.Tests/Support/FormulaWeights.cs); the C# side rebuilds them from the key files.
"""
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection import MaskRCNN, fasterrcnn_resnet50_fpn, maskrcnn_resnet50_fpn
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.roi_heads import paste_masks_in_image, project_masks_on_boxes
from torchvision.models.detection.rpn import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign

sys.path.insert(0, os.path.dirname(__file__))
from gen_models_golden_backbones import formula_input  # noqa: E402
from golden_detection_models import OUT, formula_fill, resnet_fpn, save, write_keys  # noqa: E402


def training_masks():
    """Two objects in a 100x130 image: an ellipse in box (10, 12, 60, 70) and a notched rectangle in (70, 30, 125, 95)."""
    y, x = torch.meshgrid(torch.arange(100, dtype=torch.float64), torch.arange(130, dtype=torch.float64), indexing="ij")
    ellipse = ((x + 0.5 - 35) / 25) ** 2 + ((y + 0.5 - 41) / 29) ** 2 <= 1
    rectangle = (x >= 70) & (x < 125) & (y >= 30) & (y < 95) & ~((x >= 100) & (y < 50))
    return torch.stack([ellipse, rectangle]).to(torch.uint8)


class TinyBackbone(torch.nn.Module):
    """One 3x3 stride-4 convolution with ReLU, returning map "0" (twin: MaskRcnnTests.TinyBackbone)."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Conv2d(3, 8, 3, stride=4, padding=1)
        self.out_channels = 8

    def forward(self, x):
        return OrderedDict([("0", F.relu(self.body(x)))])


def tiny_model():
    return MaskRCNN(TinyBackbone(), num_classes=None, min_size=64, max_size=96, box_detections_per_img=10,
                    rpn_anchor_generator=AnchorGenerator(((16, 32, 64),), ((0.5, 1.0, 2.0),)),
                    box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2), box_head=TwoMLPHead(8 * 49, 32),
                    box_predictor=FastRCNNPredictor(32, 3), mask_roi_pool=MultiScaleRoIAlign(["0"], 14, 2),
                    mask_head=MaskRCNNHeads(8, [8, 8, 8, 8], 1), mask_predictor=MaskRCNNPredictor(8, 8, 3))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_keys("maskrcnn_resnet50_fpn", maskrcnn_resnet50_fpn(weights=None, weights_backbone=None))
    write_keys("fasterrcnn_resnet50_fpn", fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None))

    torch.manual_seed(0)
    model = MaskRCNN(resnet_fpn("resnet50", 3), num_classes=5, min_size=128, max_size=160, rpn_post_nms_top_n_test=200,
                     box_detections_per_img=9)
    write_keys("maskrcnn_resnet50_fpn_c5", model)
    formula_fill(model)
    model = model.double().eval()
    before_paste = {}
    model.roi_heads.register_forward_hook(lambda m, i, o: before_paste.update(m=o[0][0]["masks"].clone()))
    with torch.no_grad():
        out = model([formula_input(3, 100, 130)])[0]
    save("mrcnn_boxes", out["boxes"])
    save("mrcnn_scores", out["scores"])
    save("mrcnn_labels", out["labels"])
    save("mrcnn_masks28", before_paste["m"])
    save("mrcnn_masks", out["masks"])
    print(len(out["boxes"]), "detections; scores", out["scores"].tolist())

    model = MaskRCNN(resnet_fpn("resnet50", 3), num_classes=5, min_size=128, max_size=160, rpn_post_nms_top_n_train=100,
                     rpn_batch_size_per_image=100000, box_batch_size_per_image=100000)
    formula_fill(model)
    model = model.double().train()
    masks = training_masks()
    targets = [{"boxes": torch.tensor([[10.0, 12.0, 60.0, 70.0], [70.0, 30.0, 125.0, 95.0]], dtype=torch.float64),
                "labels": torch.tensor([1, 3]), "masks": masks}]
    resized_masks = {}
    original_resize = model.transform.resize

    def record_resize(image, target):
        image, target = original_resize(image, target)
        if target is not None:
            resized_masks["m"] = target["masks"].clone()
        return image, target

    model.transform.resize = record_resize
    losses = model([formula_input(3, 100, 130)], targets)
    save("mask_resize", resized_masks["m"].float())
    for name, value in losses.items():
        save(f"mtrain_{name}", value.reshape(1))
    sum(losses.values()).backward()
    for key in ["roi_heads.mask_predictor.mask_fcn_logits.bias", "roi_heads.mask_head.3.0.bias", "roi_heads.box_predictor.cls_score.bias"]:
        save("mtrain_grad_" + key.replace(".", "_"), dict(model.named_parameters())[key].grad)
    print({k: v.item() for k, v in losses.items()})
    model.zero_grad()
    empty = [{"boxes": torch.zeros((0, 4), dtype=torch.float64), "labels": torch.zeros((0,), dtype=torch.int64),
              "masks": torch.zeros((0, 100, 130), dtype=torch.uint8)}]
    losses = model([formula_input(3, 100, 130)], empty)
    for name, value in losses.items():
        save(f"mtrain_empty_{name}", value.reshape(1))
    print("no objects:", {k: v.item() for k, v in losses.items()})

    # paste_masks_in_image alone, float32 as the C# model runs it.
    g = torch.Generator().manual_seed(3)
    paste_masks = torch.rand((6, 1, 28, 28), generator=g)
    paste_boxes = torch.tensor([[5.3, 7.9, 30.2, 40.6], [-6.0, -3.5, 20.0, 12.25], [40.7, 30.1, 75.0, 58.0],
                                [10.0, 10.0, 10.4, 10.3], [0.0, 0.0, 70.0, 50.0], [33.3, 2.2, 47.7, 49.9]])
    save("paste_masks", paste_masks)
    save("paste_boxes", paste_boxes)
    save("paste_result", paste_masks_in_image(paste_masks, paste_boxes, (50, 70)))
    # project_masks_on_boxes alone: two gt masks, three boxes (one partly outside).
    gt = (torch.rand((2, 40, 50), generator=g) > 0.5).to(torch.uint8)
    project_boxes = torch.tensor([[3.5, 4.25, 30.0, 33.0], [20.0, 10.0, 49.0, 39.0], [-5.0, 30.0, 20.0, 45.0]])
    save("project_gt", gt.float())
    save("project_boxes", project_boxes)
    save("project_matched", torch.tensor([1.0, 0.0, 1.0]))
    save("project_result", project_masks_on_boxes(gt, project_boxes, torch.tensor([1, 0, 1]), 28))

    # The .pth round trip: a small configuration with seeded random weights (std 0.1: the top scores, about 0.5, differ by 1e-4 or more, the 10th from the 11th by 9e-4).
    torch.manual_seed(7)
    tiny = tiny_model()
    with torch.no_grad():
        for p in tiny.parameters():
            p.normal_(0, 0.1)
    torch.save(tiny.state_dict(), os.path.join(OUT, "tiny_maskrcnn.pth"))
    tiny = tiny.double().eval()
    with torch.no_grad():
        out = tiny([formula_input(3, 60, 80)])[0]
    for name in ["boxes", "scores", "labels", "masks"]:
        save(f"tiny_{name}", out[name])
    print("tiny:", len(out["boxes"]), "detections; scores", out["scores"].tolist(), "labels", out["labels"].tolist())


if __name__ == "__main__":
    main()
