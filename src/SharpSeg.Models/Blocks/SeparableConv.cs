using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// Depthwise-separable convolution: a depthwise k×k <see cref="ConvBnAct"/> (<c>depthwise.conv</c>, <c>depthwise.bn</c>)
/// then a pointwise 1×1 <see cref="ConvBnAct"/> (<c>pointwise.conv</c>, <c>pointwise.bn</c>), both activated by default.
/// Equivalent to PaddleX 1.x / PaddleSeg 0.x's <c>separate_conv(…, act=relu)</c> and DeepLab's separable convolution;
/// PaddleSeg 2.x's <c>SeparableConvBNReLU</c> leaves the depthwise part linear (<c>depthwiseActivation: false</c>).
/// </summary>
public sealed class SeparableConv : TensorModule
{
    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels (also the depthwise convolution's groups).</param>
    /// <param name="outChannels">Output channels of the pointwise convolution.</param>
    /// <param name="kernelSize">Depthwise kernel size.</param>
    /// <param name="stride">Depthwise stride.</param>
    /// <param name="dilation">Depthwise dilation (the padding keeps the size: <c>dilation · (kernel − 1) / 2</c>).</param>
    /// <param name="activation">Activation after each normalisation.</param>
    /// <param name="depthwiseActivation">Whether the depthwise part is activated too.</param>
    public SeparableConv(int inChannels, int outChannels, int kernelSize = 3, int stride = 1, int dilation = 1,
        Activation activation = Activation.Relu, bool depthwiseActivation = true)
    {
        Depthwise = Child("depthwise", new ConvBnAct(inChannels, inChannels, kernelSize, stride, dilation: dilation, groups: inChannels,
            activation: depthwiseActivation ? activation : Activation.None));
        Pointwise = Child("pointwise", new ConvBnAct(inChannels, outChannels, 1, activation: activation));
    }

    /// <summary>The depthwise k×k part.</summary>
    public ConvBnAct Depthwise { get; }

    /// <summary>The pointwise 1×1 part.</summary>
    public ConvBnAct Pointwise { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        // The depthwise result dies in this call: in inference it reuses this thread's buffers.
        var buffers = IntermediateBuffers.Rent();
        var output = Pointwise.Forward(buffers.Keep(0, Depthwise.Forward(x, null, buffers[0])), null);
        buffers.Return();
        return output;
    }
}
