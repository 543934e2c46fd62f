using SharpSeg.Data;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Evaluation;
using SharpSeg.Detection.Models;
using SharpSeg.Detection.Visualization;

namespace SharpSeg.Detection;

public sealed partial class Detector
{
    /// <summary>
    /// Scores <paramref name="dataset"/> with COCO's metrics: every sample (with the dataset's transforms, drawn from a fixed
    /// seed) is predicted and compared with its target, boxes always and masks when the model predicts them. Images are
    /// numbered by dataset index, categories are the labels. Equivalent to torchvision's references' <c>evaluate()</c>
    /// (<c>CocoEvaluator</c> over <c>iou_types</c> bbox and segm).
    /// </summary>
    /// <param name="dataset">Samples with targets; its class count must be the model's.</param>
    /// <param name="maxPixelValue">The pixel value that maps to 1 (255 for 8-bit images).</param>
    /// <param name="metric">Also compute VOC-style box mAP (<see cref="VocEvaluator"/>: IoU 0.5, difficult objects ignored,
    /// 11-point or integral), as PaddleDetection reports for VOC datasets. Difficult objects (<see cref="DetectionTarget.Difficult"/>)
    /// are ignored by the COCO numbers too (<see cref="CocoGroundTruth.Ignore"/>).</param>
    /// <exception cref="ArgumentException">The dataset's class count differs from the model's, or it is empty.</exception>
    public DetectionMetrics Evaluate(DetectionDataset dataset, float maxPixelValue = 255f, DetectionMetric metric = DetectionMetric.Coco)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.NumClasses != NumClasses)
            throw new ArgumentException($"Detector.Evaluate: the dataset has {dataset.NumClasses} classes (background included) but model '{ModelName}' has {NumClasses}.", nameof(dataset));
        if (dataset.Count == 0)
            throw new ArgumentException("Detector.Evaluate: the dataset has no samples.", nameof(dataset));
        var categories = Enumerable.Range(0, NumClasses).ToArray();
        var boxes = new CocoEvaluator(categories[1..], CocoIouType.Bbox);
        CocoEvaluator? masks = null;
        var voc = metric == DetectionMetric.Coco ? null
            : new VocEvaluator(NumClasses, metric == DetectionMetric.Voc ? VocApMode.ElevenPoint : VocApMode.Integral);
        Model.Eval();
        for (int index = 0; index < dataset.Count; index++)
        {
            var sample = dataset.Get(index, new Random(index));
            DetectionPrediction prediction;
            using (Engine.ReuseBuffers()) prediction = ToPrediction(Model.Predict([sample.ModelInput(maxPixelValue)])[0], sample.Image.Height, sample.Image.Width);
            var truths = CocoConversions.GroundTruths(sample.Target, categories).Select(t => t with { ImageId = index }).ToArray();
            var found = CocoConversions.Detections(index, prediction.Boxes, prediction.Scores, prediction.Labels, categories, prediction.Masks);
            boxes.AddImage(index, [.. truths.Select(t => t with { Mask = null })], [.. found.Select(d => d with { Mask = null })]);
            voc?.AddImage(sample.Target, prediction);
            if (prediction.Masks is not null)
            {
                if (sample.Target.Masks is null)
                    throw new InvalidDataException($"Detector.Evaluate: model '{ModelName}' predicts masks but {dataset.SourceName(index)} has none to compare with.");
                masks ??= new CocoEvaluator(categories[1..], CocoIouType.Segm);
                masks.AddImage(index, truths, found);
            }
        }
        var boxAccumulation = boxes.Accumulate();
        return new DetectionMetrics(boxAccumulation.Summarize(), masks?.Summarize(), dataset.Count, CategoryAP(boxAccumulation), voc?.Summarize());
    }

    /// <summary>
    /// The objects in <paramref name="image"/> (HWC, 0–<paramref name="maxPixelValue"/>, RGB), in its pixels, best first,
    /// those scoring at least <paramref name="minScore"/>. Equivalent to <c>model.eval(); model([to_tensor(image)])[0]</c>.
    /// </summary>
    public DetectionPrediction Predict(Image<float> image, float minScore = 0f, float maxPixelValue = 255f)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != 3)
            throw new ArgumentException($"Detector.Predict: the model takes RGB images, got {image.Channels} channels.", nameof(image));
        Model.Eval();
        using var reuse = Engine.ReuseBuffers();
        var input = new DetectionSample(image, DetectionTarget.Empty()).ModelInput(maxPixelValue);
        return ToPrediction(Model.Predict([input])[0], image.Height, image.Width).AtLeast(minScore);
    }

    /// <summary>Reads <paramref name="imagePath"/> (any codec SharpSeg reads, converted to RGB) and predicts it; see <see cref="Predict(Image{float}, float, float)"/>.</summary>
    public DetectionPrediction Predict(string imagePath, float minScore = 0f)
    {
        var (image, maxValue) = ReadRgb(imagePath);
        return Predict(image, minScore, maxValue);
    }

    /// <summary>
    /// Predicts every file of <paramref name="imagePaths"/> and writes into <paramref name="outputDir"/> each image with its
    /// objects drawn (<c>&lt;name&gt;.png</c>: boxes, class names and scores, mask overlays) and all detections as a COCO
    /// results file (<c>detections.json</c>, image ids 1, 2, … in the order given, category ids = labels). Objects scoring
    /// below <paramref name="minScore"/> are left out of both. Every file is written atomically. Returns the predictions in
    /// order.
    /// </summary>
    /// <exception cref="ArgumentException">Two inputs share a file name (their drawings would overwrite each other).</exception>
    public IReadOnlyList<DetectionPrediction> BatchPredict(IReadOnlyList<string> imagePaths, string outputDir, float minScore = 0.5f)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentException.ThrowIfNullOrEmpty(outputDir);
        var clash = imagePaths.GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new ArgumentException($"Detector.BatchPredict: {string.Join(" and ", clash)} would both be drawn to {clash.Key}.png.", nameof(imagePaths));
        Directory.CreateDirectory(outputDir);
        var categories = Enumerable.Range(0, NumClasses).ToArray();
        var predictions = new List<DetectionPrediction>();
        var records = new List<CocoDetection>();
        foreach (string path in imagePaths)
        {
            var (image, maxValue) = ReadRgb(path);
            var prediction = Predict(image, minScore, maxValue);
            predictions.Add(prediction);
            records.AddRange(CocoConversions.Detections(predictions.Count, prediction.Boxes, prediction.Scores, prediction.Labels, categories, prediction.Masks));
            var drawn = DetectionDrawing.Draw(DetectionDrawing.ToBytes(image, maxValue), prediction, ClassNames);
            ImageFile.WritePng(Path.Combine(outputDir, Path.GetFileNameWithoutExtension(path) + ".png"), drawn);
        }
        CocoResultsFile.Write(Path.Combine(outputDir, "detections.json"), records);
        return predictions;
    }

    private static (Image<float> Image, float MaxValue) ReadRgb(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image {Path.GetFullPath(path)} does not exist.", path);
        var decoded = ImageInput.Read(path, 3);
        float maxValue = decoded is Image<ushort> ? 65535f : 255f;
        return (decoded as Image<float> ?? decoded.ToFloat(), maxValue);
    }

    // The model's tensors as arrays; soft masks (Mask R-CNN's [N, 1, H, W] probabilities) become binary at 0.5 as
    // torchvision's evaluation and drawing utilities threshold them.
    private static DetectionPrediction ToPrediction(DetectionResult result, int height, int width)
    {
        var boxes = result.Boxes.ToArray();
        var scores = result.Scores.ToArray();
        var labels = result.Labels.To(DType.Int64).ToArray<long>().Select(l => (int)l).ToArray();
        InstanceMasks? masks = null;
        if (result.Masks is { } soft)
        {
            var values = soft.ToArray();
            if (values.Length != (long)scores.Length * height * width)
                throw new InvalidOperationException($"Detector: the model returned masks of shape {soft.Shape} for {scores.Length} objects in a {height}×{width} image.");
            masks = new InstanceMasks(scores.Length, height, width, [.. values.Select(v => v > 0.5f ? (byte)1 : (byte)0)]);
        }
        return new DetectionPrediction(boxes, scores, labels, masks);
    }
}
