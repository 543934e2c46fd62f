using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>The torchvision ResNet variants <see cref="TorchvisionResNet"/> builds.</summary>
public enum TorchvisionResNetArch
{
    /// <summary><c>torchvision.models.resnet18</c>.</summary>
    ResNet18,
    /// <summary><c>torchvision.models.resnet34</c>.</summary>
    ResNet34,
    /// <summary><c>torchvision.models.resnet50</c>.</summary>
    ResNet50,
    /// <summary><c>torchvision.models.resnet101</c>.</summary>
    ResNet101,
    /// <summary><c>torchvision.models.resnet152</c>.</summary>
    ResNet152,
    /// <summary><c>torchvision.models.resnext50_32x4d</c> (32 groups, width 4 per group).</summary>
    ResNeXt50_32x4d,
    /// <summary><c>torchvision.models.resnext101_32x8d</c> (32 groups, width 8 per group).</summary>
    ResNeXt101_32x8d,
    /// <summary><c>torchvision.models.wide_resnet50_2</c> (bottleneck twice as wide).</summary>
    WideResNet50_2,
    /// <summary><c>torchvision.models.wide_resnet101_2</c> (bottleneck twice as wide).</summary>
    WideResNet101_2,
}

/// <summary>
/// torchvision's ResNet family (<c>torchvision.models.ResNet</c>) with its exact state-dict keys (<c>conv1</c>,
/// <c>bn1</c>, <c>layer1.0.conv1</c> …, <c>layer2.0.downsample.0</c> (conv), <c>downsample.1</c> (BatchNorm), <c>fc</c>):
/// a 7×7/2 stem, a 3×3/2 max pool, four stages of basic or bottleneck blocks (stride on the 3×3 convolution), global
/// average pooling and a linear classifier. With <c>numClasses = 0</c> it has no pooling or <c>fc</c> and serves only as a
/// backbone (timm's <c>features_only</c>).
/// <para>
/// Output stride 16 or 8 replaces the stride of stage 4, or stages 3 and 4, by dilation exactly as torchvision's
/// <c>replace_stride_with_dilation</c> does: a dilated stage's first block keeps the previous dilation, the others use
/// the doubled one. torchvision refuses dilation in basic blocks; here ResNet-18/34 accept it, dilating both 3×3 convolutions.
/// </para>
/// </summary>
public sealed class TorchvisionResNet : TensorModule, IStagedBackbone, IPretrainedBackbone
{
    private readonly Conv2d _conv1;
    private readonly TensorModule _bn1;
    private readonly MaxPool2d _maxPool;
    private readonly Sequential[] _stages = new Sequential[4];
    private readonly AdaptiveAvgPool2d? _avgPool;
    private readonly Linear? _fc;
    private readonly double[] _lrMultipliers;

    /// <summary>
    /// Builds <paramref name="arch"/>. Equivalent to <c>torchvision.models.resnet50(num_classes=numClasses,
    /// replace_stride_with_dilation=…)</c> with the first convolution taking <see cref="BackboneOptions.InChannels"/>.
    /// </summary>
    /// <param name="arch">The variant.</param>
    /// <param name="numClasses">Classifier outputs; 0 builds the backbone alone (no <c>avgpool</c>, no <c>fc</c>).</param>
    /// <param name="options">Input channels, output stride (8, 16 or 32) and per-stage learning-rate multipliers; multi-grid does not apply.</param>
    /// <param name="initializeWeights">
    /// Draw convolution weights as torchvision does (<c>kaiming_normal_(mode="fan_out", nonlinearity="relu")</c>); false keeps
    /// the layers' PyTorch default, about three times cheaper for a model whose weights are loaded right after (torch's <c>skip_init</c>).
    /// </param>
    /// <param name="normLayer">
    /// Builds every normalisation layer from its channel count (torchvision's <c>norm_layer</c>; detection passes
    /// <see cref="FrozenBatchNorm2d"/>); null gives <see cref="BatchNorm2d"/>.
    /// </param>
    public TorchvisionResNet(TorchvisionResNetArch arch, int numClasses = 1000, BackboneOptions? options = null, bool initializeWeights = true,
        Func<int, TensorModule>? normLayer = null)
    {
        normLayer ??= ResNetLayout.BatchNorm;
        options ??= new BackboneOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(numClasses);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        int outputStride = options.OutputStride ?? 32;
        ResNetLayout.CheckOutputStride(arch.ToString(), outputStride);
        var (kind, blocks, groups, widthPerGroup) = Architecture(arch);
        _lrMultipliers = ResNetLayout.StemAndStageMultipliers(arch.ToString(), options.LrMultList);

        Arch = arch;
        NumClasses = numClasses;
        InChannels = options.InChannels;
        OutputStride = outputStride;
        int expansion = ResNetLayout.Expansion(kind);
        FeatureInfo = ResNetLayout.Features(64, expansion, OutputStride);

        _conv1 = Child("conv1", new Conv2d(InChannels, 64, 7, stride: 2, padding: 3, bias: false));
        _bn1 = Child("bn1", normLayer(64));
        _maxPool = Child("maxpool", new MaxPool2d(3, stride: 2, padding: 1));

        int inChannels = 64, dilation = 1;
        for (int s = 0; s < 4; s++)
        {
            int planes = 64 << s, stride = s == 0 ? 1 : 2;
            bool dilate = s > 0 && (4 << s) > OutputStride;
            int previousDilation = dilation;
            if (dilate)
            {
                dilation *= stride;
                stride = 1;
            }
            var stage = new Sequential();
            for (int i = 0; i < blocks[s]; i++)
            {
                int blockStride = i == 0 ? stride : 1, blockDilation = i == 0 ? previousDilation : dilation;
                var downsample = i == 0 && (stride != 1 || inChannels != planes * expansion)
                    ? new Sequential(new Conv2d(inChannels, planes * expansion, 1, stride: stride, bias: false), normLayer(planes * expansion))
                    : null;
                stage.Add(kind == ResNetBlockKind.Basic
                    ? new BasicBlock(inChannels, planes, blockStride, blockDilation, downsample, normLayer)
                    : new Bottleneck(inChannels, planes, blockStride, blockDilation, downsample, groups, widthPerGroup, normLayer));
                inChannels = planes * expansion;
            }
            _stages[s] = Child(ResNetLayout.StageNames[s], stage);
        }
        if (numClasses > 0)
        {
            _avgPool = Child("avgpool", new AdaptiveAvgPool2d(1));
            _fc = Child("fc", new Linear(inChannels, numClasses));
        }
        if (!initializeWeights) return;
        foreach (var module in Modules())
            if (module is Conv2d conv) Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
    }

    /// <summary>The variant.</summary>
    public TorchvisionResNetArch Arch { get; }

    /// <summary>Classifier outputs, or 0 for a backbone without a classifier.</summary>
    public int NumClasses { get; }

    /// <inheritdoc/>
    public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <inheritdoc/>
    public int OutputStride { get; }

    /// <inheritdoc/>
    public int InChannels { get; }

    /// <inheritdoc/>
    Module IBackbone.Module => this;

    /// <summary>The four stage outputs [N, C, H/r, W/r] for the reductions of <see cref="FeatureInfo"/>. Equivalent to
    /// <c>torchvision.models.feature_extraction.create_feature_extractor(model, ["layer1", …, "layer4"])</c>.</summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, Arch.ToString());
        var y = _maxPool.Forward(_conv1.ForwardWithNorm(x, _bn1, FusedActivation.Relu));
        var features = new Tensor[4];
        for (int s = 0; s < 4; s++) features[s] = y = _stages[s].Forward(y);
        return features;
    }

    /// <summary>Class logits [N, NumClasses]. Equivalent to <c>ResNet.forward</c>.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (_fc is null || _avgPool is null)
            throw new InvalidOperationException($"{Arch} was built without a classifier (numClasses = 0); use ForwardFeatures.");
        var deepest = ForwardFeatures(x)[3];
        return _fc.Forward(_avgPool.Forward(deepest).Flatten(1));
    }

    /// <inheritdoc/>
    public IReadOnlyList<StageParameters> StageParameters()
    {
        var stages = ResNetLayout.StageParameters([_conv1, _bn1], _stages, _lrMultipliers);
        return _fc is null ? stages : [.. stages, new StageParameters("fc", _fc.Parameters().ToArray(), 1.0)];
    }

    /// <summary>
    /// Loads a torchvision checkpoint (a <c>.pth</c> as torchvision publishes it, or safetensors; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>), adapting <c>conv1.weight</c> to <see cref="InChannels"/> (see
    /// <see cref="PretrainedWeights.AdaptInputChannels"/>). A backbone without a classifier ignores <c>fc.*</c>; a classifier
    /// with another class count keeps its own <c>fc</c> when <paramref name="allowNewHead"/> (fine-tuning).
    /// </summary>
    public LoadReport LoadPretrained(string path, KeyMap? keyMap = null, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, path, FirstConvKey, keyMap, strict,
            ignore: _fc is null ? IsHeadKey : null,
            allowShapeMismatch: allowNewHead ? IsHeadKey : null);

    /// <summary>As <see cref="LoadPretrained(string, KeyMap?, bool, bool)"/>, from a state dict already in torchvision's keys.</summary>
    public LoadReport LoadPretrained(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, stateDict, FirstConvKey, strict,
            ignore: _fc is null ? IsHeadKey : null,
            allowShapeMismatch: allowNewHead ? IsHeadKey : null);

    /// <inheritdoc/>
    LoadReport IPretrainedBackbone.LoadPretrained(string path) => LoadPretrained(path);

    private const string FirstConvKey = "conv1.weight";

    private static bool IsHeadKey(string key) => key.StartsWith("fc.", StringComparison.Ordinal);

    private static (ResNetBlockKind Kind, int[] Blocks, int Groups, int WidthPerGroup) Architecture(TorchvisionResNetArch arch) => arch switch
    {
        TorchvisionResNetArch.ResNet18 => (ResNetBlockKind.Basic, [2, 2, 2, 2], 1, 64),
        TorchvisionResNetArch.ResNet34 => (ResNetBlockKind.Basic, [3, 4, 6, 3], 1, 64),
        TorchvisionResNetArch.ResNet50 => (ResNetBlockKind.Bottleneck, [3, 4, 6, 3], 1, 64),
        TorchvisionResNetArch.ResNet101 => (ResNetBlockKind.Bottleneck, [3, 4, 23, 3], 1, 64),
        TorchvisionResNetArch.ResNet152 => (ResNetBlockKind.Bottleneck, [3, 8, 36, 3], 1, 64),
        TorchvisionResNetArch.ResNeXt50_32x4d => (ResNetBlockKind.Bottleneck, [3, 4, 6, 3], 32, 4),
        TorchvisionResNetArch.ResNeXt101_32x8d => (ResNetBlockKind.Bottleneck, [3, 4, 23, 3], 32, 8),
        TorchvisionResNetArch.WideResNet50_2 => (ResNetBlockKind.Bottleneck, [3, 4, 6, 3], 1, 128),
        TorchvisionResNetArch.WideResNet101_2 => (ResNetBlockKind.Bottleneck, [3, 4, 23, 3], 1, 128),
        _ => throw new ArgumentOutOfRangeException(nameof(arch), arch, "Unknown torchvision ResNet variant."),
    };

    /// <summary>torchvision <c>resnet18</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("resnet18", Description = "torchvision resnet18 (exact keys); output stride 8/16/32")]
    public static IBackbone ResNet18(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.ResNet18, 0, options);

    /// <summary>torchvision <c>resnet34</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("resnet34", Description = "torchvision resnet34 (exact keys); output stride 8/16/32")]
    public static IBackbone ResNet34(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.ResNet34, 0, options);

    /// <summary>torchvision <c>resnet50</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("resnet50", Description = "torchvision resnet50 (exact keys); output stride 8/16/32")]
    public static IBackbone ResNet50(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.ResNet50, 0, options);

    /// <summary>torchvision <c>resnet101</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("resnet101", Description = "torchvision resnet101 (exact keys); output stride 8/16/32")]
    public static IBackbone ResNet101(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.ResNet101, 0, options);

    /// <summary>torchvision <c>resnet152</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("resnet152", Description = "torchvision resnet152 (exact keys); output stride 8/16/32")]
    public static IBackbone ResNet152(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.ResNet152, 0, options);

    /// <summary>torchvision <c>resnext50_32x4d</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("resnext50_32x4d", Description = "torchvision resnext50_32x4d (exact keys); output stride 8/16/32")]
    public static IBackbone ResNeXt50_32x4d(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.ResNeXt50_32x4d, 0, options);

    /// <summary>torchvision <c>resnext101_32x8d</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("resnext101_32x8d", Description = "torchvision resnext101_32x8d (exact keys); output stride 8/16/32")]
    public static IBackbone ResNeXt101_32x8d(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.ResNeXt101_32x8d, 0, options);

    /// <summary>torchvision <c>wide_resnet50_2</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("wide_resnet50_2", Description = "torchvision wide_resnet50_2 (exact keys); output stride 8/16/32")]
    public static IBackbone WideResNet50_2(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.WideResNet50_2, 0, options);

    /// <summary>torchvision <c>wide_resnet101_2</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("wide_resnet101_2", Description = "torchvision wide_resnet101_2 (exact keys); output stride 8/16/32")]
    public static IBackbone WideResNet101_2(BackboneOptions options) => new TorchvisionResNet(TorchvisionResNetArch.WideResNet101_2, 0, options);
}
