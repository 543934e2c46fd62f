namespace SharpSeg.Nn.Losses;

/// <summary>
/// Binary cross-entropy on the foreground logit of a two-class model, averaged over non-ignored pixels. Equivalent to
/// PaddleX 1.x <c>bce_loss</c> (<c>sigmoid_cross_entropy_with_logits(ignore_index, normalize=True)</c> summed), i.e.
/// <c>torch.nn.functional.binary_cross_entropy_with_logits</c> averaged over the pixels whose label is not ignored.
/// Logits are [N, 1, H, W] (PaddleX's binary output) or [N, 2, H, W] (foreground logit l1 − l0); labels are 0, 1 or the
/// ignore index. A batch whose pixels are all ignored gives 0.
/// </summary>
/// <param name="ignoreIndex">Label value that does not count. PaddleX default 255.</param>
public sealed class BceLoss(int ignoreIndex = 255) : ISegmentationLoss
{
    /// <summary>Label value that does not count.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels)
    {
        var map = LabelMap.Read(nameof(BceLoss), logits, labels, 2, IgnoreIndex, 1, 2);
        if (map.ValidCount == 0) return logits.Sum() * 0f;
        var summed = Functional.BinaryCrossEntropyWithLogits(BinaryLogits.Of(logits), map.FloatTargets(), map.ValidMask(), reduction: Reduction.Sum);
        return summed / map.ValidCount;
    }
}
