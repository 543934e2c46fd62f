"""Golden values for SharpSeg's test-time augmentation (Segmenter.Predict / SlidingWindowPredict with augmentation).

Mirrors PaddleSeg's paddleseg/core/infer.py (aug_inference, slide_inference, flip_combination) in PyTorch 1.13 on the
tests' TinyConvNet (conv3x3 -> BN -> ReLU -> conv3x3), so the C# pipeline is checked against an independent composition
of torch's own interpolate, flip and softmax.

Run: /usr/bin/python3 tools/gen_training_golden_tta.py
Writes tests/SharpSeg.Training.Tests/Golden/tta.safetensors (weights, input and expected probabilities, ~30 KB).
Used by tests/SharpSeg.Training.Tests/Inference/TestTimeAugmentationTests.cs.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_models_golden_segmentation import save_safetensors

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Training.Tests", "Golden", "tta.safetensors")


class TinyConvNet(nn.Module):
    def __init__(self, classes, in_channels=3, width=8):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, classes, 3, padding=1)

    def forward(self, x):
        return self.conv2(F.relu(self.bn(self.conv1(x))))


def flip_combination(horizontal, vertical):
    flips = [None]
    if horizontal:
        flips.append((3,))
    if vertical:
        flips.append((2,))
        if horizontal:
            flips.append((2, 3))
    return flips


def slide_inference(model, im, crop, stride):
    """crop and stride are (width, height), as PaddleSeg's crop_size and stride."""
    h_im, w_im = im.shape[-2:]
    w_crop, h_crop = crop
    w_stride, h_stride = stride
    rows = max(h_im - h_crop + h_stride - 1, 0) // h_stride + 1
    cols = max(w_im - w_crop + w_stride - 1, 0) // w_stride + 1
    final, count = None, torch.zeros(1, 1, h_im, w_im)
    for r in range(rows):
        for c in range(cols):
            h1, w1 = r * h_stride, c * w_stride
            h2, w2 = min(h1 + h_crop, h_im), min(w1 + w_crop, w_im)
            h1, w1 = max(h2 - h_crop, 0), max(w2 - w_crop, 0)
            logit = model(im[:, :, h1:h2, w1:w2])
            if final is None:
                final = torch.zeros(1, logit.shape[1], h_im, w_im)
            final[:, :, h1:h2, w1:w2] += logit
            count[:, :, h1:h2, w1:w2] += 1
    return final / count


def aug_inference(model, im, scales, flip_horizontal, flip_vertical, slide=None):
    """PaddleSeg's aug_inference, with the summed probabilities divided by the number of passes."""
    h_input, w_input = im.shape[-2:]
    total, passes = 0, 0
    for scale in scales:
        h, w = int(h_input * scale + 0.5), int(w_input * scale + 0.5)
        scaled = F.interpolate(im, (h, w), mode="bilinear", align_corners=False)
        for flip in flip_combination(flip_horizontal, flip_vertical):
            x = scaled if flip is None else torch.flip(scaled, flip)
            logit = model(x) if slide is None else slide_inference(model, x, *slide)
            if flip is not None:
                logit = torch.flip(logit, flip)
            logit = F.interpolate(logit, (h_input, w_input), mode="bilinear", align_corners=False)
            total = total + F.softmax(logit, dim=1)
            passes += 1
    return total / passes


def main():
    torch.manual_seed(0)
    model = TinyConvNet(4)
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.2, 0.2)
        model.bn.running_var.uniform_(0.5, 1.5)
        model.bn.weight.uniform_(0.5, 1.5)
        model.bn.bias.uniform_(-0.2, 0.2)
    model.eval()
    image = torch.rand(1, 3, 11, 13) * 2 - 1
    tensors = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    with torch.no_grad():
        tensors["input"] = image
        tensors["whole_scales_flips"] = aug_inference(model, image, [0.75, 1.0, 1.5], True, True)
        tensors["whole_vertical_only"] = aug_inference(model, image, [0.5], False, True)
        tensors["slide_scales_flip"] = aug_inference(model, image, [0.5, 1.25], True, False, slide=((5, 4), (3, 3)))
    save_safetensors(OUT, tensors)
    print("wrote", OUT, {k: tuple(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()
