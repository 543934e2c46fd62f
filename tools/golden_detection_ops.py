#!/usr/bin/python3
"""Golden fixtures for SharpSeg's detection ops (tests/SharpSeg.Detection.Tests/Ops).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/golden_detection_ops.py
Writes tests/SharpSeg.Detection.Tests/Golden/Ops/<case>_<name>.npy, all float32 (indices and labels stored as floats),
inputs next to outputs so the C# tests need no random generator of torch's. Cases:
  boxes_*      box_area, box_iou, clip_boxes_to_image((h, w) = (20, 30)), remove_small_boxes(min_size 2)
  nms_*        nms and batched_nms on random boxes with repeated scores (ties), thresholds 0.5 and 0.3
  roialign<k>_* roi_align forward and the input gradient of sum(out * upstream) for three settings (see CASES)
  coder_*      BoxCoder encode/decode with weights (10, 10, 5, 5), including deltas above the log(1000/16) clamp
  levels_*     LevelMapper(k_min 2, k_max 5) levels of boxes of many sizes
  smoothl1_*   F.smooth_l1_loss(beta=1/9, sum) and its input gradient
  focal<k>_*   sigmoid_focal_loss (alpha .25 gamma 2 mean; alpha -1 gamma 1.5 sum) and input gradients
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.ops import poolers

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Detection.Tests", "Golden", "Ops")


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(t.detach().to(torch.float32).numpy()))


def random_boxes(g, n, size=30.0, extent=0.5):
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size * extent
    return torch.cat([xy, xy + wh], 1)


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(15)

    boxes1 = random_boxes(g, 7)
    boxes1[3, 2] = boxes1[3, 0] + 1.5  # narrower than min_size 2
    boxes2 = random_boxes(g, 5)
    boxes2[0] = boxes1[1]  # an exact match: IoU 1
    boxes2[1] = torch.tensor([-5.0, -3.0, 40.0, 25.0])  # crosses the image border
    save("boxes_a", boxes1)
    save("boxes_b", boxes2)
    save("boxes_area", torchvision.ops.box_area(boxes1))
    save("boxes_iou", torchvision.ops.box_iou(boxes1, boxes2))
    save("boxes_clipped", torchvision.ops.clip_boxes_to_image(boxes2, (20, 30)))
    save("boxes_small_keep", torchvision.ops.remove_small_boxes(boxes1, 2.0))

    boxes = random_boxes(g, 60, 16.0, extent=1.5)
    scores = (torch.rand(60, generator=g) * 8).floor() / 8  # only 8 distinct values: many ties
    classes = torch.randint(0, 3, (60,), generator=g)
    save("nms_boxes", boxes)
    save("nms_scores", scores)
    save("nms_classes", classes)
    save("nms_keep05", torchvision.ops.nms(boxes, scores, 0.5))
    save("nms_keep03", torchvision.ops.nms(boxes, scores, 0.3))
    save("nms_batched05", torchvision.ops.batched_nms(boxes, scores, classes, 0.5))

    # (output size, spatial scale, sampling ratio, aligned): adaptive grid (-1 and 0), fixed grid, aligned shift
    cases = [((3, 4), 0.5, 2, False), ((2, 2), 1.0, -1, True), ((4, 3), 0.25, 0, False)]
    x = torch.randn(2, 3, 10, 12, generator=g, dtype=torch.float64)
    rois = torch.tensor([
        [0, 1.0, 1.0, 9.0, 7.0],
        [1, 0.0, 0.0, 23.0, 19.0],
        [0, -6.0, -4.0, 5.0, 3.0],     # partly left of and above the map
        [1, 15.0, 12.0, 30.0, 26.0],   # past the right and bottom edges
        [0, 4.2, 3.3, 4.4, 3.9],       # smaller than one pixel
        [1, 40.0, 40.0, 60.0, 50.0],   # entirely outside: zeros
        [0, 2.5, 6.5, 17.5, 8.0],
    ], dtype=torch.float64)
    save("roialign_input", x)
    save("roialign_rois", rois)
    for k, (size, scale, ratio, aligned) in enumerate(cases):
        xi = x.clone().to(torch.float32).requires_grad_(True)
        out = torchvision.ops.roi_align(xi, rois.to(torch.float32), size, scale, ratio, aligned)
        upstream = torch.randn(out.shape, generator=g)
        (out * upstream).sum().backward()
        save(f"roialign{k}_output", out)
        save(f"roialign{k}_upstream", upstream)
        save(f"roialign{k}_grad", xi.grad)

    coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    proposals = random_boxes(g, 9, 50.0)
    gt = random_boxes(g, 9, 50.0)
    save("coder_proposals", proposals)
    save("coder_gt", gt)
    save("coder_encoded", coder.encode_single(gt, proposals))
    deltas = torch.randn(9, 8, generator=g)
    deltas[0, 2] = 30.0  # dw far above log(1000/16): clamped
    deltas[1, 7] = 25.0
    save("coder_deltas", deltas)
    save("coder_decoded", coder.decode_single(deltas, proposals))

    sizes = torch.tensor([1.0, 8.0, 31.9, 56.0, 112.0, 223.9, 224.0, 448.0, 900.0, 2000.0])
    level_boxes = torch.stack([torch.zeros(10), torch.zeros(10), sizes, sizes * 0.75], 1)
    save("levels_boxes", level_boxes)
    save("levels_levels", poolers.LevelMapper(2, 5)([level_boxes]))

    a = torch.randn(6, 4, generator=g) * 0.3
    b = torch.randn(6, 4, generator=g) * 0.3
    a.requires_grad_(True)
    loss = F.smooth_l1_loss(a, b, beta=1 / 9, reduction="sum")
    loss.backward()
    save("smoothl1_input", a)
    save("smoothl1_target", b)
    save("smoothl1_loss", loss.reshape(1))
    save("smoothl1_grad", a.grad)

    logits = torch.randn(5, 7, generator=g) * 2
    targets = (torch.rand(5, 7, generator=g) > 0.7).to(torch.float32)
    save("focal_input", logits)
    save("focal_target", targets)
    for k, (alpha, gamma, reduction) in enumerate([(0.25, 2.0, "mean"), (-1.0, 1.5, "sum")]):
        xi = logits.clone().requires_grad_(True)
        loss = torchvision.ops.sigmoid_focal_loss(xi, targets, alpha, gamma, reduction)
        loss.backward()
        save(f"focal{k}_loss", loss.reshape(1))
        save(f"focal{k}_grad", xi.grad)


if __name__ == "__main__":
    main()
