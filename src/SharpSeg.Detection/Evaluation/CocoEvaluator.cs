namespace SharpSeg.Detection.Evaluation;

/// <summary>
/// COCO detection metrics for boxes or instance masks, computed by COCOeval's algorithm: per image and category,
/// detections sorted by score (stable) are greedily matched to the unmatched ground truth of highest IoU at each of the
/// IoU thresholds 0.50:0.05:0.95, crowd regions, objects flagged <see cref="CocoGroundTruth.Ignore"/> (VOC's
/// <c>difficult</c>) and objects outside the area range are ignored rather than missed, and
/// precision is interpolated at 101 recall points for 1, 10 and 100 detections per image. Images are fed one at a time
/// (<see cref="AddImage"/>) and only their match results are kept, so memory does not grow with the detections' masks.
/// Equivalent to <c>pycocotools.cocoeval.COCOeval(gt, dt, iouType)</c> with default <c>Params</c> followed by
/// <c>evaluate()</c>, <c>accumulate()</c>, <c>summarize()</c>, and to torchvision's <c>CocoEvaluator</c>.
/// </summary>
/// <remarks>
/// Differences from pycocotools, all on inputs pycocotools mishandles: a detection or ground truth of a category the
/// evaluator was not given, or masks of a size other than the image's, throw instead of being dropped or scored −1;
/// matches are tracked as flags, so an annotation id of 0 (which pycocotools takes for "unmatched") cannot occur. In segm
/// mode a detection's area is always its mask's, as <c>COCO.loadRes</c> computes it for mask results without a box
/// (torchvision's and detectron2's segm results); <c>loadRes</c> would take the box area for an entry carrying both.
/// An annotation's <c>ignore</c> flag is honoured as COCOeval's <c>_prepare</c> evidently means to (its line
/// <c>gt['ignore'] = gt['ignore'] if 'ignore' in gt else 0</c>); pycocotools 2.0 then overwrites the flag with
/// <c>iscrowd</c> on the next line, so unmodified pycocotools scores an ignored object as an ordinary one.
/// </remarks>
public sealed class CocoEvaluator
{
    /// <summary>COCOeval's <c>maxDets</c>.</summary>
    public static IReadOnlyList<int> MaxDetections { get; } = [1, 10, 100];

    /// <summary>COCOeval's <c>areaRng</c> (inclusive bounds): all, small, medium, large.</summary>
    public static IReadOnlyList<(double Min, double Max)> AreaRanges { get; } =
        [(0, 1e5 * 1e5), (0, 32 * 32), (32 * 32, 96 * 96), (96 * 96, 1e5 * 1e5)];

    /// <summary>COCOeval's <c>iouThrs</c>: 0.50, 0.55, …, 0.95, computed as <c>np.linspace(.5, .95, 10)</c> does.</summary>
    public static IReadOnlyList<double> IouThresholds { get; } = Linspace(.5, .95, 10);

    /// <summary>COCOeval's <c>recThrs</c>: 0.00, 0.01, …, 1.00, computed as <c>np.linspace(0, 1, 101)</c> does.</summary>
    public static IReadOnlyList<double> RecallThresholds { get; } = Linspace(0, 1, 101);

    private readonly int[] _categoryIds;
    private readonly Dictionary<int, int> _categoryIndex;
    private readonly SortedDictionary<long, ImageResult?[,]> _images = [];

    /// <summary>Creates an evaluator over the dataset's categories.</summary>
    /// <param name="categoryIds">Every COCO category id of the ground-truth set (COCOeval's <c>catIds</c>); a category
    /// without ground truth anywhere is left out of the means, as in COCOeval.</param>
    /// <param name="iouType">Boxes or masks.</param>
    public CocoEvaluator(IEnumerable<int> categoryIds, CocoIouType iouType)
    {
        _categoryIds = [.. categoryIds.Distinct().Order()];
        if (_categoryIds.Length == 0)
            throw new ArgumentException("The COCO evaluator needs at least one category id.", nameof(categoryIds));
        _categoryIndex = _categoryIds.Select((id, index) => (id, index)).ToDictionary(p => p.id, p => p.index);
        IouType = iouType;
    }

    /// <summary>Boxes or masks.</summary>
    public CocoIouType IouType { get; }

    /// <summary>The sorted category ids (the K axis of <see cref="CocoAccumulation.Precision"/>).</summary>
    public IReadOnlyList<int> CategoryIds => _categoryIds;

    /// <summary>Images added so far.</summary>
    public int ImageCount => _images.Count;

    /// <summary>
    /// Evaluates one image: its ground truths and detections, each in file order (the order decides ties between equal
    /// scores, as in COCOeval). An image with neither still counts as evaluated.
    /// </summary>
    /// <exception cref="ArgumentException">The image was added before, a record belongs to another image or an unknown
    /// category, a score is not finite, or a mask is missing or of another size in <see cref="CocoIouType.Segm"/> mode.</exception>
    public void AddImage(long imageId, IReadOnlyList<CocoGroundTruth> groundTruths, IReadOnlyList<CocoDetection> detections)
    {
        ArgumentNullException.ThrowIfNull(groundTruths);
        ArgumentNullException.ThrowIfNull(detections);
        if (_images.ContainsKey(imageId))
            throw new ArgumentException($"COCO evaluator: image {imageId} was already added.");
        var gtsByCategory = new List<CocoGroundTruth>[_categoryIds.Length];
        var dtsByCategory = new List<CocoDetection>[_categoryIds.Length];
        for (int k = 0; k < _categoryIds.Length; k++)
        {
            gtsByCategory[k] = [];
            dtsByCategory[k] = [];
        }
        for (int i = 0; i < groundTruths.Count; i++)
        {
            var gt = groundTruths[i];
            Check(gt.ImageId, gt.CategoryId, gt.Mask, imageId, $"ground truth {i}");
            gtsByCategory[_categoryIndex[gt.CategoryId]].Add(gt);
        }
        for (int i = 0; i < detections.Count; i++)
        {
            var dt = detections[i];
            Check(dt.ImageId, dt.CategoryId, dt.Mask, imageId, $"detection {i}");
            if (!double.IsFinite(dt.Score))
                throw new ArgumentException($"COCO evaluator: detection {i} of image {imageId} has score {dt.Score}.");
            dtsByCategory[_categoryIndex[dt.CategoryId]].Add(dt);
        }
        CheckMaskSizes(imageId, groundTruths, detections);

        var results = new ImageResult?[_categoryIds.Length, AreaRanges.Count];
        for (int k = 0; k < _categoryIds.Length; k++)
            EvaluateCategory(gtsByCategory[k], dtsByCategory[k], k, results);
        _images.Add(imageId, results);
    }

    /// <summary>
    /// Precision and recall for every threshold, category, area range and detection limit over the images added so far.
    /// Equivalent to <c>COCOeval.accumulate()</c>'s <c>eval["precision"]</c> and <c>eval["recall"]</c>.
    /// </summary>
    public CocoAccumulation Accumulate()
    {
        int t = IouThresholds.Count, r = RecallThresholds.Count, k = _categoryIds.Length, a = AreaRanges.Count, m = MaxDetections.Count;
        var precision = new double[t, r, k, a, m];
        var recall = new double[t, k, a, m];
        FillMinusOne(precision);
        FillMinusOne(recall);
        var images = _images.Values.ToArray();
        for (int ki = 0; ki < k; ki++)
            for (int ai = 0; ai < a; ai++)
                for (int mi = 0; mi < m; mi++)
                    AccumulateSetting(images, ki, ai, mi, precision, recall);
        return new CocoAccumulation(_categoryIds, precision, recall);
    }

    /// <summary>The twelve summary numbers. Equivalent to <c>COCOeval.summarize()</c>'s <c>stats</c>.</summary>
    public CocoMetrics Summarize() => Accumulate().Summarize();

    /// <summary>
    /// Evaluates a whole ground-truth set and results list at once, the way <c>COCOeval(COCO(gt), gt.loadRes(dt))</c> does.
    /// </summary>
    /// <param name="iouType">Boxes or masks.</param>
    /// <param name="imageIds">Every image of the ground-truth set.</param>
    /// <param name="categoryIds">Every category of the ground-truth set.</param>
    /// <param name="groundTruths">Annotations in file order.</param>
    /// <param name="detections">Results in file order.</param>
    /// <exception cref="ArgumentException">A record names an image or category not in the lists.</exception>
    public static CocoAccumulation Evaluate(CocoIouType iouType, IEnumerable<long> imageIds, IEnumerable<int> categoryIds,
        IEnumerable<CocoGroundTruth> groundTruths, IEnumerable<CocoDetection> detections)
    {
        var evaluator = new CocoEvaluator(categoryIds, iouType);
        var gts = imageIds.Distinct().ToDictionary(id => id, _ => new List<CocoGroundTruth>());
        var dts = gts.Keys.ToDictionary(id => id, _ => new List<CocoDetection>());
        foreach (var gt in groundTruths)
            (gts.GetValueOrDefault(gt.ImageId) ?? throw new ArgumentException(
                $"COCO evaluator: a ground truth names image {gt.ImageId}, which is not in the image list.")).Add(gt);
        foreach (var dt in detections)
            (dts.GetValueOrDefault(dt.ImageId) ?? throw new ArgumentException(
                $"COCO evaluator: a detection names image {dt.ImageId}, which is not in the ground-truth set.")).Add(dt);
        foreach (var (imageId, imageGts) in gts)
            evaluator.AddImage(imageId, imageGts, dts[imageId]);
        return evaluator.Accumulate();
    }

    private void Check(long recordImage, int categoryId, Data.CocoRle? mask, long imageId, string what)
    {
        if (recordImage != imageId)
            throw new ArgumentException($"COCO evaluator: {what} given for image {imageId} names image {recordImage}.");
        if (!_categoryIndex.ContainsKey(categoryId))
            throw new ArgumentException(
                $"COCO evaluator: {what} of image {imageId} has category id {categoryId}, which is not among the evaluated " +
                $"categories [{string.Join(", ", _categoryIds)}].");
        if (IouType == CocoIouType.Segm && mask is null)
            throw new ArgumentException($"COCO evaluator: {what} of image {imageId} has no mask, which segm evaluation needs.");
    }

    private void CheckMaskSizes(long imageId, IReadOnlyList<CocoGroundTruth> groundTruths, IReadOnlyList<CocoDetection> detections)
    {
        if (IouType != CocoIouType.Segm)
            return;
        var masks = groundTruths.Select((g, i) => (Mask: g.Mask!, What: $"ground truth {i}"))
            .Concat(detections.Select((d, i) => (Mask: d.Mask!, What: $"detection {i}"))).ToList();
        if (masks.Count == 0)
            return;
        var (first, firstWhat) = masks[0];
        foreach (var (mask, what) in masks)
            if (mask.Height != first.Height || mask.Width != first.Width)
                throw new ArgumentException(
                    $"COCO evaluator: image {imageId}: {what}'s mask is {mask.Height}×{mask.Width} but {firstWhat}'s is " +
                    $"{first.Height}×{first.Width}; all masks of an image must have the image's size.");
    }

    /// <summary>COCOeval's <c>computeIoU</c> and <c>evaluateImg</c> for one category of one image, every area range.</summary>
    private void EvaluateCategory(List<CocoGroundTruth> gts, List<CocoDetection> dts, int k, ImageResult?[,] results)
    {
        if (gts.Count == 0 && dts.Count == 0)
            return;
        int maxDet = MaxDetections[^1];
        // OrderByDescending is stable, as COCOeval's mergesort: equal scores keep their input order.
        var sorted = dts.OrderByDescending(d => d.Score).Take(maxDet).ToArray();
        var ious = new double[sorted.Length, gts.Count];
        for (int d = 0; d < sorted.Length; d++)
            for (int g = 0; g < gts.Count; g++)
                ious[d, g] = Iou(sorted[d], gts[g]);
        var dtAreas = sorted.Select(d => IouType == CocoIouType.Bbox ? d.Box.Area : d.Mask!.Area).ToArray();
        for (int a = 0; a < AreaRanges.Count; a++)
            results[k, a] = EvaluateArea(gts, sorted, dtAreas, ious, AreaRanges[a]);
    }

    private double Iou(CocoDetection dt, CocoGroundTruth gt) =>
        IouType == CocoIouType.Segm ? Data.CocoRle.Iou(dt.Mask!, gt.Mask!, gt.IsCrowd) : BoxIou(dt.Box, gt.Box, gt.IsCrowd);

    /// <summary>COCO's <c>bbIou</c>: overlap of xywh boxes; for a crowd ground truth the union is the detection's area.</summary>
    internal static double BoxIou(CocoBox dt, CocoBox gt, bool crowd)
    {
        double w = Math.Min(dt.Width + dt.X, gt.Width + gt.X) - Math.Max(dt.X, gt.X);
        if (w <= 0)
            return 0;
        double h = Math.Min(dt.Height + dt.Y, gt.Height + gt.Y) - Math.Max(dt.Y, gt.Y);
        if (h <= 0)
            return 0;
        double intersection = w * h, dtArea = dt.Width * dt.Height;
        return intersection / (crowd ? dtArea : dtArea + gt.Width * gt.Height - intersection);
    }

    private static ImageResult EvaluateArea(List<CocoGroundTruth> gts, CocoDetection[] dts, double[] dtAreas, double[,] ious,
        (double Min, double Max) range)
    {
        // Ground truths to ignore (crowds, objects flagged ignore or difficult, and objects outside the range) go last,
        // keeping file order within each group.
        var ignoredGt = gts.Select(g => g.IsCrowd || g.Ignore || g.Area < range.Min || g.Area > range.Max).ToArray();
        int[] gtOrder = [.. Enumerable.Range(0, gts.Count).OrderBy(g => ignoredGt[g] ? 1 : 0)];
        int thresholds = IouThresholds.Count, detectionCount = dts.Length;
        var matched = new bool[thresholds, detectionCount];
        var ignored = new bool[thresholds, detectionCount];
        var gtMatched = new bool[gts.Count];
        for (int t = 0; t < thresholds; t++)
        {
            Array.Clear(gtMatched);
            for (int d = 0; d < detectionCount; d++)
            {
                double best = Math.Min(IouThresholds[t], 1 - 1e-10);
                int match = -1;
                foreach (int g in gtOrder)
                {
                    // A crowd region may absorb any number of detections; any other ground truth only one.
                    if (gtMatched[g] && !gts[g].IsCrowd)
                        continue;
                    // Once matched to a real object, stop before the ignored ones (they are sorted last).
                    if (match > -1 && !ignoredGt[match] && ignoredGt[g])
                        break;
                    if (ious[d, g] < best)
                        continue;
                    best = ious[d, g];
                    match = g;
                }
                if (match == -1)
                    continue;
                ignored[t, d] = ignoredGt[match];
                matched[t, d] = true;
                gtMatched[match] = true;
            }
        }
        for (int d = 0; d < detectionCount; d++)
            if (dtAreas[d] < range.Min || dtAreas[d] > range.Max)
                for (int t = 0; t < thresholds; t++)
                    ignored[t, d] |= !matched[t, d];
        return new ImageResult([.. dts.Select(d => d.Score)], matched, ignored, ignoredGt.Count(i => !i));
    }

    private static void AccumulateSetting(ImageResult?[][,] images, int k, int a, int m, double[,,,,] precision, double[,,,] recall)
    {
        int maxDet = MaxDetections[m];
        var entries = new List<(ImageResult Image, int Detection)>();
        int positives = 0, seen = 0;
        foreach (var image in images)
        {
            if (image[k, a] is not { } result)
                continue;
            seen++;
            positives += result.NotIgnoredGroundTruths;
            for (int d = 0; d < Math.Min(maxDet, result.Scores.Length); d++)
                entries.Add((result, d));
        }
        if (seen == 0 || positives == 0)
            return;
        // LINQ's OrderByDescending is stable, as numpy's mergesort on −score: equal scores keep image order.
        var order = entries.OrderByDescending(e => e.Image.Scores[e.Detection]).ToArray();
        int detections = order.Length;
        var tp = new double[detections];
        var fp = new double[detections];
        var rc = new double[detections];
        var pr = new double[detections];
        for (int t = 0; t < IouThresholds.Count; t++)
        {
            double tpSum = 0, fpSum = 0;
            for (int i = 0; i < detections; i++)
            {
                var (image, d) = order[i];
                if (!image.Ignored[t, d])
                {
                    if (image.Matched[t, d])
                        tpSum++;
                    else
                        fpSum++;
                }
                tp[i] = tpSum;
                fp[i] = fpSum;
                rc[i] = tpSum / positives;
                pr[i] = tpSum / (fpSum + tpSum + Epsilon);
            }
            recall[t, k, a, m] = detections > 0 ? rc[^1] : 0;
            // Precision at recall r is the best precision at any recall ≥ r (the envelope from the right).
            for (int i = detections - 1; i > 0; i--)
                if (pr[i] > pr[i - 1])
                    pr[i - 1] = pr[i];
            int cursor = 0;
            for (int ri = 0; ri < RecallThresholds.Count; ri++)
            {
                // np.searchsorted(rc, threshold, side="left"): the first detection whose recall reaches the threshold.
                while (cursor < detections && rc[cursor] < RecallThresholds[ri])
                    cursor++;
                precision[t, ri, k, a, m] = cursor < detections ? pr[cursor] : 0;
            }
        }
    }

    /// <summary><c>np.spacing(1)</c>, which COCOeval adds to precision's denominator.</summary>
    private const double Epsilon = 2.220446049250313e-16;

    private static double[] Linspace(double start, double stop, int count)
    {
        double step = (stop - start) / (count - 1);
        var values = new double[count];
        for (int i = 0; i < count; i++)
            values[i] = i * step + start;
        values[^1] = stop;
        return values;
    }

    private static void FillMinusOne(Array array)
    {
        switch (array)
        {
            case double[,,,,] five:
                System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref five[0, 0, 0, 0, 0], five.Length).Fill(-1);
                break;
            case double[,,,] four:
                System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref four[0, 0, 0, 0], four.Length).Fill(-1);
                break;
        }
    }

    /// <summary>evaluateImg's result for one image, category and area range (the 100 best detections).</summary>
    private sealed record ImageResult(double[] Scores, bool[,] Matched, bool[,] Ignored, int NotIgnoredGroundTruths);
}

/// <summary>
/// COCOeval's accumulated arrays: <see cref="Precision"/>[T, R, K, A, M] and <see cref="Recall"/>[T, K, A, M] over IoU
/// thresholds, recall thresholds, categories, area ranges (all, small, medium, large) and detection limits (1, 10, 100);
/// −1 where a category has no ground truth in that setting. Equivalent to <c>COCOeval.eval</c>.
/// </summary>
public sealed class CocoAccumulation(IReadOnlyList<int> categoryIds, double[,,,,] precision, double[,,,] recall)
{
    /// <summary>Category ids along the K axis, sorted.</summary>
    public IReadOnlyList<int> CategoryIds { get; } = categoryIds;

    /// <summary>Interpolated precision, <c>eval["precision"]</c>.</summary>
    public double[,,,,] Precision { get; } = precision;

    /// <summary>Best recall, <c>eval["recall"]</c>.</summary>
    public double[,,,] Recall { get; } = recall;

    /// <summary>The twelve numbers of <c>COCOeval.summarize()</c>.</summary>
    public CocoMetrics Summarize() => new(
        MeanPrecision(null, 0, 2), MeanPrecision(0, 0, 2), MeanPrecision(5, 0, 2),
        MeanPrecision(null, 1, 2), MeanPrecision(null, 2, 2), MeanPrecision(null, 3, 2),
        MeanRecall(0, 0), MeanRecall(0, 1), MeanRecall(0, 2),
        MeanRecall(1, 2), MeanRecall(2, 2), MeanRecall(3, 2));

    /// <summary>Mean precision over recall thresholds, categories and IoU thresholds (one IoU threshold if given), skipping −1.</summary>
    public double MeanPrecision(int? iouIndex, int areaIndex, int maxDetIndex)
    {
        double sum = 0;
        int count = 0;
        for (int t = 0; t < Precision.GetLength(0); t++)
        {
            if (iouIndex is { } only && t != only)
                continue;
            for (int r = 0; r < Precision.GetLength(1); r++)
                for (int k = 0; k < Precision.GetLength(2); k++)
                    Add(Precision[t, r, k, areaIndex, maxDetIndex], ref sum, ref count);
        }
        return count == 0 ? -1 : sum / count;
    }

    /// <summary>Mean recall over IoU thresholds and categories, skipping −1.</summary>
    public double MeanRecall(int areaIndex, int maxDetIndex)
    {
        double sum = 0;
        int count = 0;
        for (int t = 0; t < Recall.GetLength(0); t++)
            for (int k = 0; k < Recall.GetLength(1); k++)
                Add(Recall[t, k, areaIndex, maxDetIndex], ref sum, ref count);
        return count == 0 ? -1 : sum / count;
    }

    private static void Add(double value, ref double sum, ref int count)
    {
        if (value > -1)
        {
            sum += value;
            count++;
        }
    }
}
