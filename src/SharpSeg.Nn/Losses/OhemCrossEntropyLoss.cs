namespace SharpSeg.Nn.Losses;

/// <summary>
/// Cross-entropy over hard pixels only (online hard example mining). When more than <see cref="MinKept"/> pixels are
/// valid, a pixel is kept if the softmax probability of its true class is below the threshold, which is
/// <see cref="Thresh"/> raised to the <see cref="MinKept"/>-th smallest such probability when that is larger (so about
/// <see cref="MinKept"/> pixels survive on easy batches); otherwise, and always when <see cref="MinKept"/> is 0 (PaddleSeg
/// mines only for a positive min_kept), every valid pixel is kept. The loss is the summed cross-entropy of kept pixels
/// divided by (kept + 1e-5·all pixels). Equivalent to PaddleSeg
/// <c>OhemCrossEntropyLoss(thresh, min_kept, ignore_index)</c>, including its strict "&lt; threshold" (the pixel at the
/// threshold itself is dropped) and its epsilon.
/// </summary>
/// <param name="thresh">Probability below which a pixel is hard. PaddleSeg default 0.7.</param>
/// <param name="minKept">Pixels to keep at least (about). PaddleSeg default 10000.</param>
/// <param name="ignoreIndex">Label value that does not count. PaddleSeg default 255.</param>
public sealed class OhemCrossEntropyLoss(float thresh = 0.7f, int minKept = 10000, int ignoreIndex = 255) : ISegmentationLoss
{
    private const float Epsilon = 1e-5f;

    /// <summary>Probability below which a pixel is hard.</summary>
    public float Thresh { get; } = thresh;

    /// <summary>Pixels to keep at least (about).</summary>
    public int MinKept { get; } = minKept >= 0 ? minKept : throw new ArgumentOutOfRangeException(nameof(minKept), $"OhemCrossEntropyLoss: minKept {minKept} is negative.");

    /// <summary>Label value that does not count.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc />
    public bool NeedsOneChannelPerClass => true;

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels)
    {
        int numClasses = logits.Rank == 4 ? logits.Shape[1] : 0;
        var map = LabelMap.Read(nameof(OhemCrossEntropyLoss), logits, labels, numClasses, IgnoreIndex);
        var kept = KeptPixels(logits, map, numClasses);

        var keptLabels = new long[map.PixelCount];
        int keptCount = 0;
        for (int i = 0; i < keptLabels.Length; i++)
        {
            keptLabels[i] = kept[i] ? map.Values[i] : IgnoreIndex;
            if (kept[i]) keptCount++;
        }
        var target = Tensor.FromArray(keptLabels, map.Batch, map.Height, map.Width);
        var summed = Functional.CrossEntropy(logits, target, ignoreIndex: IgnoreIndex, reduction: Reduction.Sum);
        return summed / (keptCount + Epsilon * map.PixelCount);
    }

    private bool[] KeptPixels(Tensor logits, LabelMap map, int numClasses)
    {
        var kept = new bool[map.PixelCount];
        for (int i = 0; i < kept.Length; i++) kept[i] = map.IsValid(i);
        if (MinKept == 0 || MinKept >= map.ValidCount) return kept;

        var probabilities = Functional.Softmax(logits.Detach(), 1).ToArray();
        int plane = map.Height * map.Width;
        var trueClassProbability = new float[map.ValidCount];
        var pixelOf = new int[map.ValidCount];
        for (int i = 0, k = 0; i < kept.Length; i++)
        {
            if (!kept[i]) continue;
            int n = i / plane, s = i % plane;
            trueClassProbability[k] = probabilities[(n * numClasses + (int)map.Values[i]) * plane + s];
            pixelOf[k++] = i;
        }

        var sorted = (float[])trueClassProbability.Clone();
        Array.Sort(sorted);
        float threshold = Math.Max(Thresh, sorted[MinKept - 1]);
        for (int k = 0; k < pixelOf.Length; k++) kept[pixelOf[k]] = trueClassProbability[k] < threshold;
        return kept;
    }
}
