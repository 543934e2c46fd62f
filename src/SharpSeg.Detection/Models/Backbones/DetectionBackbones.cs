using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Detection.Models;

/// <summary>Settings of <see cref="DetectionBackbones.Create"/>, torchvision's backbone keyword arguments.</summary>
/// <param name="FrozenBatchNorm">
/// FrozenBatchNorm2d in ResNet and MobileNet bodies and 3 trainable stages by default: torchvision's choice when weights
/// are pretrained (<c>is_trained</c>). False: BatchNorm2d and every stage trainable, torchvision's choice from scratch.
/// VGG keeps its own layers (BatchNorm2d in the <c>_bn</c> variants) either way, as icevision does.
/// </param>
/// <param name="TrainableLayers">
/// torchvision's <c>trainable_backbone_layers</c>: ResNet 0…5, MobileNetV3 0…6; null takes the default above. VGG has no
/// such setting (icevision trains all of it); giving one for VGG is an error.
/// </param>
/// <param name="PretrainedPath">
/// Optional ImageNet classification weights of the body in torchvision's keys (e.g. <c>resnet50-0676ba61.pth</c>, or the
/// zoo's safetensors of it), loaded strictly, the classifier ignored: torchvision's <c>weights_backbone</c>.
/// </param>
/// <param name="InitializeWeights">Draw the body's weights as torchvision does; false is cheaper when a full checkpoint is loaded right after.</param>
/// <param name="FpnChannels">FPN width (256).</param>
public sealed record DetectionBackboneOptions(
    bool FrozenBatchNorm = true,
    int? TrainableLayers = null,
    string? PretrainedPath = null,
    bool InitializeWeights = true,
    int FpnChannels = 256);

/// <summary>
/// A backbone together with what torchvision's builder of that backbone sets around it: the RPN's anchors, the box (and
/// mask) RoI poolers, the transform's min/max sizes and the RPN settings. <see cref="CreateFasterRcnn"/> assembles the
/// torchvision model.
/// </summary>
/// <param name="Name">The factory name it was built from.</param>
/// <param name="Backbone">The backbone.</param>
/// <param name="AnchorGenerator">Anchors for its maps (torchvision's <c>rpn_anchor_generator</c>).</param>
/// <param name="BoxRoiPool">7×7 box pooler over its maps (<c>box_roi_pool</c>).</param>
/// <param name="MaskRoiPool">14×14 mask pooler over the same maps (<c>mask_roi_pool</c>, for Mask R-CNN).</param>
/// <param name="MinSize">Shorter image side after resizing (<c>min_size</c>).</param>
/// <param name="MaxSize">Cap on the longer side (<c>max_size</c>).</param>
/// <param name="Rpn">RPN settings of the builder (e.g. <c>rpn_score_thresh</c> 0.05 for MobileNet).</param>
public sealed record DetectionBackboneParts(string Name, DetectionBackbone Backbone, AnchorGenerator AnchorGenerator, MultiScaleRoIAlign BoxRoiPool,
    MultiScaleRoIAlign MaskRoiPool, int MinSize, int MaxSize, RpnOptions Rpn)
{
    /// <summary>
    /// Faster R-CNN over these parts with <paramref name="numClasses"/> classes (background included). For
    /// "mobilenet_v3_large_320_fpn" this is <c>fasterrcnn_mobilenet_v3_large_320_fpn(num_classes=…)</c>, for "resnet50_fpn"
    /// <c>fasterrcnn_resnet50_fpn</c>, for "vgg16" torchvision's <c>FasterRCNN(vgg16().features, …)</c> as icevision builds it.
    /// </summary>
    public FasterRcnn CreateFasterRcnn(int numClasses, RoiHeadsOptions? roiHeads = null) =>
        new(new FasterRcnnOptions(NumClasses: numClasses, MinSize: MinSize, MaxSize: MaxSize, Rpn: Rpn, RoiHeads: roiHeads),
            Backbone, AnchorGenerator, BoxRoiPool);
}

/// <summary>
/// Builds the R-CNN backbones by name, as torchvision's <c>resnet_fpn_backbone</c> / <c>mobilenet_backbone</c> builders and
/// icevision's <c>backbones</c> list them: ResNet/ResNeXt/Wide-ResNet with FPN ("resnet50_fpn", "resnext50_32x4d_fpn",
/// "wide_resnet50_2_fpn" …), MobileNetV3-Large with FPN ("mobilenet_v3_large_fpn", "mobilenet_v3_large_320_fpn") and
/// single-map VGG ("vgg11" … "vgg19_bn").
/// </summary>
public static class DetectionBackbones
{
    private static readonly (string Name, TorchvisionResNetArch Arch)[] ResNets =
    [
        ("resnet18_fpn", TorchvisionResNetArch.ResNet18),
        ("resnet34_fpn", TorchvisionResNetArch.ResNet34),
        ("resnet50_fpn", TorchvisionResNetArch.ResNet50),
        ("resnet101_fpn", TorchvisionResNetArch.ResNet101),
        ("resnet152_fpn", TorchvisionResNetArch.ResNet152),
        ("resnext50_32x4d_fpn", TorchvisionResNetArch.ResNeXt50_32x4d),
        ("resnext101_32x8d_fpn", TorchvisionResNetArch.ResNeXt101_32x8d),
        ("wide_resnet50_2_fpn", TorchvisionResNetArch.WideResNet50_2),
        ("wide_resnet101_2_fpn", TorchvisionResNetArch.WideResNet101_2),
    ];

    private static readonly string[] MobileNets = ["mobilenet_v3_large_fpn", "mobilenet_v3_large_320_fpn"];

    private static readonly (string Name, int Depth, bool BatchNorm)[] Vggs =
    [
        ("vgg11", 11, false), ("vgg11_bn", 11, true), ("vgg13", 13, false), ("vgg13_bn", 13, true),
        ("vgg16", 16, false), ("vgg16_bn", 16, true), ("vgg19", 19, false), ("vgg19_bn", 19, true),
    ];

    /// <summary>Every name <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. ResNets.Select(r => r.Name), .. MobileNets, .. Vggs.Select(v => v.Name)];

    /// <summary>
    /// The backbone called <paramref name="name"/> with its builder's anchors, poolers, sizes and RPN settings:
    /// <list type="bullet">
    /// <item>"*_fpn" ResNets: <see cref="BackboneWithFpn"/> (maps "0"…"3", "pool"), anchors 32…512 one size per level with
    /// ratios 0.5/1/2, pooling over "0"…"3"; 800/1333 (<c>fasterrcnn_resnet50_fpn</c>'s).</item>
    /// <item>MobileNetV3-Large: <see cref="MobileNetV3FpnBackbone"/> (maps "0", "1", "pool", all at stride ≥ 32), anchors
    /// 32, 64, 128, 256, 512 on each of the three levels with ratios 0.5/1/2, pooling over "0" and "1", RPN score
    /// threshold 0.05; the "_320" variant resizes to 320/640 and keeps 150 proposals before and after NMS
    /// (<c>fasterrcnn_mobilenet_v3_large(_320)_fpn</c>'s).</item>
    /// <item>VGG: <see cref="VggBackbone"/> (one map "0", stride 32), anchors 32…512 with ratios 0.5/1/2 on that one level and
    /// pooling over "0" (torchvision's single-map recipe: icevision passes no anchors, and torchvision's five-level
    /// default is refused for one map); 800/1333.</item>
    /// </list>
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown (the message lists <see cref="Names"/>) or a setting does not apply.</exception>
    public static DetectionBackboneParts Create(string name, DetectionBackboneOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        options ??= new DetectionBackboneOptions();
        string key = name.Trim().ToLowerInvariant();
        RpnOptions rpn = new();
        if (ResNets.FirstOrDefault(r => r.Name == key) is { Name: not null } resnet)
        {
            var backbone = new BackboneWithFpn(resnet.Arch, options.TrainableLayers ?? (options.FrozenBatchNorm ? 3 : 5), frozenBatchNorm: options.FrozenBatchNorm,
                outChannels: options.FpnChannels, initializeWeights: options.InitializeWeights);
            if (options.PretrainedPath is { } path) backbone.Body.LoadPretrained(PretrainedBody.Read(backbone.Body, path));
            return new(key, backbone, AnchorGenerator.FasterRcnnDefault(), Pooler(["0", "1", "2", "3"], 7), Pooler(["0", "1", "2", "3"], 14), 800, 1333, rpn);
        }
        if (MobileNets.Contains(key))
        {
            var backbone = new MobileNetV3FpnBackbone(MobileNetV3Arch.Large, options.TrainableLayers ?? (options.FrozenBatchNorm ? 3 : 6),
                frozenBatchNorm: options.FrozenBatchNorm, outChannels: options.FpnChannels, initializeWeights: options.InitializeWeights);
            if (options.PretrainedPath is { } path) backbone.LoadPretrainedBody(path);
            var anchors = new AnchorGenerator([.. Enumerable.Repeat<IReadOnlyList<float>>([32f, 64f, 128f, 256f, 512f], 3)],
                [.. Enumerable.Repeat<IReadOnlyList<float>>([0.5f, 1f, 2f], 3)]);
            bool small = key == "mobilenet_v3_large_320_fpn";
            rpn = small ? rpn with { PreNmsTopN = 150, PostNmsTopN = 150, ScoreThresh = 0.05f } : rpn with { ScoreThresh = 0.05f };
            // torchvision's default poolers name "0"…"3"; only "0" and "1" exist here, and both are at stride 32, so the
            // level mapper sends every box to "0".
            return new(key, backbone, anchors, Pooler(["0", "1", "2", "3"], 7), Pooler(["0", "1", "2", "3"], 14), small ? 320 : 800, small ? 640 : 1333, rpn);
        }
        if (Vggs.FirstOrDefault(v => v.Name == key) is { Name: not null } vgg)
        {
            if (options.TrainableLayers is { } layers)
                throw new ArgumentException($"Detection backbone '{key}': VGG has no trainable_layers setting (it trains in full), got {layers}.", nameof(options));
            var backbone = new VggBackbone(vgg.Depth, vgg.BatchNorm, options.InitializeWeights);
            if (options.PretrainedPath is { } path) backbone.LoadPretrainedBody(path);
            var anchors = new AnchorGenerator([[32f, 64f, 128f, 256f, 512f]], [[0.5f, 1f, 2f]]);
            return new(key, backbone, anchors, Pooler(["0"], 7), Pooler(["0"], 14), 800, 1333, rpn);
        }
        throw new ArgumentException($"Unknown detection backbone '{name}'. Valid names: {string.Join(", ", Names)}.", nameof(name));
    }

    private static MultiScaleRoIAlign Pooler(string[] maps, int size) => new(maps, new Size2(size, size), samplingRatio: 2);
}

/// <summary>Reading ImageNet weights into a detection body.</summary>
internal static class PretrainedBody
{
    /// <summary>The file's tensors without the <c>num_batches_tracked</c> counters that <paramref name="body"/>'s FrozenBatchNorm2d layers lack.</summary>
    public static Dictionary<string, Tensor> Read(Module body, string path) => DropFrozenBatchCounters(body, WeightFile.Load(path));

    /// <summary>
    /// <paramref name="stateDict"/> without <c>*.num_batches_tracked</c> entries of layers that are FrozenBatchNorm2d in
    /// <paramref name="body"/>, as torchvision's FrozenBatchNorm2d drops them when loading a BatchNorm2d checkpoint.
    /// </summary>
    public static Dictionary<string, Tensor> DropFrozenBatchCounters(Module body, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var frozen = body.NamedModules().Where(m => m.Module is FrozenBatchNorm2d).Select(m => m.Name + ".num_batches_tracked").ToHashSet();
        return stateDict.Where(e => !frozen.Contains(e.Key)).ToDictionary(e => e.Key, e => e.Value);
    }
}
