using System.Text.Json.Serialization;

namespace SharpSeg.Training.Metrics;

/// <summary>
/// Evaluation metrics of a <see cref="ConfusionMatrix"/>, computed as PaddleX 1.x <c>seg_eval.ConfusionMatrix</c>
/// (<c>mean_iou</c>, <c>accuracy</c>, <c>kappa</c>, <c>f1_score</c>) and PaddleSeg <c>paddleseg.utils.metrics</c>
/// (<c>mean_iou</c>, <c>class_measurement</c>, <c>kappa</c>, <c>dice</c>) compute them. With TP<sub>c</sub> the
/// diagonal, L<sub>c</sub> the row sum (label area) and P<sub>c</sub> the column sum (prediction area):
/// <list type="bullet">
/// <item><c>category_iou</c>[c] = TP/(L + P − TP), 0 when the class is absent from both labels and predictions;</item>
/// <item><c>miou</c> = mean of <c>category_iou</c> over ALL classes, absent ones counting as 0 (both PaddleSeg's
/// <c>mean_iou</c> and PaddleX's do exactly this, so a class missing from the evaluation set lowers mIoU);</item>
/// <item><c>category_acc</c>[c] = TP/P, the per-class precision PaddleX calls accuracy (PaddleSeg's
/// <c>class_precision</c>), 0 when the class is never predicted; <c>category_recall</c>[c] = TP/L, 0 when absent;</item>
/// <item><c>macc</c> = mean of <c>category_acc</c> over all classes (PaddleX 1.0 used the key <c>macc</c> for the
/// overall accuracy, now <c>oacc</c>);</item>
/// <item><c>oacc</c> = ΣTP/ΣL, the pixel accuracy (PaddleX's <c>oacc</c>, PaddleSeg's <c>acc</c>), 0 with no pixels;</item>
/// <item><c>kappa</c> = (p<sub>o</sub> − p<sub>e</sub>)/(1 − p<sub>e</sub>) with p<sub>o</sub> = ΣTP/N and
/// p<sub>e</sub> = Σ L·P/N² (Cohen's kappa); 0 with no pixels, and 0 where PaddleX divides 0 by 0
/// (p<sub>e</sub> = 1: labels and predictions are all one class);</item>
/// <item><c>category_f1</c>[c] = 2TP/(L + P), which is PaddleX's F1 = 2·precision·recall/(precision + recall) and
/// PaddleSeg's per-class Dice, 0 when the class is absent from both; <c>mdice</c> its mean over all classes.</item>
/// </list>
/// Property names serialise as PaddleX's dictionary keys.
/// </summary>
/// <param name="MeanIou">Mean IoU over all classes.</param>
/// <param name="CategoryIou">IoU of each class.</param>
/// <param name="OverallAccuracy">Correct pixels / counted pixels.</param>
/// <param name="MeanAccuracy">Mean of <paramref name="CategoryAccuracy"/> over all classes.</param>
/// <param name="CategoryAccuracy">Per-class accuracy as PaddleX defines it: correct / predicted pixels of the class.</param>
/// <param name="CategoryRecall">Correct / labelled pixels of each class.</param>
/// <param name="Kappa">Cohen's kappa.</param>
/// <param name="CategoryF1">F1 score (Dice) of each class.</param>
/// <param name="MeanDice">Mean of <paramref name="CategoryF1"/> over all classes.</param>
/// <param name="ConfusionMatrix">The counts <c>[label][prediction]</c> when details were asked, else null.</param>
public sealed record SegmentationMetrics(
    [property: JsonPropertyName("miou")] double MeanIou,
    [property: JsonPropertyName("category_iou")] IReadOnlyList<double> CategoryIou,
    [property: JsonPropertyName("oacc")] double OverallAccuracy,
    [property: JsonPropertyName("macc")] double MeanAccuracy,
    [property: JsonPropertyName("category_acc")] IReadOnlyList<double> CategoryAccuracy,
    [property: JsonPropertyName("category_recall")] IReadOnlyList<double> CategoryRecall,
    [property: JsonPropertyName("kappa")] double Kappa,
    [property: JsonPropertyName("category_f1")] IReadOnlyList<double> CategoryF1,
    [property: JsonPropertyName("mdice")] double MeanDice,
    [property: JsonPropertyName("confusion_matrix"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<IReadOnlyList<long>>? ConfusionMatrix)
{
    /// <summary>The names <see cref="Scalar"/> accepts, in PaddleX's key spelling.</summary>
    public static IReadOnlyList<string> ScalarNames { get; } = ["miou", "oacc", "macc", "kappa", "mdice"];

    /// <summary>
    /// A scalar metric by its PaddleX key (<c>miou</c>, <c>oacc</c>, <c>macc</c>, <c>kappa</c>, <c>mdice</c>), for
    /// best-model selection and early stopping on any metric.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="ScalarNames"/>.</exception>
    public double Scalar(string name) => name switch
    {
        "miou" => MeanIou,
        "oacc" => OverallAccuracy,
        "macc" => MeanAccuracy,
        "kappa" => Kappa,
        "mdice" => MeanDice,
        _ => throw new ArgumentException($"'{name}' is not a scalar segmentation metric; use one of {string.Join(", ", ScalarNames)}.", nameof(name)),
    };

    /// <summary>Every scalar metric by its PaddleX key, for logging.</summary>
    public IReadOnlyDictionary<string, double> Scalars() => ScalarNames.ToDictionary(n => n, Scalar);

    /// <summary>The metrics of <paramref name="matrix"/>; see the type's documentation for the exact formulas.</summary>
    public static SegmentationMetrics From(ConfusionMatrix matrix, bool includeConfusionMatrix = false)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        int n = matrix.NumClasses;
        var labelArea = new long[n];
        var predictionArea = new long[n];
        var intersection = new long[n];
        for (int label = 0; label < n; label++)
            for (int prediction = 0; prediction < n; prediction++)
            {
                long count = matrix.Count(label, prediction);
                labelArea[label] += count;
                predictionArea[prediction] += count;
                if (label == prediction) intersection[label] = count;
            }

        var iou = new double[n];
        var accuracy = new double[n];
        var recall = new double[n];
        var f1 = new double[n];
        long total = 0, correct = 0;
        Int128 chanceProduct = 0;
        for (int c = 0; c < n; c++)
        {
            iou[c] = Ratio(intersection[c], labelArea[c] + predictionArea[c] - intersection[c]);
            accuracy[c] = Ratio(intersection[c], predictionArea[c]);
            recall[c] = Ratio(intersection[c], labelArea[c]);
            f1[c] = Ratio(2 * intersection[c], labelArea[c] + predictionArea[c]);
            total += labelArea[c];
            correct += intersection[c];
            chanceProduct += (Int128)labelArea[c] * predictionArea[c];
        }

        double kappa = 0;
        if (total > 0)
        {
            double observed = (double)correct / total;
            double chance = (double)chanceProduct / ((double)total * total);
            if (chance < 1) kappa = (observed - chance) / (1 - chance);
        }

        return new SegmentationMetrics(
            MeanIou: iou.Average(),
            CategoryIou: iou,
            OverallAccuracy: Ratio(correct, total),
            MeanAccuracy: accuracy.Average(),
            CategoryAccuracy: accuracy,
            CategoryRecall: recall,
            Kappa: kappa,
            CategoryF1: f1,
            MeanDice: f1.Average(),
            ConfusionMatrix: includeConfusionMatrix ? matrix.ToArray() : null);
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}
