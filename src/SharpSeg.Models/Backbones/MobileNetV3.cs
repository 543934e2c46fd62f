using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Models;

/// <summary>The two MobileNetV3 block tables (Howard et al., "Searching for MobileNetV3", 2019, tables 1 and 2).</summary>
public enum MobileNetV3Arch
{
    /// <summary>MobileNetV3-Large: 15 inverted residual blocks (torchvision <c>mobilenet_v3_large</c>, PaddleSeg <c>MobileNetV3_large_*</c>).</summary>
    Large,
    /// <summary>MobileNetV3-Small: 11 inverted residual blocks (torchvision <c>mobilenet_v3_small</c>, PaddleSeg <c>MobileNetV3_small_*</c>).</summary>
    Small,
}

/// <summary>
/// Which implementation a <see cref="MobileNetV3"/> computes like. Both share the block tables, the channel rounding
/// (<c>_make_divisible</c> to multiples of 8) and torchvision's module layout, but differ in layers and numerics.
/// </summary>
public enum MobileNetV3Flavour
{
    /// <summary>
    /// torchvision's <c>torchvision.models.MobileNetV3</c>: no expansion convolution where a block's expanded width equals
    /// its input width; squeeze-excite width <c>_make_divisible(expanded / 4, 8)</c> and gate <c>hardsigmoid(x) = relu6(x + 3) / 6</c>;
    /// BatchNorm eps 0.001 and momentum 0.01; a last 1×1 convolution to 6× the last block's width (its output is the deepest
    /// feature); an optional classifier. A stride turned into dilation dilates its own block too (torchvision's
    /// <c>dilated=True</c>), and a block keeps its residual only if its table stride is 1.
    /// </summary>
    Torchvision,

    /// <summary>
    /// PaddleSeg 2.6–2.9's <c>paddleseg.models.backbones.MobileNetV3</c>: an expansion convolution in every block;
    /// squeeze-excite width <c>expanded // 4</c> and gate <c>clip(0.2 x + 0.5, 0, 1)</c> (Paddle's <c>hardsigmoid</c> with
    /// slope 0.2, offset 0.5); BatchNorm eps 1e-5 and momentum 0.1 (Paddle's 0.9); no last convolution and no classifier.
    /// A stride turned into dilation leaves its own block at the dilation reached so far and dilates the blocks after it (the
    /// rule of PaddleSeg's <c>MobileNetV3_*_x1_0_os8</c> tables), and a block whose stride became 1 gains the residual when
    /// its input and output widths agree.
    /// </summary>
    PaddleSeg,
}

/// <summary>
/// MobileNetV3 (Howard et al., "Searching for MobileNetV3", 2019) in torchvision's module layout and state-dict keys for
/// every width and both flavours: <c>features.0</c> the 3×3/2 stem (<c>.0</c> convolution, <c>.1</c> BatchNorm, hard-swish),
/// <c>features.{i+1}.block.{j}</c> the layers of inverted residual block i (1×1 expansion, k×k depthwise, squeeze-excite
/// <c>fc1</c>/<c>fc2</c> where the table asks for it, linear 1×1 projection, each convolution followed by <c>.1</c> BatchNorm),
/// then in the torchvision flavour <c>features.16</c> (Large) or <c>features.12</c> (Small), the last 1×1 convolution, and
/// an optional <c>classifier.0</c>/<c>classifier.3</c> (linear to 1280 (Large) or 1024 (Small) times the width, hard-swish,
/// dropout 0.2, linear).
/// <para>
/// Features (PaddleSeg's <c>out_index</c>): the outputs of blocks 2, 5, 11, 14 (Large) or 0, 2, 7, 10 (Small), at
/// reductions 4, 8, 16, 32; in the torchvision flavour the deepest is the last convolution's output instead (960 or 576
/// channels at width 1). Output strides 2, 4, 8, 16 and 32 turn the strides that would pass the output stride into
/// dilations (see <see cref="MobileNetV3Flavour"/> for each flavour's rule); feature reductions then stop at the output stride.
/// <see cref="PaddleSegKeyMap"/> loads PaddleSeg and PaddleClas checkpoints.
/// </para>
/// <para>
/// Not reproduced: PaddleSeg 2.0–2.5's MobileNetV3 (its <c>ConvBNLayer</c> applied hard-swish whatever the table said, its
/// depthwise convolutions used Paddle's <c>padding='same'</c>, which pads asymmetrically and drops the dilation, and Small's
/// second feature came from block 3 at reduction 16); no PaddleSeg config of those releases used it. PaddleX 1.x's
/// <c>MobileNetV3_large_x1_0_ssld</c> segmentation backbone (<c>for_seg=True</c>) is another network: its last stage is
/// halved (336/480 expanded, 80 out), it ends with a 1×1 convolution to 480, removes strides without dilating, hands its
/// decoder block 5's depthwise output, and gates SE with slope 0.2.
/// </para>
/// </summary>
public sealed class MobileNetV3 : TensorModule, IPretrainedBackbone
{
    private const string Family = "MobileNetV3";
    private const string FirstConvKey = "features.0.0.weight";
    private const double ClassifierDropout = 0.2;

    private readonly Sequential _features;
    private readonly int[] _featureLayers;
    private readonly AdaptiveAvgPool2d? _avgPool;
    private readonly Sequential? _classifier;

    /// <summary>
    /// Builds the network. Equivalent to torchvision's <c>mobilenet_v3_large(width_mult=…, num_classes=…, dilated=…)</c>
    /// (<see cref="MobileNetV3Flavour.Torchvision"/>) or PaddleSeg's <c>MobileNetV3(config=NET_CONFIG[…], scale=…,
    /// in_channels=…)</c> (<see cref="MobileNetV3Flavour.PaddleSeg"/>), with the first convolution taking
    /// <see cref="BackboneOptions.InChannels"/>.
    /// </summary>
    /// <param name="arch">Large or Small.</param>
    /// <param name="flavour">Which implementation to compute like.</param>
    /// <param name="widthMultiplier">Channel scale (torchvision <c>width_mult</c>, PaddleSeg <c>scale</c>): 0.35, 0.5, 0.75, 1, 1.25 …</param>
    /// <param name="numClasses">Classifier outputs (torchvision flavour only); 0 builds the backbone alone (no <c>avgpool</c>, no <c>classifier</c>).</param>
    /// <param name="options">Input channels and output stride (2, 4, 8, 16 or 32; default 32); multi-grid and learning-rate multipliers do not apply.</param>
    /// <param name="initializeWeights">
    /// Draw the reference initialisation (torchvision: convolutions <c>kaiming_normal_(mode="fan_out")</c>, linear layers
    /// normal(0, 0.01), zero biases; Paddle: convolutions normal(0, √(2 / (k·k·in_channels))), zero biases); false keeps the
    /// layers' PyTorch default, cheaper for a model whose weights are loaded right after (torch's <c>skip_init</c>).
    /// </param>
    /// <param name="normLayer">
    /// Builds each normalisation layer from its channel count, in place of the flavour's BatchNorm2d (torchvision's
    /// <c>norm_layer</c>; its detection builders pass <c>FrozenBatchNorm2d</c> or a plain <c>BatchNorm2d</c>, both with eps 1e-5).
    /// </param>
    public MobileNetV3(MobileNetV3Arch arch, MobileNetV3Flavour flavour = MobileNetV3Flavour.Torchvision, double widthMultiplier = 1.0,
        int numClasses = 0, BackboneOptions? options = null, bool initializeWeights = true, Func<int, TensorModule>? normLayer = null)
    {
        options ??= new BackboneOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(numClasses);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        if (!(widthMultiplier > 0) || double.IsInfinity(widthMultiplier))
            throw new ArgumentException($"{Family}: widthMultiplier must be positive and finite, got {widthMultiplier}.", nameof(widthMultiplier));
        if (flavour == MobileNetV3Flavour.PaddleSeg && numClasses > 0)
            throw new ArgumentException($"{Family}: PaddleSeg's MobileNetV3 is a backbone without a classifier; numClasses must be 0, got {numClasses}.",
                nameof(numClasses));
        int outputStride = options.OutputStride ?? 32;
        if (outputStride is not (2 or 4 or 8 or 16 or 32))
            throw new ArgumentException($"{Family}: output stride must be 2, 4, 8, 16 or 32, got {outputStride}.", nameof(options));

        Arch = arch;
        Flavour = flavour;
        WidthMultiplier = widthMultiplier;
        NumClasses = numClasses;
        InChannels = options.InChannels;
        OutputStride = outputStride;

        bool torchvision = flavour == MobileNetV3Flavour.Torchvision;
        var settings = torchvision ? new NormSettings(0.001, 0.01) : new NormSettings(1e-5, 0.1);
        var norm = normLayer ?? (channels => new BatchNorm2d(channels, settings.Eps, settings.Momentum));
        var table = Table(arch);
        int stemChannels = ChannelRounding.MakeDivisible(16 * widthMultiplier);
        // Added, not passed to the constructor: a Sequential is itself a collection of modules and would be spread.
        _features = Child("features", new Sequential().Add(ConvNormAct(InChannels, stemChannels, 3, 2, 1, 1, Activation.Hardswish, norm)));

        var blockChannels = new int[table.Length];
        var blockReductions = new int[table.Length];
        int inChannels = stemChannels, reduction = 2, dilation = 1;
        for (int i = 0; i < table.Length; i++)
        {
            var row = table[i];
            int expanded = ChannelRounding.MakeDivisible(row.Expanded * widthMultiplier), outChannels = ChannelRounding.MakeDivisible(row.Out * widthMultiplier);
            int stride = row.Stride, blockDilation = dilation;
            if (reduction * row.Stride > outputStride)
            {
                stride = 1;
                dilation *= row.Stride;
                if (torchvision) blockDilation = dilation;
            }
            else
            {
                reduction *= row.Stride;
            }
            var activation = row.Hardswish ? Activation.Hardswish : Activation.Relu;
            var layers = new Sequential();
            if (!torchvision || expanded != inChannels) layers.Add(ConvNormAct(inChannels, expanded, 1, 1, 1, 1, activation, norm));
            layers.Add(ConvNormAct(expanded, expanded, row.Kernel, stride, blockDilation, expanded, activation, norm));
            if (row.SqueezeExcite)
                layers.Add(torchvision
                    ? new SqueezeExcitation(expanded, ChannelRounding.MakeDivisible(expanded / 4), paddleGate: false)
                    : new SqueezeExcitation(expanded, expanded / 4, paddleGate: true));
            layers.Add(ConvNormAct(expanded, outChannels, 1, 1, 1, 1, Activation.None, norm));
            bool residual = (torchvision ? row.Stride : stride) == 1 && inChannels == outChannels;
            _features.Add(new InvertedResidualBlock(layers, residual));
            blockChannels[i] = inChannels = outChannels;
            blockReductions[i] = reduction;
        }

        var taps = arch == MobileNetV3Arch.Large ? LargeFeatureBlocks : SmallFeatureBlocks;
        _featureLayers = [.. taps.Select(b => b + 1)];
        var infos = taps.Select(b => new FeatureInfo(blockChannels[b], blockReductions[b], $"features.{b + 1}")).ToArray();
        if (torchvision)
        {
            int lastChannels = 6 * inChannels;
            _features.Add(ConvNormAct(inChannels, lastChannels, 1, 1, 1, 1, Activation.Hardswish, norm));
            _featureLayers[^1] = _features.Count - 1;
            infos[^1] = new FeatureInfo(lastChannels, infos[^1].Reduction, $"features.{_features.Count - 1}");
            if (numClasses > 0)
            {
                int hidden = ChannelRounding.MakeDivisible((arch == MobileNetV3Arch.Large ? 1280 : 1024) * widthMultiplier);
                _avgPool = Child("avgpool", new AdaptiveAvgPool2d(1));
                _classifier = Child("classifier", new Sequential(
                    new Linear(lastChannels, hidden), new Hardswish(), new Dropout(ClassifierDropout), new Linear(hidden, numClasses)));
            }
        }
        FeatureInfo = infos;

        if (initializeWeights) Initialize(torchvision);
    }

    /// <summary>Large or Small.</summary>
    public MobileNetV3Arch Arch { get; }

    /// <summary>The implementation this network computes like.</summary>
    public MobileNetV3Flavour Flavour { get; }

    /// <summary>Channel scale (torchvision <c>width_mult</c>, PaddleSeg <c>scale</c>).</summary>
    public double WidthMultiplier { get; }

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

    /// <summary>
    /// PaddleSeg 2.6+'s MobileNetV3 state-dict names (as in its <c>.pdparams</c>, read directly or once converted to safetensors) to this
    /// class's keys for <paramref name="arch"/>: <c>conv.conv</c>/<c>conv.bn</c> → <c>features.0.0</c>/<c>features.0.1</c>;
    /// in block <c>blocks.{i}</c> → <c>features.{i+1}.block</c>, <c>expand_conv</c> → <c>.0</c>, <c>bottleneck_conv</c> →
    /// <c>.1</c>, <c>mid_se.conv1</c>/<c>conv2</c> → <c>.2.fc1</c>/<c>.2.fc2</c>, <c>linear_conv</c> → <c>.3</c> (<c>.2</c>
    /// in blocks without squeeze-excite), each <c>conv</c>/<c>bn</c> → <c>.0</c>/<c>.1</c>; BatchNorm <c>_mean</c>/<c>_variance</c>
    /// → <c>running_mean</c>/<c>running_var</c>. PaddleClas's ImageNet head (<c>last_second_conv</c>, <c>last_conv</c>,
    /// <c>fc</c>), which PaddleSeg's pretrained MobileNetV3 files carry, is dropped.
    /// </summary>
    public static KeyMap PaddleSegKeyMap(MobileNetV3Arch arch)
    {
        var map = new KeyMap()
            .Drop(@"^(last_second_conv|last_conv|fc)\.")
            .RenameRegex(@"^conv\.conv\.", "features.0.0.")
            .RenameRegex(@"^conv\.bn\.", "features.0.1.");
        var table = Table(arch);
        for (int i = 0; i < table.Length; i++)
            map = map
                .RenameRegex($@"^blocks\.{i}\.expand_conv\.", $"features.{i + 1}.block.0.")
                .RenameRegex($@"^blocks\.{i}\.bottleneck_conv\.", $"features.{i + 1}.block.1.")
                .RenameRegex($@"^blocks\.{i}\.mid_se\.conv1\.", $"features.{i + 1}.block.2.fc1.")
                .RenameRegex($@"^blocks\.{i}\.mid_se\.conv2\.", $"features.{i + 1}.block.2.fc2.")
                .RenameRegex($@"^blocks\.{i}\.linear_conv\.", $"features.{i + 1}.block.{(table[i].SqueezeExcite ? 3 : 2)}.");
        return map
            .RenameRegex(@"^(features\.\d+\.block\.\d+)\.conv\.", "$1.0.")
            .RenameRegex(@"^(features\.\d+\.block\.\d+)\.bn\.", "$1.1.")
            .ReplaceSuffix("._mean", ".running_mean")
            .ReplaceSuffix("._variance", ".running_var");
    }

    /// <summary>
    /// The four feature maps [N, C, H/r, W/r] of <see cref="FeatureInfo"/>. Equivalent to PaddleSeg's
    /// <c>MobileNetV3.forward</c> returning <c>feat_list</c>, and for torchvision to
    /// <c>create_feature_extractor(model, ["features.3", "features.6", "features.12", "features.16"])</c> (Large).
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, Family);
        var features = new Tensor[_featureLayers.Length];
        int next = 0;
        for (int i = 0; i <= _featureLayers[^1]; i++)
        {
            x = _features[i] is Sequential layers && IsConvNormAct(layers) ? ConvNormActForward(layers, x) : _features[i].Forward(x);
            if (i == _featureLayers[next]) features[next++] = x;
        }
        return features;
    }

    /// <summary>Class logits [N, NumClasses]. Equivalent to torchvision's <c>MobileNetV3.forward</c>.</summary>
    public override Tensor Forward(Tensor x)
    {
        if (_classifier is null || _avgPool is null)
            throw new InvalidOperationException($"{Family} was built without a classifier (numClasses = 0); use ForwardFeatures.");
        return _classifier.Forward(_avgPool.Forward(ForwardFeatures(x)[^1]).Flatten(1));
    }

    /// <summary>
    /// Loads a weight file (safetensors, PyTorch <c>.pth</c> or Paddle <c>.pdparams</c>; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>) in this class's keys (torchvision's for the torchvision flavour), or another naming
    /// through <paramref name="keyMap"/> (e.g. <see cref="PaddleSegKeyMap"/>), adapting <c>features.0.0.weight</c> to
    /// <see cref="InChannels"/> (see <see cref="PretrainedWeights.AdaptInputChannels"/>). A backbone without a classifier
    /// ignores <c>classifier.*</c>; a classifier with another class count keeps its own when <paramref name="allowNewHead"/>.
    /// </summary>
    public LoadReport LoadPretrained(string path, KeyMap? keyMap = null, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, path, FirstConvKey, keyMap, strict,
            ignore: _classifier is null ? IsHeadKey : null,
            allowShapeMismatch: allowNewHead ? IsHeadKey : null);

    /// <summary>As <see cref="LoadPretrained(string, KeyMap?, bool, bool)"/>, from a state dict already in this class's keys.</summary>
    public LoadReport LoadPretrained(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, bool allowNewHead = false) =>
        PretrainedWeights.Load(this, stateDict, FirstConvKey, strict,
            ignore: _classifier is null ? IsHeadKey : null,
            allowShapeMismatch: allowNewHead ? IsHeadKey : null);

    /// <summary>This class's (torchvision's) keys as they are, or PaddleSeg's (recognised by <c>blocks.</c>) through <see cref="PaddleSegKeyMap"/>.</summary>
    LoadReport IPretrainedBackbone.LoadPretrained(string path)
    {
        var tensors = WeightFile.Load(path);
        bool paddle = tensors.Keys.Any(k => k.StartsWith("blocks.", StringComparison.Ordinal));
        return LoadPretrained(paddle ? PaddleSegKeyMap(Arch).Apply(tensors) : tensors);
    }

    private static bool IsHeadKey(string key) => key.StartsWith("classifier.", StringComparison.Ordinal);

    private static Sequential ConvNormAct(int inChannels, int outChannels, int kernel, int stride, int dilation, int groups, Activation activation,
        Func<int, TensorModule> norm)
    {
        var layers = new Sequential(
            new Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2 * dilation, dilation: dilation, groups: groups, bias: false),
            norm(outChannels));
        if (ActivationModules.Create(activation) is { } module) layers.Add(module);
        return layers;
    }

    private void Initialize(bool torchvision)
    {
        foreach (var module in Modules())
        {
            if (module is Conv2d conv)
            {
                if (torchvision)
                {
                    Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
                }
                else
                {
                    var o = conv.Options;
                    Init.Normal(conv.Weight, std: Math.Sqrt(2.0 / (o.KernelSize.H * o.KernelSize.W * o.InChannels)));
                }
                if (conv.Bias is not null) Init.Zeros(conv.Bias);
            }
            else if (module is Linear linear)
            {
                Init.Normal(linear.Weight, std: 0.01);
                if (linear.Bias is not null) Init.Zeros(linear.Bias);
            }
        }
    }

    private static BlockRow[] Table(MobileNetV3Arch arch) => arch switch
    {
        MobileNetV3Arch.Large => LargeTable,
        MobileNetV3Arch.Small => SmallTable,
        _ => throw new ArgumentOutOfRangeException(nameof(arch), arch, "Unknown MobileNetV3 variant."),
    };

    private static readonly int[] LargeFeatureBlocks = [2, 5, 11, 14];
    private static readonly int[] SmallFeatureBlocks = [0, 2, 7, 10];

    private static readonly BlockRow[] LargeTable =
    [
        new(3, 16, 16, false, false, 1),
        new(3, 64, 24, false, false, 2),
        new(3, 72, 24, false, false, 1),
        new(5, 72, 40, true, false, 2),
        new(5, 120, 40, true, false, 1),
        new(5, 120, 40, true, false, 1),
        new(3, 240, 80, false, true, 2),
        new(3, 200, 80, false, true, 1),
        new(3, 184, 80, false, true, 1),
        new(3, 184, 80, false, true, 1),
        new(3, 480, 112, true, true, 1),
        new(3, 672, 112, true, true, 1),
        new(5, 672, 160, true, true, 2),
        new(5, 960, 160, true, true, 1),
        new(5, 960, 160, true, true, 1),
    ];

    private static readonly BlockRow[] SmallTable =
    [
        new(3, 16, 16, true, false, 2),
        new(3, 72, 24, false, false, 2),
        new(3, 88, 24, false, false, 1),
        new(5, 96, 40, true, true, 2),
        new(5, 240, 40, true, true, 1),
        new(5, 240, 40, true, true, 1),
        new(5, 120, 48, true, true, 1),
        new(5, 144, 48, true, true, 1),
        new(5, 288, 96, true, true, 2),
        new(5, 576, 96, true, true, 1),
        new(5, 576, 96, true, true, 1),
    ];

    /// <summary>One row of the paper's table: kernel, expanded and output width at scale 1, squeeze-excite, hard-swish (else ReLU), stride.</summary>
    private readonly record struct BlockRow(int Kernel, int Expanded, int Out, bool SqueezeExcite, bool Hardswish, int Stride);

    private readonly record struct NormSettings(double Eps, double Momentum);

    /// <summary>torchvision's <c>InvertedResidual</c>: the layers under <c>block</c>, plus the input when <c>use_res_connect</c>.</summary>
    private sealed class InvertedResidualBlock : TensorModule
    {
        private readonly Sequential _block;
        private readonly bool _residual;

        public InvertedResidualBlock(Sequential block, bool residual)
        {
            _block = Child("block", block);
            _residual = residual;
        }

        public override Tensor Forward(Tensor x)
        {
            // Each conv → BatchNorm → activation runs as one fused call (folded in evaluation), the input joining the last
            // one's epilogue; the results before the last die in this call, so in inference they reuse this thread's buffers.
            var buffers = IntermediateBuffers.Rent();
            var y = x;
            int last = _block.Count - 1;
            for (int i = 0; i < last; i++)
            {
                int slot = i % 2;
                y = _block[i] is Sequential layers && IsConvNormAct(layers)
                    ? buffers.Keep(slot, ConvNormActForward(layers, y, outputBuffer: buffers[slot]))
                    : _block[i].Forward(y);
            }
            Tensor output;
            if (_block[last] is Sequential projection && IsConvNormAct(projection))
            {
                output = ConvNormActForward(projection, y, _residual ? x : null);
            }
            else
            {
                output = _block[last].Forward(y);
                if (_residual) output += x;
            }
            buffers.Return();
            return output;
        }
    }

    /// <summary>Whether <paramref name="layers"/> is a <see cref="ConvNormAct"/>: conv, BatchNorm and an optional ReLU or hardswish.</summary>
    private static bool IsConvNormAct(Sequential layers) =>
        layers.Count is 2 or 3 && layers[0] is Conv2d && layers[1] is BatchNorm2d && (layers.Count == 2 || layers[2] is Relu or Hardswish);

    /// <summary>
    /// act(bn(conv(x)) + residual) of a <see cref="ConvNormAct"/> through <see cref="Conv2d.ForwardWithBatchNorm"/>: one
    /// fused call in evaluation, the separate ops (what the Sequential would run, then the add) in training. The
    /// residual joins after the activation-free projection, so the order matches torchvision's <c>block(x) + x</c>.
    /// </summary>
    private static Tensor ConvNormActForward(Sequential layers, Tensor x, Tensor? residual = null, Tensor? outputBuffer = null)
    {
        var activation = layers.Count == 2 ? FusedActivation.None : layers[2] is Relu ? FusedActivation.Relu : FusedActivation.Hardswish;
        var conv = (Conv2d)layers[0];
        // The fused residual joins before the activation; after one it is a separate add.
        if (residual is not null && activation != FusedActivation.None)
            return conv.ForwardWithBatchNorm(x, (BatchNorm2d)layers[1], activation, outputBuffer: outputBuffer) + residual;
        return conv.ForwardWithBatchNorm(x, (BatchNorm2d)layers[1], activation, residual, outputBuffer);
    }

    /// <summary>
    /// torchvision's <c>SqueezeExcitation</c> (keys <c>fc1</c>, <c>fc2</c>, both with bias; ReLU between): the input scaled by
    /// <c>hardsigmoid(x) = clip(x / 6 + 1/2, 0, 1)</c> of the expanded scores, or with <c>paddleGate</c> by PaddleSeg's
    /// <c>clip(0.2 x + 0.5, 0, 1)</c>.
    /// </summary>
    private sealed class SqueezeExcitation : TensorModule
    {
        private readonly Conv2d _fc1, _fc2;
        private readonly bool _paddleGate;

        public SqueezeExcitation(int channels, int squeezeChannels, bool paddleGate)
        {
            _fc1 = Child("fc1", new Conv2d(channels, squeezeChannels, 1));
            _fc2 = Child("fc2", new Conv2d(squeezeChannels, channels, 1));
            _paddleGate = paddleGate;
        }

        public override Tensor Forward(Tensor x)
        {
            var scores = _fc2.Forward(_fc1.Forward(x.Mean([2, 3], keepDim: true)).Relu());
            return x * (_paddleGate ? (scores * 0.2f + 0.5f).Clamp(0, 1) : scores.Hardsigmoid());
        }
    }

    private static MobileNetV3 PaddleSeg(MobileNetV3Arch arch, double scale, BackboneOptions options) =>
        new(arch, MobileNetV3Flavour.PaddleSeg, scale, 0, options);

    /// <summary>torchvision <c>mobilenet_v3_large</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("mobilenet_v3_large", Description = "torchvision mobilenet_v3_large (features up to the last 1×1 conv, 960 channels)")]
    public static IBackbone TorchvisionLarge(BackboneOptions options) =>
        new MobileNetV3(MobileNetV3Arch.Large, MobileNetV3Flavour.Torchvision, 1.0, 0, options);

    /// <summary>torchvision <c>mobilenet_v3_small</c> as a backbone (no classifier).</summary>
    [RegisterBackbone("mobilenet_v3_small", Description = "torchvision mobilenet_v3_small (features up to the last 1×1 conv, 576 channels)")]
    public static IBackbone TorchvisionSmall(BackboneOptions options) =>
        new MobileNetV3(MobileNetV3Arch.Small, MobileNetV3Flavour.Torchvision, 1.0, 0, options);

    /// <summary>PaddleSeg <c>MobileNetV3_small_x0_35</c>.</summary>
    [RegisterBackbone("mobilenetv3_small_x0_35", Description = "PaddleSeg MobileNetV3_small_x0_35")]
    public static IBackbone SmallX035(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Small, 0.35, options);

    /// <summary>PaddleSeg <c>MobileNetV3_small_x0_5</c>.</summary>
    [RegisterBackbone("mobilenetv3_small_x0_5", Description = "PaddleSeg MobileNetV3_small_x0_5")]
    public static IBackbone SmallX05(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Small, 0.5, options);

    /// <summary>PaddleSeg <c>MobileNetV3_small_x0_75</c>.</summary>
    [RegisterBackbone("mobilenetv3_small_x0_75", Description = "PaddleSeg MobileNetV3_small_x0_75")]
    public static IBackbone SmallX075(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Small, 0.75, options);

    /// <summary>PaddleSeg <c>MobileNetV3_small_x1_0</c> (PaddleClas's <c>_ssld</c> weights are this network's).</summary>
    [RegisterBackbone("mobilenetv3_small_x1_0", Aliases = ["mobilenetv3_small_x1_0_ssld"], Description = "PaddleSeg MobileNetV3_small_x1_0")]
    public static IBackbone SmallX10(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Small, 1.0, options);

    /// <summary>PaddleSeg <c>MobileNetV3_small_x1_25</c>.</summary>
    [RegisterBackbone("mobilenetv3_small_x1_25", Description = "PaddleSeg MobileNetV3_small_x1_25")]
    public static IBackbone SmallX125(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Small, 1.25, options);

    /// <summary>PaddleSeg <c>MobileNetV3_large_x0_35</c>.</summary>
    [RegisterBackbone("mobilenetv3_large_x0_35", Description = "PaddleSeg MobileNetV3_large_x0_35")]
    public static IBackbone LargeX035(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Large, 0.35, options);

    /// <summary>PaddleSeg <c>MobileNetV3_large_x0_5</c>.</summary>
    [RegisterBackbone("mobilenetv3_large_x0_5", Description = "PaddleSeg MobileNetV3_large_x0_5")]
    public static IBackbone LargeX05(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Large, 0.5, options);

    /// <summary>PaddleSeg <c>MobileNetV3_large_x0_75</c>.</summary>
    [RegisterBackbone("mobilenetv3_large_x0_75", Description = "PaddleSeg MobileNetV3_large_x0_75")]
    public static IBackbone LargeX075(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Large, 0.75, options);

    /// <summary>
    /// PaddleSeg <c>MobileNetV3_large_x1_0</c>; <c>mobilenetv3_large_x1_0_ssld</c> names the same network (the suffix names
    /// PaddleClas's SSLD-distilled ImageNet weights PaddleSeg initialises it from).
    /// </summary>
    [RegisterBackbone("mobilenetv3_large_x1_0", Aliases = ["mobilenetv3_large_x1_0_ssld"], Description = "PaddleSeg MobileNetV3_large_x1_0")]
    public static IBackbone LargeX10(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Large, 1.0, options);

    /// <summary>PaddleSeg <c>MobileNetV3_large_x1_25</c>.</summary>
    [RegisterBackbone("mobilenetv3_large_x1_25", Description = "PaddleSeg MobileNetV3_large_x1_25")]
    public static IBackbone LargeX125(BackboneOptions options) => PaddleSeg(MobileNetV3Arch.Large, 1.25, options);
}
