namespace SharpSeg.Nn;

/// <summary>Hyperparameters of a <see cref="Conv2d"/> (burn-style config, apart from the weights).</summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="KernelSize">Kernel height and width.</param>
/// <param name="Stride">Step between windows.</param>
/// <param name="Padding">Zero padding on each side.</param>
/// <param name="Dilation">Spacing between kernel taps.</param>
/// <param name="Groups">Channel groups (InChannels for depthwise).</param>
/// <param name="Bias">Whether a bias is added.</param>
public sealed record Conv2dOptions(int InChannels, int OutChannels, Size2 KernelSize, Size2 Stride, Size2 Padding, Size2 Dilation,
    int Groups = 1, bool Bias = true);

/// <summary>
/// 2-D convolution with weight [out, in/groups, kh, kw] and optional bias [out]; keys <c>weight</c>, <c>bias</c>.
/// Initialised like PyTorch: kaiming_uniform(a=√5) weight, bias uniform in ±1/√fan_in. Equivalent to <c>torch.nn.Conv2d</c>.
/// </summary>
public sealed class Conv2d : TensorModule
{
    /// <summary>Creates the layer with PyTorch's argument names and defaults (stride 1, padding 0, dilation 1, groups 1, bias).</summary>
    public Conv2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, int groups = 1, bool bias = true)
        : this(new Conv2dOptions(inChannels, outChannels, kernelSize, stride ?? 1, padding ?? 0, dilation ?? 1, groups, bias))
    {
    }

    /// <summary>Creates the layer from its options.</summary>
    public Conv2d(Conv2dOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ConvChecks.Validate("Conv2d", options.InChannels, options.OutChannels, options.KernelSize, options.Stride, options.Dilation, options.Groups);
        Options = options;
        var k = options.KernelSize;
        Weight = Param("weight", Tensor.Zeros(options.OutChannels, options.InChannels / options.Groups, k.H, k.W));
        if (options.Bias) Bias = Param("bias", Tensor.Zeros(options.OutChannels));
        ResetParameters();
    }

    /// <summary>The hyperparameters.</summary>
    public Conv2dOptions Options { get; }

    /// <summary>Weight [out, in/groups, kh, kw].</summary>
    public Tensor Weight { get; }

    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Re-draws the parameters with PyTorch's default initialisation. Equivalent to <c>conv.reset_parameters()</c>.</summary>
    public void ResetParameters(Random? random = null) => ConvChecks.DefaultInit(Weight, Bias, random);

    /// <summary>
    /// The convolution. In evaluation mode with no graph recorded, the weight stays packed for the kernel across calls
    /// (see <see cref="Functional.Conv2dFused"/>); the result is the same.
    /// </summary>
    public override Tensor Forward(Tensor x) => IsTraining
        ? Functional.Conv2d(x, Weight, Bias, Options.Stride, Options.Padding, Options.Dilation, Options.Groups)
        : Functional.Conv2dFused(x, Weight, Bias, Options.Stride, Options.Padding, Options.Dilation, Options.Groups);

    /// <summary>
    /// act(bn(conv(x)) + residual). With <paramref name="batchNorm"/> in evaluation mode and no graph recorded, the
    /// normalisation is folded into this layer's weights (cached until a parameter or running statistic is written) and
    /// the add and activation are fused into the convolution (<see cref="Functional.Conv2dFused"/>); otherwise it
    /// runs <c>batchNorm.Forward(Forward(x))</c>, the add and the activation as separate ops, exactly as written out.
    /// Equivalent to <c>torch.ao.nn.intrinsic.ConvBnReLU2d</c> (and <c>fuse_conv_bn_eval</c> in eval).
    /// </summary>
    /// <param name="x">Input [N, Cin, H, W].</param>
    /// <param name="batchNorm">The normalisation over this layer's output channels.</param>
    /// <param name="activation">Applied last.</param>
    /// <param name="residual">Added after the normalisation (shaped like the output), or null.</param>
    /// <param name="outputBuffer">
    /// A tensor the fused inference path may write the result into instead of allocating (see the same parameter of
    /// <see cref="Functional.Conv2dFused"/>); ignored by the unfused path.
    /// </param>
    public Tensor ForwardWithBatchNorm(Tensor x, BatchNorm2d batchNorm, FusedActivation activation = FusedActivation.None, Tensor? residual = null,
        Tensor? outputBuffer = null)
    {
        ArgumentNullException.ThrowIfNull(batchNorm);
        if (batchNorm.IsTraining || batchNorm.RunningMean is null || batchNorm.RunningVar is null)
            return batchNorm.ForwardWithActivation(Forward(x), activation, residual);
        if (batchNorm.NumFeatures != Options.OutChannels)
            throw new ShapeMismatchException("Conv2d", $"BatchNorm2d of {batchNorm.NumFeatures} channels after a convolution with {Options.OutChannels} outputs");
        return Functional.Conv2dFused(x, Weight, Bias, Options.Stride, Options.Padding, Options.Dilation, Options.Groups,
            new BatchNormStatistics(batchNorm.RunningMean, batchNorm.RunningVar, batchNorm.Weight, batchNorm.Bias, batchNorm.Eps), residual, activation,
            outputBuffer);
    }

    /// <summary>
    /// act(norm(conv(x)) + residual) for whichever normalisation a block was built with (torchvision's <c>norm_layer</c>):
    /// a <see cref="BatchNorm2d"/> goes through <see cref="ForwardWithBatchNorm"/>; a <see cref="FrozenBatchNorm2d"/>, whose
    /// statistics never change, is always an evaluation-mode normalisation, folded in inference and run as separate
    /// differentiable ops when a graph is recorded; any other module runs after the convolution as written.
    /// </summary>
    /// <param name="x">Input [N, Cin, H, W].</param>
    /// <param name="norm">The normalisation over this layer's output channels.</param>
    /// <param name="activation">Applied last.</param>
    /// <param name="residual">Added after the normalisation (shaped like the output), or null.</param>
    /// <param name="outputBuffer">
    /// A tensor the fused inference path may write the result into instead of allocating (see the same parameter of
    /// <see cref="Functional.Conv2dFused"/>); ignored by the unfused path.
    /// </param>
    public Tensor ForwardWithNorm(Tensor x, TensorModule norm, FusedActivation activation = FusedActivation.None, Tensor? residual = null,
        Tensor? outputBuffer = null)
    {
        ArgumentNullException.ThrowIfNull(norm);
        switch (norm)
        {
            case BatchNorm2d batchNorm:
                return ForwardWithBatchNorm(x, batchNorm, activation, residual, outputBuffer);
            case FrozenBatchNorm2d frozen:
                if (frozen.NumFeatures != Options.OutChannels)
                    throw new ShapeMismatchException("Conv2d", $"FrozenBatchNorm2d of {frozen.NumFeatures} channels after a convolution with {Options.OutChannels} outputs");
                return Functional.Conv2dFused(x, Weight, Bias, Options.Stride, Options.Padding, Options.Dilation, Options.Groups,
                    new BatchNormStatistics(frozen.RunningMean, frozen.RunningVar, frozen.Weight, frozen.Bias, frozen.Eps), residual, activation,
                    outputBuffer);
            default:
                return Functional.AddAndActivate(norm.Forward(Forward(x)), residual, activation);
        }
    }
}

/// <summary>Hyperparameters of a <see cref="ConvTranspose2d"/>.</summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="KernelSize">Kernel height and width.</param>
/// <param name="Stride">Upsampling step.</param>
/// <param name="Padding">Rows and columns removed from each side of the full output.</param>
/// <param name="OutputPadding">Extra rows and columns added on the bottom and right.</param>
/// <param name="Dilation">Spacing between kernel taps.</param>
/// <param name="Groups">Channel groups.</param>
/// <param name="Bias">Whether a bias is added.</param>
public sealed record ConvTranspose2dOptions(int InChannels, int OutChannels, Size2 KernelSize, Size2 Stride, Size2 Padding,
    Size2 OutputPadding, Size2 Dilation, int Groups = 1, bool Bias = true);

/// <summary>
/// Transposed 2-D convolution with weight [in, out/groups, kh, kw] and optional bias [out]; keys <c>weight</c>, <c>bias</c>.
/// Initialised like PyTorch (whose fan_in for this layout is out/groups·kh·kw). Equivalent to <c>torch.nn.ConvTranspose2d</c>.
/// </summary>
public sealed class ConvTranspose2d : TensorModule
{
    /// <summary>Creates the layer with PyTorch's argument names and defaults.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? outputPadding = null, int groups = 1, bool bias = true, Size2? dilation = null)
        : this(new ConvTranspose2dOptions(inChannels, outChannels, kernelSize, stride ?? 1, padding ?? 0, outputPadding ?? 0, dilation ?? 1, groups, bias))
    {
    }

    /// <summary>Creates the layer from its options.</summary>
    public ConvTranspose2d(ConvTranspose2dOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ConvChecks.Validate("ConvTranspose2d", options.InChannels, options.OutChannels, options.KernelSize, options.Stride, options.Dilation, options.Groups);
        Options = options;
        var k = options.KernelSize;
        Weight = Param("weight", Tensor.Zeros(options.InChannels, options.OutChannels / options.Groups, k.H, k.W));
        if (options.Bias) Bias = Param("bias", Tensor.Zeros(options.OutChannels));
        ResetParameters();
    }

    /// <summary>The hyperparameters.</summary>
    public ConvTranspose2dOptions Options { get; }

    /// <summary>Weight [in, out/groups, kh, kw].</summary>
    public Tensor Weight { get; }

    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Re-draws the parameters with PyTorch's default initialisation. Equivalent to <c>conv.reset_parameters()</c>.</summary>
    public void ResetParameters(Random? random = null) => ConvChecks.DefaultInit(Weight, Bias, random);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) =>
        Functional.ConvTranspose2d(x, Weight, Bias, Options.Stride, Options.Padding, Options.OutputPadding, Options.Groups, Options.Dilation);
}

internal static class ConvChecks
{
    public static void Validate(string layer, int inChannels, int outChannels, Size2 kernel, Size2 stride, Size2 dilation, int groups)
    {
        if (inChannels <= 0 || outChannels <= 0)
            throw new ArgumentException($"{layer}: channels must be positive, got in={inChannels}, out={outChannels}.");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{layer}: groups={groups} must divide in={inChannels} and out={outChannels}.");
        if (kernel.H <= 0 || kernel.W <= 0 || stride.H <= 0 || stride.W <= 0 || dilation.H <= 0 || dilation.W <= 0)
            throw new ArgumentException($"{layer}: kernel {kernel}, stride {stride} and dilation {dilation} must be positive.");
    }

    /// <summary>torch's reset_parameters for conv and linear layers: kaiming_uniform(a=√5), then bias in ±1/√fan_in.</summary>
    public static void DefaultInit(Tensor weight, Tensor? bias, Random? random)
    {
        Init.KaimingUniform(weight, a: Math.Sqrt(5), random: random);
        if (bias is null) return;
        long fanIn = Init.Fans(weight).FanIn;
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Init.Uniform(bias, -bound, bound, random);
    }
}
