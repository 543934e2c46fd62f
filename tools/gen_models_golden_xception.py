#!/usr/bin/python3
"""Golden fixtures for SharpSeg.Models' XceptionDeepLab (tests/SharpSeg.Models.Tests/Xception).

Run once with PyTorch 1.13 (Debian python3-torch):
    /usr/bin/python3 tools/gen_models_golden_xception.py
Writes
  tests/SharpSeg.Models.Tests/Golden/Backbones/keys/<name>.txt   state-dict "key shape" lines (+ "# parameters N") of
      xception41_deeplab, xception65_deeplab and xception71_deeplab in SharpSeg's keys (this twin's), and
      xception41_deeplab.paddle.txt / xception71_deeplab.paddle.txt: the same entries under the names PaddleSeg's own
      state dict gives them (what a converted .pdparams holds), for the key-map test;
  tests/SharpSeg.Models.Tests/Golden/Xception/<case>_<feature>.npy   float32 features of formula-filled twins
      run in eval mode in float64 on the formula input (weights and input formulas: tools/gen_models_golden_backbones.py).

The twin is a PyTorch translation of PaddleSeg's paddleseg/models/backbones/xception_deeplab.py (release 2.x) with
PaddleSeg's module attribute names, except that
  * the entry and middle flows are nn.ModuleLists called entry_flow / middle_flow (PaddleSeg keeps plain Python lists
    and registers each block with add_sublayer under "xception_65/entry_flow/block1", ...);
  * each block strides by the stride PaddleSeg's own check_stride bookkeeping computes. PaddleSeg's dygraph code passes
    strides=[1, 1, self.stride] (always 2) to every entry-flow block, so its output_stride=8 still ends at reduction 16
    and its Xception71 (entry strides 2, 1, 2, 1, 2) at reduction 64; the legacy static-graph PaddleSeg and PaddleX 1.x
    used the computed stride, as here. Parameters and keys do not depend on strides, so weights are unaffected;
  * once the output stride is reached, a block that would stride runs at stride 1 and multiplies the dilation of every
    later block by its stride (TF DeepLab's atrous rule, the table in PaddleSeg's own comment: output stride 16 = exit
    dilations (1, 2), output stride 8 = entry block 3 stride 1, middle dilation 2, exit dilations (2, 4)). At output
    stride 16 this is exactly PaddleSeg's network (its exit block 2 hard-codes dilation 2).
BatchNorm: Paddle epsilon 1e-3, momentum 0.99 (PyTorch momentum 0.01).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from gen_models_golden_backbones import fill_one, formula_input  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Models.Tests", "Golden")
KEYS = os.path.join(ROOT, "Backbones", "keys")
OUT = os.path.join(ROOT, "Xception")


def gen_bottleneck_params(backbone):
    return {
        "xception_41": {"entry_flow": (3, [2, 2, 2], [128, 256, 728]), "middle_flow": (8, 1, 728),
                        "exit_flow": (2, [2, 1], [[728, 1024, 1024], [1536, 1536, 2048]])},
        "xception_65": {"entry_flow": (3, [2, 2, 2], [128, 256, 728]), "middle_flow": (16, 1, 728),
                        "exit_flow": (2, [2, 1], [[728, 1024, 1024], [1536, 1536, 2048]])},
        "xception_71": {"entry_flow": (5, [2, 1, 2, 1, 2], [128, 256, 256, 728, 728]), "middle_flow": (16, 1, 728),
                        "exit_flow": (2, [2, 1], [[728, 1024, 1024], [1536, 1536, 2048]])},
    }[backbone]


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class ConvBNLayer(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding=0, act=None):
        super().__init__()
        self._conv = nn.Conv2d(cin, cout, k, stride, padding, bias=False)
        self._bn = batch_norm(cout)
        self.act = act

    def forward(self, x):
        y = self._bn(self._conv(x))
        return F.relu(y) if self.act == "relu" else y


class Separate_Conv(nn.Module):
    def __init__(self, cin, cout, stride, filter, dilation=1, act=None):
        super().__init__()
        self._conv1 = nn.Conv2d(cin, cin, filter, stride, filter // 2 * dilation, dilation, groups=cin, bias=False)
        self._bn1 = batch_norm(cin)
        self._conv2 = nn.Conv2d(cin, cout, 1, bias=False)
        self._bn2 = batch_norm(cout)
        self.act = act

    def forward(self, x):
        act = F.relu if self.act == "relu" else (lambda t: t)
        x = act(self._bn1(self._conv1(x)))
        return act(self._bn2(self._conv2(x)))


class Xception_Block(nn.Module):
    def __init__(self, cin, cout, strides, dilation=1, skip_conv=True, has_skip=True,
                 activation_fn_in_separable_conv=False):
        super().__init__()
        cout = cout if isinstance(cout, list) else [cout] * 3
        act = "relu" if activation_fn_in_separable_conv else None
        self._conv1 = Separate_Conv(cin, cout[0], strides[0], 3, dilation, act)
        self._conv2 = Separate_Conv(cout[0], cout[1], strides[1], 3, dilation, act)
        self._conv3 = Separate_Conv(cout[1], cout[2], strides[2], 3, dilation, act)
        if has_skip and skip_conv:
            self._short = ConvBNLayer(cin, cout[-1], 1, stride=strides[-1])
        self.has_skip, self.skip_conv, self.act_in = has_skip, skip_conv, activation_fn_in_separable_conv

    def forward(self, inputs):
        if self.act_in:
            x = self._conv3(self._conv2(self._conv1(inputs)))
        else:
            x = self._conv3(F.relu(self._conv2(F.relu(self._conv1(F.relu(inputs))))))
        if not self.has_skip:
            return x
        return x + (self._short(inputs) if self.skip_conv else inputs)


class XceptionDeeplab(nn.Module):
    def __init__(self, backbone, in_channels=3, output_stride=16):
        super().__init__()
        assert output_stride in (8, 16)
        p = gen_bottleneck_params(backbone)
        self._conv1 = ConvBNLayer(in_channels, 32, 3, stride=2, padding=1, act="relu")
        self._conv2 = ConvBNLayer(32, 64, 3, stride=1, padding=1, act="relu")
        state = {"s": 2, "rate": 1}

        def place(nominal):
            """(stride, dilation) of a block whose last separable conv nominally strides by `nominal`."""
            if state["s"] * nominal <= output_stride:
                state["s"] *= nominal
                return nominal, state["rate"]
            dilation = state["rate"]
            state["rate"] *= nominal
            return 1, dilation

        n, strides, chns = p["entry_flow"]
        self.entry_flow = nn.ModuleList()
        for i in range(n):
            stride, dilation = place(strides[i])
            self.entry_flow.append(Xception_Block(64 if i == 0 else chns[i - 1], chns[i], [1, 1, stride], dilation))
        n, stride, chns = p["middle_flow"]
        self.middle_flow = nn.ModuleList()
        for _ in range(n):
            s, dilation = place(stride)
            self.middle_flow.append(Xception_Block(728, 728, [1, 1, s], dilation, skip_conv=False))
        _, strides, chns = p["exit_flow"]
        stride, dilation = place(strides[0])
        self._exit_flow_1 = Xception_Block(728, chns[0], [1, 1, stride], dilation)
        stride, dilation = place(strides[1])
        # PaddleSeg hard-codes dilation=2 here; the atrous rule gives 2 at output stride 16 and 4 at 8.
        self._exit_flow_2 = Xception_Block(chns[0][-1], chns[1], [1, 1, stride], dilation, has_skip=False,
                                           activation_fn_in_separable_conv=True)

    def forward(self, x):
        x = self._conv2(self._conv1(x))
        feats = []
        for i, block in enumerate(self.entry_flow):
            x = block(x)
            if i == 0:
                feats.append(x)
        for block in self.middle_flow:
            x = block(x)
        feats.append(self._exit_flow_2(self._exit_flow_1(x)))
        return feats


def paddle_name(backbone, key):
    """The name PaddleSeg's XceptionDeeplab state dict gives the entry this twin calls `key`."""
    for flow in ("entry_flow", "middle_flow"):
        if key.startswith(flow + "."):
            index, rest = key[len(flow) + 1:].split(".", 1)
            key = f"{backbone}/{flow}/block{int(index) + 1}.{rest}"
    return key.replace("running_mean", "_mean").replace("running_var", "_variance")


def write_keys(name, entries, parameters):
    os.makedirs(KEYS, exist_ok=True)
    with open(os.path.join(KEYS, name + ".txt"), "w") as f:
        f.write(f"# parameters {parameters}\n")
        for key, shape in entries:
            f.write(f"{key} {'x'.join(str(d) for d in shape) or 'scalar'}\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    for depth in (41, 65, 71):
        backbone = f"xception_{depth}"
        model = XceptionDeeplab(backbone)
        sd = model.state_dict()
        params = sum(p.numel() for p in model.parameters())
        write_keys(f"xception{depth}_deeplab", [(k, t.shape) for k, t in sd.items()], params)
        if depth in (41, 71):
            write_keys(f"xception{depth}_deeplab.paddle",
                       [(paddle_name(backbone, k), t.shape) for k, t in sd.items() if not k.endswith("num_batches_tracked")],
                       params)
        print(f"xception{depth}_deeplab", params)

    for backbone, os_, shape, case in [("xception_41", 16, (1, 3, 33, 31), "xception41_os16"),
                                       ("xception_41", 8, (1, 3, 33, 31), "xception41_os8"),
                                       ("xception_71", 16, (1, 3, 33, 31), "xception71_os16")]:
        model = XceptionDeeplab(backbone, output_stride=os_)
        with torch.no_grad():
            for k, (key, t) in enumerate(model.state_dict().items()):
                fill_one(key, k, t)
        model.double().eval()
        with torch.no_grad():
            feats = model(formula_input(*shape))
        for name, f in zip(("r4", "out"), feats):
            np.save(os.path.join(OUT, f"{case}_{name}.npy"), f.float().numpy())
            print(case, name, tuple(f.shape), float(f.abs().max()))


if __name__ == "__main__":
    main()
