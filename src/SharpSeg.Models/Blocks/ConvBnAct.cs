using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// Convolution, batch normalisation and an optional activation; keys <c>conv.weight</c> (and <c>conv.bias</c> when
/// asked for), <c>bn.weight</c>, <c>bn.bias</c>, <c>bn.running_mean</c>, <c>bn.running_var</c>,
/// <c>bn.num_batches_tracked</c>. Padding defaults to "same" for odd kernels at stride 1
/// (<c>dilation · (kernel − 1) / 2</c>). Equivalent to timm's <c>ConvNormAct</c>, PaddleSeg's <c>ConvBNReLU</c>/<c>ConvBN</c>
/// and PaddleX 1.x's <c>bn_relu(conv(…))</c> (whose convolutions carry no bias).
/// </summary>
public sealed class ConvBnAct : TensorModule
{
    private readonly TensorModule? _activation;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Convolution stride.</param>
    /// <param name="padding">Zero padding; null = <c>dilation · (kernel − 1) / 2</c>.</param>
    /// <param name="dilation">Convolution dilation.</param>
    /// <param name="groups">Channel groups (<paramref name="inChannels"/> for a depthwise convolution).</param>
    /// <param name="activation">Applied after the normalisation.</param>
    /// <param name="bias">Whether the convolution has a bias (redundant before BatchNorm; PaddleSeg 2.x keeps one).</param>
    public ConvBnAct(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null,
        int groups = 1, Activation activation = Activation.Relu, bool bias = false)
    {
        var d = dilation ?? 1;
        var pad = padding ?? new Size2(d.H * (kernelSize.H - 1) / 2, d.W * (kernelSize.W - 1) / 2);
        Conv = Child("conv", new Conv2d(inChannels, outChannels, kernelSize, stride, pad, d, groups, bias));
        Bn = Child("bn", new BatchNorm2d(outChannels));
        Activation = activation;
        _activation = ActivationModules.Create(activation);
        if (_activation is not null) Child("act", _activation);
    }

    /// <summary>The convolution (<c>conv</c>).</summary>
    public Conv2d Conv { get; }

    /// <summary>The normalisation (<c>bn</c>).</summary>
    public BatchNorm2d Bn { get; }

    /// <summary>The activation applied last.</summary>
    public Activation Activation { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels => Conv.Options.OutChannels;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// act(bn(conv(x)) + residual): the residual joins before the activation. In evaluation the normalisation folds into
    /// the convolution, and the add and a ReLU/ReLU6/Hardswish run in its epilogue (<see cref="Conv2d.ForwardWithBatchNorm"/>).
    /// </summary>
    /// <param name="x">Input [N, Cin, H, W].</param>
    /// <param name="residual">Shaped like the output, or null.</param>
    /// <param name="outputBuffer">
    /// Memory the fused inference path may write the result into (see <see cref="Functional.Conv2dFused"/>), or null.
    /// </param>
    public Tensor Forward(Tensor x, Tensor? residual, Tensor? outputBuffer = null)
    {
        if (!Bn.IsTraining)
        {
            var fused = Activation switch
            {
                Activation.Relu => FusedActivation.Relu,
                Activation.Relu6 => FusedActivation.Relu6,
                Activation.Hardswish => FusedActivation.Hardswish,
                _ => FusedActivation.None,
            };
            if (fused != FusedActivation.None || _activation is null) return Conv.ForwardWithBatchNorm(x, Bn, fused, residual, outputBuffer);
            var z = Conv.ForwardWithBatchNorm(x, Bn, FusedActivation.None, residual);
            return _activation.Forward(z);
        }
        // Training: a ReLU straight after the normalisation runs fused into it (the same values, less memory traffic).
        if (Activation == Activation.Relu) return Bn.ForwardWithActivation(Conv.Forward(x), FusedActivation.Relu, residual);
        var y = Bn.Forward(Conv.Forward(x));
        if (residual is not null) y += residual;
        return _activation is null ? y : _activation.Forward(y);
    }
}
