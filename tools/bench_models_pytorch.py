#!/usr/bin/env python3
"""PyTorch 1.13 CPU timings of the workloads of `SharpSeg.Bench models` (issues 11 and 15), for a same-run comparison.

Run by hand, never by CI:  /usr/bin/python3 tools/bench_models_pytorch.py [--threads 2] [--warmups 2] [--runs 5] [--workload substring]

On a loaded machine (load average above the thread count) PyTorch's OpenMP threads spin at every barrier and its times
inflate 2.5x or more (Faster R-CNN 10.8 s vs 4.2 s at load 5-8, Dec 2026); OMP_WAIT_POLICY=PASSIVE in the environment
avoids that and is how to read a noisy window. Prints one JSON line per workload with the bench's fields. Each workload runs in its own child process so that
ru_maxrss (peak RSS) is its own. The models are the twins already written for the golden generators
(gen_models_golden_segmentation.py: DeepLabV3+, UNet, ResNet_vd; gen_models_golden_hrnet.py: HRNet + FCN head), plus
torchvision's resnet50 and mobilenet_v3_large (dilated: output stride 16), and the detection workloads (torchvision's
Faster/Mask R-CNN R50-FPN, EfficientDet D0 from efficientdet_reference.py; see DETECTION_WORKLOADS). Fields the bench measures on the .NET GC
(bytes allocated, GC pauses) are null here. `activation_mb` is the size of the distinct storages autograd saves during
the forward of a train step (torch.autograd.graph.saved_tensors_hooks), the counterpart of the bench's live bytes after
the forward. FLOPs are counted as the bench counts them: 2 per multiply-add of convolutions and linear layers, forward,
plus the weight gradient and (when the input requires grad) the input gradient in a train step.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_models_golden_segmentation import DeepLabV3Plus, PaddleSegBackbone, UNet, forward_any_size  # noqa: E402
from gen_models_golden_hrnet import CONFIGS, FCN, HRNet  # noqa: E402
import efficientdet_reference as effdet  # noqa: E402

CLASSES = 19


class MobileNetV3LargeFeatures(nn.Module):
    """torchvision mobilenet_v3_large features at output stride 16, tapped at reduction 4 (24 ch) and the end (960 ch)."""

    def __init__(self):
        super().__init__()
        self.features = torchvision.models.mobilenet_v3_large(dilated=True).features

    def forward(self, x):
        feats = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i == 3:
                feats.append(x)
        feats.append(x)
        return feats


def deeplab(backbone, output_stride, classes=CLASSES, **kw):
    if backbone == "mobilenet_v3_large":
        return DeepLabV3Plus(MobileNetV3LargeFeatures(), [24, 960], 0, classes, output_stride=16, **kw)
    depth = {"resnet50_vd": 50, "resnet18_vd": 18}[backbone]
    channels = [256, 512, 1024, 2048] if depth >= 50 else [64, 128, 256, 512]
    return DeepLabV3Plus(PaddleSegBackbone(depth, output_stride), channels, 0, classes, output_stride=output_stride, **kw)


class Segmentation(nn.Module):
    """The C# SegmentationModel.Forward: logits resized to the input."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return forward_any_size(self.model, x, False)[0]


WORKLOADS = {
    "resnet50_224_infer": (False, lambda: torchvision.models.resnet50(), 1, 224, 1000),
    "deeplabv3p_resnet50vd_os16_512_infer": (False, lambda: Segmentation(deeplab("resnet50_vd", 16)), 1, 512, CLASSES),
    "deeplabv3p_resnet50vd_os8_512_infer": (False, lambda: Segmentation(deeplab("resnet50_vd", 8)), 1, 512, CLASSES),
    "deeplabv3p_mobilenetv3large_512_infer": (False, lambda: Segmentation(deeplab("mobilenet_v3_large", 16)), 1, 512, CLASSES),
    "hrnet_w18_512_infer": (False, lambda: Segmentation(FCN(CLASSES, HRNet(CONFIGS["hrnet_w18"]))), 1, 512, CLASSES),
    "unet_256_train": (True, lambda: Segmentation(UNet(CLASSES)), 2, 256, CLASSES),
    "deeplabv3p_resnet50vd_os16_512_train": (True, lambda: Segmentation(deeplab("resnet50_vd", 16)), 2, 512, CLASSES),
    "demo_deeplabv3p_resnet18vd_64_train": (True, lambda: Segmentation(deeplab(
        "resnet18_vd", 16, classes=4, aspp_out_channels=64, low_level_channels=32)), 8, 64, 4),
}


# Issue 15's detection workloads, as bench/SharpSeg.Bench/DetectionWorkloads.cs builds them: torchvision's R-CNNs with
# weights=None (BatchNorm2d body, every stage trainable, 91 classes), one 512 x 683 image with min_size 512 for inference,
# two 320 x 320 images with min_size = max_size = 320 for a training step (SGD, momentum 0.9, sum of the four losses);
# EfficientDet D0 at 512 x 512 through tools/efficientdet_reference.py (resize-pad, network, top-k, decode, NMS).
# Each builder returns (model, step, forward of a train step or None).

def rcnn_inference(builder):
    model = builder(weights=None, weights_backbone=None, num_classes=91, min_size=512, max_size=1333).eval()
    with torch.no_grad():
        # Random weights score every class near 1/91, below box_score_thresh 0.05; a class-1 bias of 5 (as the C# side)
        # lets up to 100 detections reach the post-processing and the mask branch.
        model.roi_heads.box_predictor.cls_score.bias[1] = 5.0
    images = [torch.rand(3, 512, 683)]

    def step():
        with torch.no_grad():
            model(images)
    return model, step, None


def efficientdet_d0_inference():
    cfg = effdet.FULL_D0
    model = effdet.EfficientDet(cfg).eval()
    anchors = effdet.anchors(cfg).float()
    image = torch.rand(3, 512, 512)
    mean, std = effdet.MEAN.float(), effdet.STD.float()

    def step():
        with torch.no_grad():
            x, scale, valid = effdet.prepare(image, cfg["image_size"], mean, std)
            cls_out, box_out = model(x)
            effdet.detect(cls_out, box_out, anchors, cfg["num_classes"], scale, valid)
    return model, step, None


def faster_rcnn_train():
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91,
                                                                 min_size=320, max_size=320).train()
    images = [torch.rand(3, 320, 320), torch.rand(3, 320, 320)]
    targets = [
        {"boxes": torch.tensor([[20.0, 30, 140, 200], [150, 60, 300, 180], [60, 210, 120, 310]]), "labels": torch.tensor([1, 17, 3])},
        {"boxes": torch.tensor([[40.0, 40, 280, 260], [10, 250, 90, 315]]), "labels": torch.tensor([62, 1])},
    ]
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)

    def forward():
        return sum(model(images, targets).values())

    def step():
        optimizer.zero_grad(set_to_none=True)
        forward().backward()
        optimizer.step()
    return model, step, forward


DETECTION_WORKLOADS = {
    "faster_rcnn_r50_fpn_infer": lambda: rcnn_inference(torchvision.models.detection.fasterrcnn_resnet50_fpn),
    "mask_rcnn_r50_fpn_infer": lambda: rcnn_inference(torchvision.models.detection.maskrcnn_resnet50_fpn),
    "efficientdet_d0_infer": efficientdet_d0_inference,
    "faster_rcnn_r50_fpn_train": faster_rcnn_train,
}


def count_flops(model, step, training):
    total = [0.0]

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        else:
            per_output = module.in_features
        flops = 2.0 * output.numel() * per_output
        if training:
            flops += flops * (2 if inputs[0].requires_grad else 1)
        total[0] += flops

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    step()
    for h in handles:
        h.remove()
    return total[0]


def saved_bytes(forward):
    storages = {}

    def pack(t):
        storage = t.storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        kept = forward()
    del kept
    return sum(storages.values())


def run_one(name, threads, warmups, runs):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if name in DETECTION_WORKLOADS:
        model, step, forward = DETECTION_WORKLOADS[name]()
        training = forward is not None
    else:
        model, step, forward, training = segmentation_workload(name)
    measure(name, threads, warmups, runs, model, step, forward, training)


def segmentation_workload(name):
    training, build, batch, size, classes = WORKLOADS[name]
    model = build()
    x = torch.randn(batch, 3, size, size)
    forward = None
    if training:
        model.train()
        labels = torch.randint(0, classes, (batch, size, size))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def forward():
            return F.cross_entropy(model(x), labels, ignore_index=255)

        def step():
            optimizer.zero_grad(set_to_none=True)
            forward().backward()
            optimizer.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    return model, step, forward, training


def measure(name, threads, warmups, runs, model, step, forward, training):
    for _ in range(warmups):
        step()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    flops = count_flops(model, step, training)
    activation = saved_bytes(forward) if training else None
    median = statistics.median(seconds)
    print(json.dumps({
        "workload": name, "impl": "pytorch", "threads": threads,
        "median_s": round(median, 4), "min_s": round(min(seconds), 4),
        "peak_rss_mb": round(peak_rss / 1048576, 1), "alloc_mb_per_step": None,
        "activation_mb": None if activation is None else round(activation / 1048576, 1),
        "gc_pause_ms_per_step": None, "gc_per_step": None, "gen2_gc_per_step": None,
        "gflop_per_step": round(flops / 1e9, 2), "gflops": round(flops / median / 1e9, 1),
        "load_average": round(os.getloadavg()[0], 2), "torch": torch.__version__,
    }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workload", default=None, help="run the workloads whose name contains this")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true", help="print the workload names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(list(WORKLOADS) + list(DETECTION_WORKLOADS)))
        return
    if args.child:
        run_one(args.child, args.threads, args.warmups, args.runs)
        return
    for name in list(WORKLOADS) + list(DETECTION_WORKLOADS):
        if args.workload and args.workload not in name:
            continue
        result = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name, "--threads", str(args.threads),
                                 "--warmups", str(args.warmups), "--runs", str(args.runs)])
        if result.returncode != 0:
            print(json.dumps({"workload": name, "impl": "pytorch", "error": f"child exited with {result.returncode}"}), flush=True)


if __name__ == "__main__":
    main()
