using SharpSeg.Detection.Models;
using SharpSeg.Models;

namespace SharpSeg.Detection;

/// <summary>
/// How a detection model is built, everything <see cref="DetectionModelRegistry.Create"/> needs and what a saved
/// <see cref="Detector"/> records so it can rebuild the same model. The defaults are torchvision's
/// <c>fasterrcnn_resnet50_fpn</c> keyword arguments; the small-image settings of the synthetic demo are
/// <see cref="SmallImages"/>.
/// </summary>
/// <param name="MinSize">Shorter image side after resizing (torchvision's <c>min_size</c>, 800).</param>
/// <param name="MaxSize">Cap on the longer side (<c>max_size</c>, 1333).</param>
/// <param name="TrainableBackboneLayers">torchvision's <c>trainable_backbone_layers</c>: 3 as with pretrained weights, 5 from scratch.</param>
/// <param name="FrozenBatchNorm">FrozenBatchNorm2d in the body (torchvision with pretrained weights); false: BatchNorm2d, what training from scratch needs.</param>
/// <param name="FpnChannels">FPN width (256).</param>
/// <param name="RepresentationSize">Width of the two-MLP box head (1024).</param>
/// <param name="Rpn">RPN settings (sample counts, top-k); null = torchvision's.</param>
/// <param name="RoiHeads">Box head settings (sample counts, thresholds); null = torchvision's.</param>
/// <param name="AnchorSizes">One anchor size per FPN level, finest first, each with ratios 0.5, 1, 2; null = torchvision's 32…512.</param>
public sealed record DetectionModelOptions(
    int MinSize = 800,
    int MaxSize = 1333,
    int TrainableBackboneLayers = 3,
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
        MinSize: 128, MaxSize: 160, TrainableBackboneLayers: 5, FrozenBatchNorm: false, FpnChannels: 128, RepresentationSize: 256,
        Rpn: new RpnOptions(PreNmsTopN: 300, PostNmsTopN: 100, PreNmsTopNTrain: 600, PostNmsTopNTrain: 300, BatchSizePerImage: 128),
        RoiHeads: new RoiHeadsOptions(BatchSizePerImage: 128), AnchorSizes: [16f, 32f, 64f, 128f, 256f]);
}

/// <summary>
/// Builds detection models and backbones by name: <c>efficientdet_d0</c> … <c>efficientdet_d7x</c>, <c>efficientdet_lite0</c>, and <c>faster_rcnn</c> and <c>mask_rcnn</c> over <c>resnet18_fpn</c> … <c>wide_resnet101_2_fpn</c>.
/// Adding a model or backbone is one entry in <see cref="ModelFactories"/> or <see cref="BackboneFactories"/>. The
/// counterpart of torchvision's <c>torchvision.models.detection.get_model(name, num_classes=…)</c> and icevision's model
/// and backbone choice.
/// </summary>
public static class DetectionModelRegistry
{
    private delegate DetectionModel ModelFactory(int numClasses, Func<DetectionBackbone> backbone, DetectionModelOptions options);

    private delegate DetectionBackbone BackboneFactory(DetectionModelOptions options);

    /// <summary>A model: its factory, whether it predicts masks, and the built-in backbone of a model that takes none by name.</summary>
    private sealed record ModelEntry(ModelFactory Create, bool PredictsMasks, string? OwnBackbone = null);

    private static readonly Dictionary<string, ModelEntry> ModelFactories = BuildModelFactories();

    private static Dictionary<string, ModelEntry> BuildModelFactories()
    {
        var models = new Dictionary<string, ModelEntry>(StringComparer.Ordinal)
        {
            ["faster_rcnn"] = new((numClasses, backbone, options) => new FasterRcnn(FasterRcnnOptionsFor(numClasses, options), backbone(), Anchors(options)), PredictsMasks: false),
            ["mask_rcnn"] = new((numClasses, backbone, options) => new MaskRcnn(FasterRcnnOptionsFor(numClasses, options), backbone(), Anchors(options)), PredictsMasks: true),
        };
        // EfficientDet's presets carry their own EfficientNet (the R-CNN options do not apply to them).
        foreach (var preset in EfficientDetConfig.PresetNames.Where(n => n.StartsWith("efficientdet_", StringComparison.Ordinal)))
            models[preset] = new((numClasses, _, _) => EfficientDet.FromName(preset, numClasses), PredictsMasks: false,
                OwnBackbone: EfficientDetConfig.FromName(preset).Backbone.Name);
        return models;
    }

    private static readonly Dictionary<string, BackboneFactory> BackboneFactories = new(StringComparer.Ordinal)
    {
        ["resnet18_fpn"] = o => ResNetFpn(TorchvisionResNetArch.ResNet18, o),
        ["resnet34_fpn"] = o => ResNetFpn(TorchvisionResNetArch.ResNet34, o),
        ["resnet50_fpn"] = o => ResNetFpn(TorchvisionResNetArch.ResNet50, o),
        ["resnet101_fpn"] = o => ResNetFpn(TorchvisionResNetArch.ResNet101, o),
        ["resnet152_fpn"] = o => ResNetFpn(TorchvisionResNetArch.ResNet152, o),
        ["resnext50_32x4d_fpn"] = o => ResNetFpn(TorchvisionResNetArch.ResNeXt50_32x4d, o),
        ["resnext101_32x8d_fpn"] = o => ResNetFpn(TorchvisionResNetArch.ResNeXt101_32x8d, o),
        ["wide_resnet50_2_fpn"] = o => ResNetFpn(TorchvisionResNetArch.WideResNet50_2, o),
        ["wide_resnet101_2_fpn"] = o => ResNetFpn(TorchvisionResNetArch.WideResNet101_2, o),
    };

    /// <summary>The model names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. ModelFactories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The backbone names, sorted.</summary>
    public static IReadOnlyList<string> BackboneNames => [.. BackboneFactories.Keys.Order(StringComparer.Ordinal)];

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
        BackboneFactory? backboneFactory = null;
        if (entry.OwnBackbone is { } own
                ? backbone != own
                : !BackboneFactories.TryGetValue(backbone, out backboneFactory))
            throw new ArgumentException(entry.OwnBackbone is null
                ? $"Unknown detection backbone '{backbone}'. Valid names: {string.Join(", ", BackboneNames)}."
                : $"Detection model '{model}' has its own backbone '{entry.OwnBackbone}'; backbone '{backbone}' cannot be used with it.", nameof(backbone));
        if (numClasses < 2)
            throw new ArgumentException($"Detection model '{model}' needs at least 2 classes (the background and one object class), got {numClasses}.", nameof(numClasses));
        options ??= new DetectionModelOptions();
        return entry.Create(numClasses, () => backboneFactory!(options), options);
    }

    private static ModelEntry Entry(string model) =>
        ModelFactories.TryGetValue(model ?? throw new ArgumentNullException(nameof(model)), out var entry)
            ? entry
            : throw new ArgumentException($"Unknown detection model '{model}'. Valid names: {string.Join(", ", Names)}.", nameof(model));

    private static FasterRcnnOptions FasterRcnnOptionsFor(int numClasses, DetectionModelOptions options) => new(
        NumClasses: numClasses, MinSize: options.MinSize, MaxSize: options.MaxSize, Rpn: options.Rpn, RoiHeads: options.RoiHeads,
        FpnChannels: options.FpnChannels, RepresentationSize: options.RepresentationSize,
        TrainableBackboneLayers: options.TrainableBackboneLayers, FrozenBatchNorm: options.FrozenBatchNorm);

    private static AnchorGenerator? Anchors(DetectionModelOptions options) => options.AnchorSizes is { } sizes
        ? new AnchorGenerator([.. sizes.Select(s => (IReadOnlyList<float>)[s])], [.. sizes.Select(_ => (IReadOnlyList<float>)[0.5f, 1f, 2f])])
        : null;

    private static BackboneWithFpn ResNetFpn(TorchvisionResNetArch arch, DetectionModelOptions options) =>
        new(arch, options.TrainableBackboneLayers, frozenBatchNorm: options.FrozenBatchNorm, outChannels: options.FpnChannels);
}
