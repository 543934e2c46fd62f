using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// Feature Pyramid Network (Lin et al., 2017): a 1×1 lateral convolution per input map (<c>inner_blocks.i.0</c>), a
/// top-down pathway that adds the nearest-upsampled coarser result, and a 3×3 output convolution per level
/// (<c>layer_blocks.i.0</c>), all with bias and <see cref="OutChannels"/> channels; optionally a max-pooled extra level
/// (<see cref="LastLevelMaxPool"/>). Convolutions start as torchvision's (Kaiming-uniform, a = 1; zero bias). Equivalent to
/// <c>torchvision.ops.FeaturePyramidNetwork</c> with <c>norm_layer=None</c>.
/// </summary>
public sealed class FeaturePyramidNetwork : Module
{
    private readonly ModuleList<Sequential> _innerBlocks, _layerBlocks;

    /// <summary>Builds the lateral and output convolutions for inputs with <paramref name="inChannelsList"/> channels.</summary>
    /// <param name="inChannelsList">Channels of each input map, finest first.</param>
    /// <param name="outChannels">Channels of every output map (256 in torchvision's detectors).</param>
    /// <param name="lastLevelMaxPool">Append the "pool" level (torchvision's <c>extra_blocks=LastLevelMaxPool()</c>).</param>
    public FeaturePyramidNetwork(IReadOnlyList<int> inChannelsList, int outChannels, bool lastLevelMaxPool = true)
    {
        ArgumentNullException.ThrowIfNull(inChannelsList);
        if (inChannelsList.Count == 0 || inChannelsList.Any(c => c <= 0))
            throw new ArgumentException($"FeaturePyramidNetwork: input channels must be positive, got [{string.Join(", ", inChannelsList)}].", nameof(inChannelsList));
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        OutChannels = outChannels;
        LastLevelMaxPool = lastLevelMaxPool;
        // torchvision wraps each convolution in Conv2dNormActivation (a Sequential), hence the ".0" in the keys.
        _innerBlocks = Child("inner_blocks", new ModuleList<Sequential>(inChannelsList.Select(c => new Sequential(new Conv2d(c, outChannels, 1)))));
        _layerBlocks = Child("layer_blocks", new ModuleList<Sequential>(inChannelsList.Select(_ => new Sequential(new Conv2d(outChannels, outChannels, 3, padding: 1)))));
        foreach (var conv in Modules().OfType<Conv2d>())
        {
            Init.KaimingUniform(conv.Weight, a: 1);
            Init.Zeros(conv.Bias!);
        }
    }

    /// <summary>Channels of every output map.</summary>
    public int OutChannels { get; }

    /// <summary>Whether a "pool" level (1×1 max pool with stride 2 of the coarsest output) is appended.</summary>
    public bool LastLevelMaxPool { get; }

    /// <summary>
    /// The pyramid: one map per input under the input's name (finest first), then "pool" when
    /// <see cref="LastLevelMaxPool"/>. Equivalent to <c>FeaturePyramidNetwork.forward</c>.
    /// </summary>
    public OrderedDictionary<string, Tensor> Forward(IReadOnlyList<(string Name, Tensor Map)> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != _innerBlocks.Count)
            throw new ArgumentException($"FeaturePyramidNetwork: expected {_innerBlocks.Count} input maps, got {inputs.Count}.", nameof(inputs));
        var results = new Tensor[inputs.Count];
        int last = inputs.Count - 1;
        var lastInner = _innerBlocks[last].Forward(inputs[last].Map);
        results[last] = _layerBlocks[last].Forward(lastInner);
        for (int i = last - 1; i >= 0; i--)
        {
            var lateral = _innerBlocks[i].Forward(inputs[i].Map);
            // In inference the lateral result is ours alone: the upsampled coarser map is added into it where it lies.
            lastInner = InferenceOps.Applies
                ? InferenceOps.AddNearestUpsampledInPlace(lateral, lastInner)
                : lateral + Functional.Interpolate(lastInner, new Size2(lateral.Shape[2], lateral.Shape[3]), mode: InterpolationMode.Nearest);
            results[i] = _layerBlocks[i].Forward(lastInner);
        }
        var output = new OrderedDictionary<string, Tensor>();
        for (int i = 0; i < results.Length; i++) output.Add(inputs[i].Name, results[i]);
        // torchvision's LastLevelMaxPool: F.max_pool2d(x, kernel_size=1, stride=2, padding=0), a stride-2 subsampling.
        if (LastLevelMaxPool) output.Add("pool", Functional.MaxPool2d(results[last], 1, stride: 2));
        return output;
    }
}

/// <summary>
/// A torchvision ResNet body with an FPN on top: keys <c>body.*</c> (the ResNet without <c>avgpool</c>/<c>fc</c>) and
/// <c>fpn.*</c>, maps named "0", "1", … for the returned stages and "pool". The body's normalisation is
/// <see cref="FrozenBatchNorm2d"/> (torchvision's detection default with pretrained weights) or BatchNorm2d, and the first
/// stages are frozen by torchvision's <c>trainable_layers</c> rule. Equivalent to
/// <c>torchvision.models.detection.backbone_utils.BackboneWithFPN</c> as built by <c>resnet_fpn_backbone</c> /
/// <c>_resnet_fpn_extractor</c>.
/// </summary>
public sealed class BackboneWithFpn : DetectionBackbone
{
    private readonly TorchvisionResNet _body;
    private readonly FeaturePyramidNetwork _fpn;
    private readonly int[] _returnedLayers;

    /// <summary>Builds the body and the FPN.</summary>
    /// <param name="arch">The torchvision ResNet variant.</param>
    /// <param name="trainableLayers">
    /// How many of layer4, layer3, layer2, layer1, conv1 (in that order) keep trainable parameters, 0…5; 5 also trains bn1.
    /// The others get <c>RequiresGrad = false</c> (torchvision's <c>trainable_layers</c>, default 3).
    /// </param>
    /// <param name="returnedLayers">
    /// The stages (1…4) fed to the FPN, default all four. The last must be 4: torchvision drops the stages after the last
    /// returned one from the body, which this body does not do.
    /// </param>
    /// <param name="frozenBatchNorm">Use <see cref="FrozenBatchNorm2d"/> in the body (torchvision with pretrained weights); false uses BatchNorm2d.</param>
    /// <param name="outChannels">FPN channels (256).</param>
    /// <param name="initializeWeights">Draw the body's convolutions as torchvision does; false skips it for weights loaded right after.</param>
    public BackboneWithFpn(TorchvisionResNetArch arch, int trainableLayers = 3, IReadOnlyList<int>? returnedLayers = null, bool frozenBatchNorm = true,
        int outChannels = 256, bool initializeWeights = true)
    {
        if (trainableLayers is < 0 or > 5)
            throw new ArgumentOutOfRangeException(nameof(trainableLayers), trainableLayers, "Trainable layers must be in [0, 5].");
        _returnedLayers = [.. returnedLayers ?? [1, 2, 3, 4]];
        if (_returnedLayers.Length == 0 || _returnedLayers.Any(l => l is < 1 or > 4) || _returnedLayers.Distinct().Count() != _returnedLayers.Length
            || !_returnedLayers.SequenceEqual(_returnedLayers.Order()))
            throw new ArgumentException($"Returned layers must be distinct stages in [1, 4] in increasing order, got [{string.Join(", ", _returnedLayers)}].", nameof(returnedLayers));
        if (_returnedLayers[^1] != 4)
            throw new ArgumentException($"Returned layers [{string.Join(", ", _returnedLayers)}] must end with 4: a body truncated before layer4 is not supported.", nameof(returnedLayers));

        Func<int, TensorModule> norm = frozenBatchNorm ? c => new FrozenBatchNorm2d(c) : c => new BatchNorm2d(c);
        _body = Child("body", new TorchvisionResNet(arch, numClasses: 0, initializeWeights: initializeWeights, normLayer: norm));
        string[] trainable = ["layer4", "layer3", "layer2", "layer1", "conv1"];
        var train = trainable[..trainableLayers].ToList();
        if (trainableLayers == 5) train.Add("bn1");
        foreach (var (name, parameter) in _body.NamedParameters())
            if (!train.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal))) parameter.RequiresGrad = false;

        var stageChannels = _body.FeatureInfo.Select(f => f.Channels).ToArray();
        _fpn = Child("fpn", new FeaturePyramidNetwork([.. _returnedLayers.Select(l => stageChannels[l - 1])], outChannels));
        TrainableLayers = trainableLayers;
    }

    /// <summary>The ResNet body (torchvision's <c>backbone.body</c>).</summary>
    public TorchvisionResNet Body => _body;

    /// <summary>The pyramid (torchvision's <c>backbone.fpn</c>).</summary>
    public FeaturePyramidNetwork Fpn => _fpn;

    /// <summary>Channels of every pyramid map. Equivalent to <c>BackboneWithFPN.out_channels</c>.</summary>
    public override int OutChannels => _fpn.OutChannels;

    /// <summary>How many stages train (see the constructor).</summary>
    public int TrainableLayers { get; }

    /// <summary>The pyramid maps "0", "1", … (strides 4, 8, … for the returned stages) and "pool". Equivalent to <c>BackboneWithFPN.forward</c>.</summary>
    public override OrderedDictionary<string, Tensor> Forward(Tensor images)
    {
        var stages = _body.ForwardFeatures(images);
        return _fpn.Forward([.. _returnedLayers.Select((l, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), stages[l - 1]))]);
    }
}
