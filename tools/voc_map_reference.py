"""Reference VOC-style mAP for SharpSeg's VocEvaluator goldens.

Written from the rules of PaddleDetection's DetectionMAP (ppdet/metrics/map_utils.py, the VOC metric PaddleX and
PaddleDetection report), not copied from it:

* ground truths count towards their class unless difficult (evaluate_difficult=False);
* an image's detections are taken best score first (stable on ties; PaddleDetection takes the model's order, which is
  score order); each finds the ground truth of its class with the highest IoU (strict '>', so the first on ties; taken
  and difficult ones included); IoU > threshold (strict): difficult -> no record, free -> true positive (and taken),
  taken -> false positive; otherwise a false positive;
* IoU is 0 for boxes that only touch; with inclusive pixel boxes every width and height gets +1;
* per class, records of all images sorted by score descending, stable (image order on ties); precision tp/(tp+fp),
  recall tp/npos; classes with npos = 0 are skipped, a class with ground truth but no records scores 0;
* 11point: PaddleDetection's backward sweep over the curve for recall levels 1.0, 0.9, ..., 0.0 (a level starts from
  the level above's best when the sweep stopped on a point below it), mean of the 11 values;
* integral: sum of precision * |recall - previous recall| over points where recall moved by more than 1e-6.

Run with Debian's python3 (numpy) from the repository root:

    /usr/bin/python3 tools/voc_map_reference.py

It writes tests/SharpSeg.Detection.Tests/Golden/voc/voc_map.json: the images (ground truth with difficult flags,
detections in shuffled order) and the expected per-class AP and mAP for both modes, with and without difficult objects,
with continuous and inclusive-pixel boxes. VocEvaluatorTests reads it; CI never runs this script.
tools/voc_map_crosscheck.py runs PaddleDetection's own map_utils.py on the same file.
"""
import json
import os

import numpy as np

OUT = os.path.join("tests", "SharpSeg.Detection.Tests", "Golden", "voc")
NUM_CLASSES = 5  # background + 4; class 4 has detections but no ground truth, class 3 ground truth but no detections


def overlap(a, b, inclusive):
    if a[0] >= b[2] or a[2] <= b[0] or a[1] >= b[3] or a[3] <= b[1]:
        return 0.0
    extra = 1.0 if inclusive else 0.0

    def area(x1, y1, x2, y2):
        return (x2 - x1 + extra) * (y2 - y1 + extra)

    inter = area(max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return inter / (area(*a) + area(*b) - inter)


def voc_map(images, mode, evaluate_difficult, inclusive, thresh=0.5):
    npos = [0] * NUM_CLASSES
    records = [[] for _ in range(NUM_CLASSES)]
    for image in images:
        gts = image["gt"]
        for g in gts:
            if evaluate_difficult or not g["difficult"]:
                npos[g["label"]] += 1
        dets = sorted(image["det"], key=lambda d: -d["score"])  # Python's sort is stable
        taken = [False] * len(gts)
        for d in dets:
            best, best_overlap = -1, -1.0
            for i, g in enumerate(gts):
                if g["label"] != d["label"]:
                    continue
                o = overlap(d["box"], g["box"], inclusive)
                if o > best_overlap:
                    best, best_overlap = i, o
            if best_overlap > thresh:
                if not evaluate_difficult and gts[best]["difficult"]:
                    continue
                records[d["label"]].append((d["score"], not taken[best]))
                taken[best] = True
            else:
                records[d["label"]].append((d["score"], False))
    class_ap = [None] * NUM_CLASSES
    for label in range(1, NUM_CLASSES):
        if npos[label] == 0:
            continue
        ranked = sorted(records[label], key=lambda r: r[0], reverse=True)
        if not ranked:
            class_ap[label] = 0.0
            continue
        tp = np.cumsum([1 if r[1] else 0 for r in ranked])
        fp = np.cumsum([0 if r[1] else 1 for r in ranked])
        precision = [float(t) / (t + f) for t, f in zip(tp, fp)]
        recall = [float(t) / npos[label] for t in tp]
        if mode == "11point":
            best = [0.0] * 11
            start = len(precision) - 1
            for level in range(10, -1, -1):
                i = start
                while i >= 0:
                    if recall[i] < level / 10.0:
                        start = i
                        if level > 0:
                            best[level - 1] = best[level]
                        break
                    best[level] = max(best[level], precision[i])
                    i -= 1
            ap = sum(best) / 11.0
        else:
            ap, previous = 0.0, 0.0
            for p, r in zip(precision, recall):
                if abs(r - previous) > 1e-6:
                    ap += p * abs(r - previous)
                    previous = r
        class_ap[label] = ap
    counted = [ap for ap in class_ap if ap is not None]
    return (sum(counted) / len(counted) if counted else 0.0), class_ap


def f32(values):
    return [float(np.float32(v)) for v in values]


def make_images():
    rng = np.random.default_rng(2007)
    images = []
    for index in range(7):
        gts, dets = [], []
        for _ in range(int(rng.integers(1, 6))):
            label = int(rng.choice([1, 1, 2, 2, 3]))
            x1, y1 = float(rng.integers(0, 150)), float(rng.integers(0, 150))
            w, h = float(rng.integers(8, 90)), float(rng.integers(8, 90))
            box = f32([x1, y1, x1 + w, y1 + h])
            difficult = bool(rng.random() < 0.25)
            gts.append({"box": box, "label": label, "difficult": difficult})
            if label == 3:
                continue  # class 3 is never detected
            for _ in range(int(rng.integers(0, 4))):  # 0-3 copies, jittered from tight to loose (some below IoU 0.5)
                amount = float(rng.choice([1.0, 4.0, 9.0, 20.0]))
                jitter = rng.uniform(-amount, amount, 4)
                d = [box[0] + jitter[0], box[1] + jitter[1], box[2] + jitter[2], box[3] + jitter[3]]
                d = f32([round(d[0], 2), round(d[1], 2), round(max(d[2], d[0] + 1), 2), round(max(d[3], d[1] + 1), 2)])
                dets.append({"box": d, "label": label, "score": float(np.float32(rng.choice(np.arange(0.05, 1.0, 0.05)).round(2)))})
        for _ in range(int(rng.integers(1, 4))):  # false positives, some of class 4 (no ground truth anywhere)
            x1, y1 = float(rng.uniform(0, 180)), float(rng.uniform(0, 180))
            d = f32([round(x1, 2), round(y1, 2), round(x1 + float(rng.uniform(5, 60)), 2), round(y1 + float(rng.uniform(5, 60)), 2)])
            dets.append({"box": d, "label": int(rng.choice([1, 2, 4])), "score": float(np.float32(rng.choice([0.3, 0.5, 0.7])))})
        images.append({"gt": gts, "det": dets})
    # Hand-made cases in one more image: a detection touching a box edge (IoU 0 by the strict test), a detection closest
    # to a difficult object, two equal-score duplicates of one object, an IoU of exactly 0.5 (not a match).
    images.append({
        "gt": [{"box": [10.0, 10.0, 50.0, 50.0], "label": 1, "difficult": False},
               {"box": [60.0, 10.0, 100.0, 50.0], "label": 1, "difficult": True},
               {"box": [10.0, 60.0, 50.0, 100.0], "label": 2, "difficult": False},
               {"box": [120.0, 120.0, 160.0, 160.0], "label": 2, "difficult": False}],
        "det": [{"box": [50.0, 10.0, 60.0, 50.0], "label": 1, "score": 0.9},
                {"box": [61.0, 11.0, 99.0, 49.0], "label": 1, "score": 0.85},
                {"box": [11.0, 61.0, 49.0, 99.0], "label": 2, "score": 0.8},
                {"box": [12.0, 62.0, 50.0, 100.0], "label": 2, "score": 0.8},
                {"box": [120.0, 120.0, 160.0, 200.0], "label": 2, "score": 0.75},
                {"box": [9.0, 9.0, 51.0, 51.0], "label": 1, "score": 0.3}],
    })
    for d in images[-1]["det"]:  # scores as float32 values, as the evaluator holds them
        d["score"] = float(np.float32(d["score"]))
    for image in images:  # detections in no particular order: the evaluator sorts each image's by score
        order = rng.permutation(len(image["det"]))
        image["det"] = [image["det"][i] for i in order]
    return images


def main():
    os.makedirs(OUT, exist_ok=True)
    images = make_images()
    cases = []
    for mode in ("11point", "integral"):
        for evaluate_difficult in (False, True):
            for inclusive in (False, True):
                m, class_ap = voc_map(images, mode, evaluate_difficult, inclusive)
                cases.append({"mode": mode, "evaluate_difficult": evaluate_difficult, "pixel_inclusive": inclusive,
                              "map": m, "class_ap": class_ap})
                print(mode, evaluate_difficult, inclusive, f"{m:.6f}", class_ap)
    with open(os.path.join(OUT, "voc_map.json"), "w") as f:
        json.dump({"num_classes": NUM_CLASSES, "images": images, "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
