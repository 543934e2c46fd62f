#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Detection's R-CNN backbones (tests/SharpSeg.Detection.Tests/Models/DetectionBackboneTests.cs).

Run once with PyTorch 1.13 / torchvision 0.14 (Debian python3-torch python3-torchvision):
    /usr/bin/python3 tools/golden_detection_backbones.py
Writes tests/SharpSeg.Detection.Tests/Golden/Models/:
  backbone_layouts.json  per torchvision backbone built as its detection builder does, a compact fingerprint:
                         entries, parameters, maps (output names), sha256 of the "key shape" lines (state-dict order) and
                         of the trainable parameter names (named_parameters order):
                           resnet_fpn/<arch>/t<k>       _resnet_fpn_extractor(<arch>(norm_layer=FrozenBatchNorm2d), k) for the
                                                        nine ResNets of torchvision's resnet_fpn_backbone, k = 0..5 for
                                                        resnet18/50, 3 for the others (maps: resnet18 only)
                           resnet_fpn/<arch>/bn_t5      BatchNorm2d body, all stages trainable (from scratch), resnet18/50
                           resnet_fpn/resnet18/r<list>  returned_layers <list> (ending with 4)
                           mobilenet_v3_large_fpn/t<k>  _mobilenet_extractor(mobilenet_v3_large(norm_layer=FrozenBatchNorm2d),
                                                        True, k), k = 0..6; bn_t6: BatchNorm2d, all trainable
                           vgg/<name>                   <name>().features as icevision's backbone (keys 0.weight …;
                                                        maps: vgg11, vgg11_bn)
  keys/fasterrcnn_mobilenet_v3_large_320_fpn_c5.txt
                         fasterrcnn_mobilenet_v3_large_320_fpn as torchvision builds it with pretrained weights
                         (FrozenBatchNorm2d, 3 trainable stages) and 5 classes: "# parameters", "# trainable", "key shape"
  mnv3_320_<name>.npy    that model (formula weights, float64, eval) on the formula input [3, 120, 160]: boxes, scores,
                         labels (as floats) and the RPN proposals
  keys/fasterrcnn_vgg11_bn_c5.txt, vgg11_bn_<name>.npy
                         FasterRCNN(vgg11_bn().features (out_channels 512), 5 classes, AnchorGenerator(((32, 64, 128, 256,
                         512),), ((0.5, 1, 2),)), MultiScaleRoIAlign(["0"], 7, 2), min_size 128, max_size 160) on the
                         same input: boxes, scores, labels and proposals. The formula weights tie many scores (exactly in
                         float64), so the box NMS keeps everything (box_nms_thresh 1.0) and no cut applies
                         (box_detections_per_img 1000): with NMS, float32 rounding alone changes which tied box survives
  mnv3_fpn_<map>.npy     the MobileNetV3-Large FPN backbone alone (FrozenBatchNorm2d, formula weights, float64) on the
                         formula input [1, 3, 64, 96]: maps "0", "1", "pool"
No weights are committed: every state-dict entry is filled by the formula of tools/gen_models_golden_backbones.py.
"""
import hashlib
import json
import os
import sys

import torch
import torchvision
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import _mobilenet_extractor, _resnet_fpn_extractor
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.dirname(__file__))
from gen_models_golden_backbones import formula_input  # noqa: E402
from golden_detection_models import OUT, formula_fill, save, write_keys  # noqa: E402

RESNETS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
           "wide_resnet50_2", "wide_resnet101_2"]
VGGS = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


def sha(lines):
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def layout(module, maps):
    keys = [f"{k} {'x'.join(str(d) for d in t.shape) or 'scalar'}" for k, t in module.state_dict().items()]
    trainable = [n for n, p in module.named_parameters() if p.requires_grad]
    return {"entries": len(keys), "parameters": sum(p.numel() for p in module.parameters()), "maps": maps,
            "keys_sha256": sha(keys), "trainable": len(trainable), "trainable_sha256": sha(trainable)}


def resnet_fpn(arch, trainable, returned=None, frozen=True):
    norm = FrozenBatchNorm2d if frozen else torch.nn.BatchNorm2d
    return _resnet_fpn_extractor(torchvision.models.__dict__[arch](weights=None, norm_layer=norm), trainable, returned)


def mobilenet_fpn(trainable, frozen=True):
    norm = FrozenBatchNorm2d if frozen else torch.nn.BatchNorm2d
    return _mobilenet_extractor(torchvision.models.mobilenet_v3_large(weights=None, norm_layer=norm), True, trainable)


def map_names(backbone, size=64):
    with torch.no_grad():
        out = backbone.eval()(torch.zeros(1, 3, size, size))
    return list(out.keys()) if isinstance(out, dict) else ["0"]


def vgg_features(name):
    features = torchvision.models.__dict__[name](weights=None).features
    features.out_channels = 512
    return features


def detect(name, model, image):
    write_keys(name, model)
    formula_fill(model)
    model = model.double().eval()
    proposals = {}
    model.rpn.register_forward_hook(lambda m, i, o: proposals.update(p=o[0][0]))
    with torch.no_grad():
        out = model([image])[0]
    return out, proposals["p"]


def main():
    torch.manual_seed(0)
    layouts = {}
    for arch in RESNETS:
        # The freezing rule and the norm layer do not depend on the depth: the other seven are checked at the default.
        for t in (range(6) if arch in ("resnet18", "resnet50") else [3]):
            m = resnet_fpn(arch, t)
            layouts[f"resnet_fpn/{arch}/t{t}"] = layout(m, map_names(m) if arch == "resnet18" and t == 3 else None)
        if arch in ("resnet18", "resnet50"):
            layouts[f"resnet_fpn/{arch}/bn_t5"] = layout(resnet_fpn(arch, 5, frozen=False), None)
    for returned in ([4], [3, 4], [2, 3, 4], [1, 2, 3, 4]):
        m = resnet_fpn("resnet18", 3, returned)
        layouts[f"resnet_fpn/resnet18/r{''.join(map(str, returned))}"] = layout(m, map_names(m))
    for t in range(7):
        m = mobilenet_fpn(t)
        layouts[f"mobilenet_v3_large_fpn/t{t}"] = layout(m, map_names(m) if t == 3 else None)
    layouts["mobilenet_v3_large_fpn/bn_t6"] = layout(mobilenet_fpn(6, frozen=False), None)
    for name in VGGS:
        m = vgg_features(name)
        layouts[f"vgg/{name}"] = layout(m, map_names(m) if name.startswith("vgg11") else None)
    with open(os.path.join(OUT, "backbone_layouts.json"), "w") as f:
        json.dump(layouts, f, indent=1, sort_keys=True)
        f.write("\n")

    image = formula_input(3, 120, 160)
    # fasterrcnn_mobilenet_v3_large_320_fpn(weights=…, num_classes=5): its builder's backbone, anchors and defaults.
    anchors = AnchorGenerator(((32, 64, 128, 256, 512),) * 3, ((0.5, 1.0, 2.0),) * 3)
    model = FasterRCNN(mobilenet_fpn(3), 5, rpn_anchor_generator=anchors, min_size=320, max_size=640, rpn_pre_nms_top_n_test=150,
                       rpn_post_nms_top_n_test=150, rpn_score_thresh=0.05)
    out, proposals = detect("fasterrcnn_mobilenet_v3_large_320_fpn_c5", model, image)
    for key in ("boxes", "scores", "labels"):
        save(f"mnv3_320_{key}", out[key])
    save("mnv3_320_proposals", proposals)
    print("mobilenet 320:", len(out["boxes"]), "detections,", len(proposals), "proposals; labels", out["labels"].bincount().tolist())

    backbone = mobilenet_fpn(3)
    formula_fill(backbone)
    with torch.no_grad():
        for name, t in backbone.double().eval()(formula_input(1, 3, 64, 96)).items():
            save(f"mnv3_fpn_{name}", t)

    anchors = AnchorGenerator(((32, 64, 128, 256, 512),), ((0.5, 1.0, 2.0),))
    model = FasterRCNN(vgg_features("vgg11_bn"), 5, rpn_anchor_generator=anchors, min_size=128, max_size=160,
                       box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2), box_detections_per_img=1000, box_nms_thresh=1.0)
    out, proposals = detect("fasterrcnn_vgg11_bn_c5", model, image)
    for key in ("boxes", "scores", "labels"):
        save(f"vgg11_bn_{key}", out[key])
    save("vgg11_bn_proposals", proposals)
    gap = (out["scores"][:-1] - out["scores"][1:]).min().item()
    print("vgg11_bn:", len(out["boxes"]), "detections,", len(proposals), "proposals; labels", out["labels"].bincount().tolist(), "smallest gap", gap)


if __name__ == "__main__":
    main()
