using SharpSeg.Training.Reporting;

namespace SharpSeg.Training.Tests.Reporting;

/// <summary><see cref="TrainingReport"/> on hand-made run folders: the numbers shown, escaping, missing data, atomic writes.</summary>
public sealed class TrainingReportTests : IDisposable
{
    private readonly string _run = Path.Combine(Path.GetTempPath(), "sharpseg-report-" + Guid.NewGuid().ToString("N"));

    public TrainingReportTests() => Directory.CreateDirectory(_run);

    public void Dispose() => Directory.Delete(_run, recursive: true);

    private const string StartLine =
        """{"time":"2026-01-02T03:04:05.000Z","event":"start","model":"unet","num_epochs":2,"total_steps":4,"train_batch_size":2,"best_metric":"miou"}""";

    private const string TrainLines =
        """
        {"time":"2026-01-02T03:04:06.000Z","event":"train","epoch":1,"step":1,"loss":1.25,"learning_rate":0.01,"images_per_second":4}
        {"time":"2026-01-02T03:04:07.000Z","event":"train","epoch":1,"step":2,"loss":"NaN","learning_rate":0.0075,"images_per_second":6}
        """;

    private const string EvaluationWithMatrix =
        """{"time":"2026-01-02T03:05:05.500Z","event":"evaluation","epoch":2,"step":4,"metrics":{"miou":0.7424,"oacc":0.8421,"macc":0.8,"kappa":0.75,"mdice":0.83},"category_iou":[0.7273,0.5,1],"validation_loss":0.4321,"is_best":true,"confusion_matrix":[[8,2,0],[1,3,0],[0,0,5]]}""";

    private void WriteRun(params string[] lines)
    {
        File.WriteAllText(Path.Combine(_run, Training.Segmenter.MetricsFileName), string.Join('\n', lines) + "\n");
        Directory.CreateDirectory(Path.Combine(_run, "best_model"));
        File.WriteAllText(Path.Combine(_run, "best_model", "state.json"),
            """{"format_version":1,"model_name":"unet","num_classes":3,"class_names":["road","<script>alert(1)</script>","a&b"],"optimizer_state":"hidden"}""");
    }

    [Fact]
    public void The_report_shows_the_logged_numbers_in_every_section_with_class_names_escaped()
    {
        WriteRun(StartLine, TrainLines, EvaluationWithMatrix);

        string html = TrainingReport.Build(_run);

        foreach (string section in new[] { "Loss and learning rate", "Validation metrics", "Per-class IoU (epoch 2)", "Confusion matrix (epoch 2)",
                     "Validation gallery (best_model)", "Configuration", "Timing" })
            Assert.Contains($"<h2>{section}</h2>", html);
        Assert.Contains("<td>0.7424</td><td>0.8421</td><td>0.8</td><td>0.75</td><td>0.83</td><td>0.4321</td>", html);
        Assert.Contains("<title>a&amp;b: 1</title>", html);
        Assert.Contains("<title>road: 0.7273</title>", html);
        // Row "road" holds 10 pixels: 2 predicted as the second class.
        Assert.Contains("<title>road → &lt;script&gt;alert(1)&lt;/script&gt;: 2 pixels (20.0", html);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("<th>model_name</th><td>unet</td>", html);
        Assert.Contains("<th>train_batch_size</th><td>2</td>", html);
        Assert.DoesNotContain("hidden", html);
        Assert.Contains("<th>elapsed</th><td>0.00:01:00</td>", html);
        Assert.Contains("<th>mean images/s</th><td>5</td>", html);
        // The NaN loss of step 2 is left out of the curve: one point only.
        Assert.Matches("aria-label=\"Training loss\".*?<polyline [^>]*points=\"[0-9.]+,[0-9.]+\"", html);
        Assert.Contains("No gallery: report_gallery is missing", html);
    }

    [Fact]
    public void A_run_logged_before_the_report_existed_gets_a_report_that_names_what_is_missing()
    {
        WriteRun(TrainLines, EvaluationWithMatrix.Replace(""","confusion_matrix":[[8,2,0],[1,3,0],[0,0,5]]""", ""));

        string html = TrainingReport.Build(_run);

        Assert.Contains("aria-label=\"per-class IoU\"", html);
        Assert.Contains("No confusion matrix recorded", html);
        Assert.Contains("No training arguments recorded in metrics.jsonl.", html);
    }

    [Fact]
    public void An_empty_folder_gets_a_report_saying_every_part_is_missing()
    {
        string html = TrainingReport.Build(_run);

        foreach (string missing in new[] { "No training steps in metrics.jsonl.", "No evaluation in metrics.jsonl", "No per-class IoU recorded.",
                     "No confusion matrix recorded", "No gallery", "No best_model/state.json: model and options unknown.", "No times recorded." })
            Assert.Contains(missing, html);
        Assert.DoesNotContain("<svg", html);
    }

    [Fact]
    public void A_corrupt_metrics_line_is_an_error_naming_the_file_and_line()
    {
        WriteRun(StartLine, "{\"event\":\"train\",");

        var error = Assert.Throws<InvalidDataException>(() => TrainingReport.Build(_run));

        Assert.Contains($"{Path.Combine(_run, "metrics.jsonl")} line 2 is not JSON", error.Message);
    }

    [Fact]
    public void Write_replaces_the_report_atomically_and_leaves_no_temporary_file()
    {
        WriteRun(StartLine, TrainLines, EvaluationWithMatrix);
        string report = Path.Combine(_run, TrainingReport.FileName);
        File.WriteAllText(report, "old");

        string written = TrainingReport.Write(_run);

        Assert.Equal(report, written);
        Assert.Equal(TrainingReport.Build(_run), File.ReadAllText(report));
        Assert.Equal(["metrics.jsonl", "report.html"], Directory.GetFiles(_run).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Throws<DirectoryNotFoundException>(() => TrainingReport.Write(Path.Combine(_run, "nowhere")));
    }
}
