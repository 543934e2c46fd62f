"""Golden values for the segmentation losses in SharpSeg.Nn.Losses.

Paddle is not installed here, so each reference is written in PyTorch 1.13 following the Paddle source line by line:
PaddleX 1.x paddlex/cv/nets/segmentation/model_utils/loss.py (softmax_with_loss, dice_loss, bce_loss) and PaddleSeg
paddleseg/models/losses (lovasz_loss.py, ohem_cross_entropy_loss.py, focal_loss.py, mixed_loss.py). Where SharpSeg
deliberately differs from the Paddle code the difference is written here too (and in the C# XML docs):
- dynamic class weights count non-ignored pixels only (PaddleX clamps labels first, counting ignored pixels as
  class C-1);
- a two-channel input to the binary losses uses the logit l1 - l0 (PaddleSeg's binary_channel_to_unary has an
  operator-precedence slip: log(p + eps / (1 - p + eps)));
- CrossEntropyLoss's pixel-count normalisation divides by the count itself (PaddleX adds 1e-5 times the pixel count).

Each case stores its inputs, parameters, the loss and d(loss)/d(logits).
Run with PyTorch 1.13: /usr/bin/python3 tools/gen_nn_golden_losses.py
Writes tests/SharpSeg.Nn.Tests/Golden/Losses/losses.json.
"""
import json
import os

import torch
import torch.nn.functional as F

IGNORE = 255
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Nn.Tests", "Golden", "Losses", "losses.json")


def floats(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def make_inputs(seed, n, c, h, w, num_label_classes, ignore_fraction=0.15, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, h, w, generator=g) * scale
    labels = torch.randint(0, num_label_classes, (n, h, w), generator=g)
    ignored = torch.rand(n, h, w, generator=g) < ignore_fraction
    labels[ignored] = IGNORE
    return logits, labels


# ---- cross-entropy (PaddleX softmax_with_loss / torch cross_entropy) -------------------------------------------

def dynamic_weights(labels, c):
    valid = labels != IGNORE
    total = valid.sum().float()
    counts = torch.stack([(labels[valid] == i).sum().float() for i in range(c)])
    weight = total / (counts + 1)
    return weight / weight.sum() * c


def cross_entropy(logits, labels, weight=None, normalization="weight_sum"):
    if normalization == "weight_sum":
        return F.cross_entropy(logits, labels, weight=weight, ignore_index=IGNORE, reduction="mean")
    per_pixel = F.cross_entropy(logits, labels, weight=weight, ignore_index=IGNORE, reduction="none")
    return per_pixel.sum() / (labels != IGNORE).sum()


# ---- PaddleX binary losses ------------------------------------------------------------------------------------

def binary_logit(logits):
    return logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]


def bce(logits, labels):
    x = binary_logit(logits)
    mask = (labels != IGNORE).float()
    target = (labels * (labels != IGNORE)).float()
    loss = F.binary_cross_entropy_with_logits(x, target, reduction="none") * mask
    return loss.sum() / mask.sum()


def dice(logits, labels, eps=1e-5):
    mask = (labels != IGNORE).float()
    p = torch.sigmoid(binary_logit(logits)) * mask
    t = (labels * (labels != IGNORE)).float() * mask
    inse = (p * t).sum(dim=(1, 2))
    denominator = p.sum(dim=(1, 2)) + t.sum(dim=(1, 2))
    return (1 - inse * 2 / (denominator + eps)).mean()


# ---- Lovasz (PaddleSeg lovasz_loss.py, after Berman et al.) ------------------------------------------------------

def lovasz_grad(gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


def lovasz_softmax(logits, labels, classes="present"):
    probas = F.softmax(logits, dim=1)
    c = probas.shape[1]
    probas = probas.permute(0, 2, 3, 1).reshape(-1, c)
    labels = labels.reshape(-1)
    valid = labels != IGNORE
    probas, labels = probas[valid], labels[valid]
    if probas.numel() == 0:
        return probas.sum() * 0.0
    losses = []
    to_sum = list(range(c)) if classes in ("all", "present") else classes
    for k in to_sum:
        fg = (labels == k).float()
        if classes == "present" and fg.sum() == 0:
            continue
        errors = (fg - probas[:, k]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
    return torch.stack(losses).mean()


def lovasz_hinge(logits, labels):
    scores = binary_logit(logits).reshape(-1)
    labels = labels.reshape(-1)
    valid = labels != IGNORE
    scores, labels = scores[valid], labels[valid].float()
    if len(labels) == 0:
        return scores.sum() * 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - scores * signs
    errors_sorted, perm = torch.sort(errors, 0, descending=True)
    return torch.dot(F.relu(errors_sorted), lovasz_grad(labels[perm]))


# ---- OHEM cross-entropy (PaddleSeg ohem_cross_entropy_loss.py) ---------------------------------------------------

def ohem(logits, labels, thresh, min_kept, eps=1e-5):
    n, c, h, w = logits.shape
    label = labels.reshape(-1).long()
    valid_mask = (label != IGNORE).long()
    num_valid = int(valid_mask.sum())
    label = label * valid_mask
    prob = F.softmax(logits, dim=1).detach().transpose(0, 1).reshape(c, -1)
    if min_kept < num_valid and num_valid > 0:
        prob = prob + (1 - valid_mask)
        onehot = F.one_hot(label, c).transpose(0, 1)
        prob = (prob * onehot).sum(0)
        threshold = thresh
        if min_kept > 0:
            index = prob.argsort()
            threshold_index = int(index[min(len(index), min_kept) - 1])
            if prob[threshold_index] > thresh:
                threshold = prob[threshold_index]
            kept_mask = (prob < threshold).long()
            label = label * kept_mask
            valid_mask = valid_mask * kept_mask
    label = label + (1 - valid_mask) * IGNORE
    label = label.reshape(n, h, w)
    valid_mask = valid_mask.reshape(n, h, w).float()
    loss = F.cross_entropy(logits, label, ignore_index=IGNORE, reduction="none") * valid_mask
    return loss.mean() / (valid_mask.mean() + eps)


# ---- focal losses (PaddleSeg focal_loss.py) ----------------------------------------------------------------------

def focal(logits, labels, alpha, gamma, eps=1e-10):
    c = logits.shape[1]
    mask = (labels != IGNORE).float().unsqueeze(1)
    target = F.one_hot(labels * (labels != IGNORE), c).permute(0, 3, 1, 2).float()
    p = torch.sigmoid(logits)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = loss * (1 - p_t) ** gamma
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    loss = alpha_t * loss * mask
    return loss.sum() / (mask.sum() * c + eps)


def multi_class_focal(logits, labels, alpha, gamma, eps=1e-10):
    ce = F.cross_entropy(logits, labels, ignore_index=IGNORE, reduction="none")
    pt = torch.exp(-ce)
    loss = alpha * (1 - pt) ** gamma * ce
    mask = (labels != IGNORE).float()
    return (loss * mask).mean() / (mask.mean() + eps)


# ---- cases -------------------------------------------------------------------------------------------------------

def case(name, loss_type, logits, labels, fn, **params):
    x = logits.clone().requires_grad_(True)
    loss = fn(x, labels)
    loss.backward()
    entry = {
        "name": name,
        "loss": loss_type,
        "params": params,
        "logits_shape": list(logits.shape),
        "logits": floats(logits),
        "labels": [int(v) for v in labels.reshape(-1).tolist()],
        "expected_loss": float(loss),
        "expected_grad": floats(x.grad),
    }
    return entry


def main():
    cases = []
    logits, labels = make_inputs(1, 2, 4, 5, 6, 4)
    cases.append(case("ce_plain", "cross_entropy", logits, labels, lambda x, y: cross_entropy(x, y)))
    weight = [0.5, 2.0, 1.0, 3.0]
    cases.append(case("ce_weights", "cross_entropy", logits, labels,
                      lambda x, y: cross_entropy(x, y, torch.tensor(weight)), weights=weight))
    cases.append(case("ce_weights_pixel_count", "cross_entropy", logits, labels,
                      lambda x, y: cross_entropy(x, y, torch.tensor(weight), "pixel_count"),
                      weights=weight, normalization="pixel_count"))
    dyn = dynamic_weights(labels, 4)
    cases.append(case("ce_dynamic", "cross_entropy", logits, labels,
                      lambda x, y: cross_entropy(x, y, dyn), dynamic=True, dynamic_weights=floats(dyn)))
    cases.append(case("ce_dynamic_pixel_count", "cross_entropy", logits, labels,
                      lambda x, y: cross_entropy(x, y, dyn, "pixel_count"), dynamic=True, normalization="pixel_count"))

    binary_logits, binary_labels = make_inputs(2, 2, 1, 5, 6, 2)
    cases.append(case("bce", "bce", binary_logits, binary_labels, bce))
    cases.append(case("dice", "dice", binary_logits, binary_labels, dice))
    cases.append(case("bce_dice", "bce_dice", binary_logits, binary_labels, lambda x, y: dice(x, y) + bce(x, y)))
    two_logits, two_labels = make_inputs(3, 2, 2, 5, 6, 2)
    cases.append(case("dice_two_channels", "dice", two_logits, two_labels, dice))
    cases.append(case("bce_two_channels", "bce", two_logits, two_labels, bce))

    lov_logits, lov_labels = make_inputs(4, 2, 4, 5, 6, 3)  # class 3 absent: 'present' and 'all' differ
    cases.append(case("lovasz_softmax_present", "lovasz_softmax", lov_logits, lov_labels, lovasz_softmax, classes="present"))
    cases.append(case("lovasz_softmax_all", "lovasz_softmax", lov_logits, lov_labels,
                      lambda x, y: lovasz_softmax(x, y, "all"), classes="all"))
    cases.append(case("lovasz_softmax_list", "lovasz_softmax", lov_logits, lov_labels,
                      lambda x, y: lovasz_softmax(x, y, [0, 2]), classes=[0, 2]))
    cases.append(case("lovasz_hinge", "lovasz_hinge", binary_logits, binary_labels, lovasz_hinge))
    cases.append(case("lovasz_hinge_two_channels", "lovasz_hinge", two_logits, two_labels, lovasz_hinge))

    ohem_logits, ohem_labels = make_inputs(5, 2, 3, 5, 6, 3, scale=1.5)
    cases.append(case("ohem_thresh", "ohem", ohem_logits, ohem_labels,
                      lambda x, y: ohem(x, y, 0.7, 10), thresh=0.7, min_kept=10))
    confident = ohem_logits + 3.0 * F.one_hot(ohem_labels * (ohem_labels != IGNORE), 3).permute(0, 3, 1, 2).float()
    cases.append(case("ohem_min_kept_raises_threshold", "ohem", confident, ohem_labels,
                      lambda x, y: ohem(x, y, 0.7, 20), thresh=0.7, min_kept=20))
    cases.append(case("ohem_no_mining", "ohem", ohem_logits, ohem_labels,
                      lambda x, y: ohem(x, y, 0.7, 1000), thresh=0.7, min_kept=1000))

    focal_logits, focal_labels = make_inputs(6, 2, 2, 5, 6, 2)
    cases.append(case("focal", "focal", focal_logits, focal_labels,
                      lambda x, y: focal(x, y, 0.25, 2.0), alpha=0.25, gamma=2.0))
    cases.append(case("multi_class_focal", "multi_class_focal", logits, labels,
                      lambda x, y: multi_class_focal(x, y, 0.5, 2.0), alpha=0.5, gamma=2.0))

    cases.append(case("mixed_ce_lovasz", "mixed", lov_logits, lov_labels,
                      lambda x, y: 0.8 * cross_entropy(x, y) + 0.2 * lovasz_softmax(x, y), coefs=[0.8, 0.2]))

    aux_logits, _ = make_inputs(7, 2, 4, 5, 6, 4)
    x_main = logits.clone().requires_grad_(True)
    x_aux = aux_logits.clone().requires_grad_(True)
    total = 1.0 * cross_entropy(x_main, labels) + 0.4 * cross_entropy(x_aux, labels)
    total.backward()
    loss_list = {
        "name": "loss_list_aux", "coefs": [1.0, 0.4], "logits_shape": list(logits.shape),
        "logits": floats(logits), "aux_logits": floats(aux_logits),
        "labels": [int(v) for v in labels.reshape(-1).tolist()],
        "expected_loss": float(total), "expected_grad": floats(x_main.grad), "expected_aux_grad": floats(x_aux.grad),
    }

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "ignore_index": IGNORE, "cases": cases, "loss_list": loss_list}, f)
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
