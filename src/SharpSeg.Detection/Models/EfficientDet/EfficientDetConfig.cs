namespace SharpSeg.Detection.Models;

/// <summary>
/// The timm EfficientNet an <see cref="EfficientDet"/> stands on: its compound scaling and flavour. Equivalent to the
/// <c>backbone_name</c> of efficientdet-pytorch's model configs (<c>efficientnet_b0</c>, <c>tf_efficientnet_b6</c>,
/// <c>tf_efficientnet_lite0</c>, …).
/// </summary>
/// <param name="Name">timm's model name, e.g. <c>efficientnet_b0</c>.</param>
/// <param name="WidthMultiplier">Channel multiplier (B0 1.0 … B7 2.0), rounded to multiples of 8 as timm's <c>round_channels</c>.</param>
/// <param name="DepthMultiplier">Block-count multiplier (B0 1.0 … B7 3.1), rounded up per stage.</param>
/// <param name="TfSamePadding">TensorFlow "SAME" padding (timm's <c>tf_</c> variants, <c>pad_type='same'</c>); false: PyTorch's symmetric padding.</param>
/// <param name="BatchNormEps">BatchNorm epsilon (timm 1e-5; the <c>tf_</c> variants 1e-3).</param>
/// <param name="Lite">EfficientNet-Lite: no squeeze-excite, ReLU6, the stem and the first and last stages not scaled.</param>
public sealed record EfficientNetBackboneConfig(string Name, double WidthMultiplier, double DepthMultiplier, bool TfSamePadding,
    double BatchNormEps, bool Lite = false)
{
    /// <summary>timm's <c>efficientnet_bN</c> (PyTorch padding, BatchNorm eps 1e-5) for N in 0…7.</summary>
    public static EfficientNetBackboneConfig EfficientNet(int n) => FromScaling($"efficientnet_b{n}", n, tf: false);

    /// <summary>timm's <c>tf_efficientnet_bN</c> (TF "SAME" padding, BatchNorm eps 1e-3) for N in 0…7.</summary>
    public static EfficientNetBackboneConfig TfEfficientNet(int n) => FromScaling($"tf_efficientnet_b{n}", n, tf: true);

    /// <summary>timm's <c>tf_efficientnet_lite0</c>.</summary>
    public static EfficientNetBackboneConfig TfEfficientNetLite0 { get; } = new("tf_efficientnet_lite0", 1.0, 1.0, true, 1e-3, Lite: true);

    private static readonly (double Width, double Depth)[] Scalings =
        [(1.0, 1.0), (1.0, 1.1), (1.1, 1.2), (1.2, 1.4), (1.4, 1.8), (1.6, 2.2), (1.8, 2.6), (2.0, 3.1)];

    private static EfficientNetBackboneConfig FromScaling(string name, int n, bool tf)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, Scalings.Length - 1);
        return new(name, Scalings[n].Width, Scalings[n].Depth, tf, tf ? 1e-3 : 1e-5);
    }
}

/// <summary>The activation of an <see cref="EfficientDet"/>'s BiFPN and heads (efficientdet-pytorch's <c>act_type</c>).</summary>
public enum EfficientDetActivation
{
    /// <summary><c>swish</c> (SiLU), every model but the lite ones.</summary>
    Swish,
    /// <summary><c>relu6</c>, the lite models.</summary>
    Relu6,
}

/// <summary>
/// One EfficientDet configuration: efficientdet-pytorch's model config (<c>effdet/config/model_config.py</c>) reduced to
/// what shapes the network and its training and inference, with that file's defaults. The named presets are
/// <see cref="EfficientDetD0"/> … <see cref="EfficientDetD7X"/> and <see cref="TfEfficientDetLite0"/>; <c>with</c> changes
/// anything else (a class count, a narrower BiFPN for tests).
/// </summary>
/// <param name="Name">efficientdet-pytorch's model name.</param>
/// <param name="Backbone">The EfficientNet.</param>
/// <param name="ImageSize">Square input side the anchors are laid out for (<c>image_size</c>); images are resized and padded to it.</param>
/// <param name="FpnChannels">BiFPN and head width (<c>fpn_channels</c>).</param>
/// <param name="FpnCellRepeats">BiFPN layers (<c>fpn_cell_repeats</c>).</param>
/// <param name="BoxClassRepeats">Separable convolutions in each head before its prediction (<c>box_class_repeats</c>).</param>
/// <param name="NumForegroundClasses">Object classes without background (efficientdet-pytorch's <c>num_classes</c>, 90 for COCO).</param>
/// <param name="MinLevel">Finest pyramid level (3: stride 8).</param>
/// <param name="MaxLevel">Coarsest level (7; 8 for D7x); levels past the backbone's last (5) come from max-pooling.</param>
/// <param name="AnchorScale">Anchor size over stride (<c>anchor_scale</c>: 4; 5 for D7, 3 for lite0).</param>
/// <param name="Activation">BiFPN and head activation.</param>
/// <param name="TfSamePadding">TF "SAME" padding in the BiFPN and heads (<c>pad_type='same'</c>); false: symmetric (<c>''</c>).</param>
/// <param name="WeightedFusion">
/// Fast normalised fusion, ReLU(w) / (Σ ReLU(w) + 1e-4) (<c>fpn_name=None</c>, weight method <c>fastattn</c>); false:
/// plain sum (<c>bifpn_sum</c>, D6, D7, D7x and the lite models).
/// </param>
/// <param name="RedundantBias">Biases before BatchNorm as the TF ports have (<c>redundant_bias</c>).</param>
/// <param name="Mean">Per-channel mean of the input normalisation (ImageNet's; 0.5 for lite).</param>
/// <param name="Std">Per-channel standard deviation of the input normalisation.</param>
/// <param name="BackboneDropPathRate">Stochastic depth of the backbone's last block while training (<c>backbone_args.drop_path_rate</c>).</param>
/// <param name="Alpha">Focal-loss alpha (0.25).</param>
/// <param name="Gamma">Focal-loss gamma (1.5).</param>
/// <param name="HuberDelta">Box-loss Huber delta (0.1).</param>
/// <param name="BoxLossWeight">Weight of the box loss in the total (50).</param>
/// <param name="MatchThreshold">IoU at and above which an anchor matches a ground-truth box (0.5).</param>
/// <param name="MaxDetectionPoints">Top-k logits over all levels kept before NMS (<c>max_detection_points</c>, 5000).</param>
/// <param name="MaxDetectionsPerImage">Detections kept after NMS (<c>max_det_per_image</c>, 100).</param>
/// <param name="NmsThreshold">Batched-NMS IoU threshold (0.5).</param>
public sealed record EfficientDetConfig(
    string Name,
    EfficientNetBackboneConfig Backbone,
    int ImageSize,
    int FpnChannels,
    int FpnCellRepeats,
    int BoxClassRepeats,
    int NumForegroundClasses = 90,
    int MinLevel = 3,
    int MaxLevel = 7,
    double AnchorScale = 4.0,
    EfficientDetActivation Activation = EfficientDetActivation.Swish,
    bool TfSamePadding = true,
    bool WeightedFusion = true,
    bool RedundantBias = true,
    float[]? Mean = null,
    float[]? Std = null,
    double BackboneDropPathRate = 0.2,
    float Alpha = 0.25f,
    float Gamma = 1.5f,
    float HuberDelta = 0.1f,
    float BoxLossWeight = 50f,
    float MatchThreshold = 0.5f,
    int MaxDetectionPoints = 5000,
    int MaxDetectionsPerImage = 100,
    float NmsThreshold = 0.5f)
{
    /// <summary>Anchor aspect ratios as (x, y) factors, efficientdet-pytorch's default.</summary>
    public static IReadOnlyList<(double X, double Y)> AspectRatios { get; } = [(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)];

    /// <summary>Octave scales per level (2^0, 2^(1/3), 2^(2/3)).</summary>
    public const int NumScales = 3;

    /// <summary>Anchors at each position: scales × aspect ratios (9).</summary>
    public static int AnchorsPerLocation => NumScales * AspectRatios.Count;

    /// <summary>Pyramid levels (5, or 6 for D7x).</summary>
    public int NumLevels => MaxLevel - MinLevel + 1;

    /// <summary>The normalisation mean (ImageNet's unless set).</summary>
    public float[] InputMean => Mean ?? [0.485f, 0.456f, 0.406f];

    /// <summary>The normalisation standard deviation (ImageNet's unless set).</summary>
    public float[] InputStd => Std ?? [0.229f, 0.224f, 0.225f];

    /// <summary>Checks the values, naming the bad one.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Backbone);
        if (MinLevel != 3)
            throw new ArgumentException($"EfficientDet ({Name}): min level must be 3 (the backbone gives strides 8, 16, 32), got {MinLevel}.");
        if (MaxLevel < 5)
            throw new ArgumentException($"EfficientDet ({Name}): max level must be at least 5, got {MaxLevel}.");
        if (ImageSize < 8)
            throw new ArgumentException($"EfficientDet ({Name}): image size must be at least 8 (one stride-8 cell), got {ImageSize}.");
        foreach (var (value, what) in new[] { (FpnChannels, "fpn channels"), (FpnCellRepeats, "fpn cell repeats"),
                     (BoxClassRepeats, "box/class repeats"), (NumForegroundClasses, "foreground classes"),
                     (MaxDetectionPoints, "max detection points"), (MaxDetectionsPerImage, "max detections per image") })
            if (value < 1) throw new ArgumentException($"EfficientDet ({Name}): {what} must be positive, got {value}.");
        if (InputMean.Length != 3 || InputStd.Length != 3)
            throw new ArgumentException($"EfficientDet ({Name}): mean and std need 3 values, got {InputMean.Length} and {InputStd.Length}.");
    }

    // efficientdet-pytorch's efficientdet_d0/d1/d2/d3: PyTorch-padded timm backbones, symmetric padding, no redundant bias.
    private static EfficientDetConfig PyTorchFlavour(int n, int size, int channels, int cells, int repeats) =>
        new($"efficientdet_d{n}", EfficientNetBackboneConfig.EfficientNet(n), size, channels, cells, repeats,
            TfSamePadding: false, RedundantBias: false, BackboneDropPathRate: n == 0 ? 0.1 : 0.2);

    /// <summary>efficientdet-pytorch's <c>efficientdet_d0</c>: efficientnet_b0, 512 px, BiFPN 64 × 3, heads 3.</summary>
    public static EfficientDetConfig EfficientDetD0 => PyTorchFlavour(0, 512, 64, 3, 3);

    /// <summary>efficientdet-pytorch's <c>efficientdet_d1</c>: efficientnet_b1, 640 px, BiFPN 88 × 4, heads 3.</summary>
    public static EfficientDetConfig EfficientDetD1 => PyTorchFlavour(1, 640, 88, 4, 3);

    /// <summary>efficientdet-pytorch's <c>efficientdet_d2</c>: efficientnet_b2, 768 px, BiFPN 112 × 5, heads 3.</summary>
    public static EfficientDetConfig EfficientDetD2 => PyTorchFlavour(2, 768, 112, 5, 3);

    /// <summary>efficientdet-pytorch's <c>efficientdet_d3</c>: efficientnet_b3, 896 px, BiFPN 160 × 6, heads 4.</summary>
    public static EfficientDetConfig EfficientDetD3 => PyTorchFlavour(3, 896, 160, 6, 4);

    /// <summary>
    /// efficientdet-pytorch's <c>efficientdet_d4</c>: efficientnet_b4, 1024 px, BiFPN 224 × 7, heads 4; as in that file the
    /// BiFPN keeps the default "SAME" padding and redundant biases while the backbone is PyTorch-padded.
    /// </summary>
    public static EfficientDetConfig EfficientDetD4 => new("efficientdet_d4", EfficientNetBackboneConfig.EfficientNet(4), 1024, 224, 7, 4);

    /// <summary>efficientdet-pytorch's <c>efficientdet_d5</c>: efficientnet_b5, 1280 px, BiFPN 288 × 7, heads 4 (BiFPN as D4).</summary>
    public static EfficientDetConfig EfficientDetD5 => new("efficientdet_d5", EfficientNetBackboneConfig.EfficientNet(5), 1280, 288, 7, 4);

    /// <summary>
    /// <c>tf_efficientdet_d6</c> (efficientdet-pytorch has no PyTorch-flavoured D6): tf_efficientnet_b6, 1280 px, BiFPN
    /// 384 × 8 with plain-sum fusion, heads 5.
    /// </summary>
    public static EfficientDetConfig EfficientDetD6 => new("tf_efficientdet_d6", EfficientNetBackboneConfig.TfEfficientNet(6), 1280, 384, 8, 5,
        WeightedFusion: false);

    /// <summary><c>tf_efficientdet_d7</c>: tf_efficientnet_b6, 1536 px, BiFPN 384 × 8 (plain sum), heads 5, anchor scale 5.</summary>
    public static EfficientDetConfig EfficientDetD7 => new("tf_efficientdet_d7", EfficientNetBackboneConfig.TfEfficientNet(6), 1536, 384, 8, 5,
        AnchorScale: 5.0, WeightedFusion: false);

    /// <summary><c>tf_efficientdet_d7x</c>: tf_efficientnet_b7, 1536 px, levels 3–8, BiFPN 384 × 8 (plain sum), heads 5.</summary>
    public static EfficientDetConfig EfficientDetD7X => new("tf_efficientdet_d7x", EfficientNetBackboneConfig.TfEfficientNet(7), 1536, 384, 8, 5,
        MaxLevel: 8, WeightedFusion: false);

    /// <summary>
    /// <c>tf_efficientdet_lite0</c>: tf_efficientnet_lite0, 320 px, BiFPN 64 × 3 (plain sum), heads 3, ReLU6, anchor scale 3,
    /// inputs normalised by mean and std 0.5, no stochastic depth.
    /// </summary>
    public static EfficientDetConfig TfEfficientDetLite0 => new("tf_efficientdet_lite0", EfficientNetBackboneConfig.TfEfficientNetLite0, 320, 64, 3, 3,
        AnchorScale: 3.0, Activation: EfficientDetActivation.Relu6, WeightedFusion: false, Mean: [0.5f, 0.5f, 0.5f], Std: [0.5f, 0.5f, 0.5f],
        BackboneDropPathRate: 0);

    /// <summary>
    /// The preset of a registry name: <c>efficientdet_d0</c> … <c>efficientdet_d7</c>, <c>efficientdet_d7x</c> (icevision's names)
    /// and <c>efficientdet_lite0</c>, or efficientdet-pytorch's own names of the same models (<c>tf_efficientdet_d6</c>, …).
    /// </summary>
    public static EfficientDetConfig FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "efficientdet_d0" => EfficientDetD0,
            "efficientdet_d1" => EfficientDetD1,
            "efficientdet_d2" => EfficientDetD2,
            "efficientdet_d3" => EfficientDetD3,
            "efficientdet_d4" => EfficientDetD4,
            "efficientdet_d5" => EfficientDetD5,
            "efficientdet_d6" or "tf_efficientdet_d6" => EfficientDetD6,
            "efficientdet_d7" or "tf_efficientdet_d7" => EfficientDetD7,
            "efficientdet_d7x" or "tf_efficientdet_d7x" => EfficientDetD7X,
            "efficientdet_lite0" or "tf_efficientdet_lite0" => TfEfficientDetLite0,
            _ => throw new ArgumentException(
                $"EfficientDet: unknown configuration '{name}'; known: {string.Join(", ", PresetNames)}.", nameof(name)),
        };
    }

    /// <summary>The registry names <see cref="FromName"/> knows.</summary>
    public static IReadOnlyList<string> PresetNames { get; } =
    [
        "efficientdet_d0", "efficientdet_d1", "efficientdet_d2", "efficientdet_d3", "efficientdet_d4", "efficientdet_d5",
        "efficientdet_d6", "efficientdet_d7", "efficientdet_d7x", "efficientdet_lite0",
    ];
}
