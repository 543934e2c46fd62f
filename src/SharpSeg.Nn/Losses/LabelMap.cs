namespace SharpSeg.Nn.Losses;

/// <summary>
/// A validated label map read once into managed memory: the losses build their masks, class counts and sort orders from
/// it outside autograd, then combine them with the logits through differentiable ops.
/// </summary>
internal sealed class LabelMap
{
    private LabelMap(long[] values, int batch, int height, int width, int ignoreIndex)
    {
        Values = values;
        Batch = batch;
        Height = height;
        Width = width;
        IgnoreIndex = ignoreIndex;
        for (int i = 0; i < values.Length; i++)
            if (values[i] != ignoreIndex) ValidCount++;
    }

    /// <summary>Labels in [N, H, W] row-major order.</summary>
    public long[] Values { get; }

    public int Batch { get; }

    public int Height { get; }

    public int Width { get; }

    public int IgnoreIndex { get; }

    public int ValidCount { get; }

    public int PixelCount => Values.Length;

    public bool IsValid(int pixel) => Values[pixel] != IgnoreIndex;

    /// <summary>
    /// Checks that <paramref name="logits"/> is [N, C, H, W] float32 with C in <paramref name="allowedChannels"/>, that
    /// <paramref name="labels"/> matches it, and that every label is in [0, <paramref name="numClasses"/>) or is the ignore index.
    /// </summary>
    public static LabelMap Read(string loss, Tensor logits, Tensor labels, int numClasses, int ignoreIndex, params int[] allowedChannels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        if (logits.DType != DType.Float32 || logits.Rank != 4)
            throw new ArgumentException($"{loss}: logits must be float32 [N, C, H, W], got {logits.DType} {logits.Shape}.", nameof(logits));
        int channels = logits.Shape[1];
        if (allowedChannels.Length > 0 && !allowedChannels.Contains(channels))
            throw new ArgumentException(
                $"{loss}: logits {logits.Shape} have {channels} channels; this loss takes {string.Join(" or ", allowedChannels)}.", nameof(logits));
        int n = logits.Shape[0], h = logits.Shape[2], w = logits.Shape[3];
        var map = FromLabels(loss, labels, numClasses, ignoreIndex);
        if (map.Batch != n || map.Height != h || map.Width != w)
            throw new ArgumentException($"{loss}: labels {labels.Shape} do not match logits {logits.Shape}; expected [{n}, {h}, {w}] or [{n}, 1, {h}, {w}].",
                nameof(labels));
        return map;
    }

    /// <summary>
    /// Reads labels [N, H, W] or [N, 1, H, W], checking that every value is in [0, <paramref name="numClasses"/>) or is the
    /// ignore index.
    /// </summary>
    public static LabelMap FromLabels(string loss, Tensor labels, int numClasses, int ignoreIndex)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.DType == DType.Float32)
            throw new ArgumentException($"{loss}: labels must be int64 or int32 class ids, got float32 {labels.Shape}.", nameof(labels));
        if (!(labels.Rank == 3 || labels.Rank == 4 && labels.Shape[1] == 1))
            throw new ArgumentException($"{loss}: labels must be [N, H, W] or [N, 1, H, W], got {labels.Shape}.", nameof(labels));
        int n = labels.Shape[0], h = labels.Shape[labels.Rank - 2], w = labels.Shape[labels.Rank - 1];

        var values = labels.To(DType.Int64).ToArray<long>();
        for (int i = 0; i < values.Length; i++)
        {
            long v = values[i];
            if (v == ignoreIndex || v >= 0 && v < numClasses) continue;
            int plane = h * w;
            throw new ArgumentOutOfRangeException(nameof(labels),
                $"{loss}: label value {v} at (n={i / plane}, y={i % plane / w}, x={i % w}) is outside [0, {numClasses}) for {numClasses} classes " +
                $"and is not the ignore index {ignoreIndex}.");
        }
        return new LabelMap(values, n, h, w, ignoreIndex);
    }

    /// <summary>1 at non-ignored pixels, 0 elsewhere, as float [N, H, W].</summary>
    public Tensor ValidMask()
    {
        var mask = new float[Values.Length];
        for (int i = 0; i < mask.Length; i++) mask[i] = IsValid(i) ? 1f : 0f;
        return Tensor.FromArray(mask, Batch, Height, Width);
    }

    /// <summary>The labels as float [N, H, W] with ignored pixels set to 0 (a binary target once masked).</summary>
    public Tensor FloatTargets()
    {
        var target = new float[Values.Length];
        for (int i = 0; i < target.Length; i++) target[i] = IsValid(i) ? Values[i] : 0f;
        return Tensor.FromArray(target, Batch, Height, Width);
    }

    /// <summary>The labels as int64 [N, H, W], ignore index kept (the target of <see cref="Functional.CrossEntropy"/>).</summary>
    public Tensor Int64Labels() => Tensor.FromArray(Values, Batch, Height, Width);

    /// <summary>Non-ignored pixels of each class.</summary>
    public long[] ClassCounts(int numClasses)
    {
        var counts = new long[numClasses];
        foreach (long v in Values)
            if (v != IgnoreIndex) counts[v]++;
        return counts;
    }

    /// <summary>1 where the label is <paramref name="classId"/>, as a flat array over the pixels.</summary>
    public float[] Foreground(int classId)
    {
        var fg = new float[Values.Length];
        for (int i = 0; i < fg.Length; i++) fg[i] = Values[i] == classId ? 1f : 0f;
        return fg;
    }

    /// <summary>One-hot targets as float [N, C, H, W]; an ignored pixel's row is all zeros.</summary>
    public Tensor OneHot(int numClasses)
    {
        int plane = Height * Width;
        var data = new float[PixelCount * numClasses];
        for (int i = 0; i < PixelCount; i++)
            if (IsValid(i)) data[(i / plane * numClasses + (int)Values[i]) * plane + i % plane] = 1f;
        return Tensor.FromArray(data, Batch, numClasses, Height, Width);
    }
}
