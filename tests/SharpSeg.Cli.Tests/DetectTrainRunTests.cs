using System.Globalization;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// <c>sharpseg detect train</c> with <c>train</c>'s run conventions: progress lines when the output is redirected, Ctrl+C
/// saving <c>epoch_N_step_K</c> and naming it, <c>--resume</c> continuing that epoch, and <c>sharpseg report</c> on the run.
/// </summary>
public sealed class DetectTrainRunTests
{
    private static string[] Tiny(int train, int val) =>
        ["detect", "train", "--format", "synthetic", "--synthetic-size", "64", "--min-size", "64", "--max-size", "64",
         "--synthetic-train", train.ToString(CultureInfo.InvariantCulture), "--synthetic-val", val.ToString(CultureInfo.InvariantCulture),
         "--batch-size", "1", "--log-interval", "1"];

    [Fact]
    public void Ctrl_C_saves_the_steps_done_and_resume_continues_that_epoch_with_progress_lines_a_metrics_table_and_a_report()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        string[] command = [.. Tiny(train: 2, val: 2), "--epochs", "1", "--save-dir", run];

        var interrupted = CliRunner.RunUntil("step 1/2", command);

        Assert.Equal(130, interrupted.ExitCode);
        string partial = Path.Combine(run, "epoch_1_step_1");
        Assert.Contains("epoch 1/1 step 1/2 loss ", interrupted.Output);
        Assert.Matches(@"\(box_reg [0-9.]+, classifier [0-9.]+, objectness [0-9.]+, rpn_box_reg [0-9.]+\) lr [0-9.eE-]+ [0-9.]+ img/s ETA \d+:\d\d", SortedLosses(interrupted.Output));
        Assert.Contains("Interrupted: stopping before the next training step", interrupted.Error);
        Assert.Contains($"Training interrupted at epoch 1, step 1. The last checkpoint is {partial}; to continue, run the same command with --resume {partial}",
            interrupted.Error);
        Assert.True(File.Exists(Path.Combine(partial, "optimizer.safetensors")));

        var resumed = CliRunner.Run([.. command, "--resume", partial]);

        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.DoesNotContain("step 1/2", resumed.Output);
        Assert.Contains("epoch 1/1 step 2/2 loss ", resumed.Output);
        Assert.Contains("epoch 1/1: box mAP ", resumed.Output);
        Assert.True(resumed.Output.Contains("(best so far)"), resumed.Output);
        Assert.Contains($"saved {Path.Combine(run, "epoch_1")}", resumed.Output);
        Assert.True(resumed.Output.Contains("box AP per class"), resumed.Output);
        Assert.Matches(@"AR100 +│ +[0-9.]+", resumed.Output);
        Assert.False(Directory.Exists(partial));
        string report = Path.Combine(run, "report.html");
        Assert.Contains($"report: {report}", resumed.Output);

        File.Delete(report);
        var rebuilt = CliRunner.Run("report", run);
        Assert.True(rebuilt.ExitCode == 0, rebuilt.Error);
        Assert.Contains($"Wrote {report}.", rebuilt.Output);
        string html = File.ReadAllText(report);
        Assert.Contains("COCO metrics (epoch 1)", html);
        Assert.Contains(">loss_objectness</text>", html);
        Assert.Contains("alt=\"00 truth\"", html);

        // Without its gallery folder, the report of a detection run says why it cannot draw one again.
        Directory.Delete(Path.Combine(run, "report_gallery"), recursive: true);
        var withoutGallery = CliRunner.Run("report", run);
        Assert.True(withoutGallery.ExitCode == 0, withoutGallery.Error);
        Assert.Contains("No gallery rebuilt: report_gallery is missing, and a detection run does not record its evaluation images", withoutGallery.Output);
        Assert.Contains("No gallery: report_gallery is missing", File.ReadAllText(report));
    }

    [Fact]
    public async Task A_real_SIGINT_stops_detect_train_and_names_the_checkpoint_to_resume_from()
    {
        if (!OperatingSystem.IsLinux())
            return;
        using var folder = new TempFolder();

        var interrupted = await CliRunner.InterruptWhenAsync("epoch 1/1000 step 1/2", folder.Path, [.. Tiny(train: 2, val: 1), "--epochs", "1000", "--save-dir", "run"]);

        Assert.Equal(130, interrupted.ExitCode);
        // The signal lands during step 2 or just after it: epoch_1_step_1, or epoch_1 once the epoch's checkpoint is written.
        Assert.Matches(@"Training interrupted at epoch \d+, step \d+\. The last checkpoint is run/epoch_1(_step_1)?; to continue, run the same command with --resume run/epoch_1",
            interrupted.Error);
    }

    [ChromiumFact]
    public async Task The_detection_report_renders_in_Chromium_with_every_chart_and_gallery_image_visible()
    {
        using var folder = new TempFolder();
        var training = CliRunner.Run([.. Tiny(train: 1, val: 2), "--epochs", "1", "--save-dir", folder["run"]]);
        Assert.True(training.ExitCode == 0, training.Error);

        var page = await HeadlessChromium.RenderAsync(folder["run/report.html"]);

        Assert.Empty(page.Errors);
        Assert.Equal(5, page.Elements.Count(e => e.Element == "svg")); // total loss, each loss, learning rate, mAP curves, per-class AP
        Assert.Equal(6, page.Elements.Count(e => e.Element == "img")); // two evaluation images: image, truth, prediction
        Assert.All(page.Elements, e => Assert.True(e.Width > 0 && e.Height > 0 && e.NaturalWidth > 0, $"{e.Element} rendered {e.Width}x{e.Height}"));
    }

    /// <summary>The step lines with their losses in name order, so the pattern does not depend on the model's dictionary order.</summary>
    private static string SortedLosses(string output)
    {
        var line = output.Split('\n').First(l => l.StartsWith("epoch 1/1 step 1/2", StringComparison.Ordinal));
        int open = line.IndexOf('('), close = line.IndexOf(')');
        var losses = line[(open + 1)..close].Split(", ").Order(StringComparer.Ordinal);
        return $"{line[..open]}({string.Join(", ", losses)}){line[(close + 1)..]}";
    }
}
