using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Evaluation;

/// <summary>How <see cref="VocEvaluator"/> turns a class's precision/recall curve into its AP.</summary>
public enum VocApMode
{
    /// <summary>
    /// VOC2007's 11-point AP: the mean of the best precision at recall ≥ 0, 0.1, …, 1.0. PaddleDetection's
    /// <c>map_type='11point'</c> (its default for VOC).
    /// </summary>
    ElevenPoint,

    /// <summary>
    /// The area under the raw precision/recall curve, Σ precision·Δrecall over the points where recall grows (by more than
    /// 1e-6). PaddleDetection's <c>map_type='integral'</c>; the VOC2010+ devkit integrates the precision envelope instead,
    /// which can only be higher.
    /// </summary>
    Integral,
}

/// <summary>VOC-style mean average precision of one evaluation.</summary>
/// <param name="Map">The mean of <paramref name="ClassAp"/> over the classes with ground truth (0 when none has any, as
/// PaddleDetection).</param>
/// <param name="ClassAp">AP by label (index 0, the background, and classes without counted ground truth are null).</param>
/// <param name="Mode">11-point or integral.</param>
/// <param name="IouThreshold">The overlap a detection must exceed to match (0.5).</param>
public sealed record VocMetrics(double Map, IReadOnlyList<double?> ClassAp, VocApMode Mode, double IouThreshold)
{
    /// <summary>One line per class with ground truth and the mean, for logs and the CLI.</summary>
    public string ToSummary(IReadOnlyList<string>? classNames = null)
    {
        var lines = new List<string>();
        for (int label = 1; label < ClassAp.Count; label++)
            if (ClassAp[label] is { } ap)
                lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $" AP@{IouThreshold:0.##} {(classNames is not null && label < classNames.Count ? classNames[label] : $"class {label}"),-16} = {ap:0.0000}"));
        string mode = Mode == VocApMode.ElevenPoint ? "11point" : "integral";
        lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $" mAP({IouThreshold:0.00}, {mode}) = {Map:0.0000}"));
        return string.Join("\n", lines) + "\n";
    }
}

/// <summary>
/// Pascal VOC-style detection mAP, computed by PaddleDetection's <c>DetectionMAP</c> rules (<c>ppdet/metrics/map_utils.py</c>,
/// the metric PaddleX and PaddleDetection report for VOC datasets): per image, each detection (best score first) takes
/// the ground truth of its class with the highest IoU (the first on ties, already-matched and difficult ones included);
/// above the threshold (strictly) it is a true positive if that object is still free, a duplicate false positive if
/// not, and neither if the object is <c>difficult</c>; below, a false positive. Difficult objects do not count towards
/// recall. Per class, detections of all images sorted by score (stable, so ties keep image order) give precision
/// tp/(tp+fp) and recall tp/ground-truths, which <see cref="VocApMode"/> turns into the class's AP; the mean runs over the
/// classes with ground truth (a class with ground truth but no detections scores 0). Equivalent to
/// <c>ppdet.metrics.VOCMetric(overlap_thresh=0.5, map_type='11point'|'integral', evaluate_difficult=False)</c>.
/// </summary>
/// <remarks>
/// PaddleDetection matches an image's detections in the model's output order, which its detectors (like ours) give best
/// score first; this evaluator sorts each image's detections by score (stable) first, so any input order gives the VOC
/// devkit's order. Boxes are continuous <c>[x1, y1, x2, y2)</c> pixels (torchvision's convention, what
/// <see cref="VocDetectionDataset"/> produces), so their IoU needs no "+1"; pass <c>pixelInclusiveBoxes: true</c> for
/// boxes in VOC's inclusive pixel indices, where PaddleDetection (<c>is_bbox_normalized=False</c>) adds 1 to every width
/// and height.
/// </remarks>
public sealed class VocEvaluator
{
    private readonly List<(double Score, bool TruePositive)>[] _scored;
    private readonly int[] _groundTruths;

    /// <summary>Creates an evaluator.</summary>
    /// <param name="numClasses">Classes including the background (labels 1 … numClasses − 1 are evaluated).</param>
    /// <param name="mode">11-point (VOC2007, PaddleDetection's default) or integral AP.</param>
    /// <param name="iouThreshold">The overlap a detection must exceed (<c>overlap_thresh</c>, 0.5).</param>
    /// <param name="evaluateDifficult">Count difficult objects as ordinary ones (<c>evaluate_difficult</c>, false).</param>
    /// <param name="pixelInclusiveBoxes">Boxes are inclusive pixel indices: widths and heights get +1 (PaddleDetection's
    /// <c>is_bbox_normalized=False</c> on VOC's raw coordinates).</param>
    public VocEvaluator(int numClasses, VocApMode mode = VocApMode.ElevenPoint, double iouThreshold = 0.5, bool evaluateDifficult = false,
        bool pixelInclusiveBoxes = false)
    {
        if (numClasses < 2)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "VOC evaluator: needs the background and at least one class.");
        if (!(iouThreshold >= 0 && iouThreshold < 1))
            throw new ArgumentOutOfRangeException(nameof(iouThreshold), iouThreshold, "VOC evaluator: the IoU threshold must lie in [0, 1).");
        NumClasses = numClasses;
        Mode = mode;
        IouThreshold = iouThreshold;
        EvaluateDifficult = evaluateDifficult;
        PixelInclusiveBoxes = pixelInclusiveBoxes;
        _scored = [.. Enumerable.Range(0, numClasses).Select(_ => new List<(double, bool)>())];
        _groundTruths = new int[numClasses];
    }

    /// <summary>Classes including the background.</summary>
    public int NumClasses { get; }

    /// <summary>11-point or integral.</summary>
    public VocApMode Mode { get; }

    /// <summary>The overlap a detection must exceed.</summary>
    public double IouThreshold { get; }

    /// <summary>Whether difficult objects count as ordinary ones.</summary>
    public bool EvaluateDifficult { get; }

    /// <summary>Whether boxes are inclusive pixel indices (+1 on widths and heights).</summary>
    public bool PixelInclusiveBoxes { get; }

    /// <summary>Images added so far.</summary>
    public int ImageCount { get; private set; }

    /// <summary>Adds one image: its ground truth (difficult flags from <see cref="DetectionTarget.Difficult"/>) and detections.</summary>
    public void AddImage(DetectionTarget target, DetectionPrediction prediction)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(prediction);
        AddImage(target.Boxes, target.Labels, target.Difficult, prediction.Boxes, prediction.Scores, prediction.Labels);
    }

    /// <summary>
    /// Adds one image. Equivalent to <c>DetectionMAP.update(bbox, score, label, gt_box, gt_label, difficult)</c>.
    /// </summary>
    /// <param name="groundTruthBoxes">G×4 values x1, y1, x2, y2.</param>
    /// <param name="groundTruthLabels">G labels (1 … classes − 1).</param>
    /// <param name="difficult">G difficult flags, or empty/null for none.</param>
    /// <param name="boxes">N×4 detected boxes.</param>
    /// <param name="scores">N scores (finite).</param>
    /// <param name="labels">N labels (1 … classes − 1).</param>
    /// <exception cref="ArgumentException">Lengths disagree, a label is out of range or a score is not finite.</exception>
    public void AddImage(ReadOnlySpan<float> groundTruthBoxes, ReadOnlySpan<int> groundTruthLabels, ReadOnlySpan<bool> difficult,
        ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, ReadOnlySpan<int> labels)
    {
        int g = groundTruthLabels.Length, n = scores.Length;
        string image = $"VOC evaluator, image {ImageCount}";
        if (groundTruthBoxes.Length != 4 * g || (difficult.Length != 0 && difficult.Length != g))
            throw new ArgumentException($"{image}: {g} ground-truth labels need {4 * g} box values and {g} difficult flags, got {groundTruthBoxes.Length} and {difficult.Length}.");
        if (boxes.Length != 4 * n || labels.Length != n)
            throw new ArgumentException($"{image}: {n} scores need {4 * n} box values and {n} labels, got {boxes.Length} and {labels.Length}.");
        for (int i = 0; i < g; i++)
            CheckLabel(groundTruthLabels[i], $"{image}: ground truth {i}");
        for (int i = 0; i < n; i++)
        {
            CheckLabel(labels[i], $"{image}: detection {i}");
            if (!float.IsFinite(scores[i]))
                throw new ArgumentException($"{image}: detection {i} has score {scores[i]}.");
        }

        for (int i = 0; i < g; i++)
            if (EvaluateDifficult || difficult.Length == 0 || !difficult[i])
                _groundTruths[groundTruthLabels[i]]++;
        var order = new int[n];
        var keys = new float[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            keys[i] = -scores[i];
        }
        // Stable: equal scores keep their given order (Array.Sort is not stable, so the index breaks ties).
        Array.Sort(order, (p, q) => keys[p] != keys[q] ? keys[p].CompareTo(keys[q]) : p.CompareTo(q));
        var taken = new bool[g];
        foreach (int d in order)
        {
            int best = -1;
            double bestOverlap = -1;
            for (int i = 0; i < g; i++)
            {
                if (groundTruthLabels[i] != labels[d])
                    continue;
                double overlap = Overlap(boxes.Slice(4 * d, 4), groundTruthBoxes.Slice(4 * i, 4));
                if (overlap > bestOverlap)
                {
                    bestOverlap = overlap;
                    best = i;
                }
            }
            var list = _scored[labels[d]];
            if (bestOverlap > IouThreshold)
            {
                // A detection of a difficult object is neither right nor wrong.
                if (!EvaluateDifficult && difficult.Length != 0 && difficult[best])
                    continue;
                list.Add((scores[d], !taken[best]));
                taken[best] = true;
            }
            else
            {
                list.Add((scores[d], false));
            }
        }
        ImageCount++;
    }

    /// <summary>Per-class AP and their mean over the images added so far. Equivalent to <c>DetectionMAP.accumulate()</c>.</summary>
    public VocMetrics Summarize()
    {
        var classAp = new double?[NumClasses];
        double sum = 0;
        int counted = 0;
        for (int label = 1; label < NumClasses; label++)
        {
            int positives = _groundTruths[label];
            if (positives == 0)
                continue;
            // OrderByDescending is stable, as Python's sorted(reverse=True): equal scores keep image order.
            var ranked = _scored[label].OrderByDescending(s => s.Score).ToArray();
            var precision = new double[ranked.Length];
            var recall = new double[ranked.Length];
            int tp = 0, fp = 0;
            for (int i = 0; i < ranked.Length; i++)
            {
                if (ranked[i].TruePositive) tp++;
                else fp++;
                precision[i] = (double)tp / (tp + fp);
                recall[i] = (double)tp / positives;
            }
            double ap = ranked.Length == 0 ? 0 : Mode == VocApMode.ElevenPoint ? ElevenPointAp(precision, recall) : IntegralAp(precision, recall);
            classAp[label] = ap;
            sum += ap;
            counted++;
        }
        return new VocMetrics(counted > 0 ? sum / counted : 0, classAp, Mode, IouThreshold);
    }

    /// <summary>
    /// The mean of the best precision at recall ≥ j/10 for j = 0 … 10, read from the end of the curve backwards as
    /// PaddleDetection's loop does: a level takes the best precision among the points from where the previous (higher)
    /// level stopped down to the first point below its own recall, starting from that level's value.
    /// </summary>
    private static double ElevenPointAp(double[] precision, double[] recall)
    {
        var best = new double[11];
        int start = precision.Length - 1;
        for (int j = 10; j >= 0; j--)
        {
            for (int i = start; i >= 0; i--)
            {
                if (recall[i] < j / 10.0)
                {
                    start = i;
                    if (j > 0)
                        best[j - 1] = best[j];
                    break;
                }
                if (best[j] < precision[i])
                    best[j] = precision[i];
            }
        }
        return best.Sum() / 11.0;
    }

    private static double IntegralAp(double[] precision, double[] recall)
    {
        double ap = 0, previousRecall = 0;
        for (int i = 0; i < precision.Length; i++)
        {
            double gap = Math.Abs(recall[i] - previousRecall);
            if (gap > 1e-6)
            {
                ap += precision[i] * gap;
                previousRecall = recall[i];
            }
        }
        return ap;
    }

    /// <summary>PaddleDetection's <c>jaccard_overlap</c>: 0 for boxes that only touch, +1 on sides for inclusive pixel boxes.</summary>
    private double Overlap(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a[0] >= b[2] || a[2] <= b[0] || a[1] >= b[3] || a[3] <= b[1])
            return 0;
        double extra = PixelInclusiveBoxes ? 1 : 0;
        double intersection = Area(Math.Max(a[0], b[0]), Math.Max(a[1], b[1]), Math.Min(a[2], b[2]), Math.Min(a[3], b[3]), extra);
        return intersection / (Area(a[0], a[1], a[2], a[3], extra) + Area(b[0], b[1], b[2], b[3], extra) - intersection);
    }

    private static double Area(double x1, double y1, double x2, double y2, double extra) => (x2 - x1 + extra) * (y2 - y1 + extra);

    private void CheckLabel(int label, string what)
    {
        if (label < 1 || label >= NumClasses)
            throw new ArgumentException($"{what} has label {label}, outside 1 … {NumClasses - 1} (0 is the background).");
    }
}
