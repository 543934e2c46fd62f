using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// MobileNetV2/V3 inverted residual (Sandler et al., 2018): 1×1 expansion (<c>conv_pw</c>, absent when the expansion
/// ratio is 1), k×k depthwise (<c>conv_dw</c>), optional squeeze-excite (<c>se</c>), linear 1×1 projection
/// (<c>conv_pwl</c>), each convolution a <see cref="ConvBnAct"/>; the input is added back when the stride is 1 and the
/// channel counts agree. Child names follow timm's <c>InvertedResidual</c>.
/// </summary>
public sealed class InvertedResidual : TensorModule
{
    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Depthwise stride.</param>
    /// <param name="expandRatio">Expanded channels = round(<paramref name="inChannels"/> · ratio).</param>
    /// <param name="kernelSize">Depthwise kernel size.</param>
    /// <param name="dilation">Depthwise dilation (output stride 8/16 variants).</param>
    /// <param name="activation">Activation of the expansion and depthwise parts.</param>
    /// <param name="seReducedChannels">Squeeze-excite reduced channels; null = no squeeze-excite.</param>
    /// <param name="seGate">The squeeze-excite gate (MobileNetV3: <see cref="Activation.Hardsigmoid"/>).</param>
    public InvertedResidual(int inChannels, int outChannels, int stride, double expandRatio, int kernelSize = 3, int dilation = 1,
        Activation activation = Activation.Relu6, int? seReducedChannels = null, Activation seGate = Activation.Hardsigmoid)
    {
        if (stride is not (1 or 2)) throw new ArgumentException($"InvertedResidual: stride must be 1 or 2, got {stride}.", nameof(stride));
        if (!(expandRatio >= 1)) throw new ArgumentException($"InvertedResidual: expandRatio must be at least 1, got {expandRatio}.", nameof(expandRatio));
        int hidden = (int)Math.Round(inChannels * expandRatio);
        if (hidden != inChannels) ConvPw = Child("conv_pw", new ConvBnAct(inChannels, hidden, 1, activation: activation));
        ConvDw = Child("conv_dw", new ConvBnAct(hidden, hidden, kernelSize, stride, dilation: dilation, groups: hidden, activation: activation));
        if (seReducedChannels is { } reduced) Se = Child("se", new SqueezeExcite(hidden, reduced, Activation.Relu, seGate));
        ConvPwl = Child("conv_pwl", new ConvBnAct(hidden, outChannels, 1, activation: Activation.None));
        HasResidual = stride == 1 && inChannels == outChannels;
    }

    /// <summary>The 1×1 expansion, or null when the expansion ratio is 1.</summary>
    public ConvBnAct? ConvPw { get; }

    /// <summary>The depthwise convolution.</summary>
    public ConvBnAct ConvDw { get; }

    /// <summary>The squeeze-excite block, or null.</summary>
    public SqueezeExcite? Se { get; }

    /// <summary>The linear 1×1 projection.</summary>
    public ConvBnAct ConvPwl { get; }

    /// <summary>Whether the input is added to the output.</summary>
    public bool HasResidual { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        // The expanded and depthwise results die in this call: in inference they reuse this thread's buffers.
        var buffers = IntermediateBuffers.Rent();
        var y = ConvPw is null ? x : buffers.Keep(0, ConvPw.Forward(x, null, buffers[0]));
        y = buffers.Keep(1, ConvDw.Forward(y, null, buffers[1]));
        if (Se is not null) y = Se.Forward(y);
        var output = ConvPwl.Forward(y, HasResidual ? x : null);
        buffers.Return();
        return output;
    }
}
