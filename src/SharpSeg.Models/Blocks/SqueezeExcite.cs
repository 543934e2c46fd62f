using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// Squeeze-and-excitation (Hu et al., 2018): global average pool, 1×1 reduce (<c>conv_reduce</c>), activation, 1×1
/// expand (<c>conv_expand</c>), gate, then the input scaled per channel by the gate. Keys follow timm's
/// <c>SqueezeExcite</c>; MobileNetV3 uses ReLU and a hard-sigmoid gate.
/// </summary>
public sealed class SqueezeExcite : TensorModule
{
    private readonly TensorModule? _activation;
    private readonly TensorModule? _gate;

    /// <summary>Creates the block.</summary>
    /// <param name="channels">Input and output channels.</param>
    /// <param name="reducedChannels">Channels between the two 1×1 convolutions.</param>
    /// <param name="activation">Applied after the reduction.</param>
    /// <param name="gate">Maps the expanded scores to per-channel scales.</param>
    public SqueezeExcite(int channels, int reducedChannels, Activation activation = Activation.Relu, Activation gate = Activation.Sigmoid)
    {
        ConvReduce = Child("conv_reduce", new Conv2d(channels, reducedChannels, 1));
        ConvExpand = Child("conv_expand", new Conv2d(reducedChannels, channels, 1));
        _activation = ActivationModules.Create(activation);
        _gate = ActivationModules.Create(gate);
    }

    /// <summary>The 1×1 reduction (with bias).</summary>
    public Conv2d ConvReduce { get; }

    /// <summary>The 1×1 expansion (with bias).</summary>
    public Conv2d ConvExpand { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        var s = ConvReduce.Forward(x.Mean([2, 3], keepDim: true));
        if (_activation is not null) s = _activation.Forward(s);
        s = ConvExpand.Forward(s);
        if (_gate is not null) s = _gate.Forward(s);
        return x * s;
    }
}
