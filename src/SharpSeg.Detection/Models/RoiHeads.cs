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
    public override Tensor Forward(Tensor x) => _fc7.Forward(_fc6.Forward(x.Flatten(1)).Relu()).Relu();
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

/// <summary>Test-time settings of <see cref="RoiHeads"/> (torchvision's <c>box_*</c> arguments).</summary>
/// <param name="ScoreThresh">Detections need a class probability above this (<c>box_score_thresh</c>, 0.05).</param>
/// <param name="NmsThresh">Per-class NMS IoU threshold (<c>box_nms_thresh</c>, 0.5).</param>
/// <param name="DetectionsPerImage">At most this many detections per image, best first (<c>box_detections_per_img</c>, 100).</param>
public sealed record RoiHeadsOptions(float ScoreThresh = 0.05f, float NmsThresh = 0.5f, int DetectionsPerImage = 100);

/// <summary>
/// The second stage of Faster R-CNN: pools 7×7 features per proposal (<see cref="MultiScaleRoIAlign"/>, sampling 2),
/// runs <see cref="TwoMlpHead"/> and <see cref="FastRcnnPredictor"/>, decodes per-class boxes with weights (10, 10, 5, 5),
/// clips them, and per image keeps every (box, non-background class) pair scoring above the threshold, at least 0.01 wide
/// and high, after per-class NMS, best first. Keys <c>box_head.*</c>, <c>box_predictor.*</c>. Inference path; the training
/// losses and samplers are not implemented yet (issue 15). Equivalent to
/// <c>torchvision.models.detection.roi_heads.RoIHeads</c> in eval mode without masks or keypoints.
/// </summary>
public sealed class RoiHeads : Module
{
    private readonly MultiScaleRoIAlign _boxRoiPool;
    private readonly TwoMlpHead _boxHead;
    private readonly FastRcnnPredictor _boxPredictor;
    private readonly BoxCoder _boxCoder = new((10f, 10f, 5f, 5f));

    /// <summary>Builds the heads for pyramid maps of <paramref name="inChannels"/> channels.</summary>
    public RoiHeads(int inChannels, int numClasses, int representationSize = 1024, RoiHeadsOptions? options = null)
    {
        _boxRoiPool = new MultiScaleRoIAlign(["0", "1", "2", "3"], new Size2(7, 7), samplingRatio: 2);
        _boxHead = Child("box_head", new TwoMlpHead(inChannels * 7 * 7, representationSize));
        _boxPredictor = Child("box_predictor", new FastRcnnPredictor(representationSize, numClasses));
        NumClasses = numClasses;
        Options = options ?? new RoiHeadsOptions();
    }

    /// <summary>Classes including background.</summary>
    public int NumClasses { get; }

    /// <summary>Test-time settings.</summary>
    public RoiHeadsOptions Options { get; }

    /// <summary>Detections per image in the resized images' pixels. Equivalent to <c>RoIHeads.forward</c> in eval mode.</summary>
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
        return results;
    }

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
/// 0 = background is never reported), best first. Equivalent to torchvision's per-image result dict
/// <c>{"boxes", "scores", "labels"}</c>. Defined here for the models; the data side may define its own target record.
/// </summary>
public sealed record DetectionResult(Tensor Boxes, Tensor Scores, Tensor Labels);
