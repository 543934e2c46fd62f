using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>Construction settings of <see cref="FasterRcnn"/>, torchvision's <c>fasterrcnn_resnet50_fpn</c> keyword arguments and defaults.</summary>
/// <param name="NumClasses">Classes including background (91 for COCO).</param>
/// <param name="Arch">The torchvision ResNet of the body.</param>
/// <param name="TrainableBackboneLayers">torchvision's <c>trainable_backbone_layers</c> (3 with pretrained weights).</param>
/// <param name="FrozenBatchNorm">FrozenBatchNorm2d in the body (torchvision when pretrained); false: BatchNorm2d (torchvision from scratch).</param>
/// <param name="MinSize">Shorter image side after resizing (800).</param>
/// <param name="MaxSize">Cap on the longer side (1333).</param>
/// <param name="Rpn">RPN test settings.</param>
/// <param name="RoiHeads">Box head test settings.</param>
/// <param name="FpnChannels">FPN width (256).</param>
/// <param name="RepresentationSize">Width of the two-MLP box head (1024).</param>
/// <param name="InitializeWeights">
/// Draw the backbone body's weights as torchvision does; false keeps the layers' defaults, cheaper for a model whose
/// weights are loaded right after.
/// </param>
public sealed record FasterRcnnOptions(
    int NumClasses = 91,
    TorchvisionResNetArch Arch = TorchvisionResNetArch.ResNet50,
    int TrainableBackboneLayers = 3,
    bool FrozenBatchNorm = true,
    int MinSize = 800,
    int MaxSize = 1333,
    RpnOptions? Rpn = null,
    RoiHeadsOptions? RoiHeads = null,
    int FpnChannels = 256,
    int RepresentationSize = 1024,
    bool InitializeWeights = true);

/// <summary>
/// Faster R-CNN (Ren et al., 2015) with a ResNet-FPN backbone: <see cref="GeneralizedRcnnTransform"/>, the
/// <see cref="BackboneWithFpn"/> (<c>backbone.*</c>), the <see cref="RegionProposalNetwork"/> (<c>rpn.*</c>) and the
/// <see cref="RoiHeads"/> (<c>roi_heads.*</c>), with torchvision's exact state-dict keys, so its checkpoints load strictly
/// (see <see cref="LoadTorchvisionStateDict"/>). Inference only for now: training losses are open (issue 15). Equivalent
/// to <c>torchvision.models.detection.fasterrcnn_resnet50_fpn</c> (other ResNets through <see cref="FasterRcnnOptions.Arch"/>,
/// as torchvision's <c>resnet_fpn_backbone</c>) in eval mode.
/// </summary>
public sealed class FasterRcnn : Module
{
    private readonly BackboneWithFpn _backbone;
    private readonly RegionProposalNetwork _rpn;
    private readonly RoiHeads _roiHeads;

    /// <summary>Builds the model with torchvision's initialisation.</summary>
    public FasterRcnn(FasterRcnnOptions? options = null)
    {
        Options = options ?? new FasterRcnnOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.NumClasses, 2, nameof(Options.NumClasses));
        Transform = new GeneralizedRcnnTransform(Options.MinSize, Options.MaxSize, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        _backbone = Child("backbone", new BackboneWithFpn(Options.Arch, Options.TrainableBackboneLayers, frozenBatchNorm: Options.FrozenBatchNorm,
            outChannels: Options.FpnChannels, initializeWeights: Options.InitializeWeights));
        _rpn = Child("rpn", new RegionProposalNetwork(AnchorGenerator.FasterRcnnDefault(), Options.FpnChannels, Options.Rpn));
        _roiHeads = Child("roi_heads", new RoiHeads(Options.FpnChannels, Options.NumClasses, Options.RepresentationSize, Options.RoiHeads));
    }

    /// <summary>The settings it was built with.</summary>
    public FasterRcnnOptions Options { get; }

    /// <summary>Normalisation, resizing and batching.</summary>
    public GeneralizedRcnnTransform Transform { get; }

    /// <summary>The ResNet-FPN backbone.</summary>
    public BackboneWithFpn Backbone => _backbone;

    /// <summary>The region proposal network.</summary>
    public RegionProposalNetwork Rpn => _rpn;

    /// <summary>The box heads.</summary>
    public RoiHeads RoiHeads => _roiHeads;

    /// <summary>
    /// Detections for each [3, H, W] image (RGB floats in [0, 1]) in its own pixels, best first. Runs without recording
    /// gradients. Equivalent to <c>model.eval(); model(images)</c>.
    /// </summary>
    public IReadOnlyList<DetectionResult> Predict(IReadOnlyList<Tensor> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var noGrad = GradMode.NoGrad();
        var originalSizes = images.Select(i => (i.Shape[i.Rank - 2], i.Shape[i.Rank - 1])).ToArray();
        var batch = Transform.Forward(images);
        var features = _backbone.Forward(batch.Tensors);
        var proposals = _rpn.Forward(batch, [.. features.Values]);
        var detections = _roiHeads.Forward(features, proposals, batch.ImageSizes);
        return GeneralizedRcnnTransform.Postprocess(detections, batch.ImageSizes, originalSizes);
    }

    /// <summary>
    /// Loads a torchvision state dict (e.g. from <see cref="SharpSeg.Nn.Interop.WeightFile"/>) through
    /// <see cref="Module.LoadStateDict"/>. Entries <c>*.num_batches_tracked</c> of layers that are FrozenBatchNorm2d here are
    /// dropped first, as torchvision's FrozenBatchNorm2d does when loading a BatchNorm2d checkpoint.
    /// </summary>
    public LoadReport LoadTorchvisionStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var frozen = NamedModules().Where(m => m.Module is FrozenBatchNorm2d).Select(m => m.Name + ".num_batches_tracked").ToHashSet();
        var kept = new Dictionary<string, Tensor>();
        foreach (var (key, value) in stateDict)
            if (!frozen.Contains(key)) kept[key] = value;
        return LoadStateDict(kept, strict);
    }
}
