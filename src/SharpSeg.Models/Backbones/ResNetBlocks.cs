using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// The two-convolution residual block of ResNet-18/34 (torchvision <c>BasicBlock</c>, PaddleSeg's <c>BasicBlock</c> with
/// <c>conv0</c>/<c>conv1</c> renamed). Keys <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>, <c>downsample</c>. Both 3×3
/// convolutions use the block's dilation (PaddleSeg's rule; torchvision refuses dilation in this block).
/// The optional norm-layer factory builds each normalisation (torchvision's <c>norm_layer</c>); null gives BatchNorm2d.
/// </summary>
internal sealed class BasicBlock : TensorModule
{
    public const int Expansion = 1;

    private readonly Conv2d _conv1, _conv2;
    private readonly TensorModule _bn1, _bn2;
    private readonly Sequential? _downsample;

    public BasicBlock(int inChannels, int planes, int stride, int dilation, Sequential? downsample, Func<int, TensorModule>? normLayer = null)
    {
        normLayer ??= ResNetLayout.BatchNorm;
        _conv1 = Child("conv1", new Conv2d(inChannels, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false));
        _bn1 = Child("bn1", normLayer(planes));
        _conv2 = Child("conv2", new Conv2d(planes, planes, 3, padding: dilation, dilation: dilation, bias: false));
        _bn2 = Child("bn2", normLayer(planes));
        if (downsample is not null) _downsample = Child("downsample", downsample);
    }

    public override Tensor Forward(Tensor x)
    {
        // The inner result and the projected shortcut die in this call: in inference they reuse this thread's buffers.
        var buffers = IntermediateBuffers.Rent();
        var y = buffers.Keep(0, _conv1.ForwardWithNorm(x, _bn1, FusedActivation.Relu, outputBuffer: buffers[0]));
        var output = _conv2.ForwardWithNorm(y, _bn2, FusedActivation.Relu, residual: ResNetLayout.Shortcut(_downsample, x, buffers, 1));
        buffers.Return();
        return output;
    }
}

/// <summary>
/// The 1×1 → 3×3 → 1×1 residual block of ResNet-50 and deeper (torchvision <c>Bottleneck</c>: stride and dilation on
/// the 3×3 convolution, "ResNet v1.5"). Inner width is <c>planes · baseWidth / 64 · groups</c> (ResNeXt, Wide-ResNet),
/// output <c>4 · planes</c>. Keys <c>conv1</c>…<c>bn3</c>, <c>downsample</c>. The optional norm-layer factory builds each
/// normalisation (torchvision's <c>norm_layer</c>); null gives BatchNorm2d.
/// </summary>
internal sealed class Bottleneck : TensorModule
{
    public const int Expansion = 4;

    private readonly Conv2d _conv1, _conv2, _conv3;
    private readonly TensorModule _bn1, _bn2, _bn3;
    private readonly Sequential? _downsample;

    public Bottleneck(int inChannels, int planes, int stride, int dilation, Sequential? downsample, int groups = 1, int baseWidth = 64,
        Func<int, TensorModule>? normLayer = null)
    {
        normLayer ??= ResNetLayout.BatchNorm;
        int width = (int)(planes * (baseWidth / 64.0)) * groups;
        _conv1 = Child("conv1", new Conv2d(inChannels, width, 1, bias: false));
        _bn1 = Child("bn1", normLayer(width));
        _conv2 = Child("conv2", new Conv2d(width, width, 3, stride: stride, padding: dilation, dilation: dilation, groups: groups, bias: false));
        _bn2 = Child("bn2", normLayer(width));
        _conv3 = Child("conv3", new Conv2d(width, planes * Expansion, 1, bias: false));
        _bn3 = Child("bn3", normLayer(planes * Expansion));
        if (downsample is not null) _downsample = Child("downsample", downsample);
    }

    public override Tensor Forward(Tensor x)
    {
        // The inner results and the projected shortcut die in this call: in inference they reuse this thread's buffers.
        var buffers = IntermediateBuffers.Rent();
        var y = buffers.Keep(0, _conv1.ForwardWithNorm(x, _bn1, FusedActivation.Relu, outputBuffer: buffers[0]));
        y = buffers.Keep(1, _conv2.ForwardWithNorm(y, _bn2, FusedActivation.Relu, outputBuffer: buffers[1]));
        var output = _conv3.ForwardWithNorm(y, _bn3, FusedActivation.Relu, residual: ResNetLayout.Shortcut(_downsample, x, buffers, 2));
        buffers.Return();
        return output;
    }
}

/// <summary>Which residual block a ResNet stacks.</summary>
internal enum ResNetBlockKind
{
    Basic,
    Bottleneck,
}

/// <summary>Shared bookkeeping of the ResNet families: feature list and stage reductions under an output stride.</summary>
internal static class ResNetLayout
{
    public static readonly string[] StageNames = ["layer1", "layer2", "layer3", "layer4"];

    /// <summary>The default normalisation of the blocks: torch's BatchNorm2d.</summary>
    public static TensorModule BatchNorm(int channels) => new BatchNorm2d(channels);

    /// <summary>
    /// The shortcut of a residual block: x itself, or the projection (torchvision: conv, BatchNorm; ResNet-D: pool or
    /// identity, conv, BatchNorm) with its convolution and normalisation fused when they end the sequence. Given
    /// <paramref name="buffers"/>, the fused projection is written into its <paramref name="slot"/> in inference (the
    /// caller promises the shortcut dies before the buffers are returned).
    /// </summary>
    public static Tensor Shortcut(Sequential? downsample, Tensor x, IntermediateBuffers? buffers = null, int slot = 0)
    {
        if (downsample is null) return x;
        int count = downsample.Count;
        if (count < 2 || downsample[count - 2] is not Conv2d conv || downsample[count - 1] is not (BatchNorm2d or FrozenBatchNorm2d)) return downsample.Forward(x);
        for (int i = 0; i < count - 2; i++) x = downsample[i].Forward(x);
        if (buffers is null) return conv.ForwardWithNorm(x, downsample[count - 1]);
        return buffers.Keep(slot, conv.ForwardWithNorm(x, downsample[count - 1], outputBuffer: buffers[slot]));
    }

    public static int Expansion(ResNetBlockKind kind) => kind == ResNetBlockKind.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;

    /// <summary>timm's feature_info of the four stages: reductions 4, 8, 16, 32, none beyond the output stride.</summary>
    public static IReadOnlyList<FeatureInfo> Features(int stageWidth, int expansion, int outputStride)
    {
        var infos = new FeatureInfo[4];
        for (int s = 0; s < 4; s++)
            infos[s] = new FeatureInfo(stageWidth * (1 << s) * expansion, Math.Min(4 << s, outputStride), StageNames[s]);
        return infos;
    }

    public static void CheckOutputStride(string family, int outputStride)
    {
        if (outputStride is not (8 or 16 or 32))
            throw new ArgumentException($"{family}: output stride must be 8, 16 or 32, got {outputStride}.", nameof(outputStride));
    }

    /// <summary>
    /// Learning-rate multipliers for the stem and the four stages from PaddleSeg/PaddleX's <c>lr_mult_list</c>: four
    /// entries cover the stages (the stem keeps 1), five put the stem first (PaddleClas, PaddleX 1.x); null gives all 1.
    /// </summary>
    public static double[] StemAndStageMultipliers(string family, IReadOnlyList<float>? lrMultList)
    {
        if (lrMultList is null) return [1, 1, 1, 1, 1];
        if (lrMultList.Any(m => !(m >= 0) || float.IsInfinity(m)))
            throw new ArgumentException($"{family}: learning-rate multipliers must be finite and non-negative, got ({string.Join(", ", lrMultList)}).");
        return lrMultList.Count switch
        {
            4 => [1, .. lrMultList.Select(m => (double)m)],
            5 => [.. lrMultList.Select(m => (double)m)],
            _ => throw new ArgumentException(
                $"{family}: lr_mult_list needs 4 entries (stages) or 5 (stem, stages), got {lrMultList.Count}: ({string.Join(", ", lrMultList)})."),
        };
    }

    public static IReadOnlyList<StageParameters> StageParameters(IEnumerable<Module> stem, IReadOnlyList<Module> stages, double[] multipliers)
    {
        var result = new List<StageParameters>(5) { new("stem", stem.SelectMany(m => m.Parameters()).ToArray(), multipliers[0]) };
        for (int s = 0; s < stages.Count; s++)
            result.Add(new StageParameters(StageNames[s], stages[s].Parameters().ToArray(), multipliers[s + 1]));
        return result;
    }
}
