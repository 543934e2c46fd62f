namespace SharpSeg.Detection.Models;

/// <summary>
/// Encodes boxes as weighted offsets from reference boxes and back: dx = wx·(gx − px)/pw, dy likewise, dw = ww·log(gw/pw),
/// dh likewise, with centres and sizes of (x1, y1, x2, y2) boxes. Decoding clamps dw and dh at <see cref="BboxXformClip"/>
/// (log(1000/16) by default) so no box grows more than 62.5-fold. Float32 arithmetic in torchvision's order. Not
/// differentiable: torchvision decodes detached predictions and encodes targets. Equivalent to
/// <c>torchvision.models.detection._utils.BoxCoder</c>.
/// </summary>
/// <param name="weights">(wx, wy, ww, wh): (1, 1, 1, 1) in the RPN, (10, 10, 5, 5) in the Fast R-CNN head.</param>
/// <param name="bboxXformClip">The largest dw/dh used when decoding.</param>
public sealed class BoxCoder((float X, float Y, float W, float H) weights, float bboxXformClip)
{
    /// <summary>torchvision's default clamp, log(1000 / 16).</summary>
    public static readonly float DefaultBboxXformClip = (float)Math.Log(1000.0 / 16);

    /// <summary>A coder with torchvision's default clamp.</summary>
    public BoxCoder((float X, float Y, float W, float H) weights) : this(weights, DefaultBboxXformClip)
    {
    }

    /// <summary>(wx, wy, ww, wh).</summary>
    public (float X, float Y, float W, float H) Weights { get; } = weights;

    /// <summary>The clamp on decoded dw and dh.</summary>
    public float BboxXformClip { get; } = bboxXformClip;

    /// <summary>
    /// Regression targets [N, 4] of <paramref name="referenceBoxes"/> (ground truth) relative to <paramref name="proposals"/>
    /// (anchors or proposals), both [N, 4]. Equivalent to <c>BoxCoder.encode_single</c>.
    /// </summary>
    public Tensor EncodeSingle(Tensor referenceBoxes, Tensor proposals)
    {
        var gt = BoxArray(referenceBoxes, "referenceBoxes");
        var ex = BoxArray(proposals, "proposals");
        if (gt.Length != ex.Length)
            throw new ShapeMismatchException("BoxCoder.Encode", $"reference boxes {referenceBoxes.Shape} and proposals {proposals.Shape} differ");
        var targets = new float[gt.Length];
        for (int i = 0; i < gt.Length; i += 4)
        {
            float exW = ex[i + 2] - ex[i], exH = ex[i + 3] - ex[i + 1];
            float exX = ex[i] + 0.5f * exW, exY = ex[i + 1] + 0.5f * exH;
            float gtW = gt[i + 2] - gt[i], gtH = gt[i + 3] - gt[i + 1];
            float gtX = gt[i] + 0.5f * gtW, gtY = gt[i + 1] + 0.5f * gtH;
            targets[i] = Weights.X * (gtX - exX) / exW;
            targets[i + 1] = Weights.Y * (gtY - exY) / exH;
            targets[i + 2] = Weights.W * MathF.Log(gtW / exW);
            targets[i + 3] = Weights.H * MathF.Log(gtH / exH);
        }
        return Tensor.FromArray(targets, gt.Length / 4, 4);
    }

    /// <summary>
    /// Boxes [N, 4k] from codes <paramref name="relCodes"/> [N, 4k] (k boxes per row, e.g. one per class) relative to
    /// <paramref name="boxes"/> [N, 4]. Equivalent to <c>BoxCoder.decode_single</c>.
    /// </summary>
    public Tensor DecodeSingle(Tensor relCodes, Tensor boxes)
    {
        ArgumentNullException.ThrowIfNull(relCodes);
        var reference = BoxArray(boxes, "boxes");
        int n = reference.Length / 4;
        if (relCodes.Rank != 2 || relCodes.Shape[0] != n || relCodes.Shape[1] % 4 != 0)
            throw new ShapeMismatchException("BoxCoder.Decode", $"codes {relCodes.Shape} must be [{n}, 4k] for boxes {boxes.Shape}");
        int perRow = relCodes.Shape[1];
        var codes = relCodes.Detach().Contiguous().ToArray();
        var decoded = new float[codes.Length];
        for (int i = 0; i < n; i++)
        {
            float width = reference[i * 4 + 2] - reference[i * 4], height = reference[i * 4 + 3] - reference[i * 4 + 1];
            float centreX = reference[i * 4] + 0.5f * width, centreY = reference[i * 4 + 1] + 0.5f * height;
            for (int j = i * perRow; j < (i + 1) * perRow; j += 4)
            {
                float dx = codes[j] / Weights.X, dy = codes[j + 1] / Weights.Y;
                float dw = MathF.Min(codes[j + 2] / Weights.W, BboxXformClip), dh = MathF.Min(codes[j + 3] / Weights.H, BboxXformClip);
                float x = dx * width + centreX, y = dy * height + centreY;
                float halfW = 0.5f * (MathF.Exp(dw) * width), halfH = 0.5f * (MathF.Exp(dh) * height);
                decoded[j] = x - halfW;
                decoded[j + 1] = y - halfH;
                decoded[j + 2] = x + halfW;
                decoded[j + 3] = y + halfH;
            }
        }
        return Tensor.FromArray(decoded, n, perRow);
    }

    private static float[] BoxArray(Tensor boxes, string name)
    {
        ArgumentNullException.ThrowIfNull(boxes, name);
        if (boxes.Rank != 2 || boxes.Shape[1] != 4)
            throw new ShapeMismatchException("BoxCoder", $"{name} must be [N, 4] as (x1, y1, x2, y2), got {boxes.Shape}");
        return boxes.Detach().Contiguous().ToArray();
    }
}
