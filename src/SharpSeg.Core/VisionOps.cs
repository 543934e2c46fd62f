using SharpSeg.Ops;

namespace SharpSeg;

/// <summary>
/// Detection operators on boxes in (x1, y1, x2, y2) pixel coordinates. Equivalent to <c>torchvision.ops</c>: argument
/// names, defaults, tie rules and boundary rules follow torchvision 0.14. Box utilities and NMS are not differentiable
/// (they select or measure); <see cref="RoiAlign(Tensor, Tensor, Size2, float, int, bool)"/> and
/// <see cref="SigmoidFocalLoss"/> are.
/// </summary>
public static class VisionOps
{
    /// <summary>Areas [N] of boxes [N, 4]: (x2 − x1)·(y2 − y1). Equivalent to <c>torchvision.ops.box_area</c>.</summary>
    public static Tensor BoxArea(Tensor boxes) => Detection.BoxArea(boxes);

    /// <summary>
    /// Pairwise intersection over union [N, M] of boxes [N, 4] and [M, 4] (0/0 gives NaN, as torchvision). Equivalent to
    /// <c>torchvision.ops.box_iou</c>.
    /// </summary>
    public static Tensor BoxIou(Tensor boxes1, Tensor boxes2) => Detection.BoxIou(boxes1, boxes2);

    /// <summary>
    /// Clamps x to [0, <paramref name="width"/>] and y to [0, <paramref name="height"/>] for boxes [..., 4]. Equivalent to
    /// <c>torchvision.ops.clip_boxes_to_image(boxes, (height, width))</c>.
    /// </summary>
    public static Tensor ClipBoxesToImage(Tensor boxes, int height, int width) => Detection.ClipBoxesToImage(boxes, height, width);

    /// <summary>
    /// Indices (int64) of the boxes whose width and height are both at least <paramref name="minSize"/>, in input order.
    /// Equivalent to <c>torchvision.ops.remove_small_boxes</c>.
    /// </summary>
    public static Tensor RemoveSmallBoxes(Tensor boxes, float minSize) => Detection.RemoveSmallBoxes(boxes, minSize);

    /// <summary>
    /// Non-maximum suppression: indices (int64) of the kept boxes, by decreasing score. Boxes are visited by score,
    /// descending and stable (equal scores keep input order); a box is dropped when a kept box overlaps it with IoU
    /// strictly greater than <paramref name="iouThreshold"/>. Equivalent to <c>torchvision.ops.nms</c>.
    /// </summary>
    public static Tensor Nms(Tensor boxes, Tensor scores, float iouThreshold) => Detection.Nms(boxes, scores, null, iouThreshold);

    /// <summary>
    /// NMS applied separately within each class of <paramref name="idxs"/> (integer [N]): boxes of different classes never
    /// suppress each other. Kept indices (int64) by decreasing score, stable. Equivalent to <c>torchvision.ops.batched_nms</c>
    /// (the same result as its coordinate-offset trick, without the offset's rounding).
    /// </summary>
    public static Tensor BatchedNms(Tensor boxes, Tensor scores, Tensor idxs, float iouThreshold)
    {
        ArgumentNullException.ThrowIfNull(idxs);
        return Detection.Nms(boxes, scores, idxs, iouThreshold);
    }

    /// <summary>
    /// RoIAlign (He et al., Mask R-CNN): average of bilinear samples on a grid in each of the output bins of every RoI.
    /// <paramref name="input"/> [N, C, H, W], <paramref name="rois"/> [K, 5] rows of (batch index, x1, y1, x2, y2) in image
    /// coordinates that <paramref name="spatialScale"/> maps onto the feature map; output [K, C, outputSize.H, outputSize.W].
    /// A <paramref name="samplingRatio"/> ≤ 0 samples ceil(roi size / output size) points per bin on each axis;
    /// <paramref name="aligned"/> shifts coordinates by −0.5 pixel (otherwise RoIs are at least 1×1). Differentiable with
    /// respect to <paramref name="input"/>. Equivalent to <c>torchvision.ops.roi_align</c>.
    /// </summary>
    public static Tensor RoiAlign(Tensor input, Tensor rois, Size2 outputSize, float spatialScale = 1f, int samplingRatio = -1, bool aligned = false) =>
        Detection.RoiAlign(input, rois, outputSize, spatialScale, samplingRatio, aligned);

    /// <summary>
    /// RoIAlign with RoIs given per image as [Ki, 4] boxes (image i's boxes read image i). Equivalent to
    /// <c>torchvision.ops.roi_align(input, [boxes0, boxes1, …], …)</c>.
    /// </summary>
    public static Tensor RoiAlign(Tensor input, IReadOnlyList<Tensor> boxesPerImage, Size2 outputSize, float spatialScale = 1f,
        int samplingRatio = -1, bool aligned = false)
    {
        ArgumentNullException.ThrowIfNull(boxesPerImage);
        return Detection.RoiAlign(input, Detection.BoxesToRois(boxesPerImage), outputSize, spatialScale, samplingRatio, aligned);
    }

    /// <summary>
    /// RoIAlign over a feature pyramid: RoI k is pooled from <paramref name="features"/>[<paramref name="levels"/>[k]] with that
    /// level's <paramref name="scales"/> entry; output [K, C, outputSize.H, outputSize.W] in RoI order. Differentiable with respect
    /// to every feature map. Equivalent to the pooling step of <c>torchvision.ops.MultiScaleRoIAlign</c> (which computes the
    /// levels with its <c>LevelMapper</c>), aligned = false there.
    /// </summary>
    public static Tensor MultiScaleRoiAlign(IReadOnlyList<Tensor> features, Tensor rois, int[] levels, float[] scales, Size2 outputSize,
        int samplingRatio = -1, bool aligned = false)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(scales);
        return Detection.MultiLevelRoiAlign(features, rois, levels, scales, outputSize, samplingRatio, aligned);
    }

    /// <summary>
    /// [ΣKi, 5] RoI rows (image index, x1, y1, x2, y2) from per-image boxes. Equivalent to torchvision's
    /// <c>torchvision.ops._utils.convert_boxes_to_roi_format</c>.
    /// </summary>
    public static Tensor BoxesToRois(IReadOnlyList<Tensor> boxesPerImage)
    {
        ArgumentNullException.ThrowIfNull(boxesPerImage);
        return Detection.BoxesToRois(boxesPerImage);
    }

    /// <summary>
    /// Focal loss of RetinaNet (Lin et al., 2017) on logits: ℓ = α_t·(1 − p_t)^γ·BCE(x, t), with p_t = p·t + (1 − p)·(1 − t) and
    /// α_t = α·t + (1 − α)·(1 − t); a negative <paramref name="alpha"/> drops the α weighting. Differentiable (composed from
    /// differentiable ops). Equivalent to <c>torchvision.ops.sigmoid_focal_loss</c>, whose default reduction is none.
    /// </summary>
    public static Tensor SigmoidFocalLoss(Tensor inputs, Tensor targets, float alpha = 0.25f, float gamma = 2f, Reduction reduction = Reduction.None)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        Check.That(inputs.Shape == targets.Shape, "SigmoidFocalLoss", $"inputs {inputs.Shape} and targets {targets.Shape} differ");
        var p = inputs.Sigmoid();
        var crossEntropy = Functional.BinaryCrossEntropyWithLogits(inputs, targets, reduction: Reduction.None);
        var pT = p * targets + (1f - p) * (1f - targets);
        var loss = crossEntropy * (1f - pT).Pow(gamma);
        if (alpha >= 0) loss = (alpha * targets + (1f - alpha) * (1f - targets)) * loss;
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => loss.Sum(),
            _ => loss.Mean(),
        };
    }
}
