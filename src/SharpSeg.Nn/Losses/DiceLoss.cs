namespace SharpSeg.Nn.Losses;

/// <summary>
/// Dice loss of a two-class model, per image then averaged over the batch: with p = sigmoid(foreground logit) and t the
/// label, both zeroed at ignored pixels, loss_n = 1 − 2·Σ(p·t) / (Σp + Σt + ε). Equivalent to PaddleX 1.x <c>dice_loss</c>
/// (ε = 1e-5); PaddleSeg's <c>DiceLoss</c> is a different, softmax-based formula. Logits are [N, 1, H, W] or [N, 2, H, W]
/// (foreground logit l1 − l0); labels are 0, 1 or the ignore index.
/// </summary>
/// <param name="ignoreIndex">Label value that does not count. PaddleX default 255.</param>
/// <param name="epsilon">Added to the denominator. PaddleX default 1e-5.</param>
public sealed class DiceLoss(int ignoreIndex = 255, float epsilon = 1e-5f) : ISegmentationLoss
{
    /// <summary>Label value that does not count.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <summary>Added to the denominator.</summary>
    public float Epsilon { get; } = epsilon;

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels)
    {
        var map = LabelMap.Read(nameof(DiceLoss), logits, labels, 2, IgnoreIndex, 1, 2);
        var mask = map.ValidMask();
        var probabilities = BinaryLogits.Of(logits).Sigmoid() * mask;
        var targets = map.FloatTargets();
        int[] spatial = [1, 2];
        var intersection = (probabilities * targets).Sum(spatial);
        var denominator = probabilities.Sum(spatial) + targets.Sum(spatial);
        return (1f - intersection * 2f / (denominator + Epsilon)).Mean();
    }
}
