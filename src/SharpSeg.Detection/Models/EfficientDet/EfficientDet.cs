using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// EfficientDet (Tan, Pang and Le, "EfficientDet: Scalable and Efficient Object Detection", CVPR 2020) with the state-dict
/// keys of rwightman's efficientdet-pytorch (<c>effdet.EfficientDet</c>): a timm EfficientNet <c>backbone</c>
/// (<see cref="TimmEfficientNetFeatures"/>, strides 8–32), a BiFPN <c>fpn</c> adding levels 6–7 (8 for D7x) by max-pooling and
/// fusing them with fast normalised fusion, and <c>class_net</c>/<c>box_net</c> heads whose separable convolutions are shared by
/// all levels while each level keeps its own BatchNorm. <see cref="Predict"/> is efficientdet-pytorch's <c>DetBenchPredict</c>
/// after its eval transform; <see cref="ComputeLosses"/> is <c>DetBenchTrain</c>.
/// <para>
/// Classes: SharpSeg's labels are 1-based with 0 for background, as torchvision's; EfficientDet has no background output, so
/// its class output c is label c + 1 (efficientdet-pytorch adds the same 1 to its detections). <see cref="NumClasses"/> is
/// therefore <see cref="EfficientDetConfig.NumForegroundClasses"/> + 1 (91 for COCO's 90 foreground classes).
/// </para>
/// <para>
/// Input: images of any size are scaled so the longer side fits <see cref="EfficientDetConfig.ImageSize"/> (bilinear,
/// aspect kept), normalised, and padded at the bottom/right with zeros (the mean before normalisation), as
/// efficientdet-pytorch's <c>ResizePad</c>; detections are clipped to the scaled image and mapped back to its pixels.
/// </para>
/// <para>
/// Weights: a state dict of efficientdet-pytorch's model of the same configuration (e.g. its <c>efficientdet_d0</c>
/// release, 90 foreground classes) loads with <c>LoadStateDict(WeightFile.Load(path))</c>, keys unchanged.
/// </para>
/// </summary>
public sealed class EfficientDet : DetectionModel
{
    private readonly TimmEfficientNetFeatures _backbone;
    private readonly BiFpn _fpn;
    private readonly EfficientDetHead _classNet, _boxNet;

    /// <summary>Builds the model with efficientdet-pytorch's initialisation (timm's for the backbone).</summary>
    /// <param name="config">The configuration, e.g. <see cref="EfficientDetConfig.EfficientDetD0"/>; see <see cref="EfficientDetConfig.FromName"/>.</param>
    public EfficientDet(EfficientDetConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _backbone = Child("backbone", new TimmEfficientNetFeatures(config.Backbone, config.BackboneDropPathRate));
        _fpn = Child("fpn", new BiFpn(config, _backbone.FeatureChannels));
        _classNet = Child("class_net", new EfficientDetHead(config, config.NumForegroundClasses));
        _boxNet = Child("box_net", new EfficientDetHead(config, 4));
        Anchors = new EfficientDetAnchors(config);
        InitializeHeads();
    }

    /// <summary>Builds a registry preset (<c>efficientdet_d0</c> … <c>efficientdet_d7x</c>, <c>efficientdet_lite0</c>) for <paramref name="numClasses"/> classes including background.</summary>
    public static EfficientDet FromName(string name, int numClasses = 91)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 2);
        return new EfficientDet(EfficientDetConfig.FromName(name) with { NumForegroundClasses = numClasses - 1 });
    }

    /// <summary>The configuration.</summary>
    public EfficientDetConfig Config { get; }

    /// <summary>Classes including background: foreground classes + 1 (see the class remarks).</summary>
    public override int NumClasses => Config.NumForegroundClasses + 1;

    /// <summary>The anchors of <see cref="EfficientDetConfig.ImageSize"/>.</summary>
    public EfficientDetAnchors Anchors { get; }

    /// <summary>The backbone.</summary>
    public TimmEfficientNetFeatures Backbone => _backbone;

    /// <summary>
    /// Class logits [N, 9·classes, H, W] and box codes [N, 9·4, H, W] per level, finest first, for a normalised batch
    /// [N, 3, S, S] at the configured size S. Channel a·classes + c is anchor a's class c; a·4 + k its k-th of (ty, tx, th, tw).
    /// Equivalent to <c>EfficientDet.forward</c>.
    /// </summary>
    public (IReadOnlyList<Tensor> ClassOutputs, IReadOnlyList<Tensor> BoxOutputs) ForwardHeads(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Rank != 4 || batch.Shape[1] != 3 || batch.Shape[2] != Config.ImageSize || batch.Shape[3] != Config.ImageSize)
            throw new ShapeMismatchException("EfficientDet", $"{Config.Name} needs [N, 3, {Config.ImageSize}, {Config.ImageSize}] inputs (its anchors are laid out for that size), got {batch.Shape}");
        var levels = _fpn.Forward(_backbone.Forward(batch));
        return (_classNet.Forward(levels), _boxNet.Forward(levels));
    }

    /// <summary>
    /// Resizes, normalises and pads one [3, H, W] image in [0, 1] to the model input [1, 3, S, S]; returns it with the scale
    /// applied and the scaled image's extent (unrounded, as efficientdet-pytorch clips to it). Equivalent to
    /// efficientdet-pytorch's eval <c>ResizePad</c> + normalisation, on floats with bilinear interpolation.
    /// </summary>
    public (Tensor Input, double Scale, (double H, double W) Extent) Prepare(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Rank != 3 || image.Shape[0] != 3)
            throw new ShapeMismatchException("EfficientDet", $"an image must be [3, H, W] RGB, got {image.Shape}");
        int h = image.Shape[1], w = image.Shape[2], size = Config.ImageSize;
        double scale = Math.Min((double)size / h, (double)size / w);
        int scaledH = (int)(h * scale), scaledW = (int)(w * scale);
        var x = image.Unsqueeze(0);
        if (scaledH != h || scaledW != w)
            x = Functional.Interpolate(x, new Size2(scaledH, scaledW), mode: InterpolationMode.Bilinear, alignCorners: false);
        var mean = Tensor.FromArray((float[])Config.InputMean.Clone(), 1, 3, 1, 1);
        var std = Tensor.FromArray((float[])Config.InputStd.Clone(), 1, 3, 1, 1);
        x = (x - mean) / std;
        if (scaledH < size || scaledW < size) x = Functional.Pad(x, [0, size - scaledW, 0, size - scaledH]);
        return (x, scale, (h * scale, w * scale));
    }

    /// <summary>
    /// Detections for each [3, H, W] image (RGB in [0, 1]) in its own pixels, best first, at most
    /// <see cref="EfficientDetConfig.MaxDetectionsPerImage"/>, without a score threshold (as efficientdet-pytorch). Runs in
    /// evaluation mode without recording gradients, all images in one batch. Equivalent to <c>DetBenchPredict(model)(x, img_info)</c>.
    /// </summary>
    public override IReadOnlyList<DetectionResult> Predict(IReadOnlyList<Tensor> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var noGrad = GradMode.NoGrad();
        bool training = IsTraining;
        Eval();
        try
        {
            if (images.Count == 0) return [];
            var prepared = images.Select(Prepare).ToArray();
            var (classes, boxes) = ForwardHeads(Tensor.Cat(prepared.Select(p => p.Input).ToArray(), 0));
            return prepared.Select((p, n) => PostProcess(classes, boxes, n, p.Scale, p.Extent)).ToArray();
        }
        finally
        {
            if (training) Train();
        }
    }

    /// <summary>
    /// Detections of batch item <paramref name="item"/> from head outputs: the top <see cref="EfficientDetConfig.MaxDetectionPoints"/>
    /// logits over all levels, anchors and classes, their boxes decoded and clipped to <paramref name="extent"/>, scores by
    /// sigmoid, batched NMS per class, the first <see cref="EfficientDetConfig.MaxDetectionsPerImage"/> kept, boxes divided by
    /// <paramref name="scale"/> and classes + 1 as labels. Equivalent to efficientdet-pytorch's <c>_post_process</c> +
    /// <c>generate_detections</c> (without its zero padding to 100 rows).
    /// </summary>
    public DetectionResult PostProcess(IReadOnlyList<Tensor> classOutputs, IReadOnlyList<Tensor> boxOutputs, int item, double scale, (double H, double W) extent)
    {
        ArgumentNullException.ThrowIfNull(classOutputs);
        ArgumentNullException.ThrowIfNull(boxOutputs);
        int classes = Config.NumForegroundClasses;
        var logits = Flatten(classOutputs, classes, item);
        var codes = Flatten(boxOutputs, 4, item);
        if (logits.Length != Anchors.Count * classes || codes.Length != Anchors.Count * 4)
            throw new ShapeMismatchException("EfficientDet", $"head outputs hold {logits.Length / classes} and {codes.Length / 4} anchors, expected {Anchors.Count}");

        var top = TopK(logits, Math.Min(Config.MaxDetectionPoints, logits.Length));
        var boxes = new float[top.Length * 4];
        var scores = new float[top.Length];
        var labels = new long[top.Length];
        float limitX = (float)extent.W, limitY = (float)extent.H;
        for (int i = 0; i < top.Length; i++)
        {
            int anchor = top[i] / classes;
            var (x1, y1, x2, y2) = Anchors.Decode(codes[anchor * 4], codes[anchor * 4 + 1], codes[anchor * 4 + 2], codes[anchor * 4 + 3], anchor);
            boxes[i * 4] = Math.Clamp(x1, 0, limitX);
            boxes[i * 4 + 1] = Math.Clamp(y1, 0, limitY);
            boxes[i * 4 + 2] = Math.Clamp(x2, 0, limitX);
            boxes[i * 4 + 3] = Math.Clamp(y2, 0, limitY);
            scores[i] = 1f / (1f + MathF.Exp(-logits[top[i]]));
            labels[i] = top[i] % classes;
        }
        var keep = VisionOps.BatchedNms(Tensor.FromArray(boxes, top.Length, 4), Tensor.FromArray(scores, top.Length),
            Tensor.FromArray(labels, top.Length), Config.NmsThreshold).ToArray<long>();
        int count = Math.Min(keep.Length, Config.MaxDetectionsPerImage);
        var keptBoxes = new float[count * 4];
        var keptScores = new float[count];
        var keptLabels = new long[count];
        float back = (float)(1 / scale);
        for (int i = 0; i < count; i++)
        {
            int k = (int)keep[i];
            for (int j = 0; j < 4; j++) keptBoxes[i * 4 + j] = boxes[k * 4 + j] * back;
            keptScores[i] = scores[k];
            keptLabels[i] = labels[k] + 1;
        }
        return new DetectionResult(Tensor.FromArray(keptBoxes, count, 4), Tensor.FromArray(keptScores, count), Tensor.FromArray(keptLabels, count));
    }

    /// <summary>
    /// The training losses: <c>loss_class</c>, the focal loss (alpha, gamma of the config) summed over anchors and classes, and
    /// <c>loss_box</c>, the Huber loss (delta 0.1) of the matched anchors' codes summed, ×<see cref="EfficientDetConfig.BoxLossWeight"/>,
    /// the two divided by (matched anchors in the batch + 1) and the box loss also by 4, so their sum is efficientdet-pytorch's
    /// total <c>loss</c>; note its <c>box_loss</c> output is before the weight of 50. Images are prepared as in
    /// <see cref="Predict"/> and batched; target boxes (in the images' pixels) are scaled with them and clipped, and those left
    /// empty are dropped as its <c>ResizePad</c> does. BatchNorm uses batch statistics unless the model is in evaluation mode.
    /// <paramref name="random"/> is unused (no sampling). Equivalent to <c>DetBenchTrain(model)(x, target)</c>.
    /// </summary>
    public override IReadOnlyDictionary<string, Tensor> ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<RcnnTarget> targets, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        if (images.Count == 0 || targets.Count != images.Count)
            throw new ArgumentException($"EfficientDet: {images.Count} images and {targets.Count} targets; need the same positive number.", nameof(targets));
        int batch = images.Count, anchors = Anchors.Count, classes = Config.NumForegroundClasses;
        var inputs = new Tensor[batch];
        var oneHot = new float[batch * anchors * classes];
        var boxTargets = new float[batch * anchors * 4];
        int positives = 0;
        for (int n = 0; n < batch; n++)
        {
            var (input, scale, _) = Prepare(images[n]);
            inputs[n] = input;
            var (boxes, labels) = ScaledTarget(targets[n], n, scale, images[n]);
            var (cls, codes, matched) = Anchors.Label(boxes, labels, Config.MatchThreshold);
            positives += matched;
            for (int a = 0; a < anchors; a++)
                if (cls[a] >= 0) oneHot[(n * anchors + a) * classes + cls[a]] = 1f;
            codes.CopyTo(boxTargets, n * anchors * 4);
        }
        var (classOutputs, boxOutputs) = ForwardHeads(Tensor.Cat(inputs, 0));
        float normaliser = positives + 1f;
        var logits = FlattenLevels(classOutputs, classes);
        var classLoss = VisionOps.SigmoidFocalLoss(logits, Tensor.FromArray(oneHot, batch, anchors, classes), Config.Alpha, Config.Gamma,
            Reduction.Sum) / normaliser;
        var boxCodes = FlattenLevels(boxOutputs, 4);
        var boxTarget = Tensor.FromArray(boxTargets, batch, anchors, 4);
        var mask = Tensor.FromArray(boxTargets.Select(v => v != 0 ? 1f : 0f).ToArray(), batch, anchors, 4);
        var error = (boxCodes - boxTarget).Abs();
        var quadratic = error.Clamp(max: Config.HuberDelta);
        var huber = 0.5f * quadratic.Square() + Config.HuberDelta * (error - quadratic);
        var boxLoss = (huber * mask).Sum() * (Config.BoxLossWeight / (normaliser * 4));
        return new OrderedDictionary<string, Tensor> { ["loss_class"] = classLoss, ["loss_box"] = boxLoss };
    }

    /// <summary>The sides of levels 0…<paramref name="maxLevel"/> for a square input: each the previous halved, rounding up (efficientdet-pytorch's <c>get_feat_sizes</c>).</summary>
    public static IReadOnlyList<(int H, int W)> LevelSizes(int imageSize, int maxLevel)
    {
        var sizes = new List<(int H, int W)> { (imageSize, imageSize) };
        for (int l = 1; l <= maxLevel; l++) sizes.Add(((sizes[^1].H - 1) / 2 + 1, (sizes[^1].W - 1) / 2 + 1));
        return sizes;
    }

    internal static Tensor Activate(Tensor x, EfficientDetActivation activation) =>
        activation == EfficientDetActivation.Relu6 ? x.Relu6() : x.Silu();

    // Target boxes scaled into the model input, clipped to the scaled image (or the input, if smaller) and the empty ones
    // dropped, as ResizePad; labels checked against the class count.
    private (float[] Boxes, long[] Labels) ScaledTarget(RcnnTarget target, int index, double scale, Tensor image)
    {
        if (target.Boxes.Rank != 2 || target.Boxes.Shape[1] != 4 || target.Labels.Rank != 1 || target.Labels.Shape[0] != target.Boxes.Shape[0])
            throw new ShapeMismatchException("EfficientDet", $"target {index} needs boxes [K, 4] and labels [K], got {target.Boxes.Shape} and {target.Labels.Shape}");
        var boxes = target.Boxes.ToArray();
        var labels = target.Labels.To(DType.Int64).ToArray<long>();
        float limitY = Math.Min((int)(image.Shape[1] * scale), Config.ImageSize), limitX = Math.Min((int)(image.Shape[2] * scale), Config.ImageSize);
        var keptBoxes = new List<float>();
        var keptLabels = new List<long>();
        for (int k = 0; k < labels.Length; k++)
        {
            if (labels[k] < 1 || labels[k] > Config.NumForegroundClasses)
                throw new ArgumentException($"EfficientDet: target {index} box {k} has label {labels[k]}, outside [1, {Config.NumForegroundClasses}] (0 is background).");
            float x1 = Math.Clamp((float)(boxes[k * 4] * scale), 0, limitX), y1 = Math.Clamp((float)(boxes[k * 4 + 1] * scale), 0, limitY);
            float x2 = Math.Clamp((float)(boxes[k * 4 + 2] * scale), 0, limitX), y2 = Math.Clamp((float)(boxes[k * 4 + 3] * scale), 0, limitY);
            if (!(x1 < x2 && y1 < y2)) continue;
            keptBoxes.AddRange([x1, y1, x2, y2]);
            keptLabels.Add(labels[k]);
        }
        return ([.. keptBoxes], [.. keptLabels]);
    }

    // [N, A·K, H, W] per level → [N, ΣHWA, K] (position-major, then anchor, then the K outputs), differentiable.
    private static Tensor FlattenLevels(IReadOnlyList<Tensor> outputs, int perAnchor) =>
        Tensor.Cat(outputs.Select(o => o.Permute(0, 2, 3, 1).Reshape(o.Shape[0], -1, perAnchor)).ToArray(), 1);

    // Batch item `item` of [N, A·K, H, W] maps as one flat [ΣHWA·K] array in FlattenLevels' order: a direct transpose of
    // each map's contiguous data, since the logits of a large model (4.4 M for D0) make the tensor route's copies costly.
    internal static float[] Flatten(IReadOnlyList<Tensor> outputs, int perAnchor, int item)
    {
        var result = new float[outputs.Sum(o => o.Shape.Numel / o.Shape[0])];
        int offset = 0;
        foreach (var output in outputs)
        {
            int channels = output.Shape[1], positions = output.Shape[2] * output.Shape[3];
            var data = output.Narrow(0, item, 1).Contiguous().ToArray();
            for (int c = 0; c < channels; c++)
            {
                int source = c * positions;
                for (int p = 0; p < positions; p++) result[offset + p * channels + c] = data[source + p];
            }
            offset += channels * positions;
        }
        return result;
    }

    // Indices of the k largest values, largest first (ties: lower index first), through a k-sized min-heap. Values arrive
    // by increasing index, so one equal to the heap's smallest ranks below it and only larger values need the heap.
    internal static int[] TopK(float[] values, int k)
    {
        var heap = new PriorityQueue<int, (float Value, int NegIndex)>(k + 1);
        float smallest = float.NegativeInfinity;
        for (int i = 0; i < values.Length; i++)
        {
            if (heap.Count < k) heap.Enqueue(i, (values[i], -i));
            else if (values[i] > smallest) heap.EnqueueDequeue(i, (values[i], -i));
            else continue;
            if (heap.Count == k) smallest = heap.TryPeek(out _, out var least) ? least.Value : smallest;
        }
        var result = new int[heap.Count];
        for (int i = result.Length - 1; i >= 0; i--) result[i] = heap.Dequeue();
        return result;
    }

    // efficientdet-pytorch's _init_weight: BiFPN convolutions Glorot-uniform (fans over groups), head convolutions
    // variance-scaling normal (std √(1 / fan_in)), zero biases except the class prediction's prior −log((1 − 0.01) / 0.01),
    // BatchNorm weight 1 and bias 0; edge weights start at 1.
    private void InitializeHeads()
    {
        foreach (var module in _fpn.Modules())
            if (module is Conv2d conv)
            {
                var (fanIn, fanOut) = Fans(conv);
                double limit = Math.Sqrt(3.0 / Math.Max(1.0, (fanIn + fanOut) / 2.0));
                Init.Uniform(conv.Weight, -limit, limit);
                if (conv.Bias is { } bias) Init.Zeros(bias);
            }
        foreach (var head in new[] { _classNet, _boxNet })
            foreach (var module in head.Modules())
                if (module is Conv2d conv)
                {
                    Init.Normal(conv.Weight, 0, Math.Sqrt(1.0 / Math.Max(1.0, Fans(conv).FanIn)));
                    if (conv.Bias is { } bias) Init.Zeros(bias);
                }
        if (_classNet.Predict.Pointwise.Bias is { } prior) Init.Constant(prior, -Math.Log((1 - 0.01) / 0.01));
    }

    private static (double FanIn, double FanOut) Fans(Conv2d conv)
    {
        var w = conv.Weight.Shape;
        double receptive = w[2] * w[3];
        return (w[1] * receptive, w[0] * receptive / conv.Options.Groups);
    }
}
