"""Per-layer forward times of torchvision's ResNet-50 convolutions on one 224x224 image, in PyTorch (run by hand).

Each distinct convolution of the model (the list of bench/SharpSeg.Bench OpCases.ResNet50Convolutions, same names and
counts) is timed as eval-mode inference runs it: conv2d with a bias (BatchNorm folded) followed by an in-place ReLU,
best of N after warm-ups, under torch.no_grad. Compare with `SharpSeg.Bench ops --case r50 --trials N`; the weighted sum
is the convolution time of one ResNet-50 forward.

usage: /usr/bin/python3 tools/profile_resnet50_layers_pytorch.py [--threads 2] [--trials 30]
"""
import argparse
import json
import os
import time

import torch
import torch.nn.functional as F


def resnet50_convolutions():
    """(name, cin, size, cout, kernel, stride, count) for every distinct convolution of ResNet-50 at 224x224."""
    yield "stem_7x7s2_3to64_224", 3, 224, 64, 7, 2, 1
    in_channels = 64
    for planes, blocks, in_size, stride in [(64, 3, 56, 1), (128, 4, 56, 2), (256, 6, 28, 2), (512, 3, 14, 2)]:
        out_size, wide = in_size // stride, planes * 4
        yield f"1x1_{in_channels}to{planes}_{in_size}", in_channels, in_size, planes, 1, 1, 1
        yield f"3x3s{stride}_{planes}_{in_size}", planes, in_size, planes, 3, stride, 1
        yield f"1x1s{stride}_{in_channels}to{wide}_{in_size}", in_channels, in_size, wide, 1, stride, 1
        yield f"1x1_{planes}to{wide}_{out_size}", planes, out_size, wide, 1, 1, blocks
        yield f"1x1_{wide}to{planes}_{out_size}", wide, out_size, planes, 1, 1, blocks - 1
        yield f"3x3_{planes}_{out_size}", planes, out_size, planes, 3, 1, blocks - 1
        in_channels = wide


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    total = 0.0
    with torch.no_grad():
        for name, cin, size, cout, kernel, stride, count in resnet50_convolutions():
            x = torch.randn(1, cin, size, size)
            w = torch.randn(cout, cin, kernel, kernel) * 0.01
            b = torch.randn(cout)
            pad = kernel // 2

            def run():
                return F.relu_(F.conv2d(x, w, b, stride=stride, padding=pad))

            for _ in range(3):
                run()
            best = float("inf")
            for _ in range(args.trials):
                start = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - start)
            total += best * count
            out = size // stride
            gflops = 2.0 * cin * kernel * kernel * cout * out * out / best / 1e9
            print(json.dumps({"case": f"r50_{name}_x{count}", "impl": "pytorch", "threads": args.threads,
                              "ms": round(best * 1e3, 3), "gflops": round(gflops, 1), "load_average": round(os.getloadavg()[0], 2)}))
    print(json.dumps({"total_conv_ms": round(total * 1e3, 2)}))


if __name__ == "__main__":
    main()
