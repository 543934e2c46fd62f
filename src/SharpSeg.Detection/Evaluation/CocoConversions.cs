using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Evaluation;

/// <summary>
/// Turns torchvision-style targets and predictions (xyxy float boxes, contiguous labels, binary masks) into COCO
/// records for <see cref="CocoEvaluator"/>. Equivalent to torchvision's <c>convert_to_coco_api</c> and
/// <c>CocoEvaluator.prepare</c> (<c>prepare_for_coco_detection</c>, <c>prepare_for_coco_segmentation</c>).
/// </summary>
public static class CocoConversions
{
    /// <summary>
    /// The objects of <paramref name="target"/> as ground truths of image <see cref="DetectionTarget.ImageId"/>: boxes to
    /// <c>[x, y, w, h]</c>, labels to category ids, masks to RLE, the target's areas and crowd flags; objects flagged
    /// <see cref="DetectionTarget.Difficult"/> (VOC's <c>difficult</c>, COCO's <c>ignore</c>) become
    /// <see cref="CocoGroundTruth.Ignore"/>, as PaddleDetection's and the VOC devkit's evaluations ignore them.
    /// </summary>
    /// <param name="target">The image's annotations, in the pixels the detections are given in.</param>
    /// <param name="categoryIdsByLabel">The COCO category id of each label (index 0, the background, is unused); for
    /// contiguous data, the labels themselves.</param>
    public static IReadOnlyList<CocoGroundTruth> GroundTruths(DetectionTarget target, IReadOnlyList<int> categoryIdsByLabel)
    {
        ArgumentNullException.ThrowIfNull(target);
        var result = new CocoGroundTruth[target.Count];
        for (int i = 0; i < target.Count; i++)
        {
            var (x1, y1, x2, y2) = target.Box(i);
            result[i] = new CocoGroundTruth(target.ImageId, Category(categoryIdsByLabel, target.Labels[i]), CocoBox.FromXyxy(x1, y1, x2, y2),
                target.Area[i], target.IsCrowd[i], target.Masks?.ToRle(i), target.Difficult?[i] ?? false);
        }
        return result;
    }

    /// <summary>
    /// Detections of one image: N×4 xyxy boxes, N scores, N labels and optionally N binary masks of the image's size
    /// (Mask R-CNN's soft masks thresholded at 0.5 first, as torchvision's evaluation does).
    /// </summary>
    public static IReadOnlyList<CocoDetection> Detections(long imageId, ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores,
        ReadOnlySpan<int> labels, IReadOnlyList<int> categoryIdsByLabel, InstanceMasks? masks = null)
    {
        int count = scores.Length;
        if (boxes.Length != 4 * count || labels.Length != count || (masks is not null && masks.Count != count))
            throw new ArgumentException(
                $"Detections of image {imageId}: {count} scores need {4 * count} box values, {count} labels and masks, " +
                $"got {boxes.Length}, {labels.Length} and {masks?.Count.ToString() ?? "no"} masks.");
        var result = new CocoDetection[count];
        for (int i = 0; i < count; i++)
            result[i] = new CocoDetection(imageId, Category(categoryIdsByLabel, labels[i]), scores[i],
                CocoBox.FromXyxy(boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]), masks?.ToRle(i));
        return result;
    }

    private static int Category(IReadOnlyList<int> categoryIdsByLabel, int label) =>
        label >= 1 && label < categoryIdsByLabel.Count
            ? categoryIdsByLabel[label]
            : throw new ArgumentException($"Label {label} has no category id (labels 1…{categoryIdsByLabel.Count - 1} are mapped).");
}
