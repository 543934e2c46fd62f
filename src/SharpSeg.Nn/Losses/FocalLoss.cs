namespace SharpSeg.Nn.Losses;

/// <summary>
/// Sigmoid focal loss (Lin et al., "Focal Loss for Dense Object Detection", 2017) on one-hot targets: every channel c is
/// a binary problem with target [label = c], loss = α_t·(1 − p_t)^γ·BCE(x_c, t_c), summed over non-ignored pixels and
/// channels and divided by (valid pixels · C + 1e-10). Equivalent to PaddleSeg <c>FocalLoss(alpha, gamma, ignore_index)</c>
/// (<c>paddle.nn.functional.sigmoid_focal_loss</c>, as <c>torchvision.ops.sigmoid_focal_loss</c>); PaddleSeg requires
/// C = 2, the same formula is applied here to any C ≥ 2.
/// </summary>
/// <param name="alpha">Weight of positive targets (1 − α for negatives). PaddleSeg default 0.25.</param>
/// <param name="gamma">Focusing exponent. PaddleSeg default 2.</param>
/// <param name="ignoreIndex">Label value that does not count. PaddleSeg default 255.</param>
public sealed class FocalLoss(float alpha = 0.25f, float gamma = 2f, int ignoreIndex = 255) : ISegmentationLoss
{
    private const float Epsilon = 1e-10f;

    /// <summary>Weight of positive targets.</summary>
    public float Alpha { get; } = alpha;

    /// <summary>Focusing exponent.</summary>
    public float Gamma { get; } = gamma;

    /// <summary>Label value that does not count.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc />
    public bool NeedsOneChannelPerClass => true;

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels)
    {
        int numClasses = logits.Rank == 4 ? logits.Shape[1] : 0;
        var map = LabelMap.Read(nameof(FocalLoss), logits, labels, numClasses, IgnoreIndex);
        if (numClasses < 2) throw new ArgumentException($"FocalLoss: logits {logits.Shape} need at least 2 channels (one per class).");

        var targets = map.OneHot(numClasses);
        var probabilities = logits.Sigmoid();
        var crossEntropy = Functional.BinaryCrossEntropyWithLogits(logits, targets, reduction: Reduction.None);
        var trueProbability = probabilities * targets + (1f - probabilities) * (1f - targets);
        var alphaT = targets * Alpha + (1f - targets) * (1f - Alpha);
        var loss = alphaT * (1f - trueProbability).Pow(Gamma) * crossEntropy * map.ValidMask().Unsqueeze(1);
        return loss.Sum() / ((float)map.ValidCount * numClasses + Epsilon);
    }
}
