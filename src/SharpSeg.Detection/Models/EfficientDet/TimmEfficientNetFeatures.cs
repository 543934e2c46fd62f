using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// TensorFlow's "SAME" padding as timm applies it (<c>pad_same</c>, <c>Conv2dSame</c>, <c>MaxPool2dSame</c>): output size
/// ⌈in / stride⌉, total padding max((out − 1)·stride + (k − 1)·dilation + 1 − in, 0), the odd pixel at the bottom/right.
/// A stride-1 layer with an odd kernel pads symmetrically, so it needs no dynamic padding (timm's <c>is_static_pad</c>).
/// </summary>
internal static class TfSamePadding
{
    /// <summary>Whether the padding depends on the input size (stride above 1), i.e. the layer must pad before running.</summary>
    public static bool IsDynamic(int stride) => stride > 1;

    /// <summary>The symmetric padding of a static layer: ((stride − 1) + dilation·(k − 1)) / 2, as timm's <c>get_padding</c>.</summary>
    public static int Static(int kernel, int stride = 1, int dilation = 1) => ((stride - 1) + dilation * (kernel - 1)) / 2;

    /// <summary>Pads <paramref name="x"/> [N, C, H, W] for a kernel/stride layer with <paramref name="value"/> (−∞ before a max-pool).</summary>
    public static Tensor Pad(Tensor x, int kernel, int stride, float value = 0f)
    {
        var (top, bottom) = Amount(x.Shape[2], kernel, stride);
        var (left, right) = Amount(x.Shape[3], kernel, stride);
        return top + bottom + left + right == 0 ? x : Functional.Pad(x, [left, right, top, bottom], PadMode.Constant, value);
    }

    private static (int Before, int After) Amount(int size, int kernel, int stride)
    {
        int output = (size + stride - 1) / stride;
        int total = Math.Max((output - 1) * stride + kernel - size, 0);
        return (total / 2, total - total / 2);
    }
}

/// <summary>
/// timm's EfficientNet as efficientdet-pytorch creates it (<c>timm.create_model(backbone_name, features_only=True,
/// out_indices=(2, 3, 4))</c>), with timm's state-dict keys: <c>conv_stem</c>, <c>bn1</c>, and <c>blocks.S.B</c> over seven
/// stages, the first of <c>DepthwiseSeparableConv</c> blocks (<c>conv_dw</c>, <c>bn1</c>, <c>se</c>, <c>conv_pw</c>, <c>bn2</c>), the
/// rest <c>InvertedResidual</c> (<c>conv_pw</c>, <c>bn1</c>, <c>conv_dw</c>, <c>bn2</c>, <c>se</c>, <c>conv_pwl</c>, <c>bn3</c>), the
/// squeeze-excite as <c>se.conv_reduce</c>/<c>se.conv_expand</c>. No head convolution (features only).
/// <para>
/// It computes what <see cref="EfficientNet"/> (torchvision's keys) computes for B0–B7: the same stage table, channel rounding,
/// depth rounding, squeeze width (a quarter of the block input) and SiLU. It is a separate module because timm names every
/// layer while torchvision numbers them inside <c>Sequential</c>s, and because the detection variants need what torchvision's
/// lacks: TF "SAME" padding and BatchNorm eps 1e-3 (<c>tf_</c> weights) and the Lite flavour (no squeeze-excite, ReLU6, stem
/// and first/last stage unscaled).
/// </para>
/// </summary>
public sealed class TimmEfficientNetFeatures : Module
{
    // timm's efficientnet arch_def before scaling: expand ratio, kernel, stride, out channels, repeats.
    private static readonly (int Expand, int Kernel, int Stride, int Out, int Repeats)[] Stages =
    [
        (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1),
    ];

    // The stages whose last block ends reductions 8, 16 and 32: timm's out_indices (2, 3, 4).
    private static readonly int[] FeatureStages = [2, 4, 6];

    private readonly Conv2d _convStem;
    private readonly BatchNorm2d _bn1;
    private readonly ModuleList<Sequential> _blocks;

    /// <summary>Builds the backbone of <paramref name="config"/>, drawing weights as timm does (<c>_init_weight_goog</c>).</summary>
    /// <param name="config">Which EfficientNet.</param>
    /// <param name="dropPathRate">Stochastic depth reached at the last block (timm's <c>drop_path_rate</c>), rising linearly from 0.</param>
    public TimmEfficientNetFeatures(EfficientNetBackboneConfig config, double dropPathRate = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        var settings = new BlockSettings(config.TfSamePadding, config.BatchNormEps, config.Lite);
        int stem = config.Lite ? 32 : ChannelRounding.MakeDivisible(32 * config.WidthMultiplier);
        _convStem = Child("conv_stem", NewConv(3, stem, 3, 2, 1, settings.TfSame));
        _bn1 = Child("bn1", new BatchNorm2d(stem, settings.Eps));
        var repeats = Stages.Select((s, i) => config.Lite && (i == 0 || i == Stages.Length - 1)
            ? s.Repeats : (int)Math.Ceiling(s.Repeats * config.DepthMultiplier)).ToArray();
        int total = repeats.Sum(), index = 0, channels = stem;
        var featureChannels = new List<int>();
        _blocks = Child("blocks", new ModuleList<Sequential>());
        for (int s = 0; s < Stages.Length; s++)
        {
            var stage = new Sequential();
            int outChannels = ChannelRounding.MakeDivisible(Stages[s].Out * config.WidthMultiplier);
            for (int b = 0; b < repeats[s]; b++)
            {
                int stride = b == 0 ? Stages[s].Stride : 1;
                double drop = dropPathRate * index++ / total;
                stage.Add(new TimmMobileBlock(channels, outChannels, Stages[s].Kernel, stride, Stages[s].Expand, drop, settings));
                channels = outChannels;
            }
            _blocks.Add(stage);
            if (FeatureStages.Contains(s)) featureChannels.Add(channels);
        }
        FeatureChannels = featureChannels;
        foreach (var module in Modules())
            if (module is Conv2d conv)
            {
                // timm's _init_weight_goog: normal with std √(2 / fan_out), fan_out = k·k·out / groups.
                var w = conv.Weight.Shape;
                Init.Normal(conv.Weight, 0, Math.Sqrt(2.0 / (w[2] * w[3] * w[0] / conv.Options.Groups)));
                if (conv.Bias is { } bias) Init.Zeros(bias);
            }
    }

    /// <summary>The EfficientNet it was built as.</summary>
    public EfficientNetBackboneConfig Config { get; }

    /// <summary>Channels of the three returned maps (strides 8, 16, 32); B0: 40, 112, 320. timm's <c>feature_info.channels()</c>.</summary>
    public IReadOnlyList<int> FeatureChannels { get; }

    /// <summary>The maps at strides 8, 16 and 32 for an [N, 3, H, W] batch. Equivalent to the features_only model's forward.</summary>
    public IReadOnlyList<Tensor> Forward(Tensor x)
    {
        x = Config.TfSamePadding ? TfSamePadding.Pad(x, 3, 2) : x;
        x = Config.Lite ? _convStem.ForwardWithBatchNorm(x, _bn1, FusedActivation.Relu6) : BlockSettings.Silu(_convStem.ForwardWithBatchNorm(x, _bn1));
        var features = new List<Tensor>(FeatureStages.Length);
        for (int s = 0; s < _blocks.Count; s++)
        {
            x = _blocks[s].Forward(x);
            if (FeatureStages.Contains(s)) features.Add(x);
        }
        return features;
    }

    internal static Conv2d NewConv(int inChannels, int outChannels, int kernel, int stride, int groups, bool tfSame, bool bias = false) =>
        new(inChannels, outChannels, kernel, stride: stride,
            padding: tfSame && TfSamePadding.IsDynamic(stride) ? 0 : TfSamePadding.Static(kernel, stride), groups: groups, bias: bias);
}

/// <summary>Settings every block of one backbone shares.</summary>
internal readonly record struct BlockSettings(bool TfSame, double Eps, bool Lite)
{
    /// <summary>conv → BatchNorm (→ activation), padding first when the conv needs TF "SAME" at this stride.</summary>
    public Tensor ConvBn(Conv2d conv, BatchNorm2d bn, Tensor x, bool activate, Tensor? residual = null, Tensor? outputBuffer = null)
    {
        int stride = conv.Options.Stride.H;
        if (TfSame && TfSamePadding.IsDynamic(stride)) x = TfSamePadding.Pad(x, conv.Options.KernelSize.H, stride);
        if (Lite && activate) return conv.ForwardWithBatchNorm(x, bn, FusedActivation.Relu6, residual, outputBuffer);
        var y = conv.ForwardWithBatchNorm(x, bn, residual: residual, outputBuffer: outputBuffer);
        return activate ? Silu(y) : y;
    }

    /// <summary>SiLU of a result only its producer holds: in place in inference, <see cref="Tensor.Silu"/> when a graph is recorded.</summary>
    public static Tensor Silu(Tensor y) => InferenceOps.Applies ? InferenceOps.SiluInPlace(y) : y.Silu();
}

/// <summary>timm's <c>SqueezeExcite</c>: mean over H×W, <c>conv_reduce</c> (bias), block activation, <c>conv_expand</c> (bias), sigmoid gate.</summary>
internal sealed class TimmSqueezeExcite : TensorModule
{
    private readonly Conv2d _reduce, _expand;

    public TimmSqueezeExcite(int channels, int reduced)
    {
        _reduce = Child("conv_reduce", new Conv2d(channels, reduced, 1));
        _expand = Child("conv_expand", new Conv2d(reduced, channels, 1));
    }

    public override Tensor Forward(Tensor x)
    {
        var gate = _expand.Forward(_reduce.Forward(x.Mean([2, 3], keepDim: true)).Silu()).Sigmoid();
        // In inference the block's activation map is scaled where it lies: it dies right after this.
        return InferenceOps.Applies ? InferenceOps.ScaleChannelsInPlace(x, gate) : x * gate;
    }
}

/// <summary>timm's residual add with per-sample stochastic depth (<c>DropPath</c>) while training.</summary>
internal static class DropPath
{
    public static Tensor AddResidual(Tensor branch, Tensor shortcut, double probability, bool training)
    {
        if (!training || probability == 0) return branch + shortcut;
        double keep = 1 - probability;
        var mask = new float[branch.Shape[0]];
        for (int n = 0; n < mask.Length; n++) mask[n] = Engine.Random.NextDouble() < keep ? (float)(1 / keep) : 0f;
        return branch * Tensor.FromArray(mask, mask.Length, 1, 1, 1) + shortcut;
    }
}

/// <summary>
/// timm's two EfficientNet blocks in one: <c>InvertedResidual</c> (1×1 expansion <c>conv_pw</c>, BN, act, k×k depthwise
/// <c>conv_dw</c>, BN, act, [SE], 1×1 projection <c>conv_pwl</c>, BN) and, for expansion 1, <c>DepthwiseSeparableConv</c>,
/// the same without the expansion (<c>conv_dw</c>, BN, act, [SE], projection <c>conv_pw</c>, BN). The children are named and
/// registered in timm's order for each, so the keys are timm's; residual when shapes agree.
/// </summary>
internal sealed class TimmMobileBlock : TensorModule
{
    private readonly Conv2d? _convExpand;
    private readonly BatchNorm2d? _bnExpand;
    private readonly Conv2d _convDw, _convProject;
    private readonly BatchNorm2d _bnDw, _bnProject;
    private readonly TimmSqueezeExcite? _se;
    private readonly BlockSettings _settings;
    private readonly bool _residual;
    private readonly double _dropPath;

    public TimmMobileBlock(int inChannels, int outChannels, int kernel, int stride, int expand, double dropPath, BlockSettings settings)
    {
        _settings = settings;
        bool expands = expand != 1;
        int mid = expands ? ChannelRounding.MakeDivisible(inChannels * expand) : inChannels;
        if (expands)
        {
            _convExpand = Child("conv_pw", TimmEfficientNetFeatures.NewConv(inChannels, mid, 1, 1, 1, settings.TfSame));
            _bnExpand = Child("bn1", new BatchNorm2d(mid, settings.Eps));
        }
        _convDw = Child("conv_dw", TimmEfficientNetFeatures.NewConv(mid, mid, kernel, stride, mid, settings.TfSame));
        _bnDw = Child(expands ? "bn2" : "bn1", new BatchNorm2d(mid, settings.Eps));
        // timm divides the SE ratio by the expansion (se_from_exp = False): a quarter of the block's input channels.
        if (!settings.Lite) _se = Child("se", new TimmSqueezeExcite(mid, (int)Math.Round(mid * 0.25 / expand)));
        _convProject = Child(expands ? "conv_pwl" : "conv_pw", TimmEfficientNetFeatures.NewConv(mid, outChannels, 1, 1, 1, settings.TfSame));
        _bnProject = Child(expands ? "bn3" : "bn2", new BatchNorm2d(outChannels, settings.Eps));
        _residual = stride == 1 && inChannels == outChannels;
        _dropPath = dropPath;
    }

    public override Tensor Forward(Tensor x)
    {
        // The expanded and depthwise maps die in this call: in inference they reuse this thread's buffers.
        var buffers = IntermediateBuffers.Rent();
        var y = x;
        if (_convExpand is not null) y = buffers.Keep(0, _settings.ConvBn(_convExpand, _bnExpand!, y, activate: true, outputBuffer: buffers[0]));
        int depthwiseSlot = _convExpand is null ? 0 : 1;
        y = buffers.Keep(depthwiseSlot, _settings.ConvBn(_convDw, _bnDw, y, activate: true, outputBuffer: buffers[depthwiseSlot]));
        if (_se is not null) y = _se.Forward(y);
        var output = FusedResidual
            ? _settings.ConvBn(_convProject, _bnProject, y, activate: false, residual: x)
            : _settings.ConvBn(_convProject, _bnProject, y, activate: false);
        buffers.Return();
        return _residual && !FusedResidual ? DropPath.AddResidual(output, x, _dropPath, IsTraining) : output;
    }

    // In inference the shortcut is added in the last convolution's epilogue (drop path is off outside training).
    private bool FusedResidual => _residual && !IsTraining && InferenceOps.Applies;
}
