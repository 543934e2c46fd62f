namespace SharpSeg.Nn.Losses;

/// <summary>
/// Binary Lovász hinge loss (Berman et al., CVPR 2018): the Lovász extension of the Jaccard loss applied to the hinge
/// errors relu(1 − s·x), with s = ±1 the sign of the label and x the foreground logit, over all non-ignored pixels of the
/// batch. Equivalent to PaddleSeg <c>LovaszHingeLoss(ignore_index)</c>. Logits are [N, 1, H, W] or [N, 2, H, W]
/// (foreground logit l1 − l0, see PaddleSeg's <c>binary_channel_to_unary</c>); labels are 0, 1 or the ignore index.
/// </summary>
/// <param name="ignoreIndex">Label value that does not count. PaddleSeg default 255.</param>
public sealed class LovaszHingeLoss(int ignoreIndex = 255) : ISegmentationLoss
{
    /// <summary>Label value that does not count.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels)
    {
        var map = LabelMap.Read(nameof(LovaszHingeLoss), logits, labels, 2, IgnoreIndex, 1, 2);
        if (map.ValidCount == 0) return logits.Sum() * 0f;
        var targets = map.FloatTargets();
        var signs = targets * 2f - 1f;
        var errors = 1f - BinaryLogits.Of(logits) * signs;
        // The sort runs on the raw errors, as PaddleSeg's; relu keeps their order.
        var weights = LovaszExtension.Weights(errors.ToArray(), targets.ToArray(), map);
        return (errors.Relu() * Tensor.FromArray(weights, map.Batch, map.Height, map.Width)).Sum();
    }
}
