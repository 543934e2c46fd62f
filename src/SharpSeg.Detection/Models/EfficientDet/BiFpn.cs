using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// efficientdet-pytorch's <c>SeparableConv2d</c>: 3×3 depthwise <c>conv_dw</c> (no bias), 1×1 <c>conv_pw</c> (bias when asked) and
/// an optional <c>bn</c>. Both convolutions run at stride 1, where TF "SAME" and symmetric padding agree.
/// </summary>
internal sealed class SeparableConvBn : TensorModule
{
    private readonly Conv2d _convDw, _convPw;

    public SeparableConvBn(int inChannels, int outChannels, bool bias, bool batchNorm)
    {
        _convDw = Child("conv_dw", new Conv2d(inChannels, inChannels, 3, padding: 1, groups: inChannels, bias: false));
        _convPw = Child("conv_pw", new Conv2d(inChannels, outChannels, 1, bias: bias));
        if (batchNorm) Norm = Child("bn", new BatchNorm2d(outChannels, 1e-3, 0.01));
    }

    public Conv2d Pointwise => _convPw;

    public BatchNorm2d? Norm { get; }

    public override Tensor Forward(Tensor x) => ForwardThenNorm(x, Norm);

    /// <summary>The two convolutions followed by <paramref name="norm"/> (the head's per-level BatchNorm) when given.</summary>
    public Tensor ForwardThenNorm(Tensor x, BatchNorm2d? norm, FusedActivation activation = FusedActivation.None)
    {
        // The depthwise map dies inside this call: in inference it reuses this thread's buffer.
        var buffers = IntermediateBuffers.Rent();
        var y = buffers.Keep(0, InferenceOps.Applies && !_convDw.IsTraining
            ? Functional.Conv2dFused(x, _convDw.Weight, _convDw.Bias, _convDw.Options.Stride, _convDw.Options.Padding, _convDw.Options.Dilation,
                _convDw.Options.Groups, outputBuffer: buffers[0])
            : _convDw.Forward(x));
        var output = norm is null ? _convPw.Forward(y) : _convPw.ForwardWithBatchNorm(y, norm, activation);
        buffers.Return();
        return output;
    }
}

/// <summary>efficientdet-pytorch's <c>ConvBnAct2d</c> as the resampling uses it: 1×1 <c>conv</c> then <c>bn</c>, no activation.</summary>
internal sealed class ConvBn : TensorModule
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;

    public ConvBn(int inChannels, int outChannels, bool bias)
    {
        _conv = Child("conv", new Conv2d(inChannels, outChannels, 1, bias: bias));
        _bn = Child("bn", new BatchNorm2d(outChannels, 1e-3, 0.01));
    }

    public override Tensor Forward(Tensor x) => _conv.ForwardWithBatchNorm(x, _bn);
}

/// <summary>
/// efficientdet-pytorch's <c>ResampleFeatureMap</c>: a 1×1 <c>conv</c> + BN when the widths differ, then a max-pool of kernel
/// stride + 1 when the map must shrink (stride (in − 1) / out + 1; TF "SAME" pads with −∞, symmetric padding pads
/// (stride + kernel − 2) / 2) or nearest upsampling to the target size when it must grow.
/// </summary>
internal sealed class ResampleFeatureMap : TensorModule
{
    private readonly ConvBn? _conv;
    private readonly int _poolStride;
    private readonly (int H, int W)? _upsampleTo;
    private readonly bool _tfSame;

    public ResampleFeatureMap(int inChannels, int outChannels, (int H, int W) inputSize, (int H, int W) outputSize, bool tfSame, bool redundantBias)
    {
        if (inChannels != outChannels) _conv = Child("conv", new ConvBn(inChannels, outChannels, redundantBias));
        _tfSame = tfSame;
        if (inputSize.H > outputSize.H && inputSize.W > outputSize.W)
        {
            int strideH = (inputSize.H - 1) / outputSize.H + 1, strideW = (inputSize.W - 1) / outputSize.W + 1;
            if (strideH != strideW)
                throw new NotSupportedException($"EfficientDet resampling {inputSize} → {outputSize} needs unequal strides {strideH}×{strideW}.");
            _poolStride = strideH;
        }
        else if (inputSize.H < outputSize.H || inputSize.W < outputSize.W)
        {
            _upsampleTo = outputSize;
        }
    }

    public override Tensor Forward(Tensor x)
    {
        x = ForwardBeforeUpsampling(x);
        return _upsampleTo is { } size ? Functional.Interpolate(x, new Size2(size.H, size.W), mode: InterpolationMode.Nearest) : x;
    }

    /// <summary>Whether <see cref="Forward"/> ends with a nearest upsampling, which <see cref="ForwardBeforeUpsampling"/> leaves out.</summary>
    public bool Upsamples => _upsampleTo is not null;

    /// <summary>The resampling up to, not including, the nearest upsampling (for a caller that reads the coarse map through indices).</summary>
    public Tensor ForwardBeforeUpsampling(Tensor x)
    {
        if (_conv is not null) x = _conv.Forward(x);
        if (_poolStride > 0)
        {
            int kernel = _poolStride + 1;
            return _tfSame
                ? Functional.MaxPool2d(TfSamePadding.Pad(x, kernel, _poolStride, float.NegativeInfinity), kernel, _poolStride)
                : Functional.MaxPool2d(x, kernel, _poolStride, TfSamePadding.Static(kernel, _poolStride));
        }
        return x;
    }
}

/// <summary>Children named by their input offset (efficientdet-pytorch's <c>nn.ModuleDict</c> keyed by <c>str(offset)</c>).</summary>
internal sealed class ResampleDict : Module
{
    private readonly List<ResampleFeatureMap> _items = [];

    public void Add(int key, ResampleFeatureMap module) => _items.Add(Child(key.ToString(System.Globalization.CultureInfo.InvariantCulture), module));

    public IReadOnlyList<ResampleFeatureMap> Items => _items;
}

/// <summary>
/// efficientdet-pytorch's <c>FpnCombine</c>: each input node resampled to this node's level (<c>resample.O</c>), then fused by
/// fast normalised fusion, Σ ReLU(wᵢ)·xᵢ / (Σ ReLU(wⱼ) + 1e-4) with learned <c>edge_weights</c> (initially 1), or summed.
/// </summary>
internal sealed class FpnCombine : Module
{
    private readonly int[] _offsets;
    private readonly (int H, int W) _outputSize;
    private readonly int _channels;
    private readonly ResampleDict _resample;

    public FpnCombine(IReadOnlyList<(int Channels, (int H, int W) Size)> nodes, int[] offsets, (int H, int W) outputSize, EfficientDetConfig config)
    {
        _offsets = offsets;
        _outputSize = outputSize;
        _channels = config.FpnChannels;
        _resample = Child("resample", new ResampleDict());
        foreach (int offset in offsets)
            _resample.Add(offset, new ResampleFeatureMap(nodes[offset].Channels, config.FpnChannels, nodes[offset].Size, outputSize,
                config.TfSamePadding, config.RedundantBias));
        if (config.WeightedFusion) EdgeWeights = Param("edge_weights", Tensor.Ones(offsets.Length));
    }

    public Tensor? EdgeWeights { get; }

    public Tensor Forward(IReadOnlyList<Tensor> nodes)
    {
        Tensor? sum = null;
        if (EdgeWeights is null)
        {
            for (int i = 0; i < _offsets.Length; i++)
            {
                var node = _resample.Items[i].Forward(nodes[_offsets[i]]);
                sum = sum is null ? node : sum + node;
            }
            return sum!;
        }
        var weights = EdgeWeights.Relu();
        var normaliser = weights.Sum() + 1e-4f;
        if (InferenceOps.Applies) return WeightedSumInference(nodes, weights.ToArray(), normaliser.ToArray()[0]);
        for (int i = 0; i < _offsets.Length; i++)
        {
            var node = _resample.Items[i].Forward(nodes[_offsets[i]]) * weights.Narrow(0, i, 1) / normaliser;
            sum = sum is null ? node : sum + node;
        }
        return sum!;
    }

    // Σ (xᵢ·wᵢ) / n in one new map, the same float operations in the same order as the graph above, with each input that
    // needs nearest upsampling read through index maps instead of being upsampled into a map of its own.
    private Tensor WeightedSumInference(IReadOnlyList<Tensor> nodes, float[] weights, float normaliser)
    {
        var inputs = new Tensor[_offsets.Length];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = _resample.Items[i].ForwardBeforeUpsampling(nodes[_offsets[i]]).Contiguous();
        var shape = new Shape(inputs[0].Shape[0], _channels, _outputSize.H, _outputSize.W);
        int planes = shape[0] * shape[1], outH = shape[2], outW = shape[3];
        var result = Tensor.Zeros(shape);
        var output = result.AsSpan();
        for (int i = 0; i < inputs.Length; i++)
        {
            var input = inputs[i];
            bool fits = input.Shape[0] == shape[0] && input.Shape[1] == shape[1]
                && (_resample.Items[i].Upsamples ? input.Shape[2] <= outH && input.Shape[3] <= outW : input.Shape[2] == outH && input.Shape[3] == outW);
            if (!fits) throw new ShapeMismatchException("EfficientDet BiFPN node", $"resampled input {input.Shape} does not fit the node's output {shape}");
            int inH = input.Shape[2], inW = input.Shape[3];
            var rows = InferenceOps.NearestSources(inH, outH);
            var columns = InferenceOps.NearestSources(inW, outW);
            var source = input.AsSpan();
            float weight = weights[i];
            for (int p = 0; p < planes; p++)
                for (int y = 0; y < outH; y++)
                {
                    var from = source.Slice((p * inH + rows[y]) * inW, inW);
                    var to = output.Slice((p * outH + y) * outW, outW);
                    if (i == 0)
                        for (int x = 0; x < outW; x++) to[x] = from[columns[x]] * weight / normaliser;
                    else
                        for (int x = 0; x < outW; x++) to[x] += from[columns[x]] * weight / normaliser;
                }
        }
        return result;
    }
}

/// <summary>efficientdet-pytorch's <c>after_combine</c>: the activation (<c>act</c>, no weights) then a separable conv + BN (<c>conv</c>).</summary>
internal sealed class AfterCombine : Module
{
    public AfterCombine(EfficientDetConfig config) =>
        Conv = Child("conv", new SeparableConvBn(config.FpnChannels, config.FpnChannels, config.RedundantBias, batchNorm: true));

    public SeparableConvBn Conv { get; }
}

/// <summary>One BiFPN node (efficientdet-pytorch's <c>Fnode</c>): <c>combine</c> then <c>after_combine</c>.</summary>
internal sealed class FpnNode : Module
{
    private readonly FpnCombine _combine;
    private readonly AfterCombine _after;
    private readonly EfficientDetConfig _config;

    public FpnNode(IReadOnlyList<(int Channels, (int H, int W) Size)> nodes, int[] offsets, (int H, int W) outputSize, EfficientDetConfig config)
    {
        _config = config;
        _combine = Child("combine", new FpnCombine(nodes, offsets, outputSize, config));
        _after = Child("after_combine", new AfterCombine(config));
    }

    public Tensor Forward(IReadOnlyList<Tensor> nodes)
    {
        var combined = _combine.Forward(nodes);
        // In inference the combined map is this node's own: it takes its activation in place.
        var activated = !InferenceOps.Applies ? EfficientDet.Activate(combined, _config.Activation)
            : _config.Activation == EfficientDetActivation.Relu6 ? InferenceOps.Relu6InPlace(combined) : InferenceOps.SiluInPlace(combined);
        return _after.Conv.Forward(activated);
    }
}

/// <summary>
/// One BiFPN layer (efficientdet-pytorch's <c>BiFpnLayer</c> with <c>bifpn_config</c>): a top-down pass from level max − 1 to
/// min, each node fusing the level's input with the node above, then a bottom-up pass from min + 1 to max, each node fusing
/// the level's input, its top-down node (levels strictly inside) and the node below. Returns the last node of each level.
/// </summary>
internal sealed class BiFpnLayer : Module
{
    private readonly ModuleList<FpnNode> _nodes;
    private readonly int _levels;

    public BiFpnLayer(IReadOnlyList<(int Channels, (int H, int W) Size)> inputs, IReadOnlyList<(int H, int W)> levelSizes, EfficientDetConfig config)
    {
        _levels = config.NumLevels;
        var nodes = inputs.ToList();
        _nodes = Child("fnode", new ModuleList<FpnNode>());
        foreach (var (level, offsets) in NodeInputs(config.MinLevel, config.MaxLevel))
        {
            _nodes.Add(new FpnNode(nodes, offsets, levelSizes[level], config));
            nodes.Add((config.FpnChannels, levelSizes[level]));
        }
        Outputs = nodes.Skip(nodes.Count - _levels).ToArray();
    }

    /// <summary>Channels and sizes of the returned maps.</summary>
    public IReadOnlyList<(int Channels, (int H, int W) Size)> Outputs { get; }

    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs)
    {
        var nodes = inputs.ToList();
        foreach (var node in _nodes) nodes.Add(node.Forward(nodes));
        return nodes.Skip(nodes.Count - _levels).ToArray();
    }

    /// <summary>(level, input node ids) of each node in order; ids 0…L−1 are the layer's inputs, new nodes follow.</summary>
    internal static IEnumerable<(int Level, int[] Offsets)> NodeInputs(int minLevel, int maxLevel)
    {
        int levels = maxLevel - minLevel + 1, next = levels;
        var ids = Enumerable.Range(0, levels).ToDictionary(i => minLevel + i, i => new List<int> { i });
        for (int level = maxLevel - 1; level >= minLevel; level--)
        {
            yield return (level, [ids[level][^1], ids[level + 1][^1]]);
            ids[level].Add(next++);
        }
        for (int level = minLevel + 1; level <= maxLevel; level++)
        {
            yield return (level, [.. ids[level], ids[level - 1][^1]]);
            ids[level].Add(next++);
        }
    }
}

/// <summary>
/// The BiFPN (efficientdet-pytorch's <c>BiFpn</c>): the levels past the backbone's last map come from it by
/// <c>resample.L</c> (1×1 conv + BN to the FPN width, then max-pool), then <c>cell.R</c> BiFPN layers. Map sizes are fixed by
/// the configured image size, as there: level l is the image side halved (rounding up) l times.
/// </summary>
internal sealed class BiFpn : Module
{
    private readonly ResampleDict _resample;
    private readonly ModuleList<BiFpnLayer> _cells;

    public BiFpn(EfficientDetConfig config, IReadOnlyList<int> backboneChannels)
    {
        var sizes = EfficientDet.LevelSizes(config.ImageSize, config.MaxLevel);
        _resample = Child("resample", new ResampleDict());
        var inputs = new List<(int Channels, (int H, int W) Size)>();
        int channels = 0;
        for (int level = 0; level < config.NumLevels; level++)
        {
            var size = sizes[level + config.MinLevel];
            if (level < backboneChannels.Count)
            {
                channels = backboneChannels[level];
            }
            else
            {
                _resample.Add(level, new ResampleFeatureMap(channels, config.FpnChannels, sizes[level + config.MinLevel - 1], size,
                    config.TfSamePadding, config.RedundantBias));
                channels = config.FpnChannels;
            }
            inputs.Add((channels, size));
        }
        _cells = Child("cell", new ModuleList<BiFpnLayer>());
        for (int r = 0; r < config.FpnCellRepeats; r++)
        {
            var layer = new BiFpnLayer(inputs, sizes, config);
            _cells.Add(layer);
            inputs = [.. layer.Outputs];
        }
    }

    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> features)
    {
        var maps = features.ToList();
        foreach (var resample in _resample.Items) maps.Add(resample.Forward(maps[^1]));
        IReadOnlyList<Tensor> x = maps;
        foreach (var cell in _cells) x = cell.Forward(x);
        return x;
    }
}

/// <summary>The per-level BatchNorm of a head repeat, wrapped as efficientdet-pytorch's <c>nn.Sequential(OrderedDict(bn=…))</c>.</summary>
internal sealed class LevelNorm : Module
{
    public LevelNorm(int channels) => Bn = Child("bn", new BatchNorm2d(channels, 1e-3, 0.01));

    public BatchNorm2d Bn { get; }
}

/// <summary>
/// efficientdet-pytorch's <c>HeadNet</c> (repeat-first BatchNorm layout): <c>conv_rep.i</c> separable convolutions shared
/// by all levels, <c>bn_rep.i.level.bn</c> a BatchNorm per repeat and level, the activation, and the <c>predict</c> separable
/// convolution (with bias) to outputs × 9 anchors channels, run on each level.
/// </summary>
internal sealed class EfficientDetHead : Module
{
    private readonly ModuleList<SeparableConvBn> _convs;
    private readonly ModuleList<ModuleList<LevelNorm>> _norms;
    private readonly SeparableConvBn _predict;
    private readonly EfficientDetActivation _activation;

    public EfficientDetHead(EfficientDetConfig config, int outputsPerAnchor)
    {
        _activation = config.Activation;
        _convs = Child("conv_rep", new ModuleList<SeparableConvBn>());
        _norms = Child("bn_rep", new ModuleList<ModuleList<LevelNorm>>());
        for (int r = 0; r < config.BoxClassRepeats; r++)
        {
            _convs.Add(new SeparableConvBn(config.FpnChannels, config.FpnChannels, config.RedundantBias, batchNorm: false));
            var levels = new ModuleList<LevelNorm>();
            for (int l = 0; l < config.NumLevels; l++) levels.Add(new LevelNorm(config.FpnChannels));
            _norms.Add(levels);
        }
        _predict = Child("predict", new SeparableConvBn(config.FpnChannels, outputsPerAnchor * EfficientDetConfig.AnchorsPerLocation, bias: true, batchNorm: false));
    }

    public SeparableConvBn Predict => _predict;

    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> levels)
    {
        var outputs = new Tensor[levels.Count];
        for (int l = 0; l < levels.Count; l++)
        {
            var x = levels[l];
            for (int r = 0; r < _convs.Count; r++)
                x = _activation == EfficientDetActivation.Relu6
                    ? _convs[r].ForwardThenNorm(x, _norms[r][l].Bn, FusedActivation.Relu6)
                    : BlockSettings.Silu(_convs[r].ForwardThenNorm(x, _norms[r][l].Bn));
            outputs[l] = _predict.Forward(x);
        }
        return outputs;
    }
}
