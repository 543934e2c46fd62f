namespace SharpSeg;

/// <summary>
/// The activation a fused convolution applies to its output tile while it is still in cache (see
/// <see cref="Functional.Conv2dFused"/>). Equivalent to the <c>relu</c>/<c>relu6</c> post-ops that oneDNN attaches to
/// a PyTorch convolution (<c>torch.nn.intrinsic.ConvReLU2d</c>), plus MobileNetV3's hardswish.
/// </summary>
public enum FusedActivation
{
    /// <summary>No activation.</summary>
    None,

    /// <summary>max(x, 0). Equivalent to <c>torch.nn.ReLU</c>.</summary>
    Relu,

    /// <summary>min(max(x, 0), 6). Equivalent to <c>torch.nn.ReLU6</c>.</summary>
    Relu6,

    /// <summary>x · clamp(x / 6 + 1/2, 0, 1), the formula of <see cref="Tensor.Hardswish"/>. Equivalent to <c>torch.nn.Hardswish</c>.</summary>
    Hardswish,
}
