using SharpSeg.Detection.Models;
using SharpSeg.Models;

namespace SharpSeg.Detection;

/// <summary>
/// How a detection model is built, everything <see cref="DetectionModelRegistry.Create"/> needs and what a saved
/// <see cref="Detector"/> records so it can rebuild the same model. The defaults are torchvision's
/// <c>fasterrcnn_resnet50_fpn</c> keyword arguments; the small-image settings of the synthetic demo are
/// <see cref="SmallImages"/>.
/// </summary>
/// <param name="MinSize">Shorter image side after resizing (torchvision's <c>min_size</c>); null = the backbone builder's (800, or 320 for <c>mobilenet_v3_large_320_fpn</c>).</param>
/// <param name="MaxSize">Cap on the longer side (<c>max_size</c>); null = the backbone builder's (1333, or 640).</param>
/// <param name="TrainableBackboneLayers">
/// torchvision's <c>trainable_backbone_layers</c>; null = 3 with FrozenBatchNorm (as with pretrained weights), every stage
/// without it (from scratch). VGG has no such setting.
/// </param>
/// <param name="FrozenBatchNorm">FrozenBatchNorm2d in the body (torchvision with pretrained weights); false: BatchNorm2d, what training from scratch needs.</param>
/// <param name="FpnChannels">FPN width (256).</param>
/// <param name="RepresentationSize">Width of the two-MLP box head (1024).</param>
/// <param name="Rpn">RPN settings (sample counts, top-k); null = the backbone builder's (torchvision's, with a 0.05 score threshold for MobileNet).</param>
/// <param name="RoiHeads">Box head settings (sample counts, thresholds); null = torchvision's.</param>
/// <param name="AnchorSizes">
/// One anchor size per pyramid level, finest first, each with ratios 0.5, 1, 2 (as many as the backbone has levels: five
/// for the ResNet FPNs); null = the backbone builder's (32…512).
/// </param>
public sealed record DetectionModelOptions(
    int? MinSize = null,
    int? MaxSize = null,
    int? TrainableBackboneLayers = null,
    bool FrozenBatchNorm = true,
    int FpnChannels = 256,
    int RepresentationSize = 1024,
    RpnOptions? Rpn = null,
    RoiHeadsOptions? RoiHeads = null,
    IReadOnlyList<float>? AnchorSizes = null)
{
    /// <summary>
    /// Settings for small images trained from scratch (the synthetic demo): images kept at 128–160 px, every backbone layer
    /// trainable with ordinary BatchNorm, a 128-wide FPN and 256-wide box head, anchors 16…256 (objects of 10–80 px), and
    /// fewer RPN and RoI samples and proposals, since a 128² image holds a handful of objects.
    /// </summary>
    public static DetectionModelOptions SmallImages { get; } = new(
        MinSize: 128, MaxSize: 160, FrozenBatchNorm: false, FpnChannels: 128, RepresentationSize: 256,
        Rpn: new RpnOptions(PreNmsTopN: 300, PostNmsTopN: 100, PreNmsTopNTrain: 600, PostNmsTopNTrain: 300, BatchSizePerImage: 128),
        RoiHeads: new RoiHeadsOptions(BatchSizePerImage: 128), AnchorSizes: [16f, 32f, 64f, 128f, 256f]);
}

/// <summary>
/// Builds detection models by name: <c>faster_rcnn</c> and <c>mask_rcnn</c> over any backbone of
/// <see cref="DetectionBackbones"/> (<c>resnet18_fpn</c> … <c>wide_resnet101_2_fpn</c>, <c>mobilenet_v3_large_fpn</c>,
/// <c>mobilenet_v3_large_320_fpn</c>, <c>vgg11</c> … <c>vgg19_bn</c>), and <c>efficientdet_d0</c> … <c>efficientdet_d7x</c>,
/// <c>efficientdet_lite0</c> with their own backbones. Adding a model is one entry in <see cref="ModelFactories"/>, a
/// backbone one in <see cref="DetectionBackbones"/>. The
/// counterpart of torchvision's <c>torchvision.models.detection.get_model(name, num_classes=…)</c> and icevision's model
/// and backbone choice.
/// </summary>
public static class DetectionModelRegistry
{
    private delegate DetectionModel ModelFactory(int numClasses, Func<DetectionBackboneParts> backbone, DetectionModelOptions options);

    /// <summary>A model: its factory, whether it predicts masks, and the built-in backbone of a model that takes none by name.</summary>
    private sealed record ModelEntry(ModelFactory Create, bool PredictsMasks, string? OwnBackbone = null);

    private static readonly Dictionary<string, ModelEntry> ModelFactories = BuildModelFactories();

    private static Dictionary<string, ModelEntry> BuildModelFactories()
    {
        var models = new Dictionary<string, ModelEntry>(StringComparer.Ordinal)
        {
            ["faster_rcnn"] = new((numClasses, backbone, options) => Rcnn(numClasses, backbone(), options,
                (o, parts, anchors) => new FasterRcnn(o, parts.Backbone, anchors, parts.BoxRoiPool)), PredictsMasks: false),
            ["mask_rcnn"] = new((numClasses, backbone, options) => Rcnn(numClasses, backbone(), options,
                (o, parts, anchors) => new MaskRcnn(o, parts.Backbone, anchors, parts.BoxRoiPool)), PredictsMasks: true),
        };
        // EfficientDet's presets carry their own EfficientNet (the R-CNN options do not apply to them).
        foreach (var preset in EfficientDetConfig.PresetNames.Where(n => n.StartsWith("efficientdet_", StringComparison.Ordinal)))
            models[preset] = new((numClasses, _, _) => EfficientDet.FromName(preset, numClasses), PredictsMasks: false,
                OwnBackbone: EfficientDetConfig.FromName(preset).Backbone.Name);
        return models;
    }

    /// <summary>The model names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. ModelFactories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The backbone names, sorted.</summary>
    public static IReadOnlyList<string> BackboneNames => DetectionBackbones.Names;

    /// <summary>Whether model <paramref name="model"/> predicts instance masks (so its data should load masks and its evaluation score them).</summary>
    /// <exception cref="ArgumentException">An unknown model; the message lists the valid names.</exception>
    public static bool PredictsMasks(string model) => Entry(model).PredictsMasks;

    /// <summary>The backbone an R-CNN model gets when none is named (torchvision's <c>fasterrcnn_resnet50_fpn</c>).</summary>
    public const string DefaultBackbone = "resnet50_fpn";

    /// <summary>
    /// The backbone model <paramref name="model"/> gets when none is named: <see cref="DefaultBackbone"/> for the R-CNN
    /// models, the preset's own EfficientNet (e.g. <c>efficientnet_b0</c>, <c>tf_efficientnet_lite0</c>) for EfficientDet.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown model; the message lists the valid names.</exception>
    public static string DefaultBackboneFor(string model) => Entry(model).OwnBackbone ?? DefaultBackbone;

    /// <summary>The backbone names model <paramref name="model"/> accepts: <see cref="BackboneNames"/>, or only its own for EfficientDet.</summary>
    /// <exception cref="ArgumentException">An unknown model; the message lists the valid names.</exception>
    public static IReadOnlyList<string> BackboneNamesFor(string model) => Entry(model).OwnBackbone is { } own ? [own] : BackboneNames;

    /// <summary>
    /// Builds model <paramref name="model"/> with <paramref name="numClasses"/> classes (background included) over backbone
    /// <paramref name="backbone"/>, freshly initialised. Equivalent to
    /// <c>torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=…)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown model or backbone (the message lists the valid names), or fewer than 2 classes.</exception>
    /// <param name="model">A name from <see cref="Names"/>.</param>
    /// <param name="numClasses">Classes including the background.</param>
    /// <param name="backbone">A name from <see cref="BackboneNamesFor"/>; null = <see cref="DefaultBackboneFor"/>.</param>
    /// <param name="options">Sizes and head settings of the R-CNN models (EfficientDet's come from its preset); null = torchvision's defaults.</param>
    public static DetectionModel Create(string model, int numClasses, string? backbone = null, DetectionModelOptions? options = null)
    {
        var entry = Entry(model);
        backbone ??= entry.OwnBackbone ?? DefaultBackbone;
        if (entry.OwnBackbone is { } own ? backbone != own : !DetectionBackbones.Names.Contains(backbone))
            throw new ArgumentException(entry.OwnBackbone is null
                ? $"Unknown detection backbone '{backbone}'. Valid names: {string.Join(", ", BackboneNames)}."
                : $"Detection model '{model}' has its own backbone '{entry.OwnBackbone}'; backbone '{backbone}' cannot be used with it.", nameof(backbone));
        if (numClasses < 2)
            throw new ArgumentException($"Detection model '{model}' needs at least 2 classes (the background and one object class), got {numClasses}.", nameof(numClasses));
        options ??= new DetectionModelOptions();
        return entry.Create(numClasses, () => DetectionBackbones.Create(backbone, new DetectionBackboneOptions(
            options.FrozenBatchNorm, options.TrainableBackboneLayers, FpnChannels: options.FpnChannels)), options);
    }

    private static ModelEntry Entry(string model) =>
        ModelFactories.TryGetValue(model ?? throw new ArgumentNullException(nameof(model)), out var entry)
            ? entry
            : throw new ArgumentException($"Unknown detection model '{model}'. Valid names: {string.Join(", ", Names)}.", nameof(model));

    // The backbone builder's sizes, RPN settings and anchors unless the options name their own (torchvision's builders
    // pass min_size, rpn_score_thresh, … on to FasterRCNN the same way).
    private static DetectionModel Rcnn(int numClasses, DetectionBackboneParts parts, DetectionModelOptions options,
        Func<FasterRcnnOptions, DetectionBackboneParts, AnchorGenerator, DetectionModel> build)
    {
        var anchors = parts.AnchorGenerator;
        if (options.AnchorSizes is { } sizes)
        {
            if (sizes.Count != anchors.Sizes.Count)
                throw new ArgumentException($"Detection backbone '{parts.Name}' has {anchors.Sizes.Count} pyramid levels, but {sizes.Count} anchor sizes were given (one per level).", nameof(options));
            anchors = new AnchorGenerator([.. sizes.Select(s => (IReadOnlyList<float>)[s])], [.. sizes.Select(_ => (IReadOnlyList<float>)[0.5f, 1f, 2f])]);
        }
        var rcnn = new FasterRcnnOptions(NumClasses: numClasses, MinSize: options.MinSize ?? parts.MinSize, MaxSize: options.MaxSize ?? parts.MaxSize,
            Rpn: options.Rpn ?? parts.Rpn, RoiHeads: options.RoiHeads, FpnChannels: options.FpnChannels, RepresentationSize: options.RepresentationSize,
            FrozenBatchNorm: options.FrozenBatchNorm);
        return build(rcnn, parts, anchors);
    }
}
