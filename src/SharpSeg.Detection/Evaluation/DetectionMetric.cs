namespace SharpSeg.Detection.Evaluation;

/// <summary>
/// Which metrics <see cref="Detector.Evaluate"/> reports besides COCO's (always computed). PaddleDetection's and PaddleX's
/// <c>metric: COCO | VOC</c> with <c>map_type</c>.
/// </summary>
public enum DetectionMetric
{
    /// <summary>COCO's 12 numbers only (<c>COCOeval</c>).</summary>
    Coco,
    /// <summary>Also VOC2007 11-point mAP at IoU 0.5, difficult objects ignored (PaddleDetection's <c>VOCMetric</c>, <c>map_type='11point'</c>).</summary>
    Voc,
    /// <summary>Also integral VOC mAP at IoU 0.5, difficult objects ignored (<c>map_type='integral'</c>).</summary>
    VocIntegral,
}
