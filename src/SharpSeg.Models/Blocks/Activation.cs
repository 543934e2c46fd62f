using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// The activation a block applies after its normalisation; a parameter-free choice, so blocks stay records of their
/// structure. Equivalent to the <c>act_layer</c> argument of timm's blocks.
/// </summary>
public enum Activation
{
    /// <summary>No activation (a linear output, e.g. the projection of an inverted residual).</summary>
    None,
    /// <summary><c>torch.nn.ReLU</c>.</summary>
    Relu,
    /// <summary><c>torch.nn.ReLU6</c> (MobileNetV2).</summary>
    Relu6,
    /// <summary><c>torch.nn.Hardswish</c> (MobileNetV3).</summary>
    Hardswish,
    /// <summary><c>torch.nn.Hardsigmoid</c> (MobileNetV3 squeeze-excite gate).</summary>
    Hardsigmoid,
    /// <summary><c>torch.nn.Sigmoid</c> (squeeze-excite gate).</summary>
    Sigmoid,
    /// <summary><c>torch.nn.SiLU</c> (EfficientNet).</summary>
    Silu,
}

internal static class ActivationModules
{
    /// <summary>The module for <paramref name="activation"/>, or null for <see cref="Activation.None"/>.</summary>
    public static TensorModule? Create(Activation activation) => activation switch
    {
        Activation.None => null,
        Activation.Relu => new Relu(),
        Activation.Relu6 => new Relu6(),
        Activation.Hardswish => new Hardswish(),
        Activation.Hardsigmoid => new Hardsigmoid(),
        Activation.Sigmoid => new Sigmoid(),
        Activation.Silu => new Silu(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}
