namespace SharpSeg.Detection.Models;

/// <summary>
/// Anchors for every location of every pyramid map: per level, one anchor per (aspect ratio, size) pair centred at 0 with
/// w = size/√ratio and h = size·√ratio, rounded half-to-even (torch.round), then shifted by the location times the map's
/// stride (padded image size // map size). Per image the levels are concatenated; within a level the order is row, column,
/// anchor. Equivalent to <c>torchvision.models.detection.anchor_utils.AnchorGenerator</c>.
/// </summary>
public sealed class AnchorGenerator
{
    private readonly float[][] _cellAnchors;

    /// <summary>Anchors with one size list and one ratio list per level.</summary>
    /// <param name="sizes">Sizes per level, e.g. [[32], [64], [128], [256], [512]] in Faster R-CNN.</param>
    /// <param name="aspectRatios">Height/width ratios per level, e.g. [0.5, 1, 2] for each.</param>
    public AnchorGenerator(IReadOnlyList<IReadOnlyList<float>> sizes, IReadOnlyList<IReadOnlyList<float>> aspectRatios)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(aspectRatios);
        if (sizes.Count != aspectRatios.Count)
            throw new ArgumentException($"AnchorGenerator: {sizes.Count} size lists but {aspectRatios.Count} aspect-ratio lists; give one of each per level.");
        Sizes = sizes;
        AspectRatios = aspectRatios;
        _cellAnchors = [.. sizes.Zip(aspectRatios, CellAnchors)];
    }

    /// <summary>torchvision's Faster R-CNN default: sizes 32…512, one per level, ratios (0.5, 1, 2) on each of five levels.</summary>
    public static AnchorGenerator FasterRcnnDefault() =>
        new([[32f], [64f], [128f], [256f], [512f]], [.. Enumerable.Repeat<IReadOnlyList<float>>([0.5f, 1f, 2f], 5)]);

    /// <summary>Sizes per level.</summary>
    public IReadOnlyList<IReadOnlyList<float>> Sizes { get; }

    /// <summary>Aspect ratios per level.</summary>
    public IReadOnlyList<IReadOnlyList<float>> AspectRatios { get; }

    /// <summary>Anchors per location of each level. Equivalent to <c>num_anchors_per_location()</c>.</summary>
    public int[] NumAnchorsPerLocation() => [.. Sizes.Zip(AspectRatios, (s, r) => s.Count * r.Count)];

    /// <summary>
    /// Anchors [ΣHi·Wi·Ai, 4] of one image for maps of the given sizes over a padded batch of size
    /// <paramref name="imageH"/>×<paramref name="imageW"/>. Equivalent to <c>AnchorGenerator.forward</c> for one image.
    /// </summary>
    public Tensor Anchors(IReadOnlyList<(int H, int W)> gridSizes, int imageH, int imageW)
    {
        ArgumentNullException.ThrowIfNull(gridSizes);
        if (gridSizes.Count != _cellAnchors.Length)
            throw new ArgumentException($"AnchorGenerator: {gridSizes.Count} feature maps but anchors for {_cellAnchors.Length} levels.", nameof(gridSizes));
        long total = 0;
        for (int level = 0; level < gridSizes.Count; level++) total += (long)gridSizes[level].H * gridSizes[level].W * _cellAnchors[level].Length;
        // One exact-size array (≈ 3.5 MB for an 800×1088 batch), written in place rather than grown.
        var all = new float[total];
        int next = 0;
        for (int level = 0; level < gridSizes.Count; level++)
        {
            var (gridH, gridW) = gridSizes[level];
            int strideH = imageH / gridH, strideW = imageW / gridW;
            var cell = _cellAnchors[level];
            for (int y = 0; y < gridH; y++)
                for (int x = 0; x < gridW; x++)
                {
                    int shiftX = x * strideW, shiftY = y * strideH;
                    for (int a = 0; a < cell.Length; a += 4)
                    {
                        all[next++] = shiftX + cell[a];
                        all[next++] = shiftY + cell[a + 1];
                        all[next++] = shiftX + cell[a + 2];
                        all[next++] = shiftY + cell[a + 3];
                    }
                }
        }
        return Tensor.FromArray(all, all.Length / 4, 4);
    }

    // Ratio-major order (all sizes of the first ratio first), as torchvision's (w_ratios[:, None] * scales[None, :]).view(-1).
    private static float[] CellAnchors(IReadOnlyList<float> sizes, IReadOnlyList<float> ratios)
    {
        var anchors = new List<float>();
        foreach (float ratio in ratios)
        {
            float hRatio = MathF.Sqrt(ratio), wRatio = 1f / hRatio;
            foreach (float size in sizes)
            {
                float w = wRatio * size, h = hRatio * size;
                anchors.AddRange([MathF.Round(-w / 2), MathF.Round(-h / 2), MathF.Round(w / 2), MathF.Round(h / 2)]);
            }
        }
        return [.. anchors];
    }
}
