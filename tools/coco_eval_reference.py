"""Reference COCO evaluation (boxes and masks) and COCO mask RLE codec, for SharpSeg's CocoEvaluator goldens.

pycocotools is not installable on the project machines (no Debian package, no PyPI), so this file reimplements, in numpy
only, what the COCO API does, written from its published algorithm (cocodataset/cocoapi: common/maskApi.c for the RLE
codec and polygon rasterisation, PythonAPI/pycocotools/cocoeval.py for evaluate/accumulate/summarize, coco.py for
loadRes and annToRLE):

* RLE: column-major run lengths starting with a run of zeros; compressed strings use 5 data bits + 1 continuation bit per
  character (ASCII 48..111), counts from the fourth on as differences to the count two before.
* Polygons: the outline is scan-converted on a grid 5x finer; each column crossing at a pixel-centre column records the
  first pixel below it; the sorted crossings become the run lengths.
* COCOeval: per image and category, detections sorted by score (stable) and cut to 100; at each IoU threshold each
  detection takes the still-free ground truth of highest IoU >= threshold (crowds stay free; once a real object is
  matched, ignored ones are not considered); unmatched detections outside the area range are ignored; precision is the
  right-to-left running maximum read at 101 recall points; means skip -1.

Run with Debian's python3 (numpy) from the repository root:

    /usr/bin/python3 tools/coco_eval_reference.py

It writes, under tests/SharpSeg.Detection.Tests/Golden/coco/:
  instances.json        a small ground-truth set (5 images, 4 categories one of which is never annotated, polygons with
                        several parts, uncompressed-RLE crowd regions, compressed RLE, all three area ranges, an image
                        with 24 objects of one category)
  results_bbox.json     box detections (jittered, duplicates, false positives, equal scores within and across images,
                        one image with more than 100 detections, a category without ground truth)
  results_segm.json     mask detections as compressed RLE (same structure)
  expected.json         stats, recall[T,K,A,M] and precision averaged over the recall thresholds [T,K,A,M] per iouType
  polygons.json         polygon rasterisation cases with their compressed RLE, area and toBbox
  instances_ignore.json instances.json with "ignore": 1 on ten annotations (ordinary objects of every size and a crowd)
  expected_ignore.json  as expected.json, for instances_ignore.json with the same results files
CocoEvaluatorTests and CocoRleTests read them; CI never runs this script.
"""
import json
import math
import os

import numpy as np

OUT = os.path.join("tests", "SharpSeg.Detection.Tests", "Golden", "coco")


# ---------------------------------------------------------------------------------------------------------------- RLE
def rle_encode(mask):
    """Run lengths of a row-major HxW 0/1 array, read column by column."""
    flat = (np.asarray(mask).T.reshape(-1) != 0).astype(np.uint8)
    counts, current, run = [], 0, 0
    for value in flat:
        if value != current:
            counts.append(run)
            run, current = 0, value
        run += 1
    counts.append(run)
    return counts


def rle_decode(counts, h, w):
    flat = np.zeros(h * w, dtype=np.uint8)
    pos, value = 0, 0
    for c in counts:
        if value:
            flat[pos:pos + c] = 1
        pos += c
        value ^= 1
    return flat.reshape(w, h).T


def rle_to_string(counts):
    chars = []
    for i, c in enumerate(counts):
        x = int(c) - (int(counts[i - 2]) if i > 2 else 0)
        while True:
            chunk = x & 0x1F
            x >>= 5  # Python's >> on negatives is arithmetic, like C's on long
            more = (x != -1) if (chunk & 0x10) else (x != 0)
            if more:
                chunk |= 0x20
            chars.append(chr(chunk + 48))
            if not more:
                break
    return "".join(chars)


def rle_from_string(s):
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            chunk = ord(s[p]) - 48
            x |= (chunk & 0x1F) << (5 * k)
            more = bool(chunk & 0x20)
            p += 1
            k += 1
            if not more and (chunk & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def c_int(value):
    """C's (int) cast of a double: truncation toward zero."""
    return int(math.trunc(value))


def rle_from_polygon(xy, h, w):
    scale = 5.0
    k = len(xy) // 2
    xs_ = [c_int(scale * xy[2 * j] + 0.5) for j in range(k)] + [0]
    ys_ = [c_int(scale * xy[2 * j + 1] + 0.5) for j in range(k)] + [0]
    xs_[k], ys_[k] = xs_[0], ys_[0]
    u, v = [], []
    for j in range(k):
        x0, x1, y0, y1 = xs_[j], xs_[j + 1], ys_[j], ys_[j + 1]
        dx, dy = abs(x1 - x0), abs(y0 - y1)
        flip = (dx >= dy and x0 > x1) or (dx < dy and y0 > y1)
        if flip:
            x0, x1, y0, y1 = x1, x0, y1, y0
        if dx == 0 and dy == 0:
            u.append(x0)
            v.append(y0)
        elif dx >= dy:
            slope = (y1 - y0) / dx
            for d in range(dx + 1):
                t = dx - d if flip else d
                u.append(t + x0)
                v.append(c_int(y0 + slope * t + 0.5))
        else:
            slope = (x1 - x0) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v.append(t + y0)
                u.append(c_int(x0 + slope * t + 0.5))
    starts = []
    for j in range(1, len(u)):
        if u[j] == u[j - 1]:
            continue
        xd = float(u[j] if u[j] < u[j - 1] else u[j] - 1)
        xd = (xd + 0.5) / scale - 0.5
        if math.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = float(min(v[j], v[j - 1]))
        yd = (yd + 0.5) / scale - 0.5
        yd = min(max(yd, 0.0), float(h))
        yd = math.ceil(yd)
        starts.append(int(xd) * h + int(yd))
    starts.append(h * w)
    starts.sort()
    diffs, prev = [], 0
    for s in starts:
        diffs.append(s - prev)
        prev = s
    counts, j = [diffs[0]], 1
    while j < len(diffs):
        if diffs[j] > 0:
            counts.append(diffs[j])
            j += 1
        else:
            j += 1
            if j < len(diffs):
                counts[-1] += diffs[j]
                j += 1
    return counts


def rle_union(rles, h, w):
    mask = np.zeros((h, w), dtype=np.uint8)
    for counts in rles:
        mask |= rle_decode(counts, h, w)
    return rle_encode(mask)


def rle_area(counts):
    return int(sum(counts[1::2]))


def rle_to_bbox(counts, h, w):
    m = len(counts) // 2 * 2
    if m == 0:
        return [0.0, 0.0, 0.0, 0.0]
    xs, ys, xe, ye, cc, xp = w, h, 0, 0, 0, 0
    for j in range(m):
        cc += counts[j]
        t = cc - j % 2
        y = t % h
        x = (t - y) // h
        if j % 2 == 0:
            xp = x
        elif xp < x:
            ys, ye = 0, h - 1
        xs, xe, ys, ye = min(xs, x), max(xe, x), min(ys, y), max(ye, y)
    return [float(xs), float(ys), float(xe - xs + 1), float(ye - ys + 1)]


def mask_iou(dt_counts, gt_counts, h, w, crowd):
    a = rle_decode(dt_counts, h, w).astype(bool)
    b = rle_decode(gt_counts, h, w).astype(bool)
    inter = int(np.logical_and(a, b).sum())
    if inter == 0:
        return 0.0
    union = int(a.sum()) if crowd else int(np.logical_or(a, b).sum())
    return inter / union


def box_iou(d, g, crowd):
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    inter = w * h
    da = d[2] * d[3]
    return inter / (da if crowd else da + g[2] * g[3] - inter)


def ann_to_counts(ann, h, w):
    """COCO.annToRLE: polygons are rasterised and united, uncompressed RLE taken as is, compressed RLE decoded."""
    seg = ann["segmentation"]
    if isinstance(seg, list):
        return rle_union([rle_from_polygon(p, h, w) for p in seg], h, w)
    if isinstance(seg["counts"], list):
        return list(seg["counts"])
    return rle_from_string(seg["counts"])


# ----------------------------------------------------------------------------------------------------------- COCOeval
IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]


def coco_eval(gt_set, results, iou_type):
    images = {im["id"]: im for im in gt_set["images"]}
    img_ids = sorted(images)
    cat_ids = sorted(c["id"] for c in gt_set["categories"])

    # loadRes: ids from 1 in file order, area from the box or the mask, never crowd.
    dts = []
    for i, r in enumerate(results):
        d = dict(r)
        d["id"] = i + 1
        d["iscrowd"] = 0
        if iou_type == "bbox":
            d["area"] = d["bbox"][2] * d["bbox"][3]
        else:
            d["area"] = rle_area(rle_from_string(d["segmentation"]["counts"]))
        dts.append(d)

    gts_by = {}
    for ann in gt_set["annotations"]:  # annotation order per image, images in sorted id order (getAnnIds)
        gts_by.setdefault((ann["image_id"], ann["category_id"]), []).append(ann)
    dts_by = {}
    for d in dts:
        dts_by.setdefault((d["image_id"], d["category_id"]), []).append(d)

    def region(obj, image_id):
        im = images[image_id]
        if iou_type == "bbox":
            return obj["bbox"]
        return ann_to_counts(obj, im["height"], im["width"])

    def ious_for(img, cat, gts, dts_sorted):
        im = images[img]
        out = np.zeros((len(dts_sorted), len(gts)))
        for di, d in enumerate(dts_sorted):
            for gi, g in enumerate(gts):
                crowd = bool(g["iscrowd"])
                if iou_type == "bbox":
                    out[di, gi] = box_iou(d["bbox"], g["bbox"], crowd)
                else:
                    out[di, gi] = mask_iou(region(d, img), region(g, img), im["height"], im["width"], crowd)
        return out

    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), len(cat_ids), len(AREA_RNG), len(MAX_DETS)
    per_image = {}  # (k, a, img) -> dict or None
    for k, cat in enumerate(cat_ids):
        for img in img_ids:
            gts = gts_by.get((img, cat), [])
            dcs = dts_by.get((img, cat), [])
            if not gts and not dcs:
                continue
            order = np.argsort([-d["score"] for d in dcs], kind="mergesort")
            dts_sorted = [dcs[i] for i in order][: MAX_DETS[-1]]
            ious = ious_for(img, cat, gts, dts_sorted)
            for a, (lo, hi) in enumerate(AREA_RNG):
                # An annotation's "ignore" flag counts as COCOeval's _prepare means it to (gt['ignore'] read first, then
                # or-ed with iscrowd; pycocotools 2.0 overwrites it with iscrowd instead, see coco_eval_crosscheck.py).
                g_ignore = np.array([1 if (g["iscrowd"] or g.get("ignore", 0) or g["area"] < lo or g["area"] > hi) else 0
                                     for g in gts], dtype=int)
                g_order = np.argsort(g_ignore, kind="mergesort")
                g_sorted = [gts[i] for i in g_order]
                g_ig = g_ignore[g_order]
                crowd = [bool(g["iscrowd"]) for g in g_sorted]
                iou_s = ious[:, g_order] if len(gts) else ious
                D = len(dts_sorted)
                d_match = np.zeros((T, D), dtype=bool)
                d_ignore = np.zeros((T, D), dtype=bool)
                for t, thr in enumerate(IOU_THRS):
                    g_taken = np.zeros(len(g_sorted), dtype=bool)
                    for di in range(D):
                        best, m = min(thr, 1 - 1e-10), -1
                        for gi in range(len(g_sorted)):
                            if g_taken[gi] and not crowd[gi]:
                                continue
                            if m > -1 and g_ig[m] == 0 and g_ig[gi] == 1:
                                break
                            if iou_s[di, gi] < best:
                                continue
                            best, m = iou_s[di, gi], gi
                        if m == -1:
                            continue
                        d_ignore[t, di] = g_ig[m] == 1
                        d_match[t, di] = True
                        g_taken[m] = True
                out_of_range = np.array([d["area"] < lo or d["area"] > hi for d in dts_sorted], dtype=bool)
                d_ignore |= np.logical_and(~d_match, out_of_range[None, :])
                per_image[k, a, img] = {
                    "scores": np.array([d["score"] for d in dts_sorted], dtype=float),
                    "match": d_match,
                    "ignore": d_ignore,
                    "npig": int((g_ig == 0).sum()),
                }

    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k in range(K):
        for a in range(A):
            for m, max_det in enumerate(MAX_DETS):
                entries = [per_image[k, a, img] for img in img_ids if (k, a, img) in per_image]
                if not entries:
                    continue
                scores = np.concatenate([e["scores"][:max_det] for e in entries])
                order = np.argsort(-scores, kind="mergesort")
                match = np.concatenate([e["match"][:, :max_det] for e in entries], axis=1)[:, order]
                ignore = np.concatenate([e["ignore"][:, :max_det] for e in entries], axis=1)[:, order]
                npig = sum(e["npig"] for e in entries)
                if npig == 0:
                    continue
                tps = np.cumsum(np.logical_and(match, ~ignore), axis=1).astype(float)
                fps = np.cumsum(np.logical_and(~match, ~ignore), axis=1).astype(float)
                for t in range(T):
                    tp, fp = tps[t], fps[t]
                    nd = len(tp)
                    rc = tp / npig
                    pr = list(tp / (fp + tp + np.spacing(1)))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    for i in range(nd - 1, 0, -1):
                        pr[i - 1] = max(pr[i - 1], pr[i])
                    q = np.zeros(R)
                    for ri, pi in enumerate(np.searchsorted(rc, REC_THRS, side="left")):
                        if pi >= nd:
                            break
                        q[ri] = pr[pi]
                    precision[t, :, k, a, m] = q

    def mean_valid(s):
        s = s[s > -1]
        return -1.0 if s.size == 0 else float(np.mean(s))

    def ap(t=None, a=0, m=2):
        s = precision if t is None else precision[[t]]
        return mean_valid(s[:, :, :, a, m])

    def ar(a=0, m=2):
        return mean_valid(recall[:, :, a, m])

    stats = [ap(), ap(t=0), ap(t=5), ap(a=1), ap(a=2), ap(a=3), ar(m=0), ar(m=1), ar(m=2), ar(a=1), ar(a=2), ar(a=3)]
    return stats, precision, recall


# ------------------------------------------------------------------------------------------------------------ fixture
def jitter_polygon(rng, poly, amount):
    return [float(round(c + rng.uniform(-amount, amount), 2)) for c in poly]


def ellipse_polygon(cx, cy, rx, ry, n, phase=0.0):
    pts = []
    for i in range(n):
        t = phase + 2 * math.pi * i / n
        pts += [round(cx + rx * math.cos(t), 2), round(cy + ry * math.sin(t), 2)]
    return pts


def make_fixture():
    rng = np.random.default_rng(15)
    images = [
        {"id": 3, "file_name": "a.png", "height": 120, "width": 160},
        {"id": 1, "file_name": "b.png", "height": 200, "width": 150},
        {"id": 8, "file_name": "c.png", "height": 64, "width": 80},
        {"id": 5, "file_name": "d.png", "height": 260, "width": 300},
        {"id": 6, "file_name": "e.png", "height": 50, "width": 50},  # no annotations: detections there are false positives
    ]
    categories = [{"id": 1, "name": "disk"}, {"id": 3, "name": "rectangle"}, {"id": 7, "name": "triangle"},
                  {"id": 9, "name": "never annotated"}]
    anns = []

    def add(image, cat, seg, crowd=0, area=None):
        im = next(i for i in images if i["id"] == image)
        h, w = im["height"], im["width"]
        counts = ann_to_counts({"segmentation": seg}, h, w)
        ann = {"id": len(anns) + 1, "image_id": image, "category_id": cat, "iscrowd": crowd, "segmentation": seg,
               "area": float(rle_area(counts)) if area is None else area, "bbox": rle_to_bbox(counts, h, w)}
        anns.append(ann)

    # Image 3 (120x160): medium disks, a small triangle, a two-part rectangle, a crowd region of disks.
    add(3, 1, [ellipse_polygon(40, 40, 18, 15, 16)])
    add(3, 1, [ellipse_polygon(100, 60, 25, 22, 20, 0.3)])
    add(3, 7, [[10.5, 100.5, 30.2, 100.0, 20.0, 85.7]])
    add(3, 3, [[120, 10, 150, 10, 150, 30, 120, 30], [125, 35, 145, 35, 145, 45, 125, 45]])
    crowd = np.zeros((120, 160), dtype=np.uint8)
    crowd[80:115, 60:110] = 1
    crowd[90:100, 70:80] = 0
    add(3, 1, {"size": [120, 160], "counts": rle_encode(crowd)}, crowd=1)
    # Image 1 (200x150): a large rectangle, overlapping triangles, a compressed-RLE disk, a tiny disk.
    add(1, 3, [[10, 10, 140, 12, 138, 120, 12, 118]])
    add(1, 7, [[20, 130, 70, 130, 45, 180]])
    add(1, 7, [[40, 135, 90, 140, 60, 190]])
    disk = np.zeros((200, 150), dtype=np.uint8)
    yy, xx = np.mgrid[0:200, 0:150]
    disk[(yy - 160) ** 2 + (xx - 120) ** 2 <= 20 ** 2] = 1
    add(1, 1, {"size": [200, 150], "counts": rle_to_string(rle_encode(disk))})
    add(1, 1, [[5, 190, 9, 190, 9, 194, 5, 194]])
    # Image 8 (64x80): small objects only, one stated area that differs from the mask (COCOeval uses the stated one).
    add(8, 1, [ellipse_polygon(20, 20, 6, 5, 10)])
    add(8, 3, [[40, 10, 60, 10, 60, 22, 40, 22]], area=1100.0)
    add(8, 7, [[5, 50, 25, 50, 15, 35]])
    add(8, 7, [[50, 55, 70, 55, 60, 40]], crowd=1)
    # Image 5 (260x300): large and medium objects of every category, a large crowd rectangle region.
    add(5, 1, [ellipse_polygon(80, 80, 60, 50, 32)])
    add(5, 1, [ellipse_polygon(220, 70, 30, 30, 24)])
    add(5, 3, [[150, 150, 290, 150, 290, 250, 150, 250]])
    add(5, 3, [[10, 170, 60, 170, 60, 200, 10, 200]])
    add(5, 7, [[20, 250, 120, 250, 70, 150]])
    for row in range(2):  # 24 small disks, so more than 10 objects of one category share an image (AR10 < AR100)
        for column in range(12):
            add(5, 1, [ellipse_polygon(10 + 11 * column, 8 + 11 * row, 4.5, 4, 8)])
    region = np.zeros((260, 300), dtype=np.uint8)
    region[5:60, 150:200] = 1
    add(5, 3, {"size": [260, 300], "counts": rle_to_string(rle_encode(region))}, crowd=1)

    gt_set = {"images": images, "categories": categories, "annotations": anns}

    # Detections: each real object gets 0-3 jittered copies; crowds get a few detections inside; false positives;
    # scores on a coarse grid so equal scores occur within and across images.
    dets = []
    for ann in anns:
        im = next(i for i in images if i["id"] == ann["image_id"])
        h, w = im["height"], im["width"]
        copies = int(rng.integers(0, 4)) if not ann["iscrowd"] else 2
        for _ in range(copies):
            x, y, bw, bh = ann["bbox"]
            amount = float(rng.choice([0.5, 2.0, 5.0, 10.0]))
            box = [round(x + rng.uniform(-amount, amount), 2), round(y + rng.uniform(-amount, amount), 2),
                   round(max(1.0, bw + rng.uniform(-amount, amount)), 2), round(max(1.0, bh + rng.uniform(-amount, amount)), 2)]
            score = float(rng.choice(np.round(np.arange(0.05, 1.0, 0.05), 2)))
            dets.append({"image_id": ann["image_id"], "category_id": ann["category_id"], "bbox": box, "score": score})
    for image in images:
        for _ in range(3):
            h, w = image["height"], image["width"]
            bw, bh = float(rng.uniform(3, w / 2)), float(rng.uniform(3, h / 2))
            box = [round(float(rng.uniform(0, w - bw)), 2), round(float(rng.uniform(0, h - bh)), 2), round(bw, 2), round(bh, 2)]
            cat = int(rng.choice([1, 3, 7, 9]))
            dets.append({"image_id": image["id"], "category_id": cat, "bbox": box, "score": float(rng.choice([0.3, 0.5, 0.7]))})
    # Image 5 gets 110 weak disk detections scattered about, so the 100-detection cut matters.
    for i in range(110):
        bw, bh = float(rng.uniform(5, 60)), float(rng.uniform(5, 60))
        box = [round(float(rng.uniform(0, 300 - bw)), 2), round(float(rng.uniform(0, 260 - bh)), 2), round(bw, 2), round(bh, 2)]
        dets.append({"image_id": 5, "category_id": 1, "bbox": box, "score": round(0.01 + 0.001 * (i % 37), 3)})
    order = rng.permutation(len(dets))
    dets = [dets[i] for i in order]

    bbox_results = dets
    segm_results = []
    for d in dets:
        im = next(i for i in images if i["id"] == d["image_id"])
        h, w = im["height"], im["width"]
        x, y, bw, bh = d["bbox"]
        # The mask of a detection: the ellipse inscribed in its box, so mask IoU differs from box IoU.
        poly = ellipse_polygon(x + bw / 2, y + bh / 2, bw / 2, bh / 2, 12)
        counts = rle_from_polygon(poly, h, w)
        segm_results.append({"image_id": d["image_id"], "category_id": d["category_id"], "score": d["score"],
                             "segmentation": {"size": [h, w], "counts": rle_to_string(counts)}})
    return gt_set, bbox_results, segm_results


def polygon_cases():
    cases = [
        ("unit square at pixel corners", [0, 0, 1, 0, 1, 1, 0, 1], 4, 4),
        ("square 2..6", [2, 2, 6, 2, 6, 6, 2, 6], 8, 8),
        ("triangle fractional", [1.3, 0.7, 7.9, 2.2, 3.1, 6.8], 8, 10),
        ("clockwise hexagon", ellipse_polygon(10, 8, 7, 5, 6)[::-1], 16, 20),
        ("beyond the image", [-3, -2, 12, -1, 14, 9, -4, 11], 8, 10),
        ("self-intersecting bow tie", [1, 1, 9, 7, 9, 1, 1, 7], 9, 11),
        ("thin sliver", [0.2, 3.1, 9.8, 3.4, 9.8, 3.6, 0.2, 3.3], 6, 11),
        ("repeated and closing vertices", [2, 2, 2, 2, 7, 2, 7, 6, 2, 6, 2, 2], 9, 9),
        ("negative fractions", [-0.3, -0.7, 4.4, -0.2, 4.1, 4.6, -0.6, 3.9], 6, 6),
        ("large ellipse", ellipse_polygon(60, 40, 50, 33, 40, 0.1), 90, 130),
    ]
    out = []
    for name, poly, h, w in cases:
        counts = rle_from_polygon([float(c) for c in poly], h, w)
        out.append({"name": name, "polygon": [float(c) for c in poly], "height": h, "width": w, "counts": counts,
                    "compressed": rle_to_string(counts), "area": rle_area(counts), "bbox": rle_to_bbox(counts, h, w)})
    return out


IGNORED_IDS = (2, 4, 5, 7, 12, 15, 17, 21, 22, 30)


def main():
    os.makedirs(OUT, exist_ok=True)
    gt_set, bbox_results, segm_results = make_fixture()
    expected = {}
    for iou_type, results in (("bbox", bbox_results), ("segm", segm_results)):
        stats, precision, recall = coco_eval(gt_set, results, iou_type)
        expected[iou_type] = {
            "stats": stats,
            "recall": recall.reshape(-1).tolist(),
            "precision_mean_over_recall": np.where(precision.min(axis=1) > -1, precision.mean(axis=1), -1.0).reshape(-1).tolist(),
        }
        print(iou_type, " ".join(f"{s:.4f}" for s in stats))
    # The same set with objects flagged "ignore": 1 (VOC's difficult travels as this flag): medium and large objects, one
    # of two overlapping triangles, small disks among the 24, and a crowd region that is also flagged.
    ignored_set = json.loads(json.dumps(gt_set))
    for ann in ignored_set["annotations"]:
        if ann["id"] in IGNORED_IDS:
            ann["ignore"] = 1
    expected_ignore = {}
    for iou_type, results in (("bbox", bbox_results), ("segm", segm_results)):
        stats, precision, recall = coco_eval(ignored_set, results, iou_type)
        expected_ignore[iou_type] = {
            "stats": stats,
            "recall": recall.reshape(-1).tolist(),
            "precision_mean_over_recall": np.where(precision.min(axis=1) > -1, precision.mean(axis=1), -1.0).reshape(-1).tolist(),
        }
        print(iou_type, "with ignore", " ".join(f"{s:.4f}" for s in stats))
    for name, data in (("instances.json", gt_set), ("results_bbox.json", bbox_results), ("results_segm.json", segm_results),
                       ("expected.json", expected), ("polygons.json", polygon_cases()),
                       ("instances_ignore.json", ignored_set), ("expected_ignore.json", expected_ignore)):
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, indent=None, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
