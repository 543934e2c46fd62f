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
/// (see <see cref="LoadTorchvisionStateDict"/>); <see cref="Predict"/> for inference, <see cref="Losses"/> for training. Equivalent
/// to <c>torchvision.models.detection.fasterrcnn_resnet50_fpn</c> (other ResNets through <see cref="FasterRcnnOptions.Arch"/>,
/// as torchvision's <c>resnet_fpn_backbone</c>) in eval mode.
/// </summary>
public class FasterRcnn : DetectionModel
{
    private readonly DetectionBackbone _backbone;
    private readonly RegionProposalNetwork _rpn;
    private readonly RoiHeads _roiHeads;

    /// <summary>Builds the model with torchvision's initialisation.</summary>
    /// <param name="options">Settings; <see cref="FasterRcnnOptions.Arch"/> and the FPN settings apply only when no backbone is given.</param>
    /// <param name="backbone">
    /// Another backbone (torchvision's <c>FasterRCNN(backbone, …)</c>), e.g. a MobileNet or VGG one; default the ResNet-FPN of
    /// <paramref name="options"/>.
    /// </param>
    /// <param name="anchorGenerator">The RPN's anchors (torchvision's <c>rpn_anchor_generator</c>); default five FPN levels of 32…512, ratios 0.5/1/2.</param>
    /// <param name="boxRoiPool">The box pooler (torchvision's <c>box_roi_pool</c>); default 7×7 over maps "0"…"3", sampling 2.</param>
    public FasterRcnn(FasterRcnnOptions? options = null, DetectionBackbone? backbone = null, AnchorGenerator? anchorGenerator = null,
        MultiScaleRoIAlign? boxRoiPool = null)
        : this(options, backbone, anchorGenerator, boxRoiPool, maskBranch: null)
    {
    }

    /// <summary>
    /// Builds the model with a mask branch made for the backbone's channel count (<see cref="MaskRcnn"/>, as torchvision's
    /// <c>MaskRCNN</c> extends <c>FasterRCNN</c>).
    /// </summary>
    private protected FasterRcnn(FasterRcnnOptions? options, DetectionBackbone? backbone, AnchorGenerator? anchorGenerator,
        MultiScaleRoIAlign? boxRoiPool, Func<int, MaskBranch>? maskBranch)
    {
        Options = options ?? new FasterRcnnOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.NumClasses, 2, nameof(Options.NumClasses));
        Transform = new GeneralizedRcnnTransform(Options.MinSize, Options.MaxSize, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        _backbone = Child("backbone", backbone ?? new BackboneWithFpn(Options.Arch, Options.TrainableBackboneLayers, frozenBatchNorm: Options.FrozenBatchNorm,
            outChannels: Options.FpnChannels, initializeWeights: Options.InitializeWeights));
        _rpn = Child("rpn", new RegionProposalNetwork(anchorGenerator ?? AnchorGenerator.FasterRcnnDefault(), _backbone.OutChannels, Options.Rpn));
        _roiHeads = Child("roi_heads", new RoiHeads(_backbone.OutChannels, Options.NumClasses, Options.RepresentationSize, Options.RoiHeads, boxRoiPool,
            maskBranch?.Invoke(_backbone.OutChannels)));
    }

    /// <inheritdoc/>
    public override int NumClasses => Options.NumClasses;

    /// <summary>The settings it was built with.</summary>
    public FasterRcnnOptions Options { get; }

    /// <summary>Normalisation, resizing and batching.</summary>
    public GeneralizedRcnnTransform Transform { get; }

    /// <summary>The backbone (by default the ResNet-FPN <see cref="BackboneWithFpn"/>).</summary>
    public DetectionBackbone Backbone => _backbone;

    /// <summary>The region proposal network.</summary>
    public RegionProposalNetwork Rpn => _rpn;

    /// <summary>The box heads (and the mask branch of <see cref="MaskRcnn"/>).</summary>
    public RoiHeads RoiHeads => _roiHeads;

    /// <summary>
    /// Detections for each [3, H, W] image (RGB floats in [0, 1]) in its own pixels, best first. Runs without recording
    /// gradients. Equivalent to <c>model.eval(); model(images)</c>.
    /// </summary>
    public override IReadOnlyList<DetectionResult> Predict(IReadOnlyList<Tensor> images)
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
    /// The four training losses (five with <see cref="MaskRcnn"/>'s <c>loss_mask</c>) for <paramref name="images"/> and their
    /// <paramref name="targets"/> (boxes and masks in the images' own pixels, resized with the images: masks by nearest
    /// neighbour as torchvision), differentiable with respect to every trainable parameter; sum them for the total as
    /// torchvision's references do. Draws the samplers' subsets from <paramref name="random"/> (default
    /// <see cref="Engine.Random"/>). Equivalent to <c>model.train(); model(images, targets)</c>.
    /// </summary>
    public FasterRcnnLosses Losses(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget> targets, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count != images.Count)
            throw new ArgumentException($"FasterRcnn: {images.Count} images but {targets.Count} targets.", nameof(targets));
        random ??= Engine.Random;
        for (int i = 0; i < targets.Count; i++) CheckTarget(targets[i], images[i], i);
        var batch = Transform.Forward(images);
        var resized = targets.Select((t, i) => t with
        {
            Boxes = GeneralizedRcnnTransform.ResizeBoxes(t.Boxes, (images[i].Shape[1], images[i].Shape[2]), batch.ImageSizes[i]),
            Masks = _roiHeads.HasMask && t.Masks is not null ? GeneralizedRcnnTransform.ResizeMasks(t.Masks, batch.ImageSizes[i]) : null,
            // Byte masks stay bytes (a quarter of the float tensor) until the mask loss projects them to M×M.
            MaskBytes = _roiHeads.HasMask && t.Masks is null && t.MaskBytes is { } bytes
                ? Data.DetectionGeometry.ResizeMasksNearest(bytes, batch.ImageSizes[i].H, batch.ImageSizes[i].W) : null,
        }).ToArray();
        var features = _backbone.Forward(batch.Tensors);
        var (proposals, objectnessLoss, rpnBoxLoss) = _rpn.ForwardTraining(batch, [.. features.Values], resized, random);
        var (classifierLoss, boxLoss, maskLoss) = _roiHeads.ForwardTraining(features, proposals, batch.ImageSizes, resized, random);
        return new FasterRcnnLosses(classifierLoss, boxLoss, objectnessLoss, rpnBoxLoss, maskLoss);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, Tensor> ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget> targets, Random? random = null) =>
        Losses(images, targets, random).ToDictionary();

    // torchvision refuses boxes with x2 <= x1 or y2 <= y1 in training; so do we, naming the image and box.
    private void CheckTarget(RcnnTarget target, Tensor imageTensor, int image)
    {
        if (target.Boxes.Rank != 2 || target.Boxes.Shape[1] != 4 || target.Labels.Rank != 1 || target.Labels.Shape[0] != target.Boxes.Shape[0])
            throw new ShapeMismatchException(GetType().Name, $"target {image} needs boxes [K, 4] and labels [K], got {target.Boxes.Shape} and {target.Labels.Shape}");
        // Mask R-CNN's loss crops every object's mask; masks must cover the image as given, one per box.
        var maskShape = target.Masks is { } floatMasks ? floatMasks.Shape.ToString()
            : target.MaskBytes is { } byteMasks ? $"[{byteMasks.Count}, {byteMasks.Height}, {byteMasks.Width}] bytes" : "none";
        bool masksFit = target.Masks is { Rank: 3 } masks
            ? masks.Shape[0] == target.Boxes.Shape[0] && masks.Shape[1] == imageTensor.Shape[1] && masks.Shape[2] == imageTensor.Shape[2]
            : target.MaskBytes is { } b && b.Count == target.Boxes.Shape[0] && b.Height == imageTensor.Shape[1] && b.Width == imageTensor.Shape[2];
        if (_roiHeads.HasMask && !masksFit)
            throw new ShapeMismatchException(GetType().Name, $"target {image} needs masks [{target.Boxes.Shape[0]}, {imageTensor.Shape[1]}, {imageTensor.Shape[2]}] "
                + $"(one per box, the image's size), got {maskShape}");
        var boxes = target.Boxes.ToArray();
        for (int k = 0; k < boxes.Length / 4; k++)
            if (!(boxes[k * 4 + 2] > boxes[k * 4] && boxes[k * 4 + 3] > boxes[k * 4 + 1]))
                throw new ArgumentException($"{GetType().Name}: target {image} box {k} ({string.Join(", ", boxes[(k * 4)..(k * 4 + 4)])}) has no positive width and height.");
        foreach (long label in target.Labels.To(DType.Int64).ToArray<long>())
            if (label < 1 || label >= Options.NumClasses)
                throw new ArgumentException($"{GetType().Name}: target {image} has label {label}, outside [1, {Options.NumClasses}) (0 is background).");
    }

    /// <summary>
    /// Loads a torchvision state dict (e.g. from <see cref="SharpSeg.Nn.Interop.WeightFile"/>) through
    /// <see cref="Module.LoadStateDict"/>. Entries <c>*.num_batches_tracked</c> of layers that are FrozenBatchNorm2d here are
    /// dropped first, as torchvision's FrozenBatchNorm2d does when loading a BatchNorm2d checkpoint, and Mask R-CNN's
    /// pre-0.13 keys <c>roi_heads.mask_head.mask_fcn{i}.*</c> (the published COCO file's) are renamed to
    /// <c>roi_heads.mask_head.{i − 1}.0.*</c>, as <c>MaskRCNNHeads._load_from_state_dict</c> does.
    /// </summary>
    public LoadReport LoadTorchvisionStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var frozen = NamedModules().Where(m => m.Module is FrozenBatchNorm2d).Select(m => m.Name + ".num_batches_tracked").ToHashSet();
        var kept = new Dictionary<string, Tensor>();
        const string oldMaskPrefix = "roi_heads.mask_head.mask_fcn";
        foreach (var (key, value) in stateDict)
        {
            if (frozen.Contains(key)) continue;
            kept[key.StartsWith(oldMaskPrefix, StringComparison.Ordinal) ? RenameOldMaskKey(key[oldMaskPrefix.Length..]) ?? key : key] = value;
        }
        return LoadStateDict(kept, strict);
    }

    // "{i}.weight" after "mask_fcn" becomes "roi_heads.mask_head.{i - 1}.0.weight"; anything else stays as it was.
    private static string? RenameOldMaskKey(string rest)
    {
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && int.TryParse(rest[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int layer) && layer >= 1
            ? $"roi_heads.mask_head.{layer - 1}.0{rest[dot..]}"
            : null;
    }
}

/// <summary>
/// The training losses of <see cref="FasterRcnn"/> and <see cref="MaskRcnn"/>, each a scalar with gradients. Equivalent to
/// torchvision's loss dict <c>loss_classifier</c>, <c>loss_box_reg</c>, (<c>loss_mask</c>,) <c>loss_objectness</c>,
/// <c>loss_rpn_box_reg</c>.
/// </summary>
/// <param name="Classifier"><c>loss_classifier</c>: cross-entropy of the sampled proposals' class logits.</param>
/// <param name="BoxReg"><c>loss_box_reg</c>: smooth-L1 of the positives' box deltas.</param>
/// <param name="Objectness"><c>loss_objectness</c>: the RPN's BCE over sampled anchors.</param>
/// <param name="RpnBoxReg"><c>loss_rpn_box_reg</c>: the RPN's smooth-L1 over positive anchors.</param>
/// <param name="Mask"><c>loss_mask</c>: Mask R-CNN's mean BCE of the positives' masks; null for Faster R-CNN.</param>
public sealed record FasterRcnnLosses(Tensor Classifier, Tensor BoxReg, Tensor Objectness, Tensor RpnBoxReg, Tensor? Mask = null)
{
    /// <summary>The sum of all, what torchvision's reference scripts minimise.</summary>
    public Tensor Total => Mask is null ? Classifier + BoxReg + Objectness + RpnBoxReg : Classifier + BoxReg + Mask + Objectness + RpnBoxReg;

    /// <summary>The losses by torchvision's loss-dict names, in its order.</summary>
    public IReadOnlyDictionary<string, Tensor> ToDictionary()
    {
        var losses = new OrderedDictionary<string, Tensor> { ["loss_classifier"] = Classifier, ["loss_box_reg"] = BoxReg };
        if (Mask is not null) losses["loss_mask"] = Mask;
        losses["loss_objectness"] = Objectness;
        losses["loss_rpn_box_reg"] = RpnBoxReg;
        return losses;
    }
}
