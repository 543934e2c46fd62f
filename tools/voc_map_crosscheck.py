"""Cross-checks tools/voc_map_reference.py (and so the committed VOC goldens) against PaddleDetection's own code.

Runs the unmodified ppdet/metrics/map_utils.py of a PaddleDetection checkout (its DetectionMAP class) on the committed
tests/SharpSeg.Detection.Tests/Golden/voc/voc_map.json and compares every case's mAP and per-class AP. Paddle itself
is not installed on the project machines: the three imports map_utils.py makes at module level (paddle,
ppdet.modeling.rbox_utils, ppdet.utils.logger) are stood in for by empty modules; DetectionMAP's axis-aligned path uses
none of them. Each image's detections are handed over best score first (stable), the order PaddleDetection's detectors
emit and our evaluator sorts to. Nothing of the checkout is copied into this repository.

    /usr/bin/python3 tools/voc_map_crosscheck.py /path/to/PaddleDetection

Needs numpy. Not run by CI.
"""
import importlib.util
import json
import logging
import os
import sys
import types

import numpy as np

GOLDEN = os.path.join("tests", "SharpSeg.Detection.Tests", "Golden", "voc", "voc_map.json")


def load_map_utils(checkout):
    sys.modules["paddle"] = types.ModuleType("paddle")
    for name in ("ppdet", "ppdet.modeling", "ppdet.utils"):
        sys.modules[name] = types.ModuleType(name)
    rbox = types.ModuleType("ppdet.modeling.rbox_utils")
    rbox.poly2rbox_np = None
    sys.modules["ppdet.modeling.rbox_utils"] = rbox
    logger = types.ModuleType("ppdet.utils.logger")
    logger.setup_logger = logging.getLogger
    sys.modules["ppdet.utils.logger"] = logger
    spec = importlib.util.spec_from_file_location("map_utils", os.path.join(checkout, "ppdet", "metrics", "map_utils.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    map_utils = load_map_utils(sys.argv[1])
    golden = json.load(open(GOLDEN))
    num_classes = golden["num_classes"]
    worst = 0.0
    for case in golden["cases"]:
        # PaddleDetection's class ids are 0-based without a background; ours are 1-based, so class k of theirs is label k.
        metric = map_utils.DetectionMAP(class_num=num_classes, overlap_thresh=0.5, map_type=case["mode"],
                                        is_bbox_normalized=not case["pixel_inclusive"],
                                        evaluate_difficult=case["evaluate_difficult"],
                                        catid2name={k: f"class{k}" for k in range(num_classes)})
        for image in golden["images"]:
            dets = sorted(image["det"], key=lambda d: -d["score"])
            gts = image["gt"]
            metric.update(np.array([d["box"] for d in dets], dtype=np.float32).reshape(-1, 4),
                          np.array([d["score"] for d in dets], dtype=np.float32),
                          np.array([d["label"] for d in dets], dtype=np.int64),
                          np.array([g["box"] for g in gts], dtype=np.float32).reshape(-1, 4),
                          np.array([g["label"] for g in gts], dtype=np.int64),
                          np.array([1 if g["difficult"] else 0 for g in gts], dtype=np.int64))
        metric.accumulate()
        theirs = metric.get_map()
        # is_bbox_normalized=True removes the +1 (norm = 1 - 1 = 0), the continuous-box case.
        difference = abs(theirs - case["map"])
        worst = max(worst, difference)
        # eval_results lists only the classes with ground truth and detections (one without detections scores 0 in the mean).
        aps = [r["ap"] for r in metric.eval_results]
        detected = {d["label"] for image in golden["images"] for d in image["det"]}
        ours = [ap for label, ap in enumerate(case["class_ap"]) if ap is not None and label in detected]
        if len(aps) != len(ours):
            sys.exit(f"{case}: PaddleDetection scored {len(aps)} classes, the reference {len(ours)}")
        worst = max([worst] + [abs(a - b) for a, b in zip(aps, ours)])
        print(f"{case['mode']:8} difficult={case['evaluate_difficult']!s:5} inclusive={case['pixel_inclusive']!s:5} "
              f"mAP reference {case['map']:.12f} PaddleDetection {theirs:.12f}")
    if worst > 1e-12:
        sys.exit(f"reference and PaddleDetection differ by {worst}")
    print(f"all cases agree (worst difference {worst:.3g})")


if __name__ == "__main__":
    main()
