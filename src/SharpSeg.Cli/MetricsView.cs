using System.Globalization;
using SharpSeg.Detection;
using SharpSeg.Detection.Evaluation;
using SharpSeg.Training.Metrics;
using Spectre.Console;

namespace SharpSeg.Cli;

/// <summary>Tables of evaluation metrics: one row per class (IoU, accuracy, recall, F1) and the summary scalars.</summary>
internal static class MetricsView
{
    /// <summary>Writes the per-class table and the summary table of <paramref name="metrics"/>.</summary>
    public static void Write(IAnsiConsole console, SegmentationMetrics metrics, IReadOnlyList<string>? classNames, string title = "Evaluation")
    {
        var perClass = new Table { Title = new TableTitle(title) }
            .AddColumn("class")
            .AddColumn(new TableColumn("IoU").RightAligned())
            .AddColumn(new TableColumn("accuracy").RightAligned())
            .AddColumn(new TableColumn("recall").RightAligned())
            .AddColumn(new TableColumn("F1 / Dice").RightAligned());
        for (int c = 0; c < metrics.CategoryIou.Count; c++)
        {
            string name = classNames is not null && c < classNames.Count ? $"{c} {classNames[c]}" : c.ToString(CultureInfo.InvariantCulture);
            perClass.AddRow(Markup.Escape(name), Format(metrics.CategoryIou[c]), Format(metrics.CategoryAccuracy[c]),
                Format(metrics.CategoryRecall[c]), Format(metrics.CategoryF1[c]));
        }
        console.Write(perClass);

        var summary = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        summary.AddRow("mIoU", $"[bold]{Format(metrics.MeanIou)}[/]");
        summary.AddRow("oAcc (pixel accuracy)", Format(metrics.OverallAccuracy));
        summary.AddRow("mAcc", Format(metrics.MeanAccuracy));
        summary.AddRow("kappa", Format(metrics.Kappa));
        summary.AddRow("mDice", Format(metrics.MeanDice));
        console.Write(summary);

        if (metrics.ConfusionMatrix is { } matrix)
        {
            var confusion = new Table { Title = new TableTitle("Confusion matrix (rows: label, columns: prediction)") }.AddColumn("");
            for (int c = 0; c < matrix.Count; c++)
                confusion.AddColumn(new TableColumn(c.ToString(CultureInfo.InvariantCulture)).RightAligned());
            for (int row = 0; row < matrix.Count; row++)
                confusion.AddRow([row.ToString(CultureInfo.InvariantCulture), .. matrix[row].Select(n => n.ToString(CultureInfo.InvariantCulture))]);
            console.Write(confusion);
        }
    }

    /// <summary>
    /// Writes a detector's evaluation: COCOeval's twelve numbers (boxes, and masks for mask models) side by side, then the
    /// box AP@[.5:.95] of each class ("n/a" for a class without ground truth), as Detectron2 prints its per-category table.
    /// </summary>
    public static void Write(IAnsiConsole console, DetectionMetrics metrics, IReadOnlyList<string> classNames, string title = "Evaluation")
    {
        // Titles as lines: a table title wraps at the width of these narrow tables.
        console.WriteLine($"{title}: COCO metrics on {metrics.Images} images");
        var coco = new Table()
            .AddColumn("metric")
            .AddColumn(new TableColumn("box").RightAligned());
        if (metrics.Mask is not null) coco.AddColumn(new TableColumn("mask").RightAligned());
        for (int i = 0; i < CocoMetrics.StatNames.Count; i++)
            coco.AddRow([CocoMetrics.StatNames[i], Format(metrics.Box.Stats[i]), .. metrics.Mask is { } mask ? [Format(mask.Stats[i])] : Array.Empty<string>()]);
        console.Write(coco);
        if (metrics.BoxClassAP is not { Count: > 0 } perClass) return;
        console.WriteLine($"{title}: box AP per class");
        var classes = new Table().AddColumn("class").AddColumn(new TableColumn("AP").RightAligned());
        for (int k = 0; k < perClass.Count; k++)
        {
            // Category k is label k + 1; label 0 is the background.
            string name = k + 1 < classNames.Count ? $"{k + 1} {classNames[k + 1]}" : (k + 1).ToString(CultureInfo.InvariantCulture);
            classes.AddRow(Markup.Escape(name), perClass[k] < 0 ? "n/a" : Format(perClass[k]));
        }
        console.Write(classes);
    }

    /// <summary>A metric with four decimals, culture-independent.</summary>
    public static string Format(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
}
