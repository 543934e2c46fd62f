namespace SharpSeg.Nn.Losses;

/// <summary>
/// A loss between per-pixel class logits and a label map. Equivalent to a PaddleSeg loss layer
/// (<c>paddleseg.models.losses.*</c>, called as <c>loss(logit, label)</c>) or a PyTorch criterion module.
/// </summary>
public interface ISegmentationLoss
{
    /// <summary>
    /// The scalar loss of <paramref name="logits"/> [N, C, H, W] (float32) against <paramref name="labels"/> [N, H, W] or
    /// [N, 1, H, W] (int64 or int32 class ids; pixels equal to the ignore index do not count). Differentiable with respect
    /// to <paramref name="logits"/>. Throws naming the value, its position and the class count when a label is out of range.
    /// </summary>
    Tensor Forward(Tensor logits, Tensor labels);

    /// <summary>
    /// Whether the loss reads one logit channel per class (cross-entropy, Lovász softmax, focal …), so it cannot train a
    /// one-channel binary head, whose single logit only BCE, Dice and Lovász hinge understand. False by default.
    /// </summary>
    bool NeedsOneChannelPerClass => false;
}
