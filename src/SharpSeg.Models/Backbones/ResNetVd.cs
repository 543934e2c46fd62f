using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Models;

/// <summary>
/// ResNet_vd (He et al., "Bag of Tricks for Image Classification with Convolutional Neural Networks", 2019) exactly as
/// PaddleSeg's <c>paddleseg.models.backbones.ResNet_vd</c> builds it: a deep stem of three 3×3 convolutions (32, 32, 64
/// channels, each with BatchNorm and ReLU) and a 3×3/2 max pool, then four stages of basic (18, 34) or bottleneck (50 and
/// deeper) blocks whose first block has a projection shortcut; where that block downsamples, the shortcut is a 2×2/2
/// average pool (ceil mode) before a stride-1 1×1 convolution. The first stage and dilated stages have no pool.
/// <para>
/// Output stride 16 dilates stage 4 by 2 and output stride 8 dilates stages 3 and 4 by 2 and 4 (PaddleSeg's
/// <c>dilation_dict</c>); every block of a dilated stage uses the stage's dilation, and stage 4's blocks multiply it by
/// <see cref="BackboneOptions.MultiGrid"/> (default (1, 2, 4) at output stride 8, else (1, 1, 1)). PaddleSeg drops
/// stage 4's stride when <c>multi_grid[0] ≠ 1</c> even at output stride 32; here the output stride alone decides strides.
/// </para>
/// <para>
/// State-dict keys follow timm's <c>resnet*d</c>: <c>conv1.0</c>, <c>conv1.1</c>, <c>conv1.3</c>, <c>conv1.4</c>,
/// <c>conv1.6</c>, <c>bn1</c>, <c>layer1.0.conv1</c> …, <c>downsample.1</c> (conv), <c>downsample.2</c> (BatchNorm).
/// Unlike timm's <c>resnet18d</c>/<c>resnet34d</c>, the first basic block has a projection shortcut (PaddleSeg's), so
/// <c>layer1.0.downsample</c> exists in every depth. <see cref="PaddleSegKeyMap"/> loads PaddleSeg checkpoints.
/// </para>
/// </summary>
public sealed class ResNetVd : Module, IStagedBackbone, IPretrainedBackbone
{
    private const string Family = "ResNet_vd";

    private readonly Sequential _stem;
    private readonly BatchNorm2d _bn1;

    // The stem's three convolutions and the normalisation after each (the last one is bn1), to run each pair fused.
    private readonly Conv2d[] _stemConvs;
    private readonly BatchNorm2d[] _stemNorms;
    private readonly MaxPool2d _maxPool;
    private readonly Sequential[] _stages = new Sequential[4];
    private readonly double[] _lrMultipliers;

    /// <summary>
    /// Builds ResNet<paramref name="depth"/>_vd. Equivalent to PaddleSeg's <c>ResNet_vd(layers=depth, output_stride,
    /// multi_grid, in_channels)</c>.
    /// </summary>
    /// <param name="depth">18, 34, 50, 101, 152 or 200.</param>
    /// <param name="options">Input channels, output stride (8, 16 or 32), multi-grid and per-stage learning-rate multipliers.</param>
    /// <param name="initializeWeights">
    /// Draw convolution weights as Paddle's <c>Conv2D</c> does (normal, std √(2 / fan_in)); false keeps the layers' PyTorch
    /// default, about three times cheaper for a model whose weights are loaded right after (torch's <c>skip_init</c>).
    /// </param>
    public ResNetVd(int depth, BackboneOptions? options = null, bool initializeWeights = true)
    {
        options ??= new BackboneOptions();
        var (kind, blocks) = Architecture(depth);
        int outputStride = options.OutputStride ?? 32;
        ResNetLayout.CheckOutputStride(Family, outputStride);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        var multiGrid = options.MultiGrid ?? (outputStride == 8 ? [1, 2, 4] : [1, 1, 1]);
        if (multiGrid.Count < blocks[3] || multiGrid.Any(g => g < 1))
            throw new ArgumentException(
                $"ResNet{depth}_vd: multi_grid needs {blocks[3]} positive entries (one per stage-4 block), got ({string.Join(", ", multiGrid)}).");
        _lrMultipliers = ResNetLayout.StemAndStageMultipliers(Family, options.LrMultList);

        Depth = depth;
        InChannels = options.InChannels;
        OutputStride = outputStride;
        MultiGrid = [.. multiGrid];
        int expansion = ResNetLayout.Expansion(kind);
        FeatureInfo = ResNetLayout.Features(64, expansion, OutputStride);

        _stemConvs = [ConvNoBias(InChannels, 32, 3, stride: 2), ConvNoBias(32, 32, 3, stride: 1), ConvNoBias(32, 64, 3, stride: 1)];
        _bn1 = new BatchNorm2d(64);
        _stemNorms = [new BatchNorm2d(32), new BatchNorm2d(32), _bn1];
        _stem = Child("conv1", new Sequential(
            _stemConvs[0], _stemNorms[0], new Relu(),
            _stemConvs[1], _stemNorms[1], new Relu(),
            _stemConvs[2]));
        Child("bn1", _bn1);
        _maxPool = Child("maxpool", new MaxPool2d(3, stride: 2, padding: 1));

        int inChannels = 64;
        for (int s = 0; s < 4; s++)
        {
            int stageDilation = StageDilation(OutputStride, s);
            int planes = 64 << s;
            var stage = new Sequential();
            for (int i = 0; i < blocks[s]; i++)
            {
                int dilation = s == 3 ? stageDilation * MultiGrid[i] : stageDilation;
                int stride = i == 0 && s != 0 && stageDilation == 1 ? 2 : 1;
                var shortcut = i == 0 ? Shortcut(inChannels, planes * expansion, pool: stride == 2) : null;
                stage.Add(kind == ResNetBlockKind.Basic
                    ? new BasicBlock(inChannels, planes, stride, dilation, shortcut)
                    : new Bottleneck(inChannels, planes, stride, dilation, shortcut));
                inChannels = planes * expansion;
            }
            _stages[s] = Child(ResNetLayout.StageNames[s], stage);
        }
        if (!initializeWeights) return;
        foreach (var module in Modules())
            if (module is Conv2d conv) Init.KaimingNormal(conv.Weight, mode: FanMode.FanIn, nonlinearity: Nonlinearity.Relu);
    }

    /// <summary>
    /// PaddleSeg's ResNet_vd state-dict names (as in its <c>.pdparams</c>, read directly or once converted to safetensors) to this class's
    /// keys: <c>conv1_1._conv</c>/<c>._batch_norm</c> → <c>conv1.0</c>/<c>conv1.1</c>, <c>conv1_2</c> → <c>conv1.3</c>/<c>conv1.4</c>,
    /// <c>conv1_3</c> → <c>conv1.6</c>/<c>bn1</c>; block <c>bb_{s}_{i}</c> → <c>layer{s+1}.{i}</c> with its <c>conv0</c>,
    /// <c>conv1</c>, <c>conv2</c> → <c>conv1</c>/<c>bn1</c>, <c>conv2</c>/<c>bn2</c>, <c>conv3</c>/<c>bn3</c> and <c>short</c> →
    /// <c>downsample.1</c>/<c>downsample.2</c>; BatchNorm <c>_mean</c>/<c>_variance</c> → <c>running_mean</c>/<c>running_var</c>.
    /// </summary>
    public static KeyMap PaddleSegKeyMap { get; } = BuildPaddleSegKeyMap();

    /// <summary>Layers: 18, 34, 50, 101, 152 or 200.</summary>
    public int Depth { get; }

    /// <summary>Dilation multipliers of stage 4's blocks (PaddleSeg <c>multi_grid</c>).</summary>
    public IReadOnlyList<int> MultiGrid { get; }

    /// <inheritdoc/>
    public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <inheritdoc/>
    public int OutputStride { get; }

    /// <inheritdoc/>
    public int InChannels { get; }

    /// <inheritdoc/>
    Module IBackbone.Module => this;

    /// <summary>
    /// The four stage outputs [N, C, H/r, W/r] for the reductions of <see cref="FeatureInfo"/>. Equivalent to PaddleSeg's
    /// <c>ResNet_vd.forward</c> returning <c>feat_list</c>.
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, $"ResNet{Depth}_vd");
        var y = x;
        for (int i = 0; i < _stemConvs.Length; i++) y = _stemConvs[i].ForwardWithBatchNorm(y, _stemNorms[i], FusedActivation.Relu);
        y = _maxPool.Forward(y);
        var features = new Tensor[4];
        for (int s = 0; s < 4; s++) features[s] = y = _stages[s].Forward(y);
        return features;
    }

    /// <inheritdoc/>
    public IReadOnlyList<StageParameters> StageParameters() =>
        ResNetLayout.StageParameters([_stem, _bn1], _stages, _lrMultipliers);

    /// <summary>
    /// Loads a weight file (safetensors, PyTorch <c>.pth</c> or Paddle <c>.pdparams</c>; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>) (in this class's keys, or PaddleSeg's with <paramref name="keyMap"/> =
    /// <see cref="PaddleSegKeyMap"/>), adapting the first convolution <c>conv1.0.weight</c> to <see cref="InChannels"/>
    /// (see <see cref="PretrainedWeights.AdaptInputChannels"/>). Equivalent to PaddleSeg's <c>load_pretrained_model</c>.
    /// </summary>
    public LoadReport LoadPretrained(string path, KeyMap? keyMap = null, bool strict = true) =>
        PretrainedWeights.Load(this, path, FirstConvKey, keyMap, strict);

    /// <summary>As <see cref="LoadPretrained(string, KeyMap?, bool)"/>, from a state dict already in this class's keys.</summary>
    public LoadReport LoadPretrained(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true) =>
        PretrainedWeights.Load(this, stateDict, FirstConvKey, strict);

    /// <summary>Timm's <c>resnet*d</c> keys as they are, or PaddleSeg's (recognised by <c>._conv.</c>) through <see cref="PaddleSegKeyMap"/>.</summary>
    LoadReport IPretrainedBackbone.LoadPretrained(string path)
    {
        var tensors = WeightFile.Load(path);
        bool paddle = tensors.Keys.Any(k => k.Contains("._conv.", StringComparison.Ordinal));
        return LoadPretrained(paddle ? PaddleSegKeyMap.Apply(tensors) : tensors);
    }

    private const string FirstConvKey = "conv1.0.weight";

    private static (ResNetBlockKind Kind, int[] Blocks) Architecture(int depth) => depth switch
    {
        18 => (ResNetBlockKind.Basic, [2, 2, 2, 2]),
        34 => (ResNetBlockKind.Basic, [3, 4, 6, 3]),
        50 => (ResNetBlockKind.Bottleneck, [3, 4, 6, 3]),
        101 => (ResNetBlockKind.Bottleneck, [3, 4, 23, 3]),
        152 => (ResNetBlockKind.Bottleneck, [3, 8, 36, 3]),
        200 => (ResNetBlockKind.Bottleneck, [3, 12, 48, 3]),
        _ => throw new ArgumentException($"{Family}: supported depths are 18, 34, 50, 101, 152 and 200, got {depth}.", nameof(depth)),
    };

    private static int StageDilation(int outputStride, int stage) => (outputStride, stage) switch
    {
        (8, 2) => 2,
        (8, 3) => 4,
        (16, 3) => 2,
        _ => 1,
    };

    private static Conv2d ConvNoBias(int inChannels, int outChannels, int kernel, int stride) =>
        new(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2, bias: false);

    // Index 0 is always present (pool or identity) so the conv and norm keep timm's keys downsample.1 and downsample.2.
    private static Sequential Shortcut(int inChannels, int outChannels, bool pool) => new(
        pool ? new AvgPool2d(2, stride: 2, ceilMode: true, countIncludePad: false) : new Identity(),
        new Conv2d(inChannels, outChannels, 1, bias: false),
        new BatchNorm2d(outChannels));

    private static KeyMap BuildPaddleSegKeyMap()
    {
        var map = new KeyMap()
            .RenameRegex(@"^conv1_1\._conv\.", "conv1.0.")
            .RenameRegex(@"^conv1_1\._batch_norm\.", "conv1.1.")
            .RenameRegex(@"^conv1_2\._conv\.", "conv1.3.")
            .RenameRegex(@"^conv1_2\._batch_norm\.", "conv1.4.")
            .RenameRegex(@"^conv1_3\._conv\.", "conv1.6.")
            .RenameRegex(@"^conv1_3\._batch_norm\.", "bn1.");
        for (int s = 0; s < 4; s++) map = map.RenameRegex($@"^bb_{s}_(\d+)\.", $"layer{s + 1}.$1.");
        // Highest index first: each rule's output must not match a later rule (conv0 → conv1 runs after conv1 → conv2).
        for (int paddleIndex = 2; paddleIndex >= 0; paddleIndex--)
            map = map
                .RenameRegex($@"\.conv{paddleIndex}\._conv\.", $".conv{paddleIndex + 1}.")
                .RenameRegex($@"\.conv{paddleIndex}\._batch_norm\.", $".bn{paddleIndex + 1}.");
        return map
            .RenameRegex(@"\.short\._conv\.", ".downsample.1.")
            .RenameRegex(@"\.short\._batch_norm\.", ".downsample.2.")
            .ReplaceSuffix("._mean", ".running_mean")
            .ReplaceSuffix("._variance", ".running_var");
    }

    /// <summary>PaddleSeg <c>ResNet18_vd</c>.</summary>
    [RegisterBackbone("resnet18_vd", Description = "PaddleSeg ResNet18_vd: deep 3×3 stem, average-pool shortcuts; output stride 8/16/32")]
    public static IBackbone ResNet18Vd(BackboneOptions options) => new ResNetVd(18, options);

    /// <summary>PaddleSeg <c>ResNet34_vd</c>.</summary>
    [RegisterBackbone("resnet34_vd", Description = "PaddleSeg ResNet34_vd: deep 3×3 stem, average-pool shortcuts; output stride 8/16/32")]
    public static IBackbone ResNet34Vd(BackboneOptions options) => new ResNetVd(34, options);

    /// <summary>PaddleSeg <c>ResNet50_vd</c>.</summary>
    [RegisterBackbone("resnet50_vd", Description = "PaddleSeg ResNet50_vd: deep 3×3 stem, average-pool shortcuts; output stride 8/16/32")]
    public static IBackbone ResNet50Vd(BackboneOptions options) => new ResNetVd(50, options);

    /// <summary>PaddleSeg <c>ResNet101_vd</c>.</summary>
    [RegisterBackbone("resnet101_vd", Description = "PaddleSeg ResNet101_vd: deep 3×3 stem, average-pool shortcuts; output stride 8/16/32")]
    public static IBackbone ResNet101Vd(BackboneOptions options) => new ResNetVd(101, options);

    /// <summary>PaddleSeg <c>ResNet152_vd</c>.</summary>
    [RegisterBackbone("resnet152_vd", Description = "PaddleSeg ResNet152_vd: deep 3×3 stem, average-pool shortcuts; output stride 8/16/32")]
    public static IBackbone ResNet152Vd(BackboneOptions options) => new ResNetVd(152, options);

    /// <summary>PaddleSeg <c>ResNet200_vd</c>.</summary>
    [RegisterBackbone("resnet200_vd", Description = "PaddleSeg ResNet200_vd: deep 3×3 stem, average-pool shortcuts; output stride 8/16/32")]
    public static IBackbone ResNet200Vd(BackboneOptions options) => new ResNetVd(200, options);
}
