namespace SharpSeg.Detection.Models;

/// <summary>
/// EfficientDet's anchors, box coding and anchor labelling, efficientdet-pytorch's <c>Anchors</c>, <c>FasterRcnnBoxCoder</c> and
/// <c>AnchorLabeler</c> (<c>ArgMaxMatcher</c> with matched = unmatched threshold and a forced match for every ground truth).
/// Boxes here are (x1, y1, x2, y2) like the rest of SharpSeg; efficientdet-pytorch keeps (y1, x1, y2, x2) inside and codes
/// (ty, tx, th, tw), which is the order of the box net's four outputs per anchor and of <see cref="Encode"/>'s result.
/// </summary>
public sealed class EfficientDetAnchors
{
    private const float CoderEps = 1e-7f;

    /// <summary>
    /// Lays the anchors out for <paramref name="config"/>: per level (finest first), per position (row-major), per octave
    /// scale then aspect ratio, centred at (stride / 2 + stride · i) with half-sizes anchor_scale · stride · 2^(octave/3) ·
    /// aspect / 2, stride being the image side over the level's side, as efficientdet-pytorch's <c>_generate_boxes</c>.
    /// </summary>
    public EfficientDetAnchors(EfficientDetConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sizes = EfficientDet.LevelSizes(config.ImageSize, config.MaxLevel);
        var boxes = new List<float>();
        var counts = new List<int>();
        for (int level = config.MinLevel; level <= config.MaxLevel; level++)
        {
            double strideY = (double)sizes[0].H / sizes[level].H, strideX = (double)sizes[0].W / sizes[level].W;
            var ys = Arange(strideY / 2, sizes[0].H, strideY);
            var xs = Arange(strideX / 2, sizes[0].W, strideX);
            int start = boxes.Count;
            foreach (double y in ys)
                foreach (double x in xs)
                    for (int octave = 0; octave < EfficientDetConfig.NumScales; octave++)
                        foreach (var (aspectX, aspectY) in EfficientDetConfig.AspectRatios)
                        {
                            double octaveScale = Math.Pow(2, (double)octave / EfficientDetConfig.NumScales);
                            double halfX = config.AnchorScale * strideX * octaveScale * aspectX / 2;
                            double halfY = config.AnchorScale * strideY * octaveScale * aspectY / 2;
                            boxes.AddRange([(float)(x - halfX), (float)(y - halfY), (float)(x + halfX), (float)(y + halfY)]);
                        }
            counts.Add((boxes.Count - start) / 4);
        }
        Boxes = [.. boxes];
        CountPerLevel = counts;
    }

    /// <summary>All anchors as a flat (x1, y1, x2, y2) array in the order of the flattened head outputs.</summary>
    public float[] Boxes { get; }

    /// <summary>Anchors on each level.</summary>
    public IReadOnlyList<int> CountPerLevel { get; }

    /// <summary>Total anchors.</summary>
    public int Count => Boxes.Length / 4;

    /// <summary>The anchors as an [A, 4] tensor (x1, y1, x2, y2).</summary>
    public Tensor ToTensor() => Tensor.FromArray((float[])Boxes.Clone(), Count, 4);

    /// <summary>
    /// The (ty, tx, th, tw) code of <paramref name="box"/> against anchor <paramref name="anchor"/>: centre offsets over the
    /// anchor's size and log size ratios, sizes padded by 1e-7 as <c>FasterRcnnBoxCoder</c> (no scale factors).
    /// </summary>
    public (float Ty, float Tx, float Th, float Tw) Encode(ReadOnlySpan<float> box, int anchor)
    {
        // float32 throughout, as efficientdet-pytorch: a box centred on its anchor codes an exact 0, which the box loss's
        // mask then leaves out.
        var a = Boxes.AsSpan(anchor * 4, 4);
        float ha = a[3] - a[1] + CoderEps, wa = a[2] - a[0] + CoderEps;
        float h = box[3] - box[1] + CoderEps, w = box[2] - box[0] + CoderEps;
        float ty = ((box[1] + box[3]) / 2 - (a[1] + a[3]) / 2) / ha;
        float tx = ((box[0] + box[2]) / 2 - (a[0] + a[2]) / 2) / wa;
        return (ty, tx, MathF.Log(h / ha), MathF.Log(w / wa));
    }

    /// <summary>
    /// Decodes (ty, tx, th, tw) against an anchor into (x1, y1, x2, y2). Equivalent to efficientdet-pytorch's
    /// <c>decode_box_outputs(…, output_xyxy=True)</c>.
    /// </summary>
    public (float X1, float Y1, float X2, float Y2) Decode(float ty, float tx, float th, float tw, int anchor)
    {
        var a = Boxes.AsSpan(anchor * 4, 4);
        float ha = a[3] - a[1], wa = a[2] - a[0];
        float yc = ty * ha + (a[1] + a[3]) / 2, xc = tx * wa + (a[0] + a[2]) / 2;
        float w = MathF.Exp(tw) * wa, h = MathF.Exp(th) * ha;
        return (xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2);
    }

    /// <summary>
    /// Labels every anchor for one image: the ground truth of highest IoU when that IoU is at least
    /// <paramref name="matchThreshold"/>, background otherwise, and then each ground truth's best anchor forced to it (a
    /// column claimed by two ground truths goes to the first). Returns the class per anchor (0-based foreground class, −1
    /// background), the box code per anchor ([A·4], zero for background) and the number of matched anchors. Equivalent to
    /// efficientdet-pytorch's <c>AnchorLabeler.label_anchors</c>, labels 1-based in and 0-based out.
    /// </summary>
    /// <param name="boxes">Ground-truth boxes [G·4] (x1, y1, x2, y2) in model-input pixels.</param>
    /// <param name="labels">1-based labels [G] (0 is background and never a ground truth).</param>
    /// <param name="matchThreshold">IoU threshold (0.5).</param>
    public (int[] Classes, float[] BoxTargets, int Positives) Label(ReadOnlySpan<float> boxes, ReadOnlySpan<long> labels, float matchThreshold)
    {
        int anchors = Count, truths = labels.Length;
        var classes = new int[anchors];
        var targets = new float[anchors * 4];
        Array.Fill(classes, -1);
        if (truths == 0) return (classes, targets, 0);
        var matches = new int[anchors];
        var bestAnchor = new int[truths];
        var bestIou = new float[truths];
        Array.Fill(bestIou, float.NegativeInfinity);
        for (int a = 0; a < anchors; a++)
        {
            float best = float.NegativeInfinity;
            int match = -1;
            for (int g = 0; g < truths; g++)
            {
                float iou = Iou(boxes.Slice(g * 4, 4), Boxes.AsSpan(a * 4, 4));
                if (iou > best)
                {
                    best = iou;
                    match = g;
                }
                if (iou > bestIou[g])
                {
                    bestIou[g] = iou;
                    bestAnchor[g] = a;
                }
            }
            matches[a] = best >= matchThreshold ? match : -1;
        }
        for (int g = truths - 1; g >= 0; g--) matches[bestAnchor[g]] = g;
        int positives = 0;
        for (int a = 0; a < anchors; a++)
        {
            int g = matches[a];
            if (g < 0) continue;
            positives++;
            classes[a] = (int)labels[g] - 1;
            var (ty, tx, th, tw) = Encode(boxes.Slice(g * 4, 4), a);
            targets[a * 4] = ty;
            targets[a * 4 + 1] = tx;
            targets[a * 4 + 2] = th;
            targets[a * 4 + 3] = tw;
        }
        return (classes, targets, positives);
    }

    // efficientdet-pytorch's IouSimilarity: intersection over union, 0 where they do not intersect.
    private static float Iou(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float h = MathF.Max(MathF.Min(a[3], b[3]) - MathF.Max(a[1], b[1]), 0);
        float w = MathF.Max(MathF.Min(a[2], b[2]) - MathF.Max(a[0], b[0]), 0);
        float intersection = h * w;
        if (intersection == 0) return 0;
        float union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection;
        return intersection / union;
    }

    // numpy's arange(start, stop, step): ⌈(stop − start) / step⌉ values.
    private static double[] Arange(double start, double stop, double step)
    {
        int count = (int)Math.Ceiling((stop - start) / step);
        var values = new double[Math.Max(count, 0)];
        for (int i = 0; i < values.Length; i++) values[i] = start + i * step;
        return values;
    }
}
