namespace SharpSeg.Nn.Losses;

/// <summary>The single foreground logit [N, H, W] of a binary model's output [N, 1, H, W] or [N, 2, H, W].</summary>
internal static class BinaryLogits
{
    /// <summary>
    /// One channel: the channel itself (PaddleX's binary models output one). Two channels: l1 − l0, whose sigmoid is
    /// exactly the softmax probability of class 1. PaddleSeg's <c>binary_channel_to_unary</c> means the same log-odds but
    /// computes log(p + ε/(1 − p + ε)) through an operator-precedence slip; the intended value is used here.
    /// </summary>
    public static Tensor Of(Tensor logits) =>
        logits.Shape[1] == 1 ? logits.Select(1, 0) : logits.Select(1, 1) - logits.Select(1, 0);
}
