using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Visualization;

namespace SharpSeg.Training.Reporting;

/// <summary>
/// Builds <c>report.html</c>, one self-contained page (no network, charts as inline SVG) describing a training run from
/// what it saved: <c>metrics.jsonl</c> (loss and learning rate per step, metrics, per-class IoU and confusion matrix per
/// evaluation) and <c>best_model/state.json</c> (model, options, class names). What the files lack is said on the page.
/// Plays the role of PaddleX's VisualDL scalars and PaddleSeg's evaluation printout, in one file a browser opens.
/// <para>
/// The sections follow what the run logged: a detection run (<c>Detector.Train</c>, whose steps log each torchvision loss
/// under <c>losses</c> and whose evaluations log COCO's numbers as <c>coco_box</c>/<c>coco_mask</c> and per-class AP as
/// <c>class_ap</c>) gets a curve per loss, its mAP curves, the 12 COCO numbers and a per-class AP chart instead of the
/// segmentation run's per-class IoU and confusion matrix.
/// </para>
/// </summary>
public static class TrainingReport
{
    /// <summary>The report's file name in a save folder.</summary>
    public const string FileName = "report.html";

    /// <summary>Folder of the run holding the gallery's PNGs (<c>NN_image.png</c>, <c>NN_truth.png</c>, <c>NN_prediction.png</c>, <c>NN_overlay.png</c>; a column no row has is left out).</summary>
    public const string GalleryFolderName = "report_gallery";

    /// <summary>Validation images shown in the gallery.</summary>
    public const int GalleryImages = 4;

    private static readonly string[] GalleryColumns = ["image", "truth", "prediction", "overlay"];

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly string[] SeriesColors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

    /// <summary>Writes the report of the run in <paramref name="runDir"/> atomically to <paramref name="outputPath"/> (default <c>runDir/report.html</c>); returns its path.</summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="runDir"/> does not exist.</exception>
    public static string Write(string runDir, string? outputPath = null)
    {
        string html = Build(runDir);
        string path = Path.GetFullPath(outputPath ?? Path.Combine(runDir, FileName));
        AtomicFile.WriteAllText(path, html);
        return path;
    }

    /// <summary>The report's HTML for the run in <paramref name="runDir"/>.</summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="runDir"/> does not exist.</exception>
    public static string Build(string runDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDir);
        string full = Path.GetFullPath(runDir);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"Training run folder {full} does not exist.");
        var log = RunLog.Read(Path.Combine(full, Segmenter.MetricsFileName));
        using var state = ReadState(Path.Combine(CheckpointFolders.BestModelFolder(full), Checkpoint.StateFileName));
        var classNames = ClassNames(state, log);

        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Training report — ")
            .Append(Escape(Path.GetFileName(full))).Append("</title>\n<style>").Append(Style).Append("</style></head><body>\n");
        page.Append("<h1>Training report</h1><p class=\"path\">").Append(Escape(full)).Append("</p>\n");

        Section(page, "Loss and learning rate", () => TrainingCurves(page, log));
        Section(page, "Validation metrics", () => EvaluationCurves(page, log));
        var best = log.Evaluations.Where(e => e.IsBest).LastOrDefault() ?? log.Evaluations.LastOrDefault();
        string atBest = best is null ? "" : $" (epoch {best.Epoch})";
        if (log.IsDetection)
        {
            Section(page, "COCO metrics" + atBest, () => CocoTable(page, best));
            // Category k of a detector is label k + 1: label 0 is the background, which has no AP.
            Section(page, "Per-class box AP" + atBest, () => ClassBars(page, best?.ClassAp, [.. classNames.Skip(1)], "box AP", "No per-class AP recorded."));
        }
        else
        {
            Section(page, "Per-class IoU" + atBest, () => ClassBars(page, best?.CategoryIou, classNames, "IoU", "No per-class IoU recorded."));
            Section(page, "Confusion matrix" + atBest, () => Confusion(page, best, classNames));
        }
        Section(page, "Validation gallery (best_model)", () => Gallery(page, full));
        Section(page, "Configuration", () => Configuration(page, state, log));
        Section(page, "Timing", () => Timing(page, log));
        page.Append("</body></html>\n");
        return page.ToString();
    }

    private const string Style =
        "body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222}" +
        "h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}.path{color:#666;font-size:13px}" +
        ".missing{color:#a33;font-style:italic}table{border-collapse:collapse;font-size:14px}" +
        "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}svg{display:block;margin:8px 0}" +
        "svg text{font-size:11px;fill:#333}.gallery img{width:160px;image-rendering:pixelated}";

    private static void Section(StringBuilder page, string title, Action body)
    {
        page.Append("<section><h2>").Append(Escape(title)).Append("</h2>\n");
        body();
        page.Append("</section>\n");
    }

    private static void Missing(StringBuilder page, string what) =>
        page.Append("<p class=\"missing\">").Append(Escape(what)).Append("</p>\n");

    private static void TrainingCurves(StringBuilder page, RunLog log)
    {
        if (log.Steps.Count == 0)
        {
            Missing(page, $"No training steps in {Segmenter.MetricsFileName}.");
            return;
        }
        var lossNames = log.Steps.SelectMany(s => s.Losses?.Keys ?? Enumerable.Empty<string>()).Distinct().ToList();
        LineChart(page, "Training loss", "step", [("loss", log.Steps.Select(s => (s.Step, s.Loss)).ToList())]);
        if (lossNames.Count > 0)
            LineChart(page, "Training losses", "step", [.. lossNames.Select(name =>
                (name, log.Steps.Where(s => s.Losses?.ContainsKey(name) == true).Select(s => (s.Step, s.Losses![name])).ToList()))]);
        LineChart(page, "Learning rate", "step", [("learning rate", log.Steps.Select(s => (s.Step, s.LearningRate)).ToList())]);
    }

    private static void EvaluationCurves(StringBuilder page, RunLog log)
    {
        if (log.Evaluations.Count == 0)
        {
            Missing(page, $"No evaluation in {Segmenter.MetricsFileName} (the run had no validation set or stopped before its first one).");
            return;
        }
        // Segmentation's scalars in their usual order; any other logged metric (a detector's box_map, …) in the order first logged.
        var names = Metrics.SegmentationMetrics.ScalarNames.Concat(log.Evaluations.SelectMany(e => e.Metrics.Keys)).Distinct();
        var series = names
            .Select(name => (name, log.Evaluations.Where(e => e.Metrics.ContainsKey(name)).Select(e => ((double)e.Epoch, e.Metrics[name])).ToList()))
            .Where(s => s.Item2.Count > 0).ToList();
        LineChart(page, "Validation metrics", "epoch", series);
        page.Append("<table><tr><th>epoch</th>");
        foreach (var (name, _) in series) page.Append("<th>").Append(Escape(name)).Append("</th>");
        bool anyValidationLoss = log.Evaluations.Any(e => e.ValidationLoss is not null);
        if (anyValidationLoss) page.Append("<th>validation loss</th>");
        page.Append("</tr>\n");
        foreach (var evaluation in log.Evaluations)
        {
            page.Append("<tr><td>").Append(evaluation.Epoch).Append(evaluation.IsBest ? " ★" : "").Append("</td>");
            foreach (var (name, _) in series)
                page.Append("<td>").Append(evaluation.Metrics.TryGetValue(name, out double v) ? Format(v) : "").Append("</td>");
            if (anyValidationLoss) page.Append("<td>").Append(evaluation.ValidationLoss is { } loss ? Format(loss) : "").Append("</td>");
            page.Append("</tr>\n");
        }
        page.Append("</table>\n");
    }

    /// <summary>A horizontal bar per class of a 0–1 score (IoU, AP); a negative score (COCO's −1, no ground truth) is shown as "n/a".</summary>
    private static void ClassBars(StringBuilder page, List<double>? scores, IReadOnlyList<string> classNames, string what, string missing)
    {
        if (scores is not { Count: > 0 } iou)
        {
            Missing(page, missing);
            return;
        }
        const int rowHeight = 22, labelWidth = 160, barWidth = 560;
        int height = iou.Count * rowHeight + 30;
        page.Append(Invariant, $"<svg class=\"chart\" width=\"{labelWidth + barWidth + 80}\" height=\"{height}\" role=\"img\" aria-label=\"per-class {Escape(what)}\">");
        for (int c = 0; c < iou.Count; c++)
        {
            double value = double.IsFinite(iou[c]) ? Math.Clamp(iou[c], 0, 1) : 0;
            int y = c * rowHeight + 4;
            page.Append(Invariant, $"<text x=\"{labelWidth - 6}\" y=\"{y + 14}\" text-anchor=\"end\">{Escape(ClassName(classNames, c))}</text>");
            page.Append(Invariant, $"<rect x=\"{labelWidth}\" y=\"{y}\" width=\"{value * barWidth:0.#}\" height=\"{rowHeight - 6}\" fill=\"#1f77b4\"><title>{Escape(ClassName(classNames, c))}: {Format(iou[c])}</title></rect>");
            page.Append(Invariant, $"<text x=\"{labelWidth + value * barWidth + 4:0.#}\" y=\"{y + 14}\">{(iou[c] < 0 ? "n/a" : Format(iou[c]))}</text>");
        }
        int axisY = iou.Count * rowHeight + 6;
        page.Append(Invariant, $"<line x1=\"{labelWidth}\" y1=\"{axisY}\" x2=\"{labelWidth + barWidth}\" y2=\"{axisY}\" stroke=\"#333\"/>");
        for (int t = 0; t <= 4; t++)
            page.Append(Invariant, $"<text x=\"{labelWidth + t * barWidth / 4}\" y=\"{axisY + 16}\" text-anchor=\"middle\">{t / 4.0:0.##}</text>");
        page.Append("</svg>\n");
    }

    private static void Confusion(StringBuilder page, Evaluation? best, IReadOnlyList<string> classNames)
    {
        if (best?.ConfusionMatrix is not { Length: > 0 } counts)
        {
            Missing(page, "No confusion matrix recorded (runs before the report existed logged none).");
            return;
        }
        int n = counts.Length;
        int cell = Math.Clamp(480 / n, 14, 48), labelWidth = 140, top = 24;
        page.Append(Invariant, $"<svg class=\"chart\" width=\"{Math.Max(labelWidth + n * cell + 20, 620)}\" height=\"{top + n * cell + labelWidth}\" role=\"img\" aria-label=\"confusion matrix\">");
        page.Append(Invariant, $"<text x=\"{labelWidth}\" y=\"14\">rows: ground truth, columns: prediction; each row sums to 1</text>");
        for (int r = 0; r < n; r++)
        {
            long rowTotal = counts[r].Sum();
            page.Append(Invariant, $"<text x=\"{labelWidth - 6}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"end\">{Escape(ClassName(classNames, r))}</text>");
            for (int c = 0; c < n; c++)
            {
                double share = rowTotal == 0 ? 0 : (double)counts[r][c] / rowTotal;
                int shade = (int)Math.Round(255 - share * 200);
                page.Append(Invariant, $"<rect x=\"{labelWidth + c * cell}\" y=\"{top + r * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({shade},{shade},255)\" stroke=\"#fff\">")
                    .Append(Invariant, $"<title>{Escape(ClassName(classNames, r))} → {Escape(ClassName(classNames, c))}: {counts[r][c]} pixels ({share:P1})</title></rect>");
                if (cell >= 30)
                    page.Append(Invariant, $"<text x=\"{labelWidth + c * cell + cell / 2}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"middle\" style=\"fill:{(share > 0.5 ? "#fff" : "#333")}\">{share:0.00}</text>");
            }
        }
        for (int c = 0; c < n; c++)
        {
            int x = labelWidth + c * cell + cell / 2, y = top + n * cell + 6;
            page.Append(Invariant, $"<text x=\"{x}\" y=\"{y}\" transform=\"rotate(45 {x} {y})\">{Escape(ClassName(classNames, c))}</text>");
        }
        page.Append("</svg>\n");
    }

    /// <summary>COCOeval's twelve numbers of the best evaluation, boxes and (when logged) masks side by side.</summary>
    private static void CocoTable(StringBuilder page, Evaluation? best)
    {
        if (best?.CocoBox is not { Count: > 0 } box)
        {
            Missing(page, "No COCO metrics recorded.");
            return;
        }
        var mask = best.CocoMask?.ToDictionary(m => m.Name, m => m.Value);
        page.Append("<table><tr><th>metric</th><th>box</th>").Append(mask is null ? "" : "<th>mask</th>").Append("</tr>\n");
        foreach (var (name, value) in box)
        {
            page.Append("<tr><th>").Append(Escape(name)).Append("</th><td>").Append(Format(value)).Append("</td>");
            if (mask is not null)
                page.Append("<td>").Append(mask.TryGetValue(name, out double maskValue) ? Format(maskValue) : "").Append("</td>");
            page.Append("</tr>\n");
        }
        page.Append("</table>\n");
    }

    /// <summary>
    /// Predicts the first <see cref="GalleryImages"/> of <paramref name="files"/> with the run's <c>best_model</c> and
    /// writes each image, its ground truth and prediction in pseudo-colour, and the overlay as PNGs into
    /// <c>runDir/report_gallery</c>, replacing what was there. Returns false, writing nothing, when the run has no
    /// <c>best_model</c> or its model is not one the registry can rebuild. Equivalent to PaddleX's <c>visualize</c> of a few validation images.
    /// </summary>
    public static bool WriteGallery(string runDir, IReadOnlyList<SampleFiles> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        string best = CheckpointFolders.BestModelFolder(Path.GetFullPath(runDir));
        if (!Directory.Exists(best)) return false;
        Segmenter model;
        try
        {
            model = Segmenter.Load(best);
        }
        catch (CheckpointException)
        {
            // A model built outside the registry (a custom module) trains fine but cannot be rebuilt from its folder.
            return false;
        }
        string folder = Path.Combine(Path.GetFullPath(runDir), GalleryFolderName);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var palette = LabelVisualizer.Palette();
        for (int i = 0; i < Math.Min(GalleryImages, files.Count); i++)
        {
            var prediction = model.Predict(files[i].ImagePath);
            var display = ImageFile.Read(files[i].ImagePath, new ImageReadOptions { ForceRgb = true });
            Image[] columns =
            [
                display,
                files[i].LabelPath is { } label ? LabelVisualizer.PseudoColor(ImageFile.Read(label).ToInt32(), palette) : LabelVisualizer.PseudoColor(new Image<int>(display.Height, display.Width, 1), palette),
                LabelVisualizer.PseudoColor(prediction.LabelMap, palette),
                LabelVisualizer.Overlay(display, prediction.LabelMap, palette: palette),
            ];
            for (int c = 0; c < columns.Length; c++)
                ImageFile.WritePng(Path.Combine(folder, string.Create(Invariant, $"{i:00}_{GalleryColumns[c]}.png")), columns[c]);
        }
        return true;
    }

    /// <summary>Whether <paramref name="runDir"/> holds a detector's run (its <c>metrics.jsonl</c> says so).</summary>
    public static bool IsDetectionRun(string runDir) => RunLog.Read(Path.Combine(Path.GetFullPath(runDir), Segmenter.MetricsFileName)).IsDetection;

    /// <summary>
    /// The validation images a fresh run in <paramref name="runDir"/> recorded for its gallery (<c>gallery_files</c> of
    /// the <c>start</c> line of <c>metrics.jsonl</c>); empty when none were recorded.
    /// </summary>
    public static IReadOnlyList<SampleFiles> RecordedGalleryFiles(string runDir)
    {
        var start = RunLog.Read(Path.Combine(Path.GetFullPath(runDir), Segmenter.MetricsFileName)).Start;
        if (start is not { } line || !line.TryGetProperty("gallery_files", out var files) || files.ValueKind != JsonValueKind.Array) return [];
        return [.. files.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.Array && f.GetArrayLength() == 2 && f[0].ValueKind == JsonValueKind.String)
            .Select(f => new SampleFiles(f[0].GetString()!, f[1].ValueKind == JsonValueKind.String ? f[1].GetString() : null))];
    }

    private static void Gallery(StringBuilder page, string runDir)
    {
        string folder = Path.Combine(runDir, GalleryFolderName);
        var rows = Directory.Exists(folder)
            ? Directory.GetFiles(folder, "*_image.png").Select(f => Path.GetFileName(f)[..^"_image.png".Length]).Order(StringComparer.Ordinal).ToList()
            : [];
        if (rows.Count == 0)
        {
            Missing(page, $"No gallery: {GalleryFolderName} is missing (written at the end of a run with a file-list validation set and a best_model of a registered model).");
            return;
        }
        // A detection run draws its objects on the image, so it has no overlay column.
        var columns = GalleryColumns.Where(column => rows.Any(row => File.Exists(Path.Combine(folder, $"{row}_{column}.png")))).ToList();
        page.Append("<table class=\"gallery\"><tr>");
        foreach (string column in columns) page.Append("<th>").Append(column).Append("</th>");
        page.Append("</tr>\n");
        foreach (string row in rows)
        {
            page.Append("<tr>");
            foreach (string column in columns)
            {
                string path = Path.Combine(folder, $"{row}_{column}.png");
                page.Append("<td>");
                if (File.Exists(path))
                    page.Append("<img alt=\"").Append(Escape($"{row} {column}")).Append("\" src=\"data:image/png;base64,")
                        .Append(Convert.ToBase64String(File.ReadAllBytes(path))).Append("\">");
                else
                    page.Append("<span class=\"missing\">missing</span>");
                page.Append("</td>");
            }
            page.Append("</tr>\n");
        }
        page.Append("</table>\n");
    }

    private static void Configuration(StringBuilder page, JsonDocument? state, RunLog log)
    {
        if (state is null)
            Missing(page, $"No {CheckpointFolders.BestModelFolderName}/{Checkpoint.StateFileName}: model and options unknown.");
        else
            KeyValueTable(page, state.RootElement.EnumerateObject().Where(p => p.Name is not ("optimizer_state" or "scheduler_state")));
        if (log.Start is { } start)
        {
            page.Append("<h3>Training arguments</h3>");
            KeyValueTable(page, start.EnumerateObject().Where(p => p.Name is not ("event" or "time")));
        }
        else
        {
            Missing(page, $"No training arguments recorded in {Segmenter.MetricsFileName}.");
        }
    }

    private static void KeyValueTable(StringBuilder page, IEnumerable<JsonProperty> properties)
    {
        page.Append("<table>");
        foreach (var property in properties)
            page.Append("<tr><th>").Append(Escape(property.Name)).Append("</th><td>").Append(Escape(property.Value.ToString())).Append("</td></tr>\n");
        page.Append("</table>\n");
    }

    private static void Timing(StringBuilder page, RunLog log)
    {
        if (log.FirstTime is not { } first || log.LastTime is not { } last)
        {
            Missing(page, "No times recorded.");
            return;
        }
        page.Append("<table><tr><th>first line</th><td>").Append(Escape(first.ToString("u", Invariant))).Append("</td></tr>")
            .Append("<tr><th>last line</th><td>").Append(Escape(last.ToString("u", Invariant))).Append("</td></tr>")
            .Append("<tr><th>elapsed</th><td>").Append(Escape((last - first).ToString(@"d\.hh\:mm\:ss", Invariant))).Append("</td></tr>");
        if (log.Steps.Count > 0)
            page.Append("<tr><th>mean images/s</th><td>").Append(Format(log.Steps.Average(s => s.ImagesPerSecond))).Append("</td></tr>");
        page.Append("</table>\n");
    }

    /// <summary>A line chart with axes, round-number ticks, gridlines and a legend beside the plot; non-finite points are left out.</summary>
    private static void LineChart(StringBuilder page, string title, string xLabel, IReadOnlyList<(string Name, List<(double X, double Y)> Points)> series)
    {
        const int width = 820, height = 300, left = 70, right = 140, top = 30, bottom = 50;
        var finite = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        if (finite.Count == 0)
        {
            Missing(page, $"{title}: no finite values.");
            return;
        }
        var (xMin, xMax, xStep) = NiceAxis(finite.Min(p => p.X), finite.Max(p => p.X));
        var (yMin, yMax, yStep) = NiceAxis(Math.Min(0, finite.Min(p => p.Y)), finite.Max(p => p.Y));
        double X(double x) => left + (x - xMin) / (xMax - xMin) * (width - left - right);
        double Y(double y) => height - bottom - (y - yMin) / (yMax - yMin) * (height - top - bottom);

        page.Append(Invariant, $"<svg class=\"chart\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{Escape(title)}\">");
        page.Append(Invariant, $"<text x=\"{(left + width - right) / 2}\" y=\"16\" text-anchor=\"middle\" style=\"font-size:13px\">{Escape(title)}</text>");
        for (int t = 0; yMin + t * yStep <= yMax + yStep * 1e-9; t++)
        {
            double value = yMin + t * yStep;
            page.Append(Invariant, $"<line x1=\"{left}\" y1=\"{Y(value):0.#}\" x2=\"{width - right}\" y2=\"{Y(value):0.#}\" stroke=\"#eee\"/>");
            page.Append(Invariant, $"<text x=\"{left - 6}\" y=\"{Y(value) + 4:0.#}\" text-anchor=\"end\">{Format(value)}</text>");
        }
        for (int t = 0; xMin + t * xStep <= xMax + xStep * 1e-9; t++)
        {
            double value = xMin + t * xStep;
            page.Append(Invariant, $"<line x1=\"{X(value):0.#}\" y1=\"{height - bottom}\" x2=\"{X(value):0.#}\" y2=\"{height - bottom + 4}\" stroke=\"#333\"/>");
            page.Append(Invariant, $"<text x=\"{X(value):0.#}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">{Format(value)}</text>");
        }
        page.Append(Invariant, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"#333\"/>");
        page.Append(Invariant, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"#333\"/>");
        page.Append(Invariant, $"<text x=\"{(left + width - right) / 2}\" y=\"{height - 12}\" text-anchor=\"middle\">{Escape(xLabel)}</text>");
        for (int s = 0; s < series.Count; s++)
        {
            string color = SeriesColors[s % SeriesColors.Length];
            var points = series[s].Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))
                .Select(p => string.Create(Invariant, $"{X(p.X):0.##},{Y(p.Y):0.##}"));
            page.Append(Invariant, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{string.Join(' ', points)}\"/>");
            page.Append(Invariant, $"<rect x=\"{width - right + 16}\" y=\"{top + s * 16}\" width=\"10\" height=\"10\" fill=\"{color}\"/>");
            page.Append(Invariant, $"<text x=\"{width - right + 31}\" y=\"{top + s * 16 + 9}\">{Escape(series[s].Name)}</text>");
        }
        page.Append("</svg>\n");
    }

    /// <summary>Axis bounds widened to multiples of a 1, 2 or 5 × 10^k step giving at most six ticks, so tick labels read as round numbers.</summary>
    private static (double Min, double Max, double Step) NiceAxis(double min, double max)
    {
        if (max <= min) max = min + 1;
        double rough = (max - min) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(f => f * magnitude).First(f => f >= rough);
        return (Math.Floor(min / step) * step, Math.Ceiling(max / step) * step, step);
    }

    private static string Format(double value) => value.ToString("G4", Invariant);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string ClassName(IReadOnlyList<string> names, int index) => index < names.Count ? names[index] : $"class {index}";

    private static IReadOnlyList<string> ClassNames(JsonDocument? state, RunLog log)
    {
        if (state is not null && state.RootElement.TryGetProperty("class_names", out var names) && names.ValueKind == JsonValueKind.Array)
            return names.EnumerateArray().Select(n => n.GetString() ?? "").ToList();
        return [];
    }

    private static JsonDocument? ReadState(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON ({e.Message}).", e);
        }
    }

    private sealed record TrainStep(double Step, double Loss, double LearningRate, double ImagesPerSecond, Dictionary<string, double>? Losses);

    private sealed record Evaluation(int Epoch, Dictionary<string, double> Metrics, List<double>? CategoryIou, long[][]? ConfusionMatrix,
        double? ValidationLoss, bool IsBest, List<double>? ClassAp = null, List<(string Name, double Value)>? CocoBox = null,
        List<(string Name, double Value)>? CocoMask = null);

    /// <summary>What the report reads from <c>metrics.jsonl</c>; unknown events and unparsable lines are skipped.</summary>
    private sealed class RunLog
    {
        public List<TrainStep> Steps { get; } = [];
        public List<Evaluation> Evaluations { get; } = [];
        public JsonElement? Start { get; private set; }

        /// <summary>Whether the run is a detector's: its start line says so, or it logged per-loss steps or COCO evaluations.</summary>
        public bool IsDetection =>
            (Start is { } start && start.TryGetProperty("task", out var task) && task.ValueKind == JsonValueKind.String && task.GetString() == "detection")
            || Steps.Any(s => s.Losses is not null) || Evaluations.Any(e => e.CocoBox is not null);
        public DateTimeOffset? FirstTime { get; private set; }
        public DateTimeOffset? LastTime { get; private set; }

        public static RunLog Read(string path)
        {
            var log = new RunLog();
            if (!File.Exists(path)) return log;
            int lineNumber = 0;
            foreach (string line in File.ReadLines(path))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                JsonElement root;
                try
                {
                    using var document = JsonDocument.Parse(line);
                    root = document.RootElement.Clone();
                }
                catch (JsonException e)
                {
                    throw new InvalidDataException($"{path} line {lineNumber} is not JSON ({e.Message}).", e);
                }
                if (root.ValueKind != JsonValueKind.Object) continue;
                if (root.TryGetProperty("time", out var time) && DateTimeOffset.TryParse(time.GetString(), Invariant, DateTimeStyles.AssumeUniversal, out var at))
                {
                    log.FirstTime ??= at;
                    log.LastTime = at;
                }
                switch (root.TryGetProperty("event", out var kind) ? kind.GetString() : null)
                {
                    case "train":
                        log.Steps.Add(new TrainStep(Number(root, "step"), Number(root, "loss"), Number(root, "learning_rate"), Number(root, "images_per_second"),
                            Named(root, "losses")?.ToDictionary(p => p.Name, p => p.Value)));
                        break;
                    case "evaluation":
                        log.Evaluations.Add(ReadEvaluation(root));
                        break;
                    case "start":
                        log.Start = root;
                        break;
                }
            }
            return log;
        }

        private static Evaluation ReadEvaluation(JsonElement root)
        {
            var metrics = new Dictionary<string, double>();
            if (root.TryGetProperty("metrics", out var m) && m.ValueKind == JsonValueKind.Object)
                foreach (var p in m.EnumerateObject()) metrics[p.Name] = Value(p.Value);
            List<double>? iou = root.TryGetProperty("category_iou", out var c) && c.ValueKind == JsonValueKind.Array
                ? c.EnumerateArray().Select(Value).ToList() : null;
            long[][]? matrix = root.TryGetProperty("confusion_matrix", out var cm) && cm.ValueKind == JsonValueKind.Array
                ? cm.EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray() : null;
            double? validationLoss = root.TryGetProperty("validation_loss", out var vl) ? Value(vl) : null;
            bool isBest = root.TryGetProperty("is_best", out var b) && b.ValueKind == JsonValueKind.True;
            List<double>? classAp = root.TryGetProperty("class_ap", out var ap) && ap.ValueKind == JsonValueKind.Array
                ? ap.EnumerateArray().Select(Value).ToList() : null;
            return new Evaluation((int)Number(root, "epoch"), metrics, iou, matrix, validationLoss, isBest, classAp, Named(root, "coco_box"), Named(root, "coco_mask"));
        }

        /// <summary>The numbers of an object property, in the order logged; null when it is absent or not an object.</summary>
        private static List<(string Name, double Value)>? Named(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
                ? [.. value.EnumerateObject().Select(p => (p.Name, Value(p.Value)))]
                : null;

        private static double Number(JsonElement root, string name) => root.TryGetProperty(name, out var value) ? Value(value) : double.NaN;

        /// <summary>Numbers, and the strings MetricsLogger writes for non-finite values.</summary>
        private static double Value(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, Invariant, out double parsed) => parsed,
            _ => double.NaN,
        };
    }
}
