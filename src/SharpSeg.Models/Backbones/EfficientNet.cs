using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>The EfficientNet variants <see cref="EfficientNet"/> builds (torchvision 0.14's width, depth and dropout).</summary>
public enum EfficientNetArch
{
    /// <summary><c>torchvision.models.efficientnet_b0</c>: width 1.0, depth 1.0, dropout 0.2.</summary>
    B0,
    /// <summary><c>torchvision.models.efficientnet_b1</c>: width 1.0, depth 1.1, dropout 0.2.</summary>
    B1,
    /// <summary><c>torchvision.models.efficientnet_b2</c>: width 1.1, depth 1.2, dropout 0.3.</summary>
    B2,
    /// <summary><c>torchvision.models.efficientnet_b3</c>: width 1.2, depth 1.4, dropout 0.3.</summary>
    B3,
    /// <summary><c>torchvision.models.efficientnet_b4</c>: width 1.4, depth 1.8, dropout 0.4.</summary>
    B4,
    /// <summary><c>torchvision.models.efficientnet_b5</c>: width 1.6, depth 2.2, dropout 0.4, BatchNorm eps 1e-3 and momentum 0.01.</summary>
    B5,
    /// <summary><c>torchvision.models.efficientnet_b6</c>: width 1.8, depth 2.6, dropout 0.5, BatchNorm eps 1e-3 and momentum 0.01.</summary>
    B6,
    /// <summary><c>torchvision.models.efficientnet_b7</c>: width 2.0, depth 3.1, dropout 0.5, BatchNorm eps 1e-3 and momentum 0.01.</summary>
    B7,
}

/// <summary>
/// EfficientNet (Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", 2019) exactly as
/// torchvision 0.14's <c>torchvision.models.EfficientNet</c> builds B0–B7: a 3×3/2 stem (<c>features.0</c>), seven stages
/// of MBConv blocks (<c>features.1</c> … <c>features.7</c>: 1×1 expansion unless the ratio is 1, k×k depthwise, squeeze-excite
/// with SiLU and a sigmoid gate on <c>max(1, in / 4)</c> channels, linear 1×1 projection, each convolution without bias and
/// followed by BatchNorm; a residual with stochastic depth when the stride is 1 and the channels agree), a 1×1 head
/// convolution to 4× the last width (<c>features.8</c>), global average pooling and <c>Dropout</c> + <c>Linear</c>
/// (<c>classifier.1</c>). Channels scale by the width multiplier through <c>_make_divisible(c · width, 8)</c>, block counts
/// by <c>⌈n · depth⌉</c>; activations are SiLU. B0–B4 use PyTorch's BatchNorm defaults (eps 1e-5, momentum 0.1), B5–B7
/// eps 1e-3 and momentum 0.01, as torchvision 0.14 does. Keys are torchvision's: <c>features.N.M.block.K.0.weight</c>
/// (convolution), <c>.block.K.1.*</c> (BatchNorm), <c>.block.K.fc1</c>/<c>.fc2</c> (squeeze-excite).
/// <para>
/// Stochastic depth ("row" mode: each sample's residual branch dropped with probability p and the survivors scaled by
/// 1/(1 − p) while training; identity in evaluation) uses torchvision's schedule p = 0.2 · i / (number of blocks) for
/// block i counted over all stages.
/// </para>
/// <para>
/// As a backbone (<c>numClasses = 0</c>) it has no <c>features.8</c>, pooling or classifier (timm's <c>features_only</c>
/// drops the head convolution too) and returns timm's feature points, the last block of each resolution:
/// <c>features.1</c>, <c>.2</c>, <c>.3</c>, <c>.5</c>, <c>.7</c> at reductions 2, 4, 8, 16, 32. Output stride 16 or 8 turns
/// the strides of <c>features.6</c>, or of <c>features.4</c> and <c>features.6</c>, into dilations as timm's
/// <c>EfficientNetBuilder</c> does: the first block of such a stage keeps the previous dilation at stride 1, the next
/// blocks multiply it by the stride; a dilated depthwise convolution pads <c>dilation · (k − 1) / 2</c>.
/// </para>
/// </summary>
public sealed class EfficientNet : TensorModule, IPretrainedBackbone
{
    private const int StemChannels = 32;
    private static readonly int[] FeatureStages = [1, 2, 3, 5, 7];

    // torchvision's _efficientnet_conf("efficientnet_b*") before scaling: expand ratio, kernel, stride, in, out, blocks.
    private static readonly (double Expand, int Kernel, int Stride, int In, int Out, int Blocks)[] BaseStages =
    [
        (1, 3, 1, 32, 16, 1),
        (6, 3, 2, 16, 24, 2),
        (6, 5, 2, 24, 40, 2),
        (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3),
        (6, 5, 2, 112, 192, 4),
        (6, 3, 1, 192, 320, 1),
    ];

    private readonly Sequential _features;
    private readonly AdaptiveAvgPool2d? _avgPool;
    private readonly Sequential? _classifier;

    /// <summary>
    /// Builds <paramref name="arch"/>. Equivalent to <c>torchvision.models.efficientnet_b0(num_classes=numClasses,
    /// stochastic_depth_prob=…)</c> with the stem taking <see cref="BackboneOptions.InChannels"/> and timm's
    /// <c>output_stride</c>.
    /// </summary>
    /// <param name="arch">The variant.</param>
    /// <param name="numClasses">Classifier outputs; 0 builds the backbone alone (no <c>features.8</c>, pooling or <c>classifier</c>).</param>
    /// <param name="options">Input channels and output stride (8, 16 or 32); multi-grid and learning-rate multipliers do not apply and are refused.</param>
    /// <param name="initializeWeights">
    /// Draw weights as torchvision does (convolutions <c>kaiming_normal_(mode="fan_out")</c> with zero biases, linear layers
    /// uniform in ±1/√out with zero biases); false keeps the layers' PyTorch default, cheaper for a model whose weights are
    /// loaded right after.
    /// </param>
    /// <param name="stochasticDepthProbability">The drop probability the schedule reaches at the last block (torchvision's <c>stochastic_depth_prob</c>, 0.2); 0 turns stochastic depth off.</param>
    public EfficientNet(EfficientNetArch arch, int numClasses = 1000, BackboneOptions? options = null, bool initializeWeights = true,
        double stochasticDepthProbability = 0.2)
    {
        options ??= new BackboneOptions();
        var (width, depth, dropout, eps, momentum) = Scaling(arch);
        ArgumentOutOfRangeException.ThrowIfNegative(numClasses);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        if (!(stochasticDepthProbability is >= 0 and <= 1))
            throw new ArgumentException($"EfficientNet: stochastic depth probability {stochasticDepthProbability} is outside [0, 1].",
                nameof(stochasticDepthProbability));
        Name = $"efficientnet_{arch.ToString().ToLowerInvariant()}";
        int outputStride = options.OutputStride ?? 32;
        if (outputStride is not (8 or 16 or 32))
            throw new ArgumentException($"EfficientNet ({Name}): output stride must be 8, 16 or 32, got {outputStride}.", nameof(options));
        if (options.MultiGrid is not null)
            throw new ArgumentException($"EfficientNet ({Name}): multi_grid does not apply (no multi-grid last stage).", nameof(options));
        if (options.LrMultList is not null)
            throw new ArgumentException($"EfficientNet ({Name}): per-stage learning-rate multipliers (lr_mult_list) are not supported.", nameof(options));

        Arch = arch;
        NumClasses = numClasses;
        InChannels = options.InChannels;
        OutputStride = outputStride;
        var norm = new NormSettings(eps, momentum);

        int stemChannels = AdjustChannels(StemChannels, width);
        // Add, not the constructor: a lone Sequential argument would bind as the constructor's list of modules.
        _features = new Sequential().Add(ConvNormActivation(InChannels, stemChannels, 3, stride: 2, dilation: 1, groups: 1, norm, silu: true));
        var features = new List<FeatureInfo>(FeatureStages.Length);
        int totalBlocks = BaseStages.Sum(s => AdjustDepth(s.Blocks, depth));
        int blockId = 0, reduction = 2, dilation = 1, channels = stemChannels;
        for (int s = 0; s < BaseStages.Length; s++)
        {
            var cfg = BaseStages[s];
            int outChannels = AdjustChannels(cfg.Out, width);
            var stage = new Sequential();
            for (int i = 0, blocks = AdjustDepth(cfg.Blocks, depth); i < blocks; i++)
            {
                int stride = i == 0 ? cfg.Stride : 1, blockDilation = dilation;
                if (stride > 1 && reduction * stride > OutputStride)
                {
                    dilation *= stride;
                    stride = 1;
                }
                reduction *= stride;
                double dropProbability = stochasticDepthProbability * blockId++ / totalBlocks;
                stage.Add(new MBConv(channels, outChannels, cfg.Expand, cfg.Kernel, stride, blockDilation, dropProbability, norm));
                channels = outChannels;
            }
            _features.Add(stage);
            if (FeatureStages.Contains(s + 1)) features.Add(new FeatureInfo(channels, reduction, $"features.{s + 1}"));
        }
        FeatureInfo = features;

        if (numClasses > 0)
        {
            _features.Add(ConvNormActivation(channels, 4 * channels, 1, stride: 1, dilation: 1, groups: 1, norm, silu: true));
            _avgPool = new AdaptiveAvgPool2d(1);
            _classifier = new Sequential(new Dropout(dropout), new Linear(4 * channels, numClasses));
        }
        Child("features", _features);
        if (_avgPool is not null) Child("avgpool", _avgPool);
        if (_classifier is not null) Child("classifier", _classifier);
        if (!initializeWeights) return;
        foreach (var module in Modules())
        {
            if (module is Conv2d conv)
            {
                Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut);
                if (conv.Bias is { } bias) Init.Zeros(bias);
            }
            else if (module is Linear linear)
            {
                double range = 1 / Math.Sqrt(linear.OutFeatures);
                Init.Uniform(linear.Weight, -range, range);
                if (linear.Bias is { } bias) Init.Zeros(bias);
            }
        }
    }

    /// <summary>The torchvision name of the variant, e.g. <c>efficientnet_b0</c>.</summary>
    public string Name { get; }

    /// <summary>The variant.</summary>
    public EfficientNetArch Arch { get; }

    /// <summary>Classifier outputs, or 0 for a backbone without a classifier.</summary>
    public int NumClasses { get; }

    /// <summary>
    /// The last block of each resolution: <c>features.1</c>, <c>.2</c>, <c>.3</c>, <c>.5</c>, <c>.7</c> (B0: 16, 24, 40, 112,
    /// 320 channels) at reductions 2, 4, 8, 16, 32, none beyond <see cref="OutputStride"/>. Equivalent to timm's
    /// <c>efficientnet_b*</c> <c>feature_info</c>.
    /// </summary>
    public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <inheritdoc/>
    public int OutputStride { get; }

    /// <inheritdoc/>
    public int InChannels { get; }

    /// <inheritdoc/>
    Module IBackbone.Module => this;

    /// <summary>
    /// The five feature maps of <see cref="FeatureInfo"/>, [N, C, ⌈H/r⌉, ⌈W/r⌉]. Equivalent to
    /// <c>timm.create_model("efficientnet_b0", features_only=True)</c> on torchvision's layers.
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, Name);
        var result = new Tensor[FeatureStages.Length];
        x = _features[0].Forward(x);
        for (int stage = 1, next = 0; next < result.Length; stage++)
        {
            x = _features[stage].Forward(x);
            if (stage == FeatureStages[next]) result[next++] = x;
        }
        return result;
    }

    /// <summary>Class logits [N, NumClasses]. Equivalent to <c>EfficientNet.forward</c>.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (_classifier is null || _avgPool is null)
            throw new InvalidOperationException($"{Name} was built without a classifier (numClasses = 0); use ForwardFeatures.");
        var head = _features[^1].Forward(ForwardFeatures(x)[^1]);
        return _classifier.Forward(_avgPool.Forward(head).Flatten(1));
    }

    /// <summary>
    /// Loads a torchvision checkpoint (a <c>.pth</c> as torchvision publishes it, or safetensors; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>), adapting <c>features.0.0.weight</c> to <see cref="InChannels"/> (see
    /// <see cref="PretrainedWeights.AdaptInputChannels"/>). A backbone without a classifier ignores <c>features.8.*</c> and
    /// <c>classifier.*</c>; a classifier with another class count keeps its own <c>classifier.1</c> when <paramref name="allowNewHead"/>.
    /// </summary>
    public LoadReport LoadPretrained(string path, KeyMap? keyMap = null, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, path, FirstConvKey, keyMap, strict,
            ignore: _classifier is null ? IsHeadKey : null,
            allowShapeMismatch: allowNewHead ? IsLastLayerKey : null);

    /// <summary>As <see cref="LoadPretrained(string, KeyMap?, bool, bool)"/>, from a state dict already in torchvision's keys.</summary>
    public LoadReport LoadPretrained(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, stateDict, FirstConvKey, strict,
            ignore: _classifier is null ? IsHeadKey : null,
            allowShapeMismatch: allowNewHead ? IsLastLayerKey : null);

    /// <inheritdoc/>
    LoadReport IPretrainedBackbone.LoadPretrained(string path) => LoadPretrained(path);

    private const string FirstConvKey = "features.0.0.weight";

    private static bool IsHeadKey(string key) =>
        key.StartsWith("features.8.", StringComparison.Ordinal) || key.StartsWith("classifier.", StringComparison.Ordinal);

    private static bool IsLastLayerKey(string key) => key.StartsWith("classifier.1.", StringComparison.Ordinal);

    private static int AdjustChannels(int channels, double width) => ChannelRounding.MakeDivisible(channels * width);

    private static int AdjustDepth(int blocks, double depth) => (int)Math.Ceiling(blocks * depth);

    private static (double Width, double Depth, double Dropout, double Eps, double Momentum) Scaling(EfficientNetArch arch) => arch switch
    {
        EfficientNetArch.B0 => (1.0, 1.0, 0.2, 1e-5, 0.1),
        EfficientNetArch.B1 => (1.0, 1.1, 0.2, 1e-5, 0.1),
        EfficientNetArch.B2 => (1.1, 1.2, 0.3, 1e-5, 0.1),
        EfficientNetArch.B3 => (1.2, 1.4, 0.3, 1e-5, 0.1),
        EfficientNetArch.B4 => (1.4, 1.8, 0.4, 1e-5, 0.1),
        EfficientNetArch.B5 => (1.6, 2.2, 0.4, 1e-3, 0.01),
        EfficientNetArch.B6 => (1.8, 2.6, 0.5, 1e-3, 0.01),
        EfficientNetArch.B7 => (2.0, 3.1, 0.5, 1e-3, 0.01),
        _ => throw new ArgumentOutOfRangeException(nameof(arch), arch, "Unknown EfficientNet variant."),
    };

    /// <summary>torchvision's <c>Conv2dNormActivation</c>: keys <c>0</c> (convolution without bias), <c>1</c> (BatchNorm), <c>2</c> (SiLU).</summary>
    internal static Sequential ConvNormActivation(int inChannels, int outChannels, int kernel, int stride, int dilation, int groups,
        NormSettings norm, bool silu)
    {
        var layers = new Sequential(
            new Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2 * dilation, dilation: dilation, groups: groups, bias: false),
            new BatchNorm2d(outChannels, norm.Eps, norm.Momentum));
        return silu ? layers.Add(new Silu()) : layers;
    }

    // The registered backbones build without stochastic depth, as timm does by default (drop_path_rate 0), so every block
    // trains on every step; new EfficientNet(arch, 0, options) gives torchvision's schedule.

    /// <summary>torchvision <c>efficientnet_b0</c> as a backbone (no head convolution or classifier).</summary>
    [RegisterBackbone("efficientnet_b0", Description = "torchvision EfficientNet-B0, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB0(BackboneOptions options) => new EfficientNet(EfficientNetArch.B0, 0, options, stochasticDepthProbability: 0);

    /// <summary>torchvision <c>efficientnet_b1</c> as a backbone (no head convolution or classifier).</summary>
    [RegisterBackbone("efficientnet_b1", Description = "torchvision EfficientNet-B1, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB1(BackboneOptions options) => new EfficientNet(EfficientNetArch.B1, 0, options, stochasticDepthProbability: 0);

    /// <summary>torchvision <c>efficientnet_b2</c> as a backbone (no head convolution or classifier).</summary>
    [RegisterBackbone("efficientnet_b2", Description = "torchvision EfficientNet-B2, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB2(BackboneOptions options) => new EfficientNet(EfficientNetArch.B2, 0, options, stochasticDepthProbability: 0);

    /// <summary>torchvision <c>efficientnet_b3</c> as a backbone (no head convolution or classifier).</summary>
    [RegisterBackbone("efficientnet_b3", Description = "torchvision EfficientNet-B3, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB3(BackboneOptions options) => new EfficientNet(EfficientNetArch.B3, 0, options, stochasticDepthProbability: 0);

    /// <summary>torchvision <c>efficientnet_b4</c> as a backbone (no head convolution or classifier).</summary>
    [RegisterBackbone("efficientnet_b4", Description = "torchvision EfficientNet-B4, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB4(BackboneOptions options) => new EfficientNet(EfficientNetArch.B4, 0, options, stochasticDepthProbability: 0);

    /// <summary>torchvision <c>efficientnet_b5</c> as a backbone (no head convolution or classifier; BatchNorm eps 1e-3).</summary>
    [RegisterBackbone("efficientnet_b5", Description = "torchvision EfficientNet-B5, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB5(BackboneOptions options) => new EfficientNet(EfficientNetArch.B5, 0, options, stochasticDepthProbability: 0);

    /// <summary>torchvision <c>efficientnet_b6</c> as a backbone (no head convolution or classifier; BatchNorm eps 1e-3).</summary>
    [RegisterBackbone("efficientnet_b6", Description = "torchvision EfficientNet-B6, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB6(BackboneOptions options) => new EfficientNet(EfficientNetArch.B6, 0, options, stochasticDepthProbability: 0);

    /// <summary>torchvision <c>efficientnet_b7</c> as a backbone (no head convolution or classifier; BatchNorm eps 1e-3).</summary>
    [RegisterBackbone("efficientnet_b7", Description = "torchvision EfficientNet-B7, features at reductions 2-32, output stride 8/16/32")]
    public static IBackbone EfficientNetB7(BackboneOptions options) => new EfficientNet(EfficientNetArch.B7, 0, options, stochasticDepthProbability: 0);
}

/// <summary>BatchNorm settings of one EfficientNet variant (torchvision's <c>norm_layer</c>).</summary>
internal readonly record struct NormSettings(double Eps, double Momentum);

/// <summary>
/// torchvision's EfficientNet <c>MBConv</c>: <c>block</c> = [1×1 expansion (when the expanded width differs)], k×k depthwise,
/// <see cref="SqueezeExcitation"/>, linear 1×1 projection; the input is added back through <c>stochastic_depth</c> when the
/// stride is 1 and the channel counts agree.
/// </summary>
internal sealed class MBConv : TensorModule
{
    private readonly Sequential _block;
    private readonly StochasticDepth _stochasticDepth;

    public MBConv(int inChannels, int outChannels, double expandRatio, int kernel, int stride, int dilation, double stochasticDepthProbability,
        NormSettings norm)
    {
        int expanded = ChannelRounding.MakeDivisible(inChannels * expandRatio);
        var block = new Sequential();
        if (expanded != inChannels) block.Add(EfficientNet.ConvNormActivation(inChannels, expanded, 1, 1, 1, 1, norm, silu: true));
        block.Add(EfficientNet.ConvNormActivation(expanded, expanded, kernel, stride, dilation, groups: expanded, norm, silu: true));
        block.Add(new SqueezeExcitation(expanded, Math.Max(1, inChannels / 4)));
        block.Add(EfficientNet.ConvNormActivation(expanded, outChannels, 1, 1, 1, 1, norm, silu: false));
        _block = Child("block", block);
        _stochasticDepth = Child("stochastic_depth", new StochasticDepth(stochasticDepthProbability));
        HasResidual = stride == 1 && inChannels == outChannels;
    }

    /// <summary>Whether the input is added to the output (stride 1, same channels).</summary>
    public bool HasResidual { get; }

    /// <summary>The drop probability of the residual branch while training.</summary>
    public double StochasticDepthProbability => _stochasticDepth.Probability;

    public override Tensor Forward(Tensor x)
    {
        var y = _block.Forward(x);
        return HasResidual ? _stochasticDepth.Forward(y) + x : y;
    }
}

/// <summary>
/// torchvision's <c>SqueezeExcitation</c> as EfficientNet configures it: global average pool, 1×1 <c>fc1</c> (with bias),
/// SiLU, 1×1 <c>fc2</c> (with bias), sigmoid, then the input scaled per channel.
/// </summary>
internal sealed class SqueezeExcitation : TensorModule
{
    private readonly Conv2d _fc1, _fc2;

    public SqueezeExcitation(int channels, int squeezeChannels)
    {
        _fc1 = Child("fc1", new Conv2d(channels, squeezeChannels, 1));
        _fc2 = Child("fc2", new Conv2d(squeezeChannels, channels, 1));
    }

    public override Tensor Forward(Tensor x) => x * _fc2.Forward(_fc1.Forward(x.Mean([2, 3], keepDim: true)).Silu()).Sigmoid();
}

/// <summary>
/// Drops a whole sample's input with probability p while training and scales the kept ones by 1/(1 − p); the identity in
/// evaluation or at p = 0. Masks come from <see cref="Engine.Random"/>. Equivalent to
/// <c>torchvision.ops.StochasticDepth(p, mode="row")</c>.
/// </summary>
internal sealed class StochasticDepth(double probability) : TensorModule
{
    public double Probability { get; } = probability;

    public override Tensor Forward(Tensor x)
    {
        if (!IsTraining || Probability == 0) return x;
        double survival = 1 - Probability;
        float scale = survival > 0 ? (float)(1 / survival) : 0f;
        var mask = new float[x.Shape[0]];
        for (int n = 0; n < mask.Length; n++) mask[n] = Engine.Random.NextDouble() < survival ? scale : 0f;
        var shape = new int[x.Rank];
        Array.Fill(shape, 1);
        shape[0] = mask.Length;
        return x * Tensor.FromArray(mask, shape);
    }
}
