using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// VGG (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", 2015) exactly as
/// torchvision 0.14's <c>torchvision.models.VGG</c> with <c>make_layers</c> builds it: five stages of 3×3 convolutions
/// (padding 1, with bias; 64, 128, 256, 512 and 512 channels; 1, 1, 2, 2, 2 of them for VGG-11, 2, 2, 2, 2, 2 for VGG-13,
/// 2, 2, 3, 3, 3 for VGG-16, 2, 2, 4, 4, 4 for VGG-19), each followed by BatchNorm in the <c>_bn</c> variants and ReLU,
/// each stage closed by a 2×2/2 max pool; then a 7×7 adaptive average pool and the classifier
/// <c>Linear(25088, 4096)</c>, ReLU, Dropout, <c>Linear(4096, 4096)</c>, ReLU, Dropout, <c>Linear(4096, classes)</c>
/// (the hidden width is an option).
/// State-dict keys are torchvision's: <c>features.N.weight</c>/<c>.bias</c> (N counting every layer, pools and ReLUs
/// included), <c>features.N.running_mean</c> … for BatchNorm, <c>classifier.0</c>, <c>classifier.3</c>, <c>classifier.6</c>.
/// <para>
/// As a backbone (<c>numClasses = 0</c>, no <c>avgpool</c> or <c>classifier</c>) it returns timm's VGG feature points:
/// the activation before each max pool (reductions 1, 2, 4, 8, 16) and the last pool's output (reduction 32, the output
/// stride; VGG has no dilated variant). The backbone's pools round up (<c>ceil_mode=True</c>) so every input size has a
/// reduction-32 map of ⌈n/32⌉ pixels; torchvision's round down, which gives the same maps for inputs that are multiples of
/// 32 (what segmentation models feed after padding to the output stride) and no reduction-32 map at all under 32 pixels.
/// The classifier form keeps torchvision's floor-mode pools.
/// </para>
/// </summary>
public sealed class Vgg : TensorModule, IPretrainedBackbone
{
    private const int Width = 512, PooledSize = 7;
    private static readonly int[] StageWidths = [64, 128, 256, 512, 512];

    private readonly Sequential _features;
    private readonly int[] _featureLayers;
    private readonly AdaptiveAvgPool2d? _avgPool;
    private readonly Sequential? _classifier;

    /// <summary>
    /// Builds VGG-<paramref name="depth"/>. Equivalent to <c>torchvision.models.vgg16(num_classes=numClasses, dropout=…)</c>
    /// (<c>vgg16_bn</c> with <paramref name="batchNorm"/>) with the first convolution taking <see cref="BackboneOptions.InChannels"/>.
    /// </summary>
    /// <param name="depth">11, 13, 16 or 19 (torchvision's configurations A, B, D, E).</param>
    /// <param name="batchNorm">Whether each convolution is followed by BatchNorm (torchvision's <c>vgg*_bn</c>).</param>
    /// <param name="numClasses">Classifier outputs; 0 builds the backbone alone (no <c>avgpool</c>, no <c>classifier</c>, ceil-mode pools).</param>
    /// <param name="options">Input channels and output stride (32 only); multi-grid and learning-rate multipliers do not apply and are refused.</param>
    /// <param name="initializeWeights">
    /// Draw weights as torchvision does (<c>init_weights=True</c>: convolutions <c>kaiming_normal_(mode="fan_out",
    /// nonlinearity="relu")</c>, linear layers normal with std 0.01, biases 0); false keeps the layers' PyTorch default,
    /// cheaper for a model whose weights are loaded right after (torchvision's <c>init_weights=False</c>).
    /// </param>
    /// <param name="dropout">Drop probability of the classifier's two Dropout layers (torchvision's <c>dropout</c>, 0.5).</param>
    /// <param name="classifierWidth">
    /// Outputs of the classifier's two hidden linear layers: torchvision's 4096 (timm scales it by <c>mlp_ratio</c>). A
    /// narrower head keeps a small classifier small: the 4096-wide one holds 120M parameters, 87 % of VGG-16.
    /// </param>
    public Vgg(int depth, bool batchNorm, int numClasses = 1000, BackboneOptions? options = null, bool initializeWeights = true, double dropout = 0.5,
        int classifierWidth = 4096)
    {
        options ??= new BackboneOptions();
        var convsPerStage = Architecture(depth);
        ArgumentOutOfRangeException.ThrowIfNegative(numClasses);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        ArgumentOutOfRangeException.ThrowIfLessThan(classifierWidth, 1);
        Name = $"vgg{depth}{(batchNorm ? "_bn" : "")}";
        if (options.OutputStride is { } stride && stride != 32)
            throw new ArgumentException($"VGG ({Name}): output stride must be 32 (VGG has no dilated variant), got {stride}.", nameof(options));
        if (options.MultiGrid is not null)
            throw new ArgumentException($"VGG ({Name}): multi_grid does not apply (VGG has no dilated last stage).", nameof(options));
        if (options.LrMultList is not null)
            throw new ArgumentException($"VGG ({Name}): per-stage learning-rate multipliers (lr_mult_list) are not supported.", nameof(options));

        Depth = depth;
        BatchNorm = batchNorm;
        NumClasses = numClasses;
        InChannels = options.InChannels;
        bool ceilMode = numClasses == 0;

        _features = new Sequential();
        var features = new List<FeatureInfo>(6);
        var featureLayers = new List<int>(6);
        int channels = InChannels;
        for (int s = 0; s < StageWidths.Length; s++)
        {
            for (int i = 0; i < convsPerStage[s]; i++)
            {
                _features.Add(new Conv2d(channels, StageWidths[s], 3, padding: 1));
                if (batchNorm) _features.Add(new BatchNorm2d(StageWidths[s]));
                _features.Add(new Relu());
                channels = StageWidths[s];
            }
            featureLayers.Add(_features.Count - 1);
            features.Add(new FeatureInfo(channels, 1 << s, $"features.{_features.Count - 1}"));
            _features.Add(new MaxPool2d(2, stride: 2, ceilMode: ceilMode));
        }
        featureLayers.Add(_features.Count - 1);
        features.Add(new FeatureInfo(channels, OutputStride, $"features.{_features.Count - 1}"));
        Child("features", _features);
        _featureLayers = [.. featureLayers];
        FeatureInfo = features;

        if (numClasses > 0)
        {
            _avgPool = Child("avgpool", new AdaptiveAvgPool2d(PooledSize));
            _classifier = Child("classifier", new Sequential(
                new Linear(Width * PooledSize * PooledSize, classifierWidth), new Relu(), new Dropout(dropout),
                new Linear(classifierWidth, classifierWidth), new Relu(), new Dropout(dropout),
                new Linear(classifierWidth, numClasses)));
        }
        if (!initializeWeights) return;
        foreach (var module in Modules())
        {
            if (module is Conv2d conv)
            {
                Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
                if (conv.Bias is { } bias) Init.Zeros(bias);
            }
            else if (module is Linear linear)
            {
                Init.Normal(linear.Weight, 0, 0.01);
                if (linear.Bias is { } bias) Init.Zeros(bias);
            }
        }
    }

    /// <summary>The torchvision name of the variant, e.g. <c>vgg16_bn</c>.</summary>
    public string Name { get; }

    /// <summary>Weight layers: 11, 13, 16 or 19.</summary>
    public int Depth { get; }

    /// <summary>Whether each convolution is followed by BatchNorm (<c>vgg*_bn</c>).</summary>
    public bool BatchNorm { get; }

    /// <summary>Classifier outputs, or 0 for a backbone without a classifier.</summary>
    public int NumClasses { get; }

    /// <summary>
    /// Six features: the activation before each max pool (<c>features.N</c> of the last ReLU of a stage; 64, 128, 256, 512,
    /// 512 channels at reductions 1, 2, 4, 8, 16) and the last max pool's output (512 channels at reduction 32). Equivalent
    /// to timm's <c>vgg*</c> <c>feature_info</c>.
    /// </summary>
    public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <summary>32: VGG has no dilated variant.</summary>
    public int OutputStride => 32;

    /// <inheritdoc/>
    public int InChannels { get; }

    /// <inheritdoc/>
    Module IBackbone.Module => this;

    /// <summary>
    /// The six feature maps of <see cref="FeatureInfo"/>, [N, C, H/r, W/r] (rounded up in the backbone, down in the
    /// classifier form). Equivalent to <c>timm.create_model("vgg16", features_only=True)</c>, or to
    /// <c>create_feature_extractor</c> on torchvision's <c>features</c> at the same layers.
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, Name);
        var result = new Tensor[_featureLayers.Length];
        int next = 0;
        for (int i = 0; i < _features.Count; i++)
        {
            x = _features[i].Forward(x);
            if (i == _featureLayers[next]) result[next++] = x;
        }
        return result;
    }

    /// <summary>Class logits [N, NumClasses]. Equivalent to <c>VGG.forward</c>.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (_classifier is null || _avgPool is null)
            throw new InvalidOperationException($"{Name} was built without a classifier (numClasses = 0); use ForwardFeatures.");
        return _classifier.Forward(_avgPool.Forward(ForwardFeatures(x)[^1]).Flatten(1));
    }

    /// <summary>
    /// Loads a torchvision checkpoint (a <c>.pth</c> as torchvision publishes it, or safetensors; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>), adapting <c>features.0.weight</c> to <see cref="InChannels"/> (see
    /// <see cref="PretrainedWeights.AdaptInputChannels"/>). A backbone without a classifier ignores <c>classifier.*</c>; a
    /// classifier with another class count keeps its own last layer (<c>classifier.6</c>) when <paramref name="allowNewHead"/>.
    /// </summary>
    public LoadReport LoadPretrained(string path, KeyMap? keyMap = null, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, path, FirstConvKey, keyMap, strict,
            ignore: _classifier is null ? IsClassifierKey : null,
            allowShapeMismatch: allowNewHead ? IsLastLayerKey : null);

    /// <summary>As <see cref="LoadPretrained(string, KeyMap?, bool, bool)"/>, from a state dict already in torchvision's keys.</summary>
    public LoadReport LoadPretrained(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, stateDict, FirstConvKey, strict,
            ignore: _classifier is null ? IsClassifierKey : null,
            allowShapeMismatch: allowNewHead ? IsLastLayerKey : null);

    /// <inheritdoc/>
    LoadReport IPretrainedBackbone.LoadPretrained(string path) => LoadPretrained(path);

    private const string FirstConvKey = "features.0.weight";

    private static bool IsClassifierKey(string key) => key.StartsWith("classifier.", StringComparison.Ordinal);

    private static bool IsLastLayerKey(string key) => key.StartsWith("classifier.6.", StringComparison.Ordinal);

    private static int[] Architecture(int depth) => depth switch
    {
        11 => [1, 1, 2, 2, 2],
        13 => [2, 2, 2, 2, 2],
        16 => [2, 2, 3, 3, 3],
        19 => [2, 2, 4, 4, 4],
        _ => throw new ArgumentException($"VGG: supported depths are 11, 13, 16 and 19, got {depth}.", nameof(depth)),
    };

    /// <summary>torchvision <c>vgg11</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg11", Description = "torchvision VGG-11 (configuration A), features at reductions 1-32")]
    public static IBackbone Vgg11(BackboneOptions options) => new Vgg(11, batchNorm: false, 0, options);

    /// <summary>torchvision <c>vgg11_bn</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg11_bn", Description = "torchvision VGG-11 with BatchNorm, features at reductions 1-32")]
    public static IBackbone Vgg11Bn(BackboneOptions options) => new Vgg(11, batchNorm: true, 0, options);

    /// <summary>torchvision <c>vgg13</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg13", Description = "torchvision VGG-13 (configuration B), features at reductions 1-32")]
    public static IBackbone Vgg13(BackboneOptions options) => new Vgg(13, batchNorm: false, 0, options);

    /// <summary>torchvision <c>vgg13_bn</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg13_bn", Description = "torchvision VGG-13 with BatchNorm, features at reductions 1-32")]
    public static IBackbone Vgg13Bn(BackboneOptions options) => new Vgg(13, batchNorm: true, 0, options);

    /// <summary>torchvision <c>vgg16</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg16", Description = "torchvision VGG-16 (configuration D), features at reductions 1-32")]
    public static IBackbone Vgg16(BackboneOptions options) => new Vgg(16, batchNorm: false, 0, options);

    /// <summary>torchvision <c>vgg16_bn</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg16_bn", Description = "torchvision VGG-16 with BatchNorm, features at reductions 1-32")]
    public static IBackbone Vgg16Bn(BackboneOptions options) => new Vgg(16, batchNorm: true, 0, options);

    /// <summary>torchvision <c>vgg19</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg19", Description = "torchvision VGG-19 (configuration E), features at reductions 1-32")]
    public static IBackbone Vgg19(BackboneOptions options) => new Vgg(19, batchNorm: false, 0, options);

    /// <summary>torchvision <c>vgg19_bn</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("vgg19_bn", Description = "torchvision VGG-19 with BatchNorm, features at reductions 1-32")]
    public static IBackbone Vgg19Bn(BackboneOptions options) => new Vgg(19, batchNorm: true, 0, options);
}
