using System.Text.RegularExpressions;
using SharpSeg.Data.Synthetic;
using SharpSeg.Training.Reporting;

namespace SharpSeg.Cli.Tests;

/// <summary>One short training run on a file-list dataset, shared by the report tests below.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    private readonly TempFolder _folder = new();

    public TrainedRunFixture()
    {
        string data = _folder["data"];
        SyntheticDataset.WriteFileList(data, new SyntheticOptions(Height: 16, Width: 16, NumClasses: 3), trainCount: 4, valCount: 2);
        Run = _folder["run"];
        Training = CliRunner.Run("train", "--data", data, "--model", "unet", "--batch-size", "2", "--epochs", "2", "--save-dir", Run);
    }

    public string Run { get; }

    internal CliRunner.Result Training { get; }

    public string this[string relative] => _folder[relative];

    public void Dispose() => _folder.Dispose();
}

/// <summary>The <c>report.html</c> a training run writes, <c>sharpseg report</c>, and the page rendered in headless Chromium.</summary>
public sealed class ReportCommandTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    [Fact]
    public void Training_writes_a_report_with_every_section_and_report_rebuilds_it_byte_for_byte()
    {
        Assert.Equal(0, run.Training.ExitCode);
        string written = File.ReadAllText(Path.Combine(run.Run, TrainingReport.FileName));
        // Loss and learning rate draw one line each, the validation chart one per metric (mIoU, oAcc, mAcc, kappa, mDice).
        Assert.Equal(7, Regex.Matches(written, "<polyline").Count);
        Assert.Contains("aria-label=\"confusion matrix\"", written);
        Assert.Contains("aria-label=\"per-class IoU\"", written);
        // Two validation images, four columns each.
        Assert.Equal(8, Regex.Matches(written, "src=\"data:image/png;base64,").Count);
        Assert.DoesNotContain("class=\"missing\"", written);

        string rebuilt = run["rebuilt.html"];
        var result = CliRunner.Run("report", run.Run, "-o", rebuilt);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Wrote {rebuilt}.", result.Output);
        Assert.Equal(written, File.ReadAllText(rebuilt));
    }

    [Fact]
    public void Report_predicts_the_gallery_again_with_best_model_when_it_is_gone()
    {
        Assert.Equal(0, run.Training.ExitCode);
        string copy = Path.Combine(run["copy"], Path.GetFileName(run.Run));
        CopyFolder(run.Run, copy);
        Directory.Delete(Path.Combine(copy, TrainingReport.GalleryFolderName), recursive: true);

        var result = CliRunner.Run("report", copy);

        Assert.Equal(0, result.ExitCode);
        // The copy differs from the run only in the path shown at the top.
        Assert.Equal(File.ReadAllText(Path.Combine(run.Run, TrainingReport.FileName)).Replace(run.Run, copy),
            File.ReadAllText(Path.Combine(copy, TrainingReport.FileName)));
    }

    [Fact]
    public void Report_of_a_missing_folder_is_a_usage_error()
    {
        var result = CliRunner.Run("report", run["nowhere"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"Run folder {run["nowhere"]} does not exist.", result.Error);
    }

    [ChromiumFact]
    public async Task The_report_renders_in_Chromium_with_every_chart_and_image_visible_and_no_errors()
    {
        Assert.Equal(0, run.Training.ExitCode);

        var page = await HeadlessChromium.RenderAsync(Path.Combine(run.Run, TrainingReport.FileName));

        Assert.Empty(page.Errors);
        Assert.Equal(5, page.Elements.Count(e => e.Element == "svg")); // loss, learning rate, metrics, IoU bars, confusion matrix
        Assert.Equal(8, page.Elements.Count(e => e.Element == "img"));
        Assert.All(page.Elements, e => Assert.True(e.Width > 0 && e.Height > 0 && e.NaturalWidth > 0, $"{e.Element} rendered {e.Width}x{e.Height}"));
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(directory.Replace(from, to));
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to));
    }
}
