namespace SharpSeg.Nn.Losses;

/// <summary>What the summed per-pixel cross-entropy is divided by.</summary>
public enum CrossEntropyNormalization
{
    /// <summary>
    /// Σ w[label] over non-ignored pixels, as <c>torch.nn.functional.cross_entropy(weight=…, reduction="mean")</c>; without
    /// class weights this is the count of non-ignored pixels.
    /// </summary>
    WeightSum,

    /// <summary>
    /// The count of non-ignored pixels, whatever the weights, as PaddleX 1.x's <c>softmax_with_loss</c> and PaddleSeg 2.x's
    /// <c>CrossEntropyLoss</c> (both add a tiny epsilon to the count; this divides by the count itself).
    /// </summary>
    PixelCount,
}

/// <summary>
/// Softmax cross-entropy over the class axis with class weights (fixed or <see cref="ClassWeight.Dynamic"/>) and an ignore
/// index, averaged over non-ignored pixels. Equivalent to <c>torch.nn.CrossEntropyLoss(weight, ignore_index)</c>
/// (the default <see cref="CrossEntropyNormalization.WeightSum"/>) and to PaddleSeg <c>CrossEntropyLoss</c> / PaddleX 1.x
/// <c>softmax_with_loss</c> (<see cref="CrossEntropyNormalization.PixelCount"/>). A batch whose pixels are all ignored (or
/// all weigh 0) gives 0 with a zero gradient (torch gives NaN).
/// </summary>
/// <param name="classWeight">Class weights; <see cref="ClassWeight.None"/> when null.</param>
/// <param name="ignoreIndex">Label value that does not count. PaddleSeg default 255.</param>
/// <param name="normalization">What the weighted sum is divided by.</param>
public sealed class CrossEntropyLoss(ClassWeight? classWeight = null, int ignoreIndex = 255,
    CrossEntropyNormalization normalization = CrossEntropyNormalization.WeightSum) : ISegmentationLoss
{
    /// <summary>The class weights.</summary>
    public ClassWeight ClassWeight { get; } = classWeight ?? ClassWeight.None;

    /// <summary>Label value that does not count.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <summary>What the weighted sum is divided by.</summary>
    public CrossEntropyNormalization Normalization { get; } = normalization;

    /// <inheritdoc />
    public bool NeedsOneChannelPerClass => true;

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels)
    {
        int numClasses = logits.Rank == 4 ? logits.Shape[1] : 0;
        var map = LabelMap.Read(nameof(CrossEntropyLoss), logits, labels, numClasses, IgnoreIndex);
        var counts = map.ClassCounts(numClasses);
        var weights = ClassWeight.Resolve(counts, nameof(CrossEntropyLoss));

        double divisor = map.ValidCount;
        if (weights is not null && Normalization == CrossEntropyNormalization.WeightSum)
        {
            divisor = 0;
            for (int c = 0; c < numClasses; c++) divisor += (double)weights[c] * counts[c];
        }
        if (divisor == 0) return logits.Sum() * 0f;

        var weightTensor = weights is null ? null : Tensor.FromArray(weights, numClasses);
        var summed = Functional.CrossEntropy(logits, map.Int64Labels(), weightTensor, IgnoreIndex, Reduction.Sum);
        return summed / (float)divisor;
    }

    /// <summary>
    /// The weights <see cref="ClassWeight"/> gives for <paramref name="labels"/> and <paramref name="numClasses"/> classes (null
    /// when every class weighs 1): the dynamic weights of this batch, for logging.
    /// </summary>
    public float[]? WeightsFor(Tensor labels, int numClasses)
    {
        var map = LabelMap.FromLabels(nameof(CrossEntropyLoss), labels, numClasses, IgnoreIndex);
        return ClassWeight.Resolve(map.ClassCounts(numClasses), nameof(CrossEntropyLoss));
    }
}
