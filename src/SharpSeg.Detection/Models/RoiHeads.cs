using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// The box head: flatten the pooled RoI features, then two fully connected layers with ReLU (<c>fc6</c>, <c>fc7</c>).
/// Equivalent to <c>torchvision.models.detection.faster_rcnn.TwoMLPHead</c>.
/// </summary>
public sealed class TwoMlpHead : TensorModule
{
    private readonly Linear _fc6, _fc7;

    /// <summary>Builds the head for <paramref name="inChannels"/> = C·7·7 inputs and <paramref name="representationSize"/> (1024) outputs.</summary>
    public TwoMlpHead(int inChannels, int representationSize)
    {
        _fc6 = Child("fc6", new Linear(inChannels, representationSize));
        _fc7 = Child("fc7", new Linear(representationSize, representationSize));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        if (!InferenceOps.Applies) return _fc7.Forward(_fc6.Forward(x.Flatten(1)).Relu()).Relu();
        // Inference: each layer's fresh output takes its ReLU in place (torchvision's F.relu on a result nothing else holds).
        return InferenceOps.ReluInPlace(_fc7.Forward(InferenceOps.ReluInPlace(_fc6.Forward(x.Flatten(1)))));
    }
}

/// <summary>
/// Class logits (<c>cls_score</c>, including background as class 0) and per-class box deltas (<c>bbox_pred</c>, 4 per class).
/// Equivalent to <c>torchvision.models.detection.faster_rcnn.FastRCNNPredictor</c>.
/// </summary>
public sealed class FastRcnnPredictor : Module
{
    private readonly Linear _clsScore, _bboxPred;

    /// <summary>Builds the predictor for <paramref name="inChannels"/> features and <paramref name="numClasses"/> classes (background included).</summary>
    public FastRcnnPredictor(int inChannels, int numClasses)
    {
        _clsScore = Child("cls_score", new Linear(inChannels, numClasses));
        _bboxPred = Child("bbox_pred", new Linear(inChannels, numClasses * 4));
    }

    /// <summary>Logits [K, classes] and deltas [K, 4·classes]. Equivalent to <c>FastRCNNPredictor.forward</c>.</summary>
    public (Tensor Scores, Tensor BoxDeltas) Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var flat = x.Flatten(1);
        return (_clsScore.Forward(flat), _bboxPred.Forward(flat));
    }
}

/// <summary>Settings of <see cref="RoiHeads"/>, torchvision's <c>box_*</c> arguments and defaults.</summary>
/// <param name="ScoreThresh">Detections need a class probability above this (<c>box_score_thresh</c>, 0.05).</param>
/// <param name="NmsThresh">Per-class NMS IoU threshold (<c>box_nms_thresh</c>, 0.5).</param>
/// <param name="DetectionsPerImage">At most this many detections per image, best first (<c>box_detections_per_img</c>, 100).</param>
/// <param name="FgIouThresh">Training: proposals with IoU ≥ this are foreground (<c>box_fg_iou_thresh</c>, 0.5).</param>
/// <param name="BgIouThresh">Training: proposals with IoU &lt; this are background (<c>box_bg_iou_thresh</c>, 0.5).</param>
/// <param name="BatchSizePerImage">Training: proposals drawn per image (<c>box_batch_size_per_image</c>, 512).</param>
/// <param name="PositiveFraction">Training: largest foreground share of the draw (<c>box_positive_fraction</c>, 0.25).</param>
public sealed record RoiHeadsOptions(float ScoreThresh = 0.05f, float NmsThresh = 0.5f, int DetectionsPerImage = 100,
    float FgIouThresh = 0.5f, float BgIouThresh = 0.5f, int BatchSizePerImage = 512, float PositiveFraction = 0.25f);

/// <summary>
/// The second stage of Faster R-CNN: pools 7×7 features per proposal (<see cref="MultiScaleRoIAlign"/>, sampling 2),
/// runs <see cref="TwoMlpHead"/> and <see cref="FastRcnnPredictor"/>, decodes per-class boxes with weights (10, 10, 5, 5),
/// clips them, and per image keeps every (box, non-background class) pair scoring above the threshold, at least 0.01 wide
/// and high, after per-class NMS, best first. Keys <c>box_head.*</c>, <c>box_predictor.*</c>. Training
/// (<see cref="ForwardTraining"/>) returns torchvision's <c>fastrcnn_loss</c>. With a <see cref="MaskBranch"/> (Mask R-CNN,
/// keys <c>mask_head.*</c>, <c>mask_predictor.*</c>) each detection also gets its class's 28×28 mask probabilities and
/// training adds <c>maskrcnn_loss</c>. Equivalent to <c>torchvision.models.detection.roi_heads.RoIHeads</c> without keypoints.
/// </summary>
public sealed class RoiHeads : Module
{
    private readonly MultiScaleRoIAlign _boxRoiPool;
    private readonly TwoMlpHead _boxHead;
    private readonly FastRcnnPredictor _boxPredictor;
    private readonly BoxCoder _boxCoder = new((10f, 10f, 5f, 5f));
    private readonly MaskBranch? _mask;

    /// <summary>Builds the heads for pyramid maps of <paramref name="inChannels"/> channels.</summary>
    /// <param name="inChannels">Channels of the pyramid maps.</param>
    /// <param name="numClasses">Classes including background.</param>
    /// <param name="representationSize">Width of the two-MLP head.</param>
    /// <param name="options">Test and training settings.</param>
    /// <param name="boxRoiPool">The pooler (torchvision's <c>box_roi_pool</c>); default 7×7 over maps "0"…"3", sampling 2.</param>
    /// <param name="mask">Mask R-CNN's branch (torchvision's <c>mask_roi_pool</c>, <c>mask_head</c>, <c>mask_predictor</c>); null: boxes only.</param>
    public RoiHeads(int inChannels, int numClasses, int representationSize = 1024, RoiHeadsOptions? options = null, MultiScaleRoIAlign? boxRoiPool = null,
        MaskBranch? mask = null)
    {
        _boxRoiPool = boxRoiPool ?? new MultiScaleRoIAlign(["0", "1", "2", "3"], new Size2(7, 7), samplingRatio: 2);
        int bins = _boxRoiPool.OutputSize.H * _boxRoiPool.OutputSize.W;
        _boxHead = Child("box_head", new TwoMlpHead(inChannels * bins, representationSize));
        _boxPredictor = Child("box_predictor", new FastRcnnPredictor(representationSize, numClasses));
        if (mask is not null)
        {
            _mask = mask;
            Child("mask_head", mask.Head);
            Child("mask_predictor", mask.Predictor);
        }
        NumClasses = numClasses;
        Options = options ?? new RoiHeadsOptions();
    }

    /// <summary>Classes including background.</summary>
    public int NumClasses { get; }

    /// <summary>Test-time settings.</summary>
    public RoiHeadsOptions Options { get; }

    /// <summary>Whether the heads predict masks (torchvision's <c>has_mask()</c>).</summary>
    public bool HasMask => _mask is not null;

    /// <summary>The mask branch (Mask R-CNN), or null.</summary>
    public MaskBranch? Mask => _mask;

    /// <summary>
    /// Detections per image in the resized images' pixels, with [K, 1, M, M] mask probabilities (the sigmoid of the predicted
    /// class's logits) when the heads have a mask branch. Equivalent to <c>RoIHeads.forward</c> in eval mode.
    /// </summary>
    public IReadOnlyList<DetectionResult> Forward(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Tensor> proposals,
        IReadOnlyList<(int H, int W)> imageSizes)
    {
        var pooled = _boxRoiPool.Forward(features, proposals, imageSizes);
        var (logits, deltas) = _boxPredictor.Forward(_boxHead.Forward(pooled));
        var boxes = _boxCoder.DecodeSingle(deltas, Tensor.Cat(proposals)).ToArray();
        var scores = Functional.Softmax(logits, -1).ToArray();
        var results = new DetectionResult[proposals.Count];
        int row = 0;
        for (int i = 0; i < proposals.Count; i++)
        {
            int count = proposals[i].Shape[0];
            results[i] = Postprocess(boxes.AsSpan(row * NumClasses * 4, count * NumClasses * 4).ToArray(),
                scores.AsSpan(row * NumClasses, count * NumClasses).ToArray(), count, imageSizes[i]);
            row += count;
        }
        return _mask is null ? results : AddMasks(_mask, features, results, imageSizes);
    }

    // torchvision's maskrcnn_inference: the mask of each detection is the sigmoid of its own class's logit map.
    private static DetectionResult[] AddMasks(MaskBranch mask, IReadOnlyDictionary<string, Tensor> features, DetectionResult[] results,
        IReadOnlyList<(int H, int W)> imageSizes)
    {
        var logits = MaskLogits(mask, features, [.. results.Select(r => r.Boxes)], imageSizes);
        int classes = logits.Shape[1], size = logits.Shape[2] * logits.Shape[3];
        // Only each detection's own class map is turned into probabilities, not all `classes` of them.
        var values = logits.Contiguous().AsSpan();
        int row = 0;
        for (int i = 0; i < results.Length; i++)
        {
            var labels = results[i].Labels.ToArray<long>();
            var masks = new float[labels.Length * size];
            for (int k = 0; k < labels.Length; k++, row++)
                values.Slice((int)((row * classes + labels[k]) * size), size).CopyTo(masks.AsSpan(k * size, size));
            results[i] = results[i] with { Masks = Tensor.FromArray(masks, labels.Length, 1, logits.Shape[2], logits.Shape[3]).Sigmoid() };
        }
        return results;
    }

    // Logits [ΣKi, classes, M, M] of the boxes of every image; an empty batch skips the network (M = twice the pooled size).
    private static Tensor MaskLogits(MaskBranch mask, IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Tensor> boxes,
        IReadOnlyList<(int H, int W)> imageSizes)
    {
        if (boxes.Sum(b => b.Shape[0]) == 0)
        {
            var pooled = mask.RoiPool.OutputSize;
            return Tensor.Zeros(0, mask.Predictor.NumClasses, pooled.H * 2, pooled.W * 2);
        }
        return mask.Predictor.Forward(mask.Head.Forward(mask.RoiPool.Forward(features, boxes, imageSizes)));
    }

    /// <summary>
    /// The Fast R-CNN losses: ground-truth boxes join each image's proposals, proposals match ground truth with
    /// <see cref="Matcher"/>(fg, bg), a balanced sample is drawn (kept in proposal order), and the loss is the cross-entropy
    /// of the class logits (mean) and Σ smooth-L1(β = 1/9) of the positives' deltas at their class, divided by the number
    /// sampled; targets encoded with weights (10, 10, 5, 5). With a mask branch, the sampled positives' logits at their
    /// ground-truth class are scored by mean BCE against <see cref="MaskOps.ProjectMasksOnBoxes(Tensor, Tensor, IReadOnlyList{int}, int)"/> of the matched masks
    /// (<paramref name="targets"/>' masks in the resized images' pixels); otherwise the mask loss is null. Equivalent to
    /// <c>RoIHeads.forward</c> in training mode (<c>select_training_samples</c>, <c>fastrcnn_loss</c> and <c>maskrcnn_loss</c>:
    /// <c>loss_classifier</c>, <c>loss_box_reg</c>, <c>loss_mask</c>).
    /// </summary>
    public (Tensor ClassifierLoss, Tensor BoxLoss, Tensor? MaskLoss) ForwardTraining(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Tensor> proposals,
        IReadOnlyList<(int H, int W)> imageSizes, IReadOnlyList<RcnnTarget> targets, Random random)
    {
        ArgumentNullException.ThrowIfNull(proposals);
        ArgumentNullException.ThrowIfNull(targets);
        var matcher = new Matcher(Options.FgIouThresh, Options.BgIouThresh);
        var sampler = new BalancedPositiveNegativeSampler(Options.BatchSizePerImage, Options.PositiveFraction);
        var selected = new Tensor[proposals.Count];
        var positiveBoxes = new Tensor[proposals.Count];
        var positiveMatches = new int[proposals.Count][];
        var positiveLabels = new List<long>();
        var labels = new List<long>();
        var targetRows = new List<float[]>();
        for (int i = 0; i < proposals.Count; i++)
        {
            var gt = targets[i].Boxes;
            var gtLabels = targets[i].Labels.To(DType.Int64).ToArray<long>();
            var candidates = Tensor.Cat([proposals[i].Detach(), gt]);
            int count = candidates.Shape[0];
            var imageLabels = new long[count];
            var matchedBoxes = new float[count * 4];
            var matches = new int[count];
            if (gt.Shape[0] > 0)
            {
                matches = matcher.Match(VisionOps.BoxIou(gt, candidates));
                matchedBoxes = Gather(gt.ToArray(), [.. matches.Select(m => Math.Max(m, 0))], 4);
                for (int k = 0; k < count; k++)
                    imageLabels[k] = matches[k] >= 0 ? gtLabels[matches[k]] : matches[k] == Matcher.BetweenThresholds ? -1 : 0;
            }
            var (pos, neg) = sampler.Sample(imageLabels, random);
            var keep = Enumerable.Range(0, count).Where(k => pos[k] || neg[k]).ToArray();
            var keptBoxes = Gather(candidates.ToArray(), keep, 4);
            selected[i] = Tensor.FromArray(keptBoxes, keep.Length, 4);
            // Mask R-CNN trains masks on the sampled positives only, in sample order, each against its matched object.
            var positives = Enumerable.Range(0, keep.Length).Where(j => imageLabels[keep[j]] > 0).ToArray();
            positiveBoxes[i] = Tensor.FromArray(Gather(keptBoxes, positives, 4), positives.Length, 4);
            positiveMatches[i] = [.. positives.Select(j => matches[keep[j]])];
            positiveLabels.AddRange(positives.Select(j => imageLabels[keep[j]]));
            // No ground truth: torchvision encodes against a dummy zero box; those rows are all background and never used.
            var encoded = gt.Shape[0] > 0
                ? _boxCoder.EncodeSingle(Tensor.FromArray(Gather(matchedBoxes, keep, 4), keep.Length, 4), selected[i]).ToArray()
                : new float[keep.Length * 4];
            foreach (var (k, j) in keep.Select((k, j) => (k, j)))
            {
                labels.Add(imageLabels[k]);
                targetRows.Add(encoded[(j * 4)..(j * 4 + 4)]);
            }
        }
        int rows = labels.Count;
        // No proposal and no object in any image: nothing to classify. torchvision's means over no rows are NaN, which would
        // poison the weights; an exact zero that backpropagates (to zero gradients) keeps such a batch harmless.
        if (rows == 0)
        {
            var zero = ZeroLoss(_boxPredictor);
            return (zero, zero, _mask is null ? null : ZeroLoss(_mask.Predictor));
        }
        var pooled = _boxRoiPool.Forward(features, selected, imageSizes);
        var (logits, deltas) = _boxPredictor.Forward(_boxHead.Forward(pooled));
        var classifierLoss = Functional.CrossEntropy(logits, Tensor.FromArray([.. labels], rows));
        // Only each positive's own class columns carry a target; a mask keeps the rest out of the sum.
        var mask = new float[rows * NumClasses * 4];
        var regression = new float[rows * NumClasses * 4];
        for (int r = 0; r < rows; r++)
            if (labels[r] > 0)
                for (int c = 0; c < 4; c++)
                {
                    int e = (r * NumClasses + (int)labels[r]) * 4 + c;
                    mask[e] = 1f;
                    regression[e] = targetRows[r][c];
                }
        var boxLoss = (Functional.SmoothL1Loss(deltas, Tensor.FromArray(regression, rows, NumClasses * 4), Reduction.None, beta: 1f / 9)
            * Tensor.FromArray(mask, rows, NumClasses * 4)).Sum() / rows;
        var maskLoss = _mask is null ? null : MaskLoss(_mask, features, imageSizes, targets, positiveBoxes, positiveMatches, [.. positiveLabels]);
        return (classifierLoss, boxLoss, maskLoss);
    }

    // An exact zero that is still a function of the module's parameters (as torchvision's mask_logits.sum() * 0), so
    // backpropagating it alone works.
    private static Tensor ZeroLoss(Module module) => module.Parameters().Select(p => p.Sum()).Aggregate((a, b) => a + b) * 0f;

    // torchvision's maskrcnn_loss; with no positives, an exact zero.
    private static Tensor MaskLoss(MaskBranch mask, IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<(int H, int W)> imageSizes,
        IReadOnlyList<RcnnTarget> targets, Tensor[] boxes, int[][] matches, long[] labels)
    {
        if (labels.Length == 0) return ZeroLoss(mask.Predictor);
        var logits = MaskLogits(mask, features, boxes, imageSizes);
        int size = logits.Shape[2];
        var projected = Tensor.Cat([.. boxes.Select((b, i) => targets[i] switch
        {
            { Masks: { } floats } => MaskOps.ProjectMasksOnBoxes(floats, b, matches[i], size),
            { MaskBytes: { } bytes } => MaskOps.ProjectMasksOnBoxes(bytes, b, matches[i], size),
            _ => throw new ArgumentException($"RoiHeads: target {i} has no masks, which the mask branch needs."),
        })]);
        // Each row's own class map; Select keeps the gradient path to the logits.
        var chosen = Tensor.Stack([.. labels.Select((label, row) => logits.Select(0, row).Select(0, (int)label))]);
        return Functional.BinaryCrossEntropyWithLogits(chosen, projected);
    }

    private static float[] Gather(float[] source, int[] rows, int width) => RegionProposalNetwork.Gather(source, rows, width);

    private DetectionResult Postprocess(float[] boxes, float[] scores, int count, (int H, int W) imageSize)
    {
        var clipped = VisionOps.ClipBoxesToImage(Tensor.FromArray(boxes, count * NumClasses, 4), imageSize.H, imageSize.W).ToArray();
        // Candidates in torchvision's flattening order: proposal-major, classes 1… within a proposal.
        var candidates = new List<int>();
        for (int k = 0; k < count; k++)
            for (int c = 1; c < NumClasses; c++)
            {
                int e = k * NumClasses + c;
                if (scores[e] > Options.ScoreThresh && clipped[e * 4 + 2] - clipped[e * 4] >= 1e-2f && clipped[e * 4 + 3] - clipped[e * 4 + 1] >= 1e-2f)
                    candidates.Add(e);
            }
        var candidateArray = candidates.ToArray();
        var keptBoxes = RegionProposalNetwork.Gather(clipped, candidateArray, 4);
        var keptScores = RegionProposalNetwork.Gather(scores, candidateArray, 1);
        var labels = candidateArray.Select(e => (long)(e % NumClasses)).ToArray();
        var order = VisionOps.BatchedNms(Tensor.FromArray(keptBoxes, candidateArray.Length, 4), Tensor.FromArray(keptScores, candidateArray.Length),
            Tensor.FromArray(labels, labels.Length), Options.NmsThresh).ToArray<long>().Take(Options.DetectionsPerImage).Select(k => (int)k).ToArray();
        return new DetectionResult(
            Tensor.FromArray(RegionProposalNetwork.Gather(keptBoxes, order, 4), order.Length, 4),
            Tensor.FromArray(RegionProposalNetwork.Gather(keptScores, order, 1), order.Length),
            Tensor.FromArray([.. order.Select(k => labels[k])], order.Length));
    }
}

/// <summary>
/// The detections of one image: boxes [K, 4] as (x1, y1, x2, y2) pixels, scores [K] and int64 labels [K] (class ids,
/// 0 = background is never reported), best first; for Mask R-CNN also masks [K, 1, H, W] of float probabilities in the
/// image's pixels (threshold at 0.5 for binary masks), null otherwise. Equivalent to torchvision's per-image result dict
/// <c>{"boxes", "scores", "labels", "masks"}</c>. Defined here for the models; the data side may define its own target record.
/// </summary>
public sealed record DetectionResult(Tensor Boxes, Tensor Scores, Tensor Labels, Tensor? Masks = null);
