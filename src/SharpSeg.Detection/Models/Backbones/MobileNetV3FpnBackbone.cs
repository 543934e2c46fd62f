using System.Globalization;
using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// A torchvision MobileNetV3 body (its <c>features</c>, keys <c>body.0.*</c> … <c>body.16.*</c> for Large) with an FPN
/// (<c>fpn.*</c>) over two of its stages and a max-pooled extra level: maps "0", "1" and "pool". The stages are
/// torchvision's: the stem, every strided inverted-residual block and the last 1×1 convolution (indices 0, 2, 4, 7, 13,
/// 16 for Large); by default the FPN reads the last two (block 13, 160 channels, and the last convolution, 960 channels,
/// both at stride 32), and <c>trainable_layers</c> counts stages from the end. Normalisation is
/// <see cref="FrozenBatchNorm2d"/> (torchvision with pretrained weights) or BatchNorm2d, both with eps 1e-5: torchvision's
/// detection builder passes <c>norm_layer</c> and so drops the classifier's eps 1e-3. Equivalent to
/// <c>torchvision.models.detection.backbone_utils._mobilenet_extractor(mobilenet_v3_large(norm_layer=…), fpn=True, …)</c>
/// as <c>fasterrcnn_mobilenet_v3_large_fpn</c> builds it.
/// </summary>
public sealed class MobileNetV3FpnBackbone : DetectionBackbone
{
    private readonly MobileNetV3 _network;
    private readonly Sequential _body;
    private readonly FeaturePyramidNetwork _fpn;
    private readonly int[] _returnedIndices;

    /// <summary>Builds the body and the FPN.</summary>
    /// <param name="arch">MobileNetV3 Large (torchvision's detection builders) or Small.</param>
    /// <param name="trainableLayers">
    /// How many stages, counted from the last, keep trainable parameters (0 … <see cref="StageIndices"/>.Count); the
    /// blocks before the first trainable stage get <c>RequiresGrad = false</c> (torchvision's <c>trainable_layers</c>: 3
    /// with pretrained weights, all 6 without).
    /// </param>
    /// <param name="returnedLayers">Stages (positions in <see cref="StageIndices"/>) fed to the FPN; default the last two.</param>
    /// <param name="frozenBatchNorm">FrozenBatchNorm2d in the body (torchvision with pretrained weights); false: BatchNorm2d.</param>
    /// <param name="outChannels">FPN channels (256).</param>
    /// <param name="initializeWeights">Draw the body's convolutions as torchvision does; false skips it for weights loaded right after.</param>
    public MobileNetV3FpnBackbone(MobileNetV3Arch arch = MobileNetV3Arch.Large, int trainableLayers = 3, IReadOnlyList<int>? returnedLayers = null,
        bool frozenBatchNorm = true, int outChannels = 256, bool initializeWeights = true)
    {
        Func<int, TensorModule> norm = frozenBatchNorm ? c => new FrozenBatchNorm2d(c) : c => new BatchNorm2d(c);
        _network = new MobileNetV3(arch, MobileNetV3Flavour.Torchvision, numClasses: 0, initializeWeights: initializeWeights, normLayer: norm);
        // The network's own features Sequential, registered here as "body" (torchvision's IntermediateLayerGetter keeps
        // features' children under their indices); the network object stays around for its pretrained-weight loader.
        _body = Child("body", (Sequential)_network.NamedChildren().Single(c => c.Name == "features").Module);

        // A stage starts at the stem, at each block whose depthwise convolution has stride 2 (torchvision's _is_cn) and at
        // the last convolution.
        var stages = new List<int> { 0 };
        for (int i = 1; i < _body.Count - 1; i++)
            if (_body[i].Modules().OfType<Conv2d>().Any(c => c.Options.Stride.H > 1)) stages.Add(i);
        stages.Add(_body.Count - 1);
        StageIndices = stages;

        if (trainableLayers < 0 || trainableLayers > stages.Count)
            throw new ArgumentOutOfRangeException(nameof(trainableLayers), trainableLayers, $"MobileNetV3 FPN: trainable layers must be in [0, {stages.Count}].");
        int[] returned = [.. returnedLayers ?? [stages.Count - 2, stages.Count - 1]];
        if (returned.Length == 0 || returned.Any(l => l < 0 || l >= stages.Count) || !returned.SequenceEqual(returned.Distinct().Order()))
            throw new ArgumentException($"MobileNetV3 FPN: returned layers must be distinct stages in [0, {stages.Count - 1}] in increasing order, got [{string.Join(", ", returned)}].",
                nameof(returnedLayers));
        _returnedIndices = [.. returned.Select(l => stages[l])];

        int freezeBefore = trainableLayers == 0 ? _body.Count : stages[stages.Count - trainableLayers];
        for (int i = 0; i < freezeBefore; i++)
            foreach (var parameter in _body[i].Parameters()) parameter.RequiresGrad = false;
        TrainableLayers = trainableLayers;

        // A block's output width is its last convolution's (the projection, or the last 1×1 convolution itself).
        var inChannels = _returnedIndices.Select(i => _body[i].Modules().OfType<Conv2d>().Last().Options.OutChannels).ToArray();
        _fpn = Child("fpn", new FeaturePyramidNetwork(inChannels, outChannels));
    }

    /// <summary>Positions in <c>body</c> where each stage ends (torchvision's <c>stage_indices</c>).</summary>
    public IReadOnlyList<int> StageIndices { get; }

    /// <summary>How many stages train (see the constructor).</summary>
    public int TrainableLayers { get; }

    /// <summary>The pyramid (torchvision's <c>backbone.fpn</c>).</summary>
    public FeaturePyramidNetwork Fpn => _fpn;

    /// <inheritdoc/>
    public override int OutChannels => _fpn.OutChannels;

    /// <summary>
    /// Loads torchvision's ImageNet <c>mobilenet_v3_large</c> weights (a <c>.pth</c> or safetensors in its keys
    /// <c>features.*</c>; <c>classifier.*</c> is ignored) into the body; <c>num_batches_tracked</c> entries are dropped
    /// where the body has FrozenBatchNorm2d. Equivalent to building with <c>weights_backbone=MobileNet_V3_Large_Weights…</c>.
    /// </summary>
    public LoadReport LoadPretrainedBody(string path) =>
        _network.LoadPretrained(PretrainedBody.DropFrozenBatchCounters(_network, SharpSeg.Nn.Interop.WeightFile.Load(path)));

    /// <summary>The maps "0", "1", … of the returned stages and "pool". Equivalent to <c>BackboneWithFPN.forward</c>.</summary>
    public override OrderedDictionary<string, Tensor> Forward(Tensor images)
    {
        var inputs = new List<(string, Tensor)>(_returnedIndices.Length);
        var x = images;
        for (int i = 0; i <= _returnedIndices[^1]; i++)
        {
            x = _body[i].Forward(x);
            if (i == _returnedIndices[inputs.Count]) inputs.Add((inputs.Count.ToString(CultureInfo.InvariantCulture), x));
        }
        return _fpn.Forward(inputs);
    }
}
