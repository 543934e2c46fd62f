using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Models;

/// <summary>
/// The aligned Xception of DeepLabV3+ (Chen et al., "Encoder-Decoder with Atrous Separable Convolution for Semantic Image
/// Segmentation", 2018) as PaddleSeg's <c>paddleseg.models.backbones.XceptionDeeplab</c> builds it
/// (<c>Xception41_deeplab</c>, <c>Xception65_deeplab</c>, <c>Xception71_deeplab</c>): two 3×3 convolutions (32 channels at
/// stride 2, then 64; BatchNorm and ReLU), an entry flow of 3 blocks (128, 256, 728 channels, each ending in a stride-2
/// separable convolution; Xception71: 5 blocks of 128, 256, 256, 728, 728 channels striding 2, 1, 2, 1, 2), a middle
/// flow of 8 (Xception41) or 16 identity-shortcut blocks of 728 channels, and an exit flow of a 728 → 1024 block and a
/// shortcut-less 1536, 1536, 2048 block.
/// <para>
/// A block is three separable convolutions (depthwise 3×3 → BatchNorm → pointwise 1×1 → BatchNorm), each preceded by a
/// ReLU, plus a shortcut from the block's input: a strided 1×1 convolution and BatchNorm in the entry flow and exit
/// block 1, the identity in the middle flow. Exit block 2 has no shortcut and puts a ReLU after each BatchNorm instead
/// (<c>activation_fn_in_separable_conv</c>). Convolutions have no bias; BatchNorm has Paddle's epsilon 1e-3 and momentum
/// 0.99 (PyTorch momentum 0.01). A depthwise convolution pads by its dilation, a 1×1 shortcut not at all, so a feature of
/// reduction r has ⌈n / r⌉ pixels for an input of n.
/// </para>
/// <para>
/// Output stride 16 (the default) is exactly PaddleSeg's network: exit block 1 keeps stride 1 and exit block 2 runs at
/// dilation 2. Output stride 8 follows the dilation table in PaddleSeg's own source comment (TF DeepLab's atrous rule):
/// the last entry block keeps stride 1, the middle flow and exit block 1 run at dilation 2 and exit block 2 at 4.
/// PaddleSeg's dygraph code itself passes stride 2 to every entry block (<c>strides=[1, 1, self.stride]</c>), so there an
/// output stride of 8 still ends at reduction 16 and Xception71 at reduction 64; here every block strides as PaddleSeg's
/// <c>gen_bottleneck_params</c> lists (as its legacy static-graph version and PaddleX 1.x did). Strides change no weight.
/// Output stride 32 is refused (PaddleSeg supports 8 and 16).
/// </para>
/// <para>
/// Features, as PaddleSeg's <c>feat_list</c>: entry block 1's output (128 channels, reduction 4, the DeepLabV3+ decoder's
/// low-level feature) and exit block 2's (2048 channels, the output stride). Keys are PaddleSeg's attribute names with
/// PyTorch's leaf names (<c>_conv1._conv.weight</c>, <c>_conv1._bn.running_mean</c>, <c>entry_flow.0._conv1._conv1.weight</c>,
/// <c>middle_flow.7._conv3._bn2.bias</c>, <c>_exit_flow_1._short._bn.weight</c>, …); <see cref="PaddleSegKeyMap"/> maps
/// PaddleSeg's own state-dict names onto them.
/// </para>
/// </summary>
public sealed class XceptionDeepLab : Module, IPretrainedBackbone
{
    private const string FirstConvKey = "_conv1._conv.weight";
    private const int MiddleChannels = 728;

    private readonly XceptionConvBn _conv1, _conv2;
    private readonly ModuleList<XceptionBlock> _entryFlow, _middleFlow;
    private readonly XceptionBlock _exitFlow1, _exitFlow2;

    /// <summary>
    /// Builds Xception<paramref name="depth"/>_deeplab. Equivalent to PaddleSeg's <c>XceptionDeeplab("xception_{depth}",
    /// in_channels, output_stride=output_stride)</c>.
    /// </summary>
    /// <param name="depth">41, 65 or 71.</param>
    /// <param name="options">Input channels and output stride (16, the default, or 8). Multi-grid and learning-rate multipliers do not apply and are refused.</param>
    /// <param name="initializeWeights">
    /// Draw convolution weights as Paddle's <c>Conv2D</c> does by default (normal, std √(2 / (k² · in_channels)), the full
    /// input channel count even for depthwise convolutions); false keeps the layers' PyTorch default, cheaper for a model
    /// whose weights are loaded right after.
    /// </param>
    public XceptionDeepLab(int depth, BackboneOptions? options = null, bool initializeWeights = true)
    {
        options ??= new BackboneOptions();
        var (entryStrides, entryChannels, middleBlocks) = Architecture(depth);
        string family = $"Xception{depth}_deeplab";
        int outputStride = options.OutputStride ?? 16;
        if (outputStride is not (8 or 16))
            throw new ArgumentException($"{family}: output stride must be 8 or 16 (PaddleSeg's XceptionDeeplab supports no other), got {outputStride}.",
                nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        if (options.MultiGrid is not null)
            throw new ArgumentException($"{family}: has no multi-grid (PaddleSeg's XceptionDeeplab takes none), got ({string.Join(", ", options.MultiGrid)}).",
                nameof(options));
        if (options.LrMultList is not null)
            throw new ArgumentException($"{family}: has no per-stage learning-rate multipliers (PaddleSeg's XceptionDeeplab takes no lr_mult_list), got ({string.Join(", ", options.LrMultList)}).",
                nameof(options));

        Depth = depth;
        InChannels = options.InChannels;
        OutputStride = outputStride;
        FeatureInfo = [new FeatureInfo(entryChannels[0], 4, "entry_flow.0"), new FeatureInfo(2048, outputStride, "_exit_flow_2")];

        // TF DeepLab's atrous rule: a block strides while the reduction stays within the output stride; past it, the block
        // runs at stride 1 and every later block dilates by the stride it skipped.
        int reduction = 2, rate = 1;
        (int Stride, int Dilation) Place(int stride)
        {
            if (reduction * stride <= outputStride)
            {
                reduction *= stride;
                return (stride, rate);
            }
            int dilation = rate;
            rate *= stride;
            return (1, dilation);
        }

        _conv1 = Child("_conv1", new XceptionConvBn(InChannels, 32, 3, stride: 2, relu: true));
        _conv2 = Child("_conv2", new XceptionConvBn(32, 64, 3, stride: 1, relu: true));
        _entryFlow = Child("entry_flow", new ModuleList<XceptionBlock>());
        for (int i = 0; i < entryStrides.Length; i++)
        {
            var (stride, dilation) = Place(entryStrides[i]);
            int inChannels = i == 0 ? 64 : entryChannels[i - 1];
            _entryFlow.Add(new XceptionBlock(inChannels, [entryChannels[i], entryChannels[i], entryChannels[i]], stride, dilation, XceptionSkip.Conv));
        }
        _middleFlow = Child("middle_flow", new ModuleList<XceptionBlock>());
        for (int i = 0; i < middleBlocks; i++)
        {
            var (stride, dilation) = Place(1);
            _middleFlow.Add(new XceptionBlock(MiddleChannels, [MiddleChannels, MiddleChannels, MiddleChannels], stride, dilation, XceptionSkip.Identity));
        }
        var exit1 = Place(2);
        _exitFlow1 = Child("_exit_flow_1", new XceptionBlock(MiddleChannels, [728, 1024, 1024], exit1.Stride, exit1.Dilation, XceptionSkip.Conv));
        var exit2 = Place(1);
        _exitFlow2 = Child("_exit_flow_2", new XceptionBlock(1024, [1536, 1536, 2048], exit2.Stride, exit2.Dilation, XceptionSkip.None,
            activationInSeparableConv: true));

        if (!initializeWeights) return;
        foreach (var module in Modules())
            if (module is Conv2d conv)
            {
                var o = conv.Options;
                Init.Normal(conv.Weight, 0, Math.Sqrt(2.0 / (o.KernelSize.H * o.KernelSize.W * o.InChannels)));
            }
    }

    /// <summary>
    /// PaddleSeg's XceptionDeeplab state-dict names (as in its <c>.pdparams</c>, read directly or once converted to safetensors) to this
    /// class's keys: the blocks PaddleSeg registers as <c>xception_65/entry_flow/block1</c> … and
    /// <c>xception_65/middle_flow/block16</c> (any <c>xception_NN</c> prefix) → <c>entry_flow.0</c> … <c>middle_flow.15</c>;
    /// BatchNorm <c>_mean</c>/<c>_variance</c> → <c>running_mean</c>/<c>running_var</c>. Every other name is already ours.
    /// </summary>
    public static KeyMap PaddleSegKeyMap { get; } = BuildPaddleSegKeyMap();

    /// <summary>41, 65 or 71.</summary>
    public int Depth { get; }

    /// <inheritdoc/>
    public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <inheritdoc/>
    public int OutputStride { get; }

    /// <inheritdoc/>
    public int InChannels { get; }

    /// <inheritdoc/>
    Module IBackbone.Module => this;

    /// <summary>
    /// Entry block 1's output [N, 128, ⌈H/4⌉, ⌈W/4⌉] and exit block 2's [N, 2048, ⌈H/s⌉, ⌈W/s⌉] for output stride s.
    /// Equivalent to PaddleSeg's <c>XceptionDeeplab.forward</c> returning <c>feat_list</c>.
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, $"Xception{Depth}_deeplab");
        var y = _conv2.Forward(_conv1.Forward(x));
        var lowLevel = y = _entryFlow[0].Forward(y);
        for (int i = 1; i < _entryFlow.Count; i++) y = _entryFlow[i].Forward(y);
        foreach (var block in _middleFlow) y = block.Forward(y);
        return [lowLevel, _exitFlow2.Forward(_exitFlow1.Forward(y))];
    }

    /// <summary>
    /// Loads a weight file (safetensors, PyTorch <c>.pth</c> or Paddle <c>.pdparams</c>; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>) in this class's keys or in PaddleSeg's (recognised by its <c>_mean</c> statistics or
    /// <c>/entry_flow/</c> block names, or named by <paramref name="keyMap"/>), leaving out PaddleClas's ImageNet classifier
    /// <c>_fc</c> and adapting the first convolution <c>_conv1._conv.weight</c> to <see cref="InChannels"/>
    /// (<see cref="PretrainedWeights.AdaptInputChannels"/>). Equivalent to PaddleSeg's <c>load_pretrained_model</c>.
    /// </summary>
    public LoadReport LoadPretrained(string path, KeyMap? keyMap = null, bool strict = true)
    {
        var tensors = WeightFile.Load(path);
        keyMap ??= tensors.Keys.Any(IsPaddleSegName) ? PaddleSegKeyMap : null;
        return LoadPretrained(keyMap is null ? tensors : keyMap.Apply(tensors), strict);
    }

    /// <summary>As <see cref="LoadPretrained(string, KeyMap?, bool)"/>, from a state dict already in this class's keys.</summary>
    public LoadReport LoadPretrained(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true) =>
        PretrainedWeights.Load(this, stateDict, FirstConvKey, strict, ignore: key => key.StartsWith("_fc.", StringComparison.Ordinal));

    /// <inheritdoc/>
    LoadReport IPretrainedBackbone.LoadPretrained(string path) => LoadPretrained(path);

    private static bool IsPaddleSegName(string key) =>
        key.EndsWith("._mean", StringComparison.Ordinal) || key.Contains("/entry_flow/", StringComparison.Ordinal);

    private static (int[] EntryStrides, int[] EntryChannels, int MiddleBlocks) Architecture(int depth) => depth switch
    {
        41 => ([2, 2, 2], [128, 256, 728], 8),
        65 => ([2, 2, 2], [128, 256, 728], 16),
        71 => ([2, 1, 2, 1, 2], [128, 256, 256, 728, 728], 16),
        _ => throw new ArgumentException($"Xception_deeplab: supported depths are 41, 65 and 71, got {depth}.", nameof(depth)),
    };

    private static KeyMap BuildPaddleSegKeyMap()
    {
        var map = new KeyMap();
        // The trailing dot keeps block1 from matching block10 … block16.
        for (int block = 1; block <= 16; block++)
            map = map
                .RenameRegex($@"^xception_\d+/entry_flow/block{block}\.", $"entry_flow.{block - 1}.")
                .RenameRegex($@"^xception_\d+/middle_flow/block{block}\.", $"middle_flow.{block - 1}.");
        return map
            .ReplaceSuffix("._mean", ".running_mean")
            .ReplaceSuffix("._variance", ".running_var");
    }

    /// <summary>PaddleSeg <c>Xception41_deeplab</c> (PaddleX <c>Xception41</c>).</summary>
    [RegisterBackbone("xception41_deeplab", Aliases = ["xception41"],
        Description = "PaddleSeg Xception41_deeplab: DeepLabV3+ aligned Xception, 8 middle blocks (output stride 16 or 8)")]
    public static IBackbone Xception41(BackboneOptions options) => new XceptionDeepLab(41, options);

    /// <summary>PaddleSeg <c>Xception65_deeplab</c> (PaddleX <c>Xception65</c>).</summary>
    [RegisterBackbone("xception65_deeplab", Aliases = ["xception65"],
        Description = "PaddleSeg Xception65_deeplab: DeepLabV3+ aligned Xception, 16 middle blocks (output stride 16 or 8)")]
    public static IBackbone Xception65(BackboneOptions options) => new XceptionDeepLab(65, options);

    /// <summary>PaddleSeg <c>Xception71_deeplab</c> (PaddleX <c>Xception71</c>).</summary>
    [RegisterBackbone("xception71_deeplab", Aliases = ["xception71"],
        Description = "PaddleSeg Xception71_deeplab: DeepLabV3+ aligned Xception, 5 entry and 16 middle blocks (output stride 16 or 8)")]
    public static IBackbone Xception71(BackboneOptions options) => new XceptionDeepLab(71, options);
}

/// <summary>What an Xception block adds to its separable convolutions' output.</summary>
internal enum XceptionSkip
{
    /// <summary>A 1×1 convolution and BatchNorm of the block's input, strided like the block (<c>_short</c>).</summary>
    Conv,
    /// <summary>The block's input itself (<c>skip_conv=False</c>).</summary>
    Identity,
    /// <summary>Nothing (<c>has_skip=False</c>).</summary>
    None,
}

/// <summary>
/// Convolution (no bias, "same" padding) and BatchNorm (eps 1e-3, momentum 0.01), optionally followed by a ReLU; keys
/// <c>_conv</c>, <c>_bn</c>. PaddleSeg's xception_deeplab <c>ConvBNLayer</c>.
/// </summary>
internal sealed class XceptionConvBn : TensorModule
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;
    private readonly bool _relu;

    public XceptionConvBn(int inChannels, int outChannels, int kernel, int stride, bool relu)
    {
        _conv = Child("_conv", new Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2, bias: false));
        _bn = Child("_bn", XceptionNorm.Create(outChannels));
        _relu = relu;
    }

    public override Tensor Forward(Tensor x)
    {
        var y = _bn.Forward(_conv.Forward(x));
        return _relu ? y.Relu() : y;
    }
}

/// <summary>
/// Depthwise 3×3 (padding = dilation) → BatchNorm → pointwise 1×1 → BatchNorm, with a ReLU after each BatchNorm when
/// activated; keys <c>_conv1</c>, <c>_bn1</c>, <c>_conv2</c>, <c>_bn2</c>. PaddleSeg's <c>Separate_Conv</c>.
/// </summary>
internal sealed class XceptionSeparableConv : TensorModule
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly bool _relu;

    public XceptionSeparableConv(int inChannels, int outChannels, int stride, int dilation, bool relu)
    {
        _conv1 = Child("_conv1", new Conv2d(inChannels, inChannels, 3, stride: stride, padding: dilation, dilation: dilation,
            groups: inChannels, bias: false));
        _bn1 = Child("_bn1", XceptionNorm.Create(inChannels));
        _conv2 = Child("_conv2", new Conv2d(inChannels, outChannels, 1, bias: false));
        _bn2 = Child("_bn2", XceptionNorm.Create(outChannels));
        _relu = relu;
    }

    public override Tensor Forward(Tensor x)
    {
        var y = _bn1.Forward(_conv1.Forward(x));
        if (_relu) y = y.Relu();
        y = _bn2.Forward(_conv2.Forward(y));
        return _relu ? y.Relu() : y;
    }
}

/// <summary>
/// Three separable convolutions (the last one strided) and a shortcut; keys <c>_conv1</c>, <c>_conv2</c>, <c>_conv3</c>,
/// <c>_short</c>. Without <c>activationInSeparableConv</c> a ReLU precedes each separable convolution and the shortcut
/// takes the block's unactivated input; with it the separable convolutions activate themselves. PaddleSeg's
/// <c>Xception_Block</c>.
/// </summary>
internal sealed class XceptionBlock : TensorModule
{
    private readonly XceptionSeparableConv _conv1, _conv2, _conv3;
    private readonly XceptionConvBn? _short;
    private readonly XceptionSkip _skip;
    private readonly bool _activationInSeparableConv;

    public XceptionBlock(int inChannels, int[] outChannels, int stride, int dilation, XceptionSkip skip, bool activationInSeparableConv = false)
    {
        _conv1 = Child("_conv1", new XceptionSeparableConv(inChannels, outChannels[0], 1, dilation, activationInSeparableConv));
        _conv2 = Child("_conv2", new XceptionSeparableConv(outChannels[0], outChannels[1], 1, dilation, activationInSeparableConv));
        _conv3 = Child("_conv3", new XceptionSeparableConv(outChannels[1], outChannels[2], stride, dilation, activationInSeparableConv));
        if (skip == XceptionSkip.Conv) _short = Child("_short", new XceptionConvBn(inChannels, outChannels[2], 1, stride, relu: false));
        _skip = skip;
        _activationInSeparableConv = activationInSeparableConv;
    }

    public override Tensor Forward(Tensor x)
    {
        var y = _activationInSeparableConv
            ? _conv3.Forward(_conv2.Forward(_conv1.Forward(x)))
            : _conv3.Forward(_conv2.Forward(_conv1.Forward(x.Relu()).Relu()).Relu());
        if (_short is not null) return y + _short.Forward(x);
        return _skip == XceptionSkip.Identity ? y + x : y;
    }
}

/// <summary>The BatchNorm of PaddleSeg's xception_deeplab: <c>SyncBatchNorm(epsilon=1e-3, momentum=0.99)</c>.</summary>
internal static class XceptionNorm
{
    public static BatchNorm2d Create(int channels) => new(channels, eps: 1e-3, momentum: 0.01);
}
