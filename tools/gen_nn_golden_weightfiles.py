#!/usr/bin/env python3
"""Foreign weight files for SharpSeg's restricted unpickler and .pth/.pdparams readers (issue 13).

Run once with PyTorch 1.13 and numpy (Debian's python3-torch): /usr/bin/python3 tools/gen_nn_golden_weightfiles.py
CI never runs this; the outputs are committed under tests/SharpSeg.Nn.Tests/Golden/WeightFiles/ and
tests/SharpSeg.Cli.Tests/Golden/WeightFiles/ and tests/SharpSeg.Models.Tests/Golden/WeightFiles/.

- torch_*.pth: written by torch.save itself (zip format), with the values expected after loading written beside them as
  safetensors (floats converted to float32, integers and booleans to int64, views made contiguous).
- paddle_*.pdparams: a dict of numpy arrays pickled the way paddle.save writes a state dict (numpy arrays plus the
  "StructuredToParameterName@@" name table), with protocol 2 (bytes as _codecs.encode) and protocol 4 (Paddle's default).
- malicious_*: pickles whose __reduce__ names os.system / builtins.eval (written by pickle itself, never loaded here).
- The model-sized files (torchvision mobilenet_v2 width 0.25; PaddleSeg-named MobileNetV3-small x0.35 and ResNet18_vd) hold patterned
  values so that their gzip copies stay a few KB.
"""
import collections
import gzip
import io
import json
import os
import pickle
import struct

import numpy as np
import torch
import torchvision

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NN = os.path.join(ROOT, "tests", "SharpSeg.Nn.Tests", "Golden", "WeightFiles")
CLI = os.path.join(ROOT, "tests", "SharpSeg.Cli.Tests", "Golden", "WeightFiles")
MODELS = os.path.join(ROOT, "tests", "SharpSeg.Models.Tests", "Golden", "WeightFiles")
KEYS = os.path.join(ROOT, "tests", "SharpSeg.Models.Tests", "Golden", "Backbones", "keys")


def save_safetensors(path, tensors):
    """tensors: ordered name -> torch tensor; floats stored as F32, everything else as I64 (what SharpSeg loads)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.is_floating_point():
            dtype, data = "F32", t.float().numpy().astype("<f4").tobytes()
        else:
            dtype, data = "I64", t.long().numpy().astype("<i8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def torch_fixtures():
    g = torch.Generator().manual_seed(13)
    shared = torch.randn(12, generator=g)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(4, 3, 3, 3, generator=g)
    sd["conv.bias"] = torch.randn(4, generator=g).double()
    sd["bn.num_batches_tracked"] = torch.tensor(7)
    sd["half"] = torch.randn(5, generator=g).half()
    sd["bf16"] = torch.randn(3, generator=g).bfloat16()
    sd["int32"] = torch.arange(-3, 3, dtype=torch.int32).reshape(2, 3)
    sd["int8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["uint8"] = torch.tensor([0, 1, 255], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    sd["transposed"] = torch.randn(3, 4, generator=g).t()          # non-contiguous: stride (1, 4)
    sd["shared.head"] = shared[2:6]                                 # offset 2 into a 12-element storage
    sd["shared.grid"] = shared.view(3, 4)[:, 1::2]                  # offset 1, stride (4, 2), same storage
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))  # pickled through _rebuild_parameter
    sd["empty"] = torch.zeros(0, 3)
    torch.save(sd, os.path.join(NN, "torch_state_dict.pth"))
    save_safetensors(os.path.join(NN, "torch_state_dict.expected.safetensors"), sd)

    small = collections.OrderedDict((k, sd[k]) for k in ["conv.weight", "conv.bias", "bn.num_batches_tracked"])
    torch.save({"model": small, "optimizer": {"lr": 0.1, "momentum": 0.9}, "epoch": 3}, os.path.join(NN, "torch_wrapped_model.pth"))
    torch.save({"epoch": 3, "state_dict": small}, os.path.join(NN, "torch_wrapped_state_dict.pth"))
    save_safetensors(os.path.join(NN, "torch_wrapped.expected.safetensors"), small)

    torch.save(small, os.path.join(NN, "torch_legacy.pth"), _use_new_zipfile_serialization=False)


def paddle_dict():
    rng = np.random.RandomState(13)
    arrays = collections.OrderedDict()
    arrays["conv1_1._conv.weight"] = rng.randn(4, 3, 3, 3).astype(np.float32)
    arrays["conv1_1._batch_norm.weight"] = rng.randn(4).astype(np.float32)
    arrays["conv1_1._batch_norm._mean"] = rng.randn(4).astype(np.float32)
    arrays["conv1_1._batch_norm._variance"] = rng.rand(4).astype(np.float32)
    arrays["fc.weight"] = rng.randn(3, 2).astype(np.float32)         # Paddle Linear: [in, out]
    arrays["double"] = rng.randn(2, 2)
    arrays["half"] = rng.randn(3).astype(np.float16)
    arrays["step"] = np.array(5, dtype=np.int64)                       # 0-d
    arrays["int32"] = np.arange(-2, 4, dtype=np.int32).reshape(3, 2)
    arrays["fortran"] = np.asfortranarray(rng.randn(2, 3).astype(np.float32))
    arrays["big_endian"] = rng.randn(3).astype(">f4")
    table = {k: "param_%d" % i for i, k in enumerate(arrays)}
    saved = dict(arrays)
    saved["StructuredToParameterName@@"] = table
    return arrays, saved


def paddle_fixtures():
    arrays, saved = paddle_dict()
    for protocol in (2, 4):
        with open(os.path.join(NN, "paddle_params_p%d.pdparams" % protocol), "wb") as f:
            pickle.dump(saved, f, protocol=protocol)
    save_safetensors(os.path.join(NN, "paddle_params.expected.safetensors"),
                     collections.OrderedDict((k, torch.from_numpy(v.astype(v.dtype.newbyteorder("="), order="C"))) for k, v in arrays.items()))


class Reduce:
    def __init__(self, target, args):
        self.target, self.args = target, args

    def __reduce__(self):
        return self.target, self.args


def malicious_fixtures():
    for protocol in (2, 4):
        with open(os.path.join(NN, "malicious_os_system_p%d.pkl" % protocol), "wb") as f:
            pickle.dump({"weight": Reduce(os.system, ("touch /tmp/sharpseg_pwned",))}, f, protocol=protocol)
    with open(os.path.join(NN, "malicious_eval_p2.pkl"), "wb") as f:
        pickle.dump(Reduce(eval, ("__import__('os').system('touch /tmp/sharpseg_pwned')",)), f, protocol=2)
    # A torch.save archive whose pickle hides a call to os.system inside the state dict.
    torch.save({"conv.weight": torch.zeros(1), "hook": Reduce(os.system, ("touch /tmp/sharpseg_pwned",))},
               os.path.join(NN, "malicious_os_system.pth"))


def patterned(shape, index):
    n = int(np.prod(shape)) if len(shape) else 1
    values = ((np.arange(n) * 37 + index * 11) % 97).astype(np.float32) / 97.0 - 0.5
    return values.reshape(shape)


def model_fixtures():
    model = torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10)
    sd = model.state_dict()
    for i, (k, v) in enumerate(sd.items()):
        if v.is_floating_point():
            v.copy_(torch.from_numpy(patterned(tuple(v.shape), i)))
    buffer = io.BytesIO()
    torch.save(sd, buffer)
    with gzip.GzipFile(os.path.join(CLI, "torchvision_mobilenet_v2_x0.25.pth.gz"), "wb", mtime=0) as f:
        f.write(buffer.getvalue())

    # PaddleSeg's MobileNetV3 names (the x1_0 key file) list the same tensors in the same order as ours, so the x0_35
    # shapes of our key file give the PaddleSeg-named x0_35 state dict.
    def read(name):
        entries = []
        for line in open(os.path.join(KEYS, name)):
            if line.startswith("#") or not line.strip():
                continue
            key, _, dims = line.strip().partition(" ")
            if key.endswith("num_batches_tracked"):
                continue
            entries.append((key, () if dims in ("", "scalar") else tuple(int(d) for d in dims.split("x"))))
        return entries

    paddle_names = [k for k, _ in read("mobilenetv3_small_x1_0.paddle.txt")]
    ours = read("mobilenetv3_small_x0_35.txt")
    assert len(paddle_names) == len(ours)
    saved = {name: patterned(shape, i) for i, (name, (_, shape)) in enumerate(zip(paddle_names, ours))}
    saved["StructuredToParameterName@@"] = {name: "p_%d" % i for i, name in enumerate(paddle_names)}
    with gzip.GzipFile(os.path.join(CLI, "paddleseg_mobilenetv3_small_x0_35.pdparams.gz"), "wb", mtime=0) as f:
        f.write(pickle.dumps(saved, protocol=2))

    # PaddleSeg's ResNet18_vd backbone as its .pdparams names it (the key file dumped from PaddleSeg), protocol 4 as
    # paddle.save writes by default, and the torchvision file again for the API tests of SharpSeg.Models.
    saved = {name: patterned(shape, i) for i, (name, shape) in enumerate(read("resnet18_vd.paddle.txt"))}
    saved["StructuredToParameterName@@"] = {name: "p_%d" % i for i, name in enumerate(saved)}
    with gzip.GzipFile(os.path.join(MODELS, "paddleseg_resnet18_vd.pdparams.gz"), "wb", mtime=0) as f:
        f.write(pickle.dumps(saved, protocol=4))
    with gzip.GzipFile(os.path.join(MODELS, "torchvision_mobilenet_v2_x0.25.pth.gz"), "wb", mtime=0) as f:
        f.write(buffer.getvalue())


if __name__ == "__main__":
    os.makedirs(NN, exist_ok=True)
    os.makedirs(CLI, exist_ok=True)
    os.makedirs(MODELS, exist_ok=True)
    torch_fixtures()
    paddle_fixtures()
    malicious_fixtures()
    model_fixtures()
