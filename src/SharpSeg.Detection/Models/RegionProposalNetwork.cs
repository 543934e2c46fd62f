using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// The RPN head shared by all levels: a 3×3 convolution with ReLU (<c>conv.0.0</c>), then 1×1 convolutions for one
/// objectness logit (<c>cls_logits</c>) and four box deltas (<c>bbox_pred</c>) per anchor. Weights start as torchvision's
/// (normal, std 0.01; zero bias). Equivalent to <c>torchvision.models.detection.rpn.RPNHead</c> (conv_depth 1).
/// </summary>
public sealed class RpnHead : Module
{
    private readonly Sequential _conv;
    private readonly Conv2d _convLayer, _clsLogits, _bboxPred;

    /// <summary>Builds the head for maps of <paramref name="inChannels"/> channels and <paramref name="numAnchors"/> anchors per location.</summary>
    public RpnHead(int inChannels, int numAnchors)
    {
        _convLayer = new Conv2d(inChannels, inChannels, 3, padding: 1);
        _conv = Child("conv", new Sequential([new Sequential(_convLayer, new Relu())]));
        _clsLogits = Child("cls_logits", new Conv2d(inChannels, numAnchors, 1));
        _bboxPred = Child("bbox_pred", new Conv2d(inChannels, numAnchors * 4, 1));
        foreach (var conv in Modules().OfType<Conv2d>())
        {
            Init.Normal(conv.Weight, std: 0.01);
            Init.Zeros(conv.Bias!);
        }
    }

    /// <summary>Objectness [N, A, H, W] and deltas [N, 4A, H, W] of each map. Equivalent to <c>RPNHead.forward</c>.</summary>
    public (Tensor[] Objectness, Tensor[] Deltas) Forward(IReadOnlyList<Tensor> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var objectness = new Tensor[features.Count];
        var deltas = new Tensor[features.Count];
        // In inference the ReLU runs in the convolution's epilogue, and each level's hidden map, dead once both 1×1
        // convolutions have read it, is written over the previous level's.
        Tensor? hidden = null;
        for (int i = 0; i < features.Count; i++)
        {
            var t = InferenceOps.Applies
                ? Functional.Conv2dFused(features[i], _convLayer.Weight, _convLayer.Bias, 1, 1, 1, 1, activation: FusedActivation.Relu, outputBuffer: hidden)
                : _conv.Forward(features[i]);
            if (hidden is null || t.Numel > hidden.Numel) hidden = t;
            objectness[i] = _clsLogits.Forward(t);
            deltas[i] = _bboxPred.Forward(t);
        }
        return (objectness, deltas);
    }
}

/// <summary>Settings of the <see cref="RegionProposalNetwork"/>, torchvision's <c>rpn_*</c> arguments and defaults.</summary>
/// <param name="PreNmsTopN">Highest-scoring anchors kept per level before NMS at test time (<c>rpn_pre_nms_top_n_test</c>, 1000).</param>
/// <param name="PostNmsTopN">Proposals kept per image after NMS at test time (<c>rpn_post_nms_top_n_test</c>, 1000).</param>
/// <param name="NmsThresh">IoU above which a lower-scoring proposal of the same level is dropped (<c>rpn_nms_thresh</c>, 0.7).</param>
/// <param name="ScoreThresh">Proposals need objectness probability ≥ this (<c>rpn_score_thresh</c>, 0).</param>
/// <param name="MinSize">Proposals narrower or lower than this are dropped (torchvision's fixed 1e-3).</param>
/// <param name="PreNmsTopNTrain">As <paramref name="PreNmsTopN"/> while training (<c>rpn_pre_nms_top_n_train</c>, 2000).</param>
/// <param name="PostNmsTopNTrain">As <paramref name="PostNmsTopN"/> while training (<c>rpn_post_nms_top_n_train</c>, 2000).</param>
/// <param name="FgIouThresh">Anchors with IoU ≥ this are foreground (<c>rpn_fg_iou_thresh</c>, 0.7).</param>
/// <param name="BgIouThresh">Anchors with IoU &lt; this are background (<c>rpn_bg_iou_thresh</c>, 0.3).</param>
/// <param name="BatchSizePerImage">Anchors drawn per image for the loss (<c>rpn_batch_size_per_image</c>, 256).</param>
/// <param name="PositiveFraction">Largest foreground share of the draw (<c>rpn_positive_fraction</c>, 0.5).</param>
public sealed record RpnOptions(int PreNmsTopN = 1000, int PostNmsTopN = 1000, float NmsThresh = 0.7f, float ScoreThresh = 0f, float MinSize = 1e-3f,
    int PreNmsTopNTrain = 2000, int PostNmsTopNTrain = 2000, float FgIouThresh = 0.7f, float BgIouThresh = 0.3f, int BatchSizePerImage = 256,
    float PositiveFraction = 0.5f);

/// <summary>
/// Region proposals: the head scores and regresses every anchor, deltas are decoded with weights (1, 1, 1, 1), and per
/// image the top <see cref="RpnOptions.PreNmsTopN"/> anchors of each level are clipped to the image, small and
/// low-scoring ones dropped, NMS applied per level and the best <see cref="RpnOptions.PostNmsTopN"/> kept. Training
/// (<see cref="ForwardTraining"/>) also returns the objectness BCE and smooth-L1 (β = 1/9) box losses over sampled
/// anchors. Equivalent to <c>torchvision.models.detection.rpn.RegionProposalNetwork</c>.
/// </summary>
public sealed class RegionProposalNetwork : Module
{
    private readonly RpnHead _head;
    private readonly BoxCoder _boxCoder = new((1f, 1f, 1f, 1f));

    /// <summary>Builds the RPN over <paramref name="anchorGenerator"/> for maps of <paramref name="inChannels"/> channels.</summary>
    public RegionProposalNetwork(AnchorGenerator anchorGenerator, int inChannels, RpnOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(anchorGenerator);
        var perLocation = anchorGenerator.NumAnchorsPerLocation();
        if (perLocation.Distinct().Count() != 1)
            throw new ArgumentException($"RegionProposalNetwork: one head needs the same anchor count on every level, got [{string.Join(", ", perLocation)}].");
        AnchorGenerator = anchorGenerator;
        Options = options ?? new RpnOptions();
        _head = Child("head", new RpnHead(inChannels, perLocation[0]));
    }

    /// <summary>The anchors.</summary>
    public AnchorGenerator AnchorGenerator { get; }

    /// <summary>Test-time settings.</summary>
    public RpnOptions Options { get; }

    /// <summary>
    /// Proposals [Ki, 4] per image of <paramref name="images"/> (in the resized images' pixels), by decreasing objectness.
    /// Equivalent to <c>RegionProposalNetwork.forward</c> in eval mode.
    /// </summary>
    public IReadOnlyList<Tensor> Forward(ImageList images, IReadOnlyList<Tensor> features) =>
        Run(images, features, Options.PreNmsTopN, Options.PostNmsTopN).Proposals;

    /// <summary>
    /// Proposals with the training top-n settings and the losses against <paramref name="targets"/> (boxes in the resized
    /// images' pixels): objectness = mean BCE over the sampled anchors, box = Σ smooth-L1(β = 1/9) over the sampled positives
    /// divided by the number sampled. Anchors match with <see cref="Matcher"/>(fg, bg, low-quality matches allowed).
    /// Equivalent to <c>RegionProposalNetwork.forward</c> in training mode (<c>loss_objectness</c>, <c>loss_rpn_box_reg</c>).
    /// </summary>
    public (IReadOnlyList<Tensor> Proposals, Tensor ObjectnessLoss, Tensor BoxLoss) ForwardTraining(ImageList images, IReadOnlyList<Tensor> features,
        IReadOnlyList<RcnnTarget> targets, Random random)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(random);
        var (proposals, objectness, deltas, anchors) = Run(images, features, Options.PreNmsTopNTrain, Options.PostNmsTopNTrain);
        int perImage = anchors.Shape[0], n = targets.Count;
        var matcher = new Matcher(Options.FgIouThresh, Options.BgIouThresh, allowLowQualityMatches: true);
        var sampler = new BalancedPositiveNegativeSampler(Options.BatchSizePerImage, Options.PositiveFraction);
        var labels = new float[n * perImage];
        var sampled = new float[n * perImage];
        var positive = new float[n * perImage];
        var regression = new float[n * perImage * 4];
        for (int i = 0; i < n; i++)
        {
            var gt = targets[i].Boxes;
            var imageLabels = new long[perImage];
            if (gt.Shape[0] > 0)
            {
                var matches = matcher.Match(VisionOps.BoxIou(gt, anchors));
                var matchedBoxes = Gather(gt.ToArray(), [.. matches.Select(m => Math.Max(m, 0))], 4);
                var encoded = _boxCoder.EncodeSingle(Tensor.FromArray(matchedBoxes, perImage, 4), anchors).ToArray();
                for (int a = 0; a < perImage; a++)
                {
                    imageLabels[a] = matches[a] >= 0 ? 1 : matches[a] == Matcher.BetweenThresholds ? -1 : 0;
                    // Only positives' targets enter the loss; the others stay 0 so the masked sum never meets log(0).
                    if (imageLabels[a] == 1) Array.Copy(encoded, a * 4, regression, (i * perImage + a) * 4, 4);
                }
            }
            var (pos, neg) = sampler.Sample(imageLabels, random);
            for (int a = 0; a < perImage; a++)
            {
                int e = i * perImage + a;
                labels[e] = imageLabels[a] == 1 ? 1f : 0f;
                sampled[e] = pos[a] || neg[a] ? 1f : 0f;
                positive[e] = pos[a] ? 1f : 0f;
            }
        }
        float count = sampled.Sum();
        var objectnessLoss = Functional.BinaryCrossEntropyWithLogits(objectness, Tensor.FromArray(labels, labels.Length),
            Tensor.FromArray(sampled, sampled.Length), reduction: Reduction.Sum) / count;
        var boxLoss = (Functional.SmoothL1Loss(deltas, Tensor.FromArray(regression, n * perImage, 4), Reduction.None, beta: 1f / 9)
            * Tensor.FromArray(positive, n * perImage, 1)).Sum() / count;
        return (proposals, objectnessLoss, boxLoss);
    }

    private (IReadOnlyList<Tensor> Proposals, Tensor Objectness, Tensor Deltas, Tensor Anchors) Run(ImageList images, IReadOnlyList<Tensor> features,
        int preNmsTopN, int postNmsTopN)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(features);
        var (objectness, deltas) = _head.Forward(features);
        int n = images.Tensors.Shape[0];
        var grids = features.Select(f => (f.Shape[2], f.Shape[3])).ToArray();
        var anchors = AnchorGenerator.Anchors(grids, images.Tensors.Shape[2], images.Tensors.Shape[3]);
        var levelCounts = objectness.Select(o => o.Shape[1] * o.Shape[2] * o.Shape[3]).ToArray();
        // Per image: logits in (level, row, column, anchor) order, deltas [anchors, 4] in the same order.
        var logits = objectness.Select(o => o.Permute(0, 2, 3, 1).Reshape(n, -1)).ToArray();
        var codes = deltas.Select(d => d.Reshape(n, d.Shape[1] / 4, 4, d.Shape[2], d.Shape[3]).Permute(0, 3, 4, 1, 2).Reshape(n, -1, 4)).ToArray();
        // Image-major rows in (level, row, column, anchor) order, as torchvision's concat_box_prediction_layers.
        var allLogits = Tensor.Cat(logits, 1);
        var allCodes = Tensor.Cat(codes, 1);
        var proposals = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            var imageLogits = allLogits.Select(0, i).ToArray();
            var imageBoxes = _boxCoder.DecodeSingle(allCodes.Select(0, i).Detach(), anchors).ToArray();
            proposals[i] = FilterProposals(imageLogits, imageBoxes, levelCounts, images.ImageSizes[i], preNmsTopN, postNmsTopN);
        }
        return (proposals, allLogits.Reshape(-1), allCodes.Reshape(-1, 4), anchors);
    }

    private Tensor FilterProposals(float[] logits, float[] boxes, int[] levelCounts, (int H, int W) imageSize, int preNmsTopN, int postNmsTopN)
    {
        var candidates = new List<int>();
        var candidateLevels = new List<long>();
        int offset = 0;
        for (int level = 0; level < levelCounts.Length; level++)
        {
            int count = levelCounts[level];
            foreach (int k in TopIndices(logits, offset, count, Math.Min(preNmsTopN, count)))
            {
                candidates.Add(k);
                candidateLevels.Add(level);
            }
            offset += count;
        }
        var selected = new float[candidates.Count * 4];
        for (int c = 0; c < candidates.Count; c++) Array.Copy(boxes, candidates[c] * 4, selected, c * 4, 4);
        var clipped = VisionOps.ClipBoxesToImage(Tensor.FromArray(selected, candidates.Count, 4), imageSize.H, imageSize.W).ToArray();
        var scores = candidates.Select(k => 1f / (1f + MathF.Exp(-logits[k]))).ToArray();

        var kept = Enumerable.Range(0, candidates.Count).Where(c =>
            clipped[c * 4 + 2] - clipped[c * 4] >= Options.MinSize && clipped[c * 4 + 3] - clipped[c * 4 + 1] >= Options.MinSize
            && scores[c] >= Options.ScoreThresh).ToArray();
        var keptBoxes = Gather(clipped, kept, 4);
        var order = VisionOps.BatchedNms(Tensor.FromArray(keptBoxes, kept.Length, 4), Tensor.FromArray(Gather(scores, kept, 1), kept.Length),
            Tensor.FromArray([.. kept.Select(c => candidateLevels[c])], kept.Length), Options.NmsThresh).ToArray<long>();
        var final = order.Take(postNmsTopN).Select(k => (int)k).ToArray();
        return Tensor.FromArray(Gather(keptBoxes, final, 4), final.Length, 4);
    }

    /// <summary>
    /// The <paramref name="k"/> indices in [offset, offset + count) with the largest values, by value descending and index
    /// ascending among equal values (a stable descending sort's first k, as torch.topk's sorted output). A primitive sort
    /// of a copy finds the k-th value, so only the ≈ k candidates above it are sorted with the comparison.
    /// </summary>
    internal static int[] TopIndices(float[] values, int offset, int count, int k)
    {
        if (k <= 0) return [];
        var sorted = values.AsSpan(offset, count).ToArray();
        Array.Sort(sorted);
        float kth = sorted[count - k];
        // NaN sorts below every number; when it reaches the top k, the general stable sort ranks it last.
        if (float.IsNaN(kth)) return [.. Enumerable.Range(offset, count).OrderByDescending(i => values[i]).Take(k)];
        var top = new List<int>(k + 16);
        int atKth = 0;
        for (int i = offset; i < offset + count; i++)
        {
            if (values[i] > kth) top.Add(i);
            else if (values[i] == kth) atKth++;
        }
        // Values equal to the k-th one fill the remaining places in index order.
        for (int i = offset; i < offset + count && top.Count < k && atKth > 0; i++)
            if (values[i] == kth) top.Add(i);
        var result = top.ToArray();
        Array.Sort(result, (a, b) =>
        {
            int byValue = values[b].CompareTo(values[a]);
            return byValue != 0 ? byValue : a.CompareTo(b);
        });
        return result;
    }

    internal static float[] Gather(float[] source, int[] rows, int width)
    {
        var result = new float[rows.Length * width];
        for (int i = 0; i < rows.Length; i++) Array.Copy(source, rows[i] * width, result, i * width, width);
        return result;
    }
}
