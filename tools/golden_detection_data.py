"""Goldens for SharpSeg.Detection's box-and-mask transforms, from torchvision 1.13's own functions.

Writes tests/SharpSeg.Detection.Tests/Golden/detection_transforms.json with, for a seeded random mask stack and box set:
  * masks resized with torch.nn.functional.interpolate(mode="nearest") to several sizes (what torchvision's detection
    transforms use for masks);
  * boxes resized with torchvision.models.detection.transform.resize_boxes (float32 ratios new/old per axis);
  * boxes flipped as the detection references' RandomHorizontalFlip (boxes[:, [0, 2]] = width - boxes[:, [2, 0]]).
DetectionTransformGoldenTests reads it; CI never runs this. Run from the repository root:

    /usr/bin/python3 tools/golden_detection_data.py
"""
import json
import os

import torch
from torchvision.models.detection.transform import resize_boxes

OUT = os.path.join("tests", "SharpSeg.Detection.Tests", "Golden", "detection_transforms.json")


def main():
    g = torch.Generator().manual_seed(15)
    height, width = 7, 9
    masks = (torch.rand(3, height, width, generator=g) > 0.5).to(torch.uint8)
    boxes = torch.tensor([[0.5, 1.25, 6.75, 5.5], [2.0, 0.0, 9.0, 7.0], [3.3, 2.2, 4.4, 6.6]], dtype=torch.float32)
    cases = []
    for new_h, new_w in [(3, 4), (5, 13), (14, 18), (10, 20), (7, 9), (1, 2)]:
        resized = torch.nn.functional.interpolate(masks[:, None].float(), size=(new_h, new_w), mode="nearest")[:, 0]
        cases.append({
            "height": new_h,
            "width": new_w,
            "masks": resized.to(torch.uint8).reshape(-1).tolist(),
            "boxes": resize_boxes(boxes, (height, width), (new_h, new_w)).reshape(-1).tolist(),
        })
    flipped = boxes.clone()
    flipped[:, [0, 2]] = width - boxes[:, [2, 0]]
    data = {
        "height": height,
        "width": width,
        "masks": masks.reshape(-1).tolist(),
        "boxes": boxes.reshape(-1).tolist(),
        "flipped_boxes": flipped.reshape(-1).tolist(),
        "resized": cases,
    }
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
