using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", 2018) exactly as torchvision's
/// <c>torchvision.models.mobilenet_v2(width_mult=…)</c> builds it, with its state-dict keys: <c>features.0</c> a 3×3/2
/// convolution, BatchNorm and ReLU6 (<c>features.0.0</c>, <c>features.0.1</c>); <c>features.1</c> … <c>features.17</c>
/// inverted residuals (<c>features.{i}.conv.{j}</c>); <c>features.18</c> a 1×1 convolution to
/// 1280·max(1, width) channels; <c>classifier.1</c> the linear layer after dropout 0.2 and global average pooling.
/// Channel counts are <c>_make_divisible(c · width, 8)</c>; BatchNorm eps 1e-5, momentum 0.1.
/// <para>
/// With <c>numClasses = 0</c> it is the headless backbone of PaddleX 1.x's DeepLabv3p (<c>end_points=18</c>): it stops after
/// the last inverted residual (320·width channels, rounded), without <c>features.18</c> and the classifier.
/// </para>
/// <para>
/// Output stride 16 or 8 turns the strides that would pass it into dilations as timm's <c>EfficientNetBuilder(output_stride=…)</c>
/// and TF DeepLab's <c>mobilenet(output_stride=…)</c> do: the block that would have downsampled keeps the current dilation
/// with stride 1, and every later block's depthwise convolution is dilated by the product of the strides removed so far.
/// torchvision's <c>mobilenet_v3_large(dilated=True)</c> dilates that first block too; torchvision has no dilated MobileNetV2.
/// </para>
/// <para>
/// PaddleX 1.x's own <c>MobileNetV2</c> differs from torchvision's: it rounds channels down (<c>int(c · scale)</c>, so ×0.25,
/// ×0.5 and ×1.5 have narrower 16/24-channel stages), gives the first block a 1×1 expansion too, reaches output stride 16
/// or 8 by dropping strides without dilating, and feeds DeepLabv3p's decoder the 144·width-channel depthwise output of the
/// last reduction-4 block rather than the block's 24·width-channel output. Its weights therefore do not load here; this
/// class follows torchvision, whose weights do.
/// </para>
/// </summary>
public sealed class MobileNetV2 : TensorModule, IPretrainedBackbone
{
    private const string Family = "MobileNetV2";
    private const string FirstConvKey = "features.0.0.weight";

    // torchvision's inverted_residual_setting: expansion t, channels c, repeats n, stride s of the first repeat.
    private static readonly (int Expansion, int Channels, int Repeats, int Stride)[] Setting =
    [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ];

    private readonly Sequential _features;
    private readonly Sequential? _classifier;
    private readonly int[] _featureIndices;

    /// <summary>
    /// Builds the network. Equivalent to <c>torchvision.models.mobilenet_v2(width_mult=widthMultiplier, num_classes=numClasses)</c>
    /// with the first convolution taking <see cref="BackboneOptions.InChannels"/>.
    /// </summary>
    /// <param name="widthMultiplier">Channel multiplier (<c>width_mult</c>; PaddleX's <c>scale</c>): 0.25, 0.5, 1.0, 1.5, 2.0 or any positive value.</param>
    /// <param name="numClasses">Classifier outputs; 0 builds the headless backbone (no <c>features.18</c>, no <c>classifier</c>).</param>
    /// <param name="options">Input channels and output stride (8, 16 or 32; default 32). MobileNetV2 has no multi-grid and no per-stage learning rates.</param>
    /// <param name="initializeWeights">
    /// Draw the weights as torchvision does (convolutions <c>kaiming_normal_(mode="fan_out")</c>, linear normal(0, 0.01), zero
    /// biases); false keeps the layers' PyTorch default, cheaper for a model whose weights are loaded right after.
    /// </param>
    public MobileNetV2(double widthMultiplier = 1.0, int numClasses = 1000, BackboneOptions? options = null, bool initializeWeights = true)
    {
        options ??= new BackboneOptions();
        if (!(widthMultiplier > 0) || double.IsInfinity(widthMultiplier))
            throw new ArgumentException($"{Family}: the width multiplier must be positive and finite, got {widthMultiplier}.", nameof(widthMultiplier));
        ArgumentOutOfRangeException.ThrowIfNegative(numClasses);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        int outputStride = options.OutputStride ?? 32;
        if (outputStride is not (8 or 16 or 32))
            throw new ArgumentException($"{Family}: output stride must be 8, 16 or 32, got {outputStride}.", nameof(options));
        if (options.MultiGrid is not null || options.LrMultList is not null)
            throw new ArgumentException($"{Family}: multi-grid and lr_mult_list do not apply to MobileNetV2 (PaddleX 1.x's takes neither); leave them null.",
                nameof(options));

        WidthMultiplier = widthMultiplier;
        NumClasses = numClasses;
        InChannels = options.InChannels;
        OutputStride = outputStride;

        int channels = ChannelRounding.MakeDivisible(32 * widthMultiplier);
        // Add, not the params constructor: a Sequential passed there would be read as the list of its own children.
        _features = Child("features", new Sequential().Add(ConvBnRelu6(InChannels, channels, 3, stride: 2)));
        var features = new List<FeatureInfo>(4);
        var featureIndices = new List<int>(4);
        int reduction = 2, dilation = 1;
        for (int g = 0; g < Setting.Length; g++)
        {
            var (expansion, baseChannels, repeats, groupStride) = Setting[g];
            int outChannels = ChannelRounding.MakeDivisible(baseChannels * widthMultiplier);
            for (int i = 0; i < repeats; i++)
            {
                int stride = i == 0 ? groupStride : 1, blockDilation = dilation;
                if (stride > 1)
                {
                    reduction *= stride;
                    if (reduction > OutputStride)
                    {
                        dilation *= stride;
                        stride = 1;
                    }
                }
                _features.Add(new InvertedResidual(channels, outChannels, stride, blockDilation, expansion, downsamples: i == 0 && groupStride > 1));
                channels = outChannels;
            }
            bool lastAtItsResolution = g == Setting.Length - 1 || Setting[g + 1].Stride > 1;
            if (lastAtItsResolution && reduction >= 4)
            {
                features.Add(new FeatureInfo(channels, Math.Min(reduction, OutputStride), $"features.{_features.Count - 1}"));
                featureIndices.Add(_features.Count - 1);
            }
        }
        FeatureInfo = features;
        _featureIndices = [.. featureIndices];

        if (numClasses > 0)
        {
            int lastChannels = ChannelRounding.MakeDivisible(1280 * Math.Max(1.0, widthMultiplier));
            _features.Add(ConvBnRelu6(channels, lastChannels, 1, stride: 1));
            _classifier = Child("classifier", new Sequential(new Dropout(0.2), new Linear(lastChannels, numClasses)));
        }
        if (initializeWeights) InitializeAsTorchvision();
    }

    /// <summary>The channel multiplier (torchvision <c>width_mult</c>).</summary>
    public double WidthMultiplier { get; }

    /// <summary>Classifier outputs, or 0 for the headless backbone.</summary>
    public int NumClasses { get; }

    /// <summary>The outputs of the last block at reductions 4, 8, 16 and 32 (at ×1.0: 24, 32, 96 and 320 channels from
    /// <c>features.3</c>, <c>features.6</c>, <c>features.13</c>, <c>features.17</c>); beyond the output stride the reduction stays at it.</summary>
    public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <inheritdoc/>
    public int OutputStride { get; }

    /// <inheritdoc/>
    public int InChannels { get; }

    /// <inheritdoc/>
    Module IBackbone.Module => this;

    /// <summary>
    /// The feature maps [N, C, ⌈H/r⌉, ⌈W/r⌉] of <see cref="FeatureInfo"/>. Equivalent to
    /// <c>create_feature_extractor(mobilenet_v2(), ["features.3", "features.6", "features.13", "features.17"])</c>.
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, Family);
        var outputs = new Tensor[_featureIndices.Length];
        int next = 0;
        for (int i = 0; next < outputs.Length; i++)
        {
            x = _features[i].Forward(x);
            if (i == _featureIndices[next]) outputs[next++] = x;
        }
        return outputs;
    }

    /// <summary>Class logits [N, NumClasses]. Equivalent to torchvision's <c>MobileNetV2.forward</c>.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (_classifier is null)
            throw new InvalidOperationException($"{Family} was built without a classifier (numClasses = 0); use ForwardFeatures.");
        this.CheckInput(x, Family);
        return _classifier.Forward(_features.Forward(x).Mean([2, 3]));
    }

    /// <summary>
    /// Loads a torchvision checkpoint (a <c>.pth</c> as torchvision publishes it, or safetensors; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>) (<c>mobilenet_v2</c>'s keys), adapting <c>features.0.0.weight</c> to
    /// <see cref="InChannels"/> (see <see cref="PretrainedWeights.AdaptInputChannels"/>). The headless backbone ignores
    /// <c>features.18.*</c> and <c>classifier.*</c>; a classifier with another class count keeps its own <c>classifier.1</c>
    /// when <paramref name="allowNewHead"/> (fine-tuning).
    /// </summary>
    public LoadReport LoadPretrained(string path, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, path, FirstConvKey, strict: strict,
            ignore: _classifier is null ? IsHeadlessOmission : null,
            allowShapeMismatch: allowNewHead ? IsClassifierKey : null);

    /// <summary>As <see cref="LoadPretrained(string, bool, bool)"/>, from a state dict already in torchvision's keys.</summary>
    public LoadReport LoadPretrained(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, stateDict, FirstConvKey, strict,
            ignore: _classifier is null ? IsHeadlessOmission : null,
            allowShapeMismatch: allowNewHead ? IsClassifierKey : null);

    /// <inheritdoc/>
    LoadReport IPretrainedBackbone.LoadPretrained(string path) => LoadPretrained(path);

    private static bool IsClassifierKey(string key) => key.StartsWith("classifier.", StringComparison.Ordinal);

    private bool IsHeadlessOmission(string key) =>
        IsClassifierKey(key) || key.StartsWith($"features.{_features.Count}.", StringComparison.Ordinal);

    private void InitializeAsTorchvision()
    {
        foreach (var module in Modules())
        {
            if (module is Conv2d conv) Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut);
            else if (module is Linear linear)
            {
                Init.Normal(linear.Weight, 0, 0.01);
                if (linear.Bias is not null) Init.Zeros(linear.Bias);
            }
        }
    }

    /// <summary>torchvision's <c>Conv2dNormActivation</c> with ReLU6: keys <c>0</c> (convolution), <c>1</c> (BatchNorm).</summary>
    private static Sequential ConvBnRelu6(int inChannels, int outChannels, int kernel, int stride, int dilation = 1, int groups = 1) => new(
        new Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2 * dilation, dilation: dilation, groups: groups, bias: false),
        new BatchNorm2d(outChannels),
        new Relu6());

    /// <summary>
    /// torchvision's MobileNetV2 <c>InvertedResidual</c>: <c>conv</c> = [1×1 expansion (absent when t = 1), 3×3 depthwise,
    /// linear 1×1 projection, BatchNorm], the input added back when the block keeps size and channels. Unlike the shared
    /// <see cref="Models.InvertedResidual"/> (timm's <c>conv_pw</c>/<c>conv_dw</c>/<c>conv_pwl</c>), its keys are torchvision's.
    /// </summary>
    private sealed class InvertedResidual : TensorModule
    {
        private readonly Sequential _conv;
        private readonly bool _residual;

        public InvertedResidual(int inChannels, int outChannels, int stride, int dilation, int expansion, bool downsamples)
        {
            int hidden = inChannels * expansion;
            _conv = Child("conv", new Sequential());
            if (expansion != 1) _conv.Add(ConvBnRelu6(inChannels, hidden, 1, stride: 1));
            _conv.Add(ConvBnRelu6(hidden, hidden, 3, stride, dilation, groups: hidden));
            _conv.Add(new Conv2d(hidden, outChannels, 1, bias: false));
            _conv.Add(new BatchNorm2d(outChannels));
            // A downsampling block turned into a dilated one keeps the reference's (absent) shortcut, so the weights mean the same.
            _residual = !downsamples && inChannels == outChannels;
        }

        public override Tensor Forward(Tensor x)
        {
            var y = _conv.Forward(x);
            return _residual ? x + y : y;
        }
    }

    /// <summary>torchvision <c>mobilenet_v2(width_mult=0.25)</c> as a backbone (no <c>features.18</c>, no classifier).</summary>
    [RegisterBackbone("mobilenetv2_x0.25", Description = "torchvision MobileNetV2 ×0.25 (PaddleX MobileNetV2_x0.25), headless, 80-channel output")]
    public static IBackbone MobileNetV2X0_25(BackboneOptions options) => new MobileNetV2(0.25, 0, options);

    /// <summary>torchvision <c>mobilenet_v2(width_mult=0.5)</c> as a backbone (no <c>features.18</c>, no classifier).</summary>
    [RegisterBackbone("mobilenetv2_x0.5", Description = "torchvision MobileNetV2 ×0.5 (PaddleX MobileNetV2_x0.5), headless, 160-channel output")]
    public static IBackbone MobileNetV2X0_5(BackboneOptions options) => new MobileNetV2(0.5, 0, options);

    /// <summary>torchvision <c>mobilenet_v2()</c> as a backbone (no <c>features.18</c>, no classifier); also called <c>mobilenet_v2</c>.</summary>
    [RegisterBackbone("mobilenetv2_x1.0", Aliases = ["mobilenet_v2"],
        Description = "torchvision MobileNetV2 (PaddleX MobileNetV2_x1.0), headless, 320-channel output")]
    public static IBackbone MobileNetV2X1_0(BackboneOptions options) => new MobileNetV2(1.0, 0, options);

    /// <summary>torchvision <c>mobilenet_v2(width_mult=1.5)</c> as a backbone (no <c>features.18</c>, no classifier).</summary>
    [RegisterBackbone("mobilenetv2_x1.5", Description = "torchvision MobileNetV2 ×1.5 (PaddleX MobileNetV2_x1.5), headless, 480-channel output")]
    public static IBackbone MobileNetV2X1_5(BackboneOptions options) => new MobileNetV2(1.5, 0, options);

    /// <summary>torchvision <c>mobilenet_v2(width_mult=2.0)</c> as a backbone (no <c>features.18</c>, no classifier).</summary>
    [RegisterBackbone("mobilenetv2_x2.0", Description = "torchvision MobileNetV2 ×2.0 (PaddleX MobileNetV2_x2.0), headless, 640-channel output")]
    public static IBackbone MobileNetV2X2_0(BackboneOptions options) => new MobileNetV2(2.0, 0, options);
}
