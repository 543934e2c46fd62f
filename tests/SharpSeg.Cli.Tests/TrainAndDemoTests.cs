using System.Globalization;
using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Data.Synthetic;

namespace SharpSeg.Cli.Tests;

/// <summary><c>train</c>, <c>evaluate</c> and <c>demo</c> end to end on tiny synthetic data (one epoch, 16×16 images).</summary>
public sealed class TrainAndDemoTests
{
    private static readonly string[] TinySynthetic =
        ["--format", "synthetic", "--num-classes", "3", "--synthetic-size", "16,16", "--synthetic-train", "4", "--synthetic-val", "2"];

    [Fact]
    public void Train_then_evaluate_reports_the_same_metrics_for_the_saved_best_model()
    {
        using var folder = new TempFolder();

        var train = CliRunner.Run(["train", .. TinySynthetic, "--backbone", "resnet18_vd", "--epochs", "1", "--batch-size", "2",
            "--save-dir", folder["out"], "--seed", "3"]);
        Assert.Equal(0, train.ExitCode);
        Assert.True(File.Exists(folder["out/best_model/state.json"]));
        Assert.Contains("Training deeplabv3p (resnet18_vd, output stride 16) on 4 images (3 classes), validating on 2", train.Output);
        Assert.Contains("best_model: validation after epoch 1", train.Output);
        string trainMiou = MetricRow(train.Output, "mIoU");

        var evaluate = CliRunner.Run(["evaluate", "--model-dir", folder["out/best_model"], .. TinySynthetic, "--json", folder["metrics.json"]]);
        Assert.Equal(0, evaluate.ExitCode);
        Assert.Equal(trainMiou, MetricRow(evaluate.Output, "mIoU"));
        using var json = JsonDocument.Parse(File.ReadAllText(folder["metrics.json"]));
        double miou = json.RootElement.GetProperty("miou").GetDouble();
        Assert.Equal(trainMiou, miou.ToString("F4", CultureInfo.InvariantCulture));
        Assert.Equal(3, json.RootElement.GetProperty("confusion_matrix").GetArrayLength());
        // The two validation images are 2 × 16 × 16 labelled pixels, all counted.
        long counted = json.RootElement.GetProperty("confusion_matrix").EnumerateArray().SelectMany(row => row.EnumerateArray()).Sum(n => n.GetInt64());
        Assert.Equal(2 * 16 * 16, counted);
    }

    [Fact]
    public void Training_on_a_bad_label_fails_with_exit_1_naming_the_file_value_and_class_count()
    {
        using var folder = new TempFolder();
        SyntheticDataset.WriteFileList(folder.Path, new SyntheticOptions(Height: 8, Width: 8, NumClasses: 2), trainCount: 2, valCount: 0);
        var label = new Image<byte>(8, 8, 1);
        label[2, 3] = 9;
        ImageFile.WritePng(folder["labels/000000.png"], label);

        var result = CliRunner.Run("train", "--data", folder.Path, "--backbone", "resnet18_vd", "--epochs", "1", "--batch-size", "2",
            "--save-dir", folder["out"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(folder["labels/000000.png"], result.Error);
        Assert.Contains("value 9", result.Error);
        Assert.Contains("2 classes", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public void Demo_smoke_run_writes_data_checkpoint_predictions_and_gallery()
    {
        using var folder = new TempFolder();

        var result = CliRunner.Run("demo", "--epochs", "1", "--size", "16", "--train-samples", "4", "--val-samples", "2", "-o", folder["demo"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("3/4 Validation metrics of best_model (epoch 1):", result.Output);
        Assert.Contains("4/4 Wrote best_model (epoch 1)'s label, pseudo-colour and overlay PNGs", result.Output);
        Assert.Contains("Validation mIoU ", result.Output);
        Assert.Contains($"Model: {folder["demo/output/best_model"]}", result.Output);
        Assert.Equal(4, File.ReadAllLines(folder["demo/data/train.txt"]).Length);
        Assert.True(File.Exists(folder["demo/output/best_model/model.safetensors"]));
        foreach (string suffix in new[] { "label", "pseudo", "overlay" })
            Assert.True(File.Exists(folder[$"demo/predictions/000004_{suffix}.png"]), suffix);
        var gallery = ImageFile.Read(folder["demo/predictions/gallery.png"]);
        // Two rows and four columns of 16-pixel cells with 2-pixel gutters.
        Assert.Equal((2 * 18 + 2, 4 * 18 + 2, 3), (gallery.Height, gallery.Width, gallery.Channels));
    }

    /// <summary>The value of the summary-table row named <paramref name="metric"/>.</summary>
    private static string MetricRow(string output, string metric) =>
        output.Split('\n').Select(line => line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Single(cells => cells.Length == 2 && cells[0] == metric)[1];
}
