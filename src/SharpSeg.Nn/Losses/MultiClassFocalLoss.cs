namespace SharpSeg.Nn.Losses;

/// <summary>
/// Softmax focal loss: per pixel α·(1 − p_t)^γ·CE with CE the softmax cross-entropy and p_t = e^−CE the probability of the
/// true class, averaged over non-ignored pixels (divided by valid pixels + 1e-10·all pixels). Equivalent to PaddleSeg
/// <c>MultiClassFocalLoss(num_class, alpha, gamma, ignore_index)</c>.
/// </summary>
/// <param name="alpha">Overall weight. PaddleSeg default 1.</param>
/// <param name="gamma">Focusing exponent. PaddleSeg default 2.</param>
/// <param name="ignoreIndex">Label value that does not count. PaddleSeg default 255.</param>
public sealed class MultiClassFocalLoss(float alpha = 1f, float gamma = 2f, int ignoreIndex = 255) : ISegmentationLoss
{
    private const float Epsilon = 1e-10f;

    /// <summary>Overall weight.</summary>
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
        var map = LabelMap.Read(nameof(MultiClassFocalLoss), logits, labels, numClasses, IgnoreIndex);
        var crossEntropy = Functional.CrossEntropy(logits, map.Int64Labels(), ignoreIndex: IgnoreIndex, reduction: Reduction.None);
        var trueProbability = (-crossEntropy).Exp();
        var loss = Alpha * (1f - trueProbability).Pow(Gamma) * crossEntropy * map.ValidMask();
        return loss.Sum() / (map.ValidCount + Epsilon * map.PixelCount);
    }
}
