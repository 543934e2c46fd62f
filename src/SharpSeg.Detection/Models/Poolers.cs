namespace SharpSeg.Detection.Models;

/// <summary>
/// Assigns each RoI to a pyramid level by Eq. 1 of the FPN paper: k = ⌊k0 + log2(√area / s0) + ε⌋ clamped to
/// [kMin, kMax], returned as k − kMin. Equivalent to <c>torchvision.ops.poolers.LevelMapper</c>.
/// </summary>
/// <param name="kMin">The finest level (2 for strides 4…32).</param>
/// <param name="kMax">The coarsest level.</param>
/// <param name="canonicalScale">s0: a box of this side maps to <paramref name="canonicalLevel"/> (224, ImageNet's size).</param>
/// <param name="canonicalLevel">k0 (4).</param>
/// <param name="eps">Added before the floor so exact powers of two land on their level despite rounding.</param>
public sealed class LevelMapper(int kMin, int kMax, int canonicalScale = 224, int canonicalLevel = 4, float eps = 1e-6f)
{
    /// <summary>The finest level.</summary>
    public int KMin { get; } = kMin;

    /// <summary>The coarsest level.</summary>
    public int KMax { get; } = kMax;

    /// <summary>Level indices (0 = <see cref="KMin"/>) of the boxes of every image, concatenated in order.</summary>
    public int[] Map(IReadOnlyList<Tensor> boxesPerImage)
    {
        ArgumentNullException.ThrowIfNull(boxesPerImage);
        var levels = new List<int>();
        foreach (var boxes in boxesPerImage)
            foreach (float area in VisionOps.BoxArea(boxes).ToArray())
            {
                float level = MathF.Floor(canonicalLevel + MathF.Log2(MathF.Sqrt(area) / canonicalScale) + eps);
                levels.Add((int)Math.Clamp(level, KMin, KMax) - KMin);
            }
        return [.. levels];
    }
}

/// <summary>
/// RoIAlign over the named maps of a feature pyramid: each RoI is pooled from the level <see cref="LevelMapper"/> picks,
/// with that level's scale inferred as 2^round(log2(map size / largest image size)). aligned = false, as torchvision.
/// Unlike torchvision, which caches the scales of its first call, scales are inferred on every call (identical whenever
/// the padded batch size does not change). Equivalent to <c>torchvision.ops.MultiScaleRoIAlign</c>.
/// </summary>
/// <param name="featmapNames">The pyramid maps to pool from, e.g. "0", "1", "2", "3" (not "pool").</param>
/// <param name="outputSize">Bins per RoI (7×7 for boxes, 14×14 for masks).</param>
/// <param name="samplingRatio">Sampling points per bin and axis (2 in Faster R-CNN); ≤ 0 is adaptive.</param>
/// <param name="canonicalScale">The level mapper's s0.</param>
/// <param name="canonicalLevel">The level mapper's k0.</param>
public sealed class MultiScaleRoIAlign(IReadOnlyList<string> featmapNames, Size2 outputSize, int samplingRatio, int canonicalScale = 224, int canonicalLevel = 4)
{
    /// <summary>The pooled maps' names.</summary>
    public IReadOnlyList<string> FeatmapNames { get; } = featmapNames;

    /// <summary>Bins per RoI.</summary>
    public Size2 OutputSize { get; } = outputSize;

    /// <summary>Pooled features [ΣKi, C, OutputSize.H, OutputSize.W] of the per-image <paramref name="boxes"/>, in order.</summary>
    /// <param name="features">The pyramid, in its order (finest first); maps not in <see cref="FeatmapNames"/> are ignored.</param>
    /// <param name="boxes">[Ki, 4] boxes of each image in the resized image's pixels.</param>
    /// <param name="imageSizes">(height, width) of each resized image before padding.</param>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Tensor> boxes, IReadOnlyList<(int H, int W)> imageSizes)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(imageSizes);
        if (imageSizes.Count == 0) throw new ArgumentException("MultiScaleRoIAlign: the image size list is empty.", nameof(imageSizes));
        var maps = features.Where(f => FeatmapNames.Contains(f.Key)).Select(f => f.Value).ToArray();
        if (maps.Length == 0)
            throw new ArgumentException($"MultiScaleRoIAlign: none of the maps {string.Join(", ", FeatmapNames)} is among {string.Join(", ", features.Keys)}.", nameof(features));
        int originalH = imageSizes.Max(s => s.H);
        var scales = maps.Select(m => InferScale(m.Shape[2], originalH)).ToArray();
        var rois = VisionOps.BoxesToRois(boxes);
        if (maps.Length == 1) return VisionOps.RoiAlign(maps[0], rois, OutputSize, scales[0], samplingRatio);
        var mapper = new LevelMapper((int)-MathF.Log2(scales[0]), (int)-MathF.Log2(scales[^1]), canonicalScale, canonicalLevel);
        return VisionOps.MultiScaleRoiAlign(maps, rois, mapper.Map(boxes), scales, OutputSize, samplingRatio);
    }

    // torchvision infers the scale from the height ratio, rounded to a power of two (torch.round: half to even).
    private static float InferScale(int featureSize, int originalSize) =>
        MathF.Pow(2f, MathF.Round(MathF.Log2((float)((double)featureSize / originalSize))));
}
