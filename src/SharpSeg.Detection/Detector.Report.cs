using System.Globalization;
using SharpSeg.Data;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Evaluation;
using SharpSeg.Detection.Visualization;
using SharpSeg.Training.Reporting;

namespace SharpSeg.Detection;

public sealed partial class Detector
{
    /// <summary>The name <c>best_model</c> is chosen by, and early stopping watches: box AP@[.5:.95].</summary>
    public const string BoxMapMetric = "box_map";

    /// <summary>
    /// The evaluation numbers logged to <c>metrics.jsonl</c> as <c>metrics</c> and drawn as curves by the report (and
    /// TensorBoard's <c>Eval/…</c>): box mAP, AP50 and AP75, and the same for masks when the model predicts them.
    /// </summary>
    internal static Dictionary<string, double> ReportScalars(DetectionMetrics metrics)
    {
        var scalars = new Dictionary<string, double>
        {
            [BoxMapMetric] = metrics.Box.AP,
            ["box_ap50"] = metrics.Box.AP50,
            ["box_ap75"] = metrics.Box.AP75,
        };
        if (metrics.Mask is { } mask)
        {
            scalars["mask_map"] = mask.AP;
            scalars["mask_ap50"] = mask.AP50;
            scalars["mask_ap75"] = mask.AP75;
        }
        return scalars;
    }

    /// <summary>COCOeval's twelve <c>stats</c> keyed by <see cref="CocoMetrics.StatNames"/>, in order.</summary>
    internal static Dictionary<string, double> NamedStats(CocoMetrics metrics) =>
        CocoMetrics.StatNames.Zip(metrics.Stats).ToDictionary(p => p.First, p => p.Second);

    /// <summary>
    /// AP@[.5:.95] of each category (all areas, 100 detections), in <see cref="CocoAccumulation.CategoryIds"/> order; −1 for
    /// a category without ground truth. What Detectron2's <c>COCOEvaluator</c> prints as its per-category AP table.
    /// </summary>
    internal static double[] CategoryAP(CocoAccumulation accumulation)
    {
        var precision = accumulation.Precision;
        var perCategory = new double[precision.GetLength(2)];
        for (int k = 0; k < perCategory.Length; k++)
        {
            double sum = 0;
            int count = 0;
            for (int t = 0; t < precision.GetLength(0); t++)
                for (int r = 0; r < precision.GetLength(1); r++)
                    if (precision[t, r, k, 0, 2] > -1)
                    {
                        sum += precision[t, r, k, 0, 2];
                        count++;
                    }
            perCategory[k] = count == 0 ? -1 : sum / count;
        }
        return perCategory;
    }

    /// <summary>
    /// Writes the report's gallery into <c>saveDir/report_gallery</c>, replacing what was there: for the first
    /// <see cref="TrainingReport.GalleryImages"/> evaluation samples, the image (<c>NN_image.png</c>), its ground truth
    /// drawn (<c>NN_truth.png</c>) and this model's objects scoring at least 0.5 drawn (<c>NN_prediction.png</c>), with
    /// <see cref="DetectionDrawing"/>. Called when an evaluation makes a new <c>best_model</c>, so the gallery shows it.
    /// </summary>
    internal void WriteGallery(string saveDir, DetectionDataset evalDataset, float maxPixelValue = 255f)
    {
        string folder = Path.Combine(saveDir, TrainingReport.GalleryFolderName);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        for (int index = 0; index < Math.Min(TrainingReport.GalleryImages, evalDataset.Count); index++)
        {
            // The evaluation's own draw for this sample (Evaluate seeds sample i with i), so the gallery shows what was scored.
            var sample = evalDataset.Get(index, new Random(index));
            var image = DetectionDrawing.ToBytes(sample.Image, maxPixelValue);
            var target = sample.Target;
            var truth = new DetectionPrediction(target.Boxes, [.. Enumerable.Repeat(1f, target.Count)], target.Labels, target.Masks);
            var found = Predict(sample.Image, 0.5f, maxPixelValue);
            string Name(string column) => Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{index:00}_{column}.png"));
            ImageFile.WritePng(Name("image"), image);
            ImageFile.WritePng(Name("truth"), DetectionDrawing.Draw(image, truth, ClassNames));
            ImageFile.WritePng(Name("prediction"), DetectionDrawing.Draw(image, found, ClassNames));
        }
        Model.Train();
    }
}
