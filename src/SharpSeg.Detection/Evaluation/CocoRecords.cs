using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Evaluation;

/// <summary>What <see cref="CocoEvaluator"/> compares: boxes or instance masks. COCOeval's <c>iouType</c>.</summary>
public enum CocoIouType
{
    /// <summary><c>iouType="bbox"</c>: box IoU; a detection's area is its box area.</summary>
    Bbox,
    /// <summary><c>iouType="segm"</c>: mask IoU on RLEs; a detection's area is its mask area.</summary>
    Segm,
}

/// <summary>A box in COCO's JSON form: top-left corner, width and height in pixels (<c>[x, y, w, h]</c>).</summary>
public readonly record struct CocoBox(double X, double Y, double Width, double Height)
{
    /// <summary>
    /// Converts a torchvision-style <c>[x1, y1, x2, y2]</c> float box the way torchvision's COCO evaluation does
    /// (<c>convert_to_xywh</c> subtracts in float32 before the values become doubles).
    /// </summary>
    public static CocoBox FromXyxy(float x1, float y1, float x2, float y2) => new(x1, y1, x2 - x1, y2 - y1);

    /// <summary>Box area, <c>w·h</c> (what <c>COCO.loadRes</c> stores as a box detection's area).</summary>
    public double Area => Width * Height;
}

/// <summary>
/// One ground-truth annotation for <see cref="CocoEvaluator"/>: an entry of a COCO <c>instances</c> JSON's
/// <c>annotations</c>.
/// </summary>
/// <param name="ImageId">The image (<c>image_id</c>).</param>
/// <param name="CategoryId">COCO category id (<c>category_id</c>, not a contiguous label).</param>
/// <param name="Box">The <c>bbox</c>.</param>
/// <param name="Area">The annotation's stored <c>area</c>, which decides its area range (COCOeval uses it for boxes too).</param>
/// <param name="IsCrowd">The <c>iscrowd</c> flag: a crowd region is never a miss and absorbs detections inside it.</param>
/// <param name="Mask">The segmentation as RLE (needed for <see cref="CocoIouType.Segm"/>).</param>
/// <param name="Ignore">An object to ignore without crowd semantics: Pascal VOC's <c>difficult</c>, or an annotation's
/// <c>ignore: 1</c>. A detection matched to it is neither a true nor a false positive and it does not count towards
/// recall, as COCOeval's <c>gt["ignore"]</c> flag intends (<c>_prepare</c> sets it, <c>evaluateImg</c> honours it); unlike a
/// crowd it is compared by ordinary IoU and absorbs at most one detection per IoU threshold.</param>
public sealed record CocoGroundTruth(long ImageId, int CategoryId, CocoBox Box, double Area, bool IsCrowd = false, CocoRle? Mask = null,
    bool Ignore = false);

/// <summary>One detection for <see cref="CocoEvaluator"/>: an entry of a COCO results JSON.</summary>
/// <param name="ImageId">The image (<c>image_id</c>).</param>
/// <param name="CategoryId">COCO category id (<c>category_id</c>).</param>
/// <param name="Score">Confidence (<c>score</c>); higher scores are matched first.</param>
/// <param name="Box">The <c>bbox</c> (needed for <see cref="CocoIouType.Bbox"/>).</param>
/// <param name="Mask">The <c>segmentation</c> RLE (needed for <see cref="CocoIouType.Segm"/>).</param>
public sealed record CocoDetection(long ImageId, int CategoryId, double Score, CocoBox Box, CocoRle? Mask = null);

/// <summary>
/// The twelve COCO summary numbers, in the order of <c>COCOeval.stats</c>. A value is −1 where COCOeval prints −1
/// (no ground truth in that setting).
/// </summary>
/// <param name="AP">AP averaged over IoU 0.50:0.95, all areas, 100 detections (<c>stats[0]</c>).</param>
/// <param name="AP50">AP at IoU 0.50 (<c>stats[1]</c>).</param>
/// <param name="AP75">AP at IoU 0.75 (<c>stats[2]</c>).</param>
/// <param name="APSmall">AP for objects with area below 32² (<c>stats[3]</c>).</param>
/// <param name="APMedium">AP for areas 32²–96² (<c>stats[4]</c>).</param>
/// <param name="APLarge">AP for areas above 96² (<c>stats[5]</c>).</param>
/// <param name="AR1">Recall with 1 detection per image (<c>stats[6]</c>).</param>
/// <param name="AR10">Recall with 10 detections per image (<c>stats[7]</c>).</param>
/// <param name="AR100">Recall with 100 detections per image (<c>stats[8]</c>).</param>
/// <param name="ARSmall">Recall for small objects, 100 detections (<c>stats[9]</c>).</param>
/// <param name="ARMedium">Recall for medium objects (<c>stats[10]</c>).</param>
/// <param name="ARLarge">Recall for large objects (<c>stats[11]</c>).</param>
public sealed record CocoMetrics(double AP, double AP50, double AP75, double APSmall, double APMedium, double APLarge,
    double AR1, double AR10, double AR100, double ARSmall, double ARMedium, double ARLarge)
{
    /// <summary>The values in <c>COCOeval.stats</c> order.</summary>
    public double[] Stats => [AP, AP50, AP75, APSmall, APMedium, APLarge, AR1, AR10, AR100, ARSmall, ARMedium, ARLarge];

    /// <summary>Names of <see cref="Stats"/>' entries.</summary>
    public static IReadOnlyList<string> StatNames { get; } =
        ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"];

    /// <summary>The summary as COCOeval's <c>summarize()</c> prints it, one line per number.</summary>
    public string ToSummary(CocoIouType iouType)
    {
        string[] lines =
        [
            Line("Average Precision", "(AP)", "0.50:0.95", "all", 100, AP),
            Line("Average Precision", "(AP)", "0.50", "all", 100, AP50),
            Line("Average Precision", "(AP)", "0.75", "all", 100, AP75),
            Line("Average Precision", "(AP)", "0.50:0.95", "small", 100, APSmall),
            Line("Average Precision", "(AP)", "0.50:0.95", "medium", 100, APMedium),
            Line("Average Precision", "(AP)", "0.50:0.95", "large", 100, APLarge),
            Line("Average Recall", "(AR)", "0.50:0.95", "all", 1, AR1),
            Line("Average Recall", "(AR)", "0.50:0.95", "all", 10, AR10),
            Line("Average Recall", "(AR)", "0.50:0.95", "all", 100, AR100),
            Line("Average Recall", "(AR)", "0.50:0.95", "small", 100, ARSmall),
            Line("Average Recall", "(AR)", "0.50:0.95", "medium", 100, ARMedium),
            Line("Average Recall", "(AR)", "0.50:0.95", "large", 100, ARLarge),
        ];
        return $"IoU metric: {(iouType == CocoIouType.Bbox ? "bbox" : "segm")}\n" + string.Join("\n", lines) + "\n";
    }

    private static string Line(string title, string kind, string iou, string area, int maxDets, double value) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $" {title,-18} {kind} @[ IoU={iou,-9} | area={area,6} | maxDets={maxDets,3} ] = {value:0.000}");
}
