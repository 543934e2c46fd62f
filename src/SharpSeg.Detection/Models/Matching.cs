namespace SharpSeg.Detection.Models;

/// <summary>
/// Assigns each prediction (anchor or proposal) the ground-truth box it overlaps most: IoU ≥ high keeps the index,
/// IoU &lt; low gives <see cref="BelowLowThreshold"/> (background), in between <see cref="BetweenThresholds"/> (ignored).
/// With low-quality matches allowed, every prediction that is some box's best match (ties included) keeps its index
/// whatever its IoU, so no ground truth is left without a prediction. Equivalent to
/// <c>torchvision.models.detection._utils.Matcher</c>.
/// </summary>
public sealed class Matcher(float highThreshold, float lowThreshold, bool allowLowQualityMatches = false)
{
    /// <summary>The index of a prediction below the low threshold (background).</summary>
    public const int BelowLowThreshold = -1;

    /// <summary>The index of a prediction between the thresholds (neither foreground nor background).</summary>
    public const int BetweenThresholds = -2;

    /// <summary>
    /// Matched ground-truth index per prediction from the IoU matrix <paramref name="quality"/> [G, P] (G ≥ 1). Ties pick
    /// the lowest ground-truth index, as torch's max.
    /// </summary>
    public int[] Match(Tensor quality)
    {
        ArgumentNullException.ThrowIfNull(quality);
        if (quality.Rank != 2 || quality.Shape[0] == 0)
            throw new ShapeMismatchException("Matcher", $"the IoU matrix must be [G, P] with at least one ground-truth box, got {quality.Shape}");
        int g = quality.Shape[0], p = quality.Shape[1];
        var iou = quality.ToArray();
        var matches = new int[p];
        var best = new int[p];
        for (int j = 0; j < p; j++)
        {
            int arg = 0;
            for (int i = 1; i < g; i++)
                if (iou[i * p + j] > iou[arg * p + j]) arg = i;
            float value = iou[arg * p + j];
            best[j] = arg;
            matches[j] = value < lowThreshold ? BelowLowThreshold : value < highThreshold ? BetweenThresholds : arg;
        }
        if (!allowLowQualityMatches) return matches;
        for (int i = 0; i < g; i++)
        {
            float highest = float.NegativeInfinity;
            for (int j = 0; j < p; j++) highest = MathF.Max(highest, iou[i * p + j]);
            for (int j = 0; j < p; j++)
                if (iou[i * p + j] == highest) matches[j] = best[j];
        }
        return matches;
    }
}

/// <summary>
/// Draws at most <c>batchSizePerImage</c> predictions per image for the loss, up to <c>positiveFraction</c> of them
/// foreground (label ≥ 1), the rest background (label 0), each drawn without replacement; labels of −1 are never drawn.
/// Equivalent to <c>torchvision.models.detection._utils.BalancedPositiveNegativeSampler</c> (with .NET's random
/// generator instead of torch's, so the draws differ when there are more candidates than places).
/// </summary>
public sealed class BalancedPositiveNegativeSampler(int batchSizePerImage, float positiveFraction)
{
    /// <summary>Positive and negative masks over <paramref name="labels"/> of one image.</summary>
    public (bool[] Positive, bool[] Negative) Sample(IReadOnlyList<long> labels, Random random)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(random);
        var positives = Enumerable.Range(0, labels.Count).Where(i => labels[i] >= 1).ToArray();
        var negatives = Enumerable.Range(0, labels.Count).Where(i => labels[i] == 0).ToArray();
        int numPositive = Math.Min(positives.Length, (int)(batchSizePerImage * positiveFraction));
        int numNegative = Math.Min(negatives.Length, batchSizePerImage - numPositive);
        var positiveMask = new bool[labels.Count];
        var negativeMask = new bool[labels.Count];
        foreach (int i in Draw(positives, numPositive, random)) positiveMask[i] = true;
        foreach (int i in Draw(negatives, numNegative, random)) negativeMask[i] = true;
        return (positiveMask, negativeMask);
    }

    private static IEnumerable<int> Draw(int[] candidates, int count, Random random)
    {
        if (count >= candidates.Length) return candidates;
        var shuffled = (int[])candidates.Clone();
        random.Shuffle(shuffled);
        return shuffled.Take(count);
    }
}

/// <summary>
/// The ground truth of one image as the R-CNN models train on it: boxes [K, 4] as (x1, y1, x2, y2) pixels of the image as
/// given, and int64 class labels [K] (≥ 1; 0 is background). Equivalent to torchvision's target dict
/// <c>{"boxes", "labels"}</c> and <c>"masks"</c>: [K, H, W] instance masks of 0/1 in the same pixels, for Mask R-CNN,
/// either as bytes (<see cref="MaskBytes"/>, one byte a pixel like torchvision's uint8 masks; what <see cref="From"/>
/// makes) or as a float tensor (<see cref="Masks"/>); <see cref="From"/> makes one from a dataset's
/// <see cref="Data.DetectionTarget"/>.
/// </summary>
public sealed record RcnnTarget(Tensor Boxes, Tensor Labels, Tensor? Masks = null)
{
    /// <summary>
    /// Instance masks as 0/1 bytes (any non-zero byte is foreground), the form datasets and transforms carry them in; read
    /// when <see cref="Masks"/> is null. The models resize them as bytes and turn them into floats only in the mask
    /// loss's M×M projections (<see cref="MaskOps.ProjectMasksOnBoxes(Data.InstanceMasks, Tensor, IReadOnlyList{int}, int)"/>),
    /// so a batch's masks cost a quarter of the float32 [K, H, W] tensors.
    /// </summary>
    public Data.InstanceMasks? MaskBytes { get; init; }

    /// <summary>Whether the target has masks in either form.</summary>
    public bool HasMasks => Masks is not null || MaskBytes is not null;

    /// <summary>
    /// The boxes, labels and instance masks (as bytes, <see cref="MaskBytes"/>, when the target has masks) of
    /// <paramref name="target"/> without its crowd regions, which torchvision's COCO training recipe removes before the
    /// model sees them (crowds only matter to evaluation). Difficult (or <c>ignore</c>) objects stay: PaddleDetection
    /// trains on them and only its evaluation leaves them out.
    /// </summary>
    public static RcnnTarget From(Data.DetectionTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var kept = target.WithoutCrowds();
        return new RcnnTarget(kept.BoxTensor(), kept.LabelTensor()) { MaskBytes = kept.Masks };
    }
}
