"""Cross-checks tools/coco_eval_reference.py (and so the committed goldens) against the COCO API's own code.

pycocotools cannot be pip/apt-installed on the project machines and its _mask extension needs Cython, which is not
there either. This script runs the COCO API's unmodified Python files (coco.py, cocoeval.py, mask.py) from a checkout
of github.com/cocodataset/cocoapi, with their C mask code (common/maskApi.c) compiled by gcc into a shared library and
reached through a small ctypes module standing in for the Cython _mask extension (it only converts arguments; every
computation is maskApi.c's or cocoeval.py's). It then evaluates the committed fixture and compares with expected.json,
and checks the polygon cases in polygons.json. Nothing of the checkout is copied into this repository.

    /usr/bin/python3 tools/coco_eval_crosscheck.py /path/to/cocoapi

Needs gcc and numpy (matplotlib, which coco.py imports for drawing only, is stubbed when absent). Not run by CI.

The ignore set (instances_ignore.json) is evaluated by a COCOeval subclass whose _prepare keeps each annotation's own
"ignore" flag: pycocotools 2.0's _prepare reads it and then overwrites it with iscrowd, so unmodified pycocotools
would score those objects as ordinary ones.
"""
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import types

import numpy as np

GOLDEN = os.path.join("tests", "SharpSeg.Detection.Tests", "Golden", "coco")


class _Rle(ctypes.Structure):
    _fields_ = [("h", ctypes.c_size_t), ("w", ctypes.c_size_t), ("m", ctypes.c_size_t), ("cnts", ctypes.POINTER(ctypes.c_uint))]


def build_mask_module(cocoapi, workdir):
    """A module with the Cython _mask extension's functions, implemented over the compiled maskApi.c."""
    library = os.path.join(workdir, "libmaskapi.so")
    subprocess.check_call(["gcc", "-O2", "-shared", "-fPIC", "-o", library, os.path.join(cocoapi, "common", "maskApi.c")])
    c = ctypes.CDLL(library)
    c.rleToString.restype = ctypes.c_void_p
    libc = ctypes.CDLL(None)
    size = ctypes.c_size_t

    def to_obj(r):
        pointer = c.rleToString(ctypes.byref(r))
        text = ctypes.string_at(pointer)
        libc.free(ctypes.c_void_p(pointer))
        return {"size": [r.h, r.w], "counts": text}

    def from_obj(obj):
        r = _Rle()
        counts = obj["counts"].encode() if isinstance(obj["counts"], str) else obj["counts"]
        c.rleFrString(ctypes.byref(r), ctypes.c_char_p(counts), size(obj["size"][0]), size(obj["size"][1]))
        return r

    def counts_of(r):
        return [r.cnts[i] for i in range(r.m)]

    def rle_from_counts(h, w, counts):
        r = _Rle()
        array = (ctypes.c_uint * len(counts))(*[int(x) for x in counts])
        c.rleInit(ctypes.byref(r), size(h), size(w), size(len(counts)), array)
        return r

    def encode(mask):
        h, w, n = mask.shape
        out = []
        for i in range(n):
            r = _Rle()
            plane = np.asfortranarray(mask[:, :, i])
            c.rleEncode(ctypes.byref(r), plane.ctypes.data_as(ctypes.c_void_p), size(h), size(w), size(1))
            out.append(to_obj(r))
        return out

    def decode(objs):
        rs = [from_obj(o) for o in objs]
        h, w = rs[0].h, rs[0].w
        out = np.zeros((h, w, len(rs)), dtype=np.uint8, order="F")
        for i, r in enumerate(rs):
            plane = np.zeros(h * w, dtype=np.uint8)
            c.rleDecode(ctypes.byref(r), plane.ctypes.data_as(ctypes.c_void_p), size(1))
            out[:, :, i] = plane.reshape((w, h)).T
        return out

    def merge(objs, intersect=0):
        array = (_Rle * len(objs))(*[from_obj(o) for o in objs])
        r = _Rle()
        c.rleMerge(array, ctypes.byref(r), size(len(objs)), ctypes.c_int(intersect))
        return to_obj(r)

    def area(objs):
        array = (_Rle * len(objs))(*[from_obj(o) for o in objs])
        result = (ctypes.c_uint * len(objs))()
        c.rleArea(array, size(len(objs)), result)
        return np.array(list(result), dtype=np.uint32)

    def to_bbox(objs):
        array = (_Rle * len(objs))(*[from_obj(o) for o in objs])
        result = (ctypes.c_double * (4 * len(objs)))()
        c.rleToBbox(array, result, size(len(objs)))
        return np.array(list(result)).reshape(len(objs), 4)

    def fr_poly(polys, h, w):
        out = []
        for p in polys:
            r = _Rle()
            xy = (ctypes.c_double * len(p))(*p)
            c.rleFrPoly(ctypes.byref(r), xy, size(len(p) // 2), size(h), size(w))
            out.append(to_obj(r))
        return out

    def fr_bbox(boxes, h, w):
        boxes = np.asarray(boxes, dtype=np.double).reshape(-1, 4)
        out = []
        for b in boxes:
            r = _Rle()
            bb = (ctypes.c_double * 4)(*b)
            c.rleFrBbox(ctypes.byref(r), bb, size(h), size(w), size(1))
            out.append(to_obj(r))
        return out

    def fr_uncompressed(ucs, h, w):
        return [to_obj(rle_from_counts(u["size"][0], u["size"][1], u["counts"])) for u in ucs]

    def fr_py_objects(obj, h, w):
        # The extension's dispatch: box array, list of boxes, list of polygons, list of uncompressed RLEs, or one of each.
        if isinstance(obj, np.ndarray):
            return fr_bbox(obj, h, w)
        if isinstance(obj, list) and len(obj[0]) == 4 and not isinstance(obj[0], dict):
            return fr_bbox(obj, h, w)
        if isinstance(obj, list) and not isinstance(obj[0], dict) and len(obj[0]) > 4:
            return fr_poly(obj, h, w)
        if isinstance(obj, list) and isinstance(obj[0], dict):
            return fr_uncompressed(obj, h, w)
        if isinstance(obj, list) and len(obj) == 4:
            return fr_bbox([obj], h, w)[0]
        if isinstance(obj, list) and len(obj) > 4:
            return fr_poly([obj], h, w)[0]
        if isinstance(obj, dict):
            return fr_uncompressed([obj], h, w)[0]
        raise Exception("input type is not supported.")

    def iou(dt, gt, iscrowd):
        if len(dt) == 0 or len(gt) == 0:
            return []
        crowd = (ctypes.c_ubyte * len(gt))(*[int(x) for x in iscrowd])
        m, n = len(dt), len(gt)
        out = (ctypes.c_double * (m * n))()
        if isinstance(dt[0], dict):
            a = (_Rle * m)(*[from_obj(o) for o in dt])
            b = (_Rle * n)(*[from_obj(o) for o in gt])
            c.rleIou(a, b, size(m), size(n), crowd, out)
        else:
            a = (ctypes.c_double * (4 * m))(*np.asarray(dt, dtype=np.double).reshape(-1))
            b = (ctypes.c_double * (4 * n))(*np.asarray(gt, dtype=np.double).reshape(-1))
            c.bbIou(a, b, size(m), size(n), crowd, out)
        return np.array(list(out)).reshape((m, n), order="F")

    module = types.ModuleType("pycocotools._mask")
    module.encode, module.decode, module.merge, module.area, module.toBbox = encode, decode, merge, area, to_bbox
    module.iou, module.frPyObjects, module.frPoly, module.frBbox = iou, fr_py_objects, fr_poly, fr_bbox
    module.counts_of, module.from_obj = counts_of, from_obj
    return module


def stub_matplotlib():
    """coco.py imports matplotlib at module level for showAnns only; stand in for it where it is not installed."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.collections", "matplotlib.patches"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["matplotlib"].use = lambda *args, **kwargs: None
    sys.modules["matplotlib.collections"].PatchCollection = None
    sys.modules["matplotlib.patches"].Polygon = None


def main():
    cocoapi = sys.argv[1]
    np.float = float  # cocoeval.py predates numpy 1.24's removal of the np.float alias
    with tempfile.TemporaryDirectory() as workdir:
        package = types.ModuleType("pycocotools")
        package.__path__ = [os.path.join(cocoapi, "PythonAPI", "pycocotools")]
        sys.modules["pycocotools"] = package
        sys.modules["pycocotools._mask"] = build_mask_module(cocoapi, workdir)
        stub_matplotlib()
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        import pycocotools._mask as cmask

        class COCOevalHonouringIgnore(COCOeval):
            """COCOeval whose _prepare keeps an annotation's own "ignore" flag (or-ed with iscrowd), as its first
            assignment intends; pycocotools 2.0 overwrites the flag with iscrowd on the next line. Only _prepare's flag
            is restored; evaluateImg, accumulate and summarize run unmodified."""

            def _prepare(self):
                super()._prepare()
                flags = {a["id"]: a.get("ignore", 0) for a in json.load(open(os.path.join(GOLDEN, "instances_ignore.json")))["annotations"]}
                for gts in self._gts.values():
                    for gt in gts:
                        gt["ignore"] = int(bool(gt["iscrowd"]) or bool(flags[gt["id"]]))

        worst = 0.0
        for instances, expected_name, evaluator, iou_type in (
                ("instances.json", "expected.json", COCOeval, "bbox"), ("instances.json", "expected.json", COCOeval, "segm"),
                ("instances_ignore.json", "expected_ignore.json", COCOevalHonouringIgnore, "bbox"),
                ("instances_ignore.json", "expected_ignore.json", COCOevalHonouringIgnore, "segm")):
            expected = json.load(open(os.path.join(GOLDEN, expected_name)))
            gt = COCO(os.path.join(GOLDEN, instances))
            dt = gt.loadRes(os.path.join(GOLDEN, f"results_{iou_type}.json"))
            evaluation = evaluator(gt, dt, iou_type)
            evaluation.evaluate()
            evaluation.accumulate()
            evaluation.summarize()
            precision = evaluation.eval["precision"]
            mean_precision = np.where(precision.min(axis=1) > -1, precision.mean(axis=1), -1.0).reshape(-1)
            for name, ours, theirs in (("stats", expected[iou_type]["stats"], evaluation.stats),
                                       ("recall", expected[iou_type]["recall"], evaluation.eval["recall"].reshape(-1)),
                                       ("precision", expected[iou_type]["precision_mean_over_recall"], mean_precision)):
                difference = float(np.max(np.abs(np.asarray(ours) - np.asarray(theirs))))
                worst = max(worst, difference)
                print(f"{instances} {iou_type} {name}: max |reference - pycocotools| = {difference:.3g}")
        for case in json.load(open(os.path.join(GOLDEN, "polygons.json"))):
            rle = cmask.frPoly([case["polygon"]], case["height"], case["width"])[0]
            assert rle["counts"].decode() == case["compressed"], case["name"]
        print("polygons.json: all cases equal maskApi.c's rleFrPoly")
        if worst > 1e-12:
            sys.exit(f"reference and pycocotools differ by {worst}")


if __name__ == "__main__":
    main()
