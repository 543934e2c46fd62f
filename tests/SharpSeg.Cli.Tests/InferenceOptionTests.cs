using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Training;

namespace SharpSeg.Cli.Tests;

/// <summary><c>predict --slide</c>, the test-time augmentation options of <c>predict</c> and <c>evaluate</c>, and their argument errors.</summary>
public sealed class InferenceOptionTests(TinyCheckpoint checkpoint) : IClassFixture<TinyCheckpoint>
{
    [Fact]
    public void Slide_writes_the_librarys_sliding_window_prediction()
    {
        using var folder = new TempFolder();
        var image = TinyCheckpoint.MakeImage(30, 44, seed: 6);
        ImageFile.WritePng(folder["wide.png"], image);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["wide.png"], "-o", folder["out"],
            "--slide", "--crop-size", "24,16", "--stride", "12,8", "--batch-size", "4", "--npy");

        Assert.Equal(0, result.ExitCode);
        var expected = checkpoint.Loaded.SlidingWindowPredict(image, (24, 16), (12, 8), batchSize: 4);
        Assert.Equal(expected.LabelMap.Pixels, ImageFile.Read(folder["out/wide_label.png"]).ToInt32().Pixels);
        Assert.Equal(expected.ScoreMap.Pixels, ((Image<float>)ImageFile.Read(folder["out/wide_scores.npy"])).Pixels);
    }

    [Fact]
    public void Scales_and_flips_write_the_augmented_prediction()
    {
        using var folder = new TempFolder();
        var image = TinyCheckpoint.MakeImage(20, 28, seed: 7);
        ImageFile.WritePng(folder["scene.png"], image);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["scene.png"], "-o", folder["out"],
            "--scales", "0.75,1.25", "--flip-horizontal", "--npy");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("test-time augmentation (scales 0.75,1.25, horizontal flip)", result.Output);
        var expected = checkpoint.Loaded.Predict(image, new TestTimeAugmentation([0.75, 1.25], flipHorizontal: true));
        Assert.Equal(expected.ScoreMap.Pixels, ((Image<float>)ImageFile.Read(folder["out/scene_scores.npy"])).Pixels);
    }

    [Fact]
    public void Evaluate_with_a_vertical_flip_reports_the_augmented_metrics()
    {
        using var folder = new TempFolder();
        string[] data = ["--format", "synthetic", "--num-classes", "3", "--synthetic-size", "16,16", "--synthetic-val", "2"];

        var result = CliRunner.Run(["evaluate", "-m", checkpoint.ModelFolder, .. data, "--flip-vertical", "--json", folder["m.json"]]);

        Assert.Equal(0, result.ExitCode);
        var dataset = new Data.Synthetic.SyntheticDataset(new Data.Synthetic.SyntheticOptions(2, 16, 16, 3, Seed: 1), Data.Datasets.DatasetMode.Val,
            checkpoint.Loaded.Transforms);
        var expected = checkpoint.Loaded.Evaluate(dataset, augmentation: new TestTimeAugmentation(flipVertical: true));
        using var json = JsonDocument.Parse(File.ReadAllText(folder["m.json"]));
        Assert.Equal(expected.MeanIou, json.RootElement.GetProperty("miou").GetDouble());
    }

    [Theory]
    [InlineData("--slide needs --crop-size W,H and --stride W,H.", "--slide", "--crop-size", "8,8")]
    [InlineData("--crop-size and --stride need --slide (sliding-window prediction).", "--stride", "8,8")]
    [InlineData("--tile and --slide are two different ways to predict a large image; choose one.",
        "--tile", "16,16", "--slide", "--crop-size", "8,8", "--stride", "4,4")]
    [InlineData("--scales expects positive numbers separated by commas (e.g. 0.75,1.0,1.25), got '1,-2'.", "--scales", "1,-2")]
    [InlineData("--stride expects W,H", "--slide", "--crop-size", "8,8", "--stride", "0,4")]
    public void Contradictory_or_malformed_inference_options_are_usage_errors(string message, params string[] options)
    {
        using var folder = new TempFolder();
        ImageFile.WritePng(folder["a.png"], TinyCheckpoint.MakeImage(8, 8, seed: 1));

        var result = CliRunner.Run(["predict", "-m", checkpoint.ModelFolder, folder["a.png"], "-o", folder["out"], .. options]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error);
        Assert.False(Directory.Exists(folder["out"]));
    }
}

/// <summary><c>evaluate --json</c>'s help describes the keys the file really has (review finding 9).</summary>
public sealed class EvaluateJsonKeyTests(TinyCheckpoint checkpoint) : IClassFixture<TinyCheckpoint>
{
    [Fact]
    public void The_json_help_names_every_key_written_and_does_not_claim_PaddleXs_keys()
    {
        using var folder = new TempFolder();

        var evaluate = CliRunner.Run("evaluate", "-m", checkpoint.ModelFolder, "--format", "synthetic", "--num-classes", "3", "--synthetic-size", "16,16",
            "--synthetic-val", "1", "--json", folder["metrics.json"]);
        var help = CliRunner.Run("evaluate", "--help");

        Assert.Equal(0, evaluate.ExitCode);
        using var json = JsonDocument.Parse(File.ReadAllText(folder["metrics.json"]));
        var keys = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["miou", "category_iou", "oacc", "macc", "category_acc", "category_recall", "kappa", "category_f1", "mdice", "confusion_matrix"], keys);
        string helpText = string.Join(' ', help.Output.Split('\n').Select(line => line.Trim()));
        foreach (string key in keys)
            Assert.Contains(key, helpText);
        Assert.Contains("category_F1-score", helpText);
        Assert.DoesNotContain("PaddleX's keys", helpText);
    }
}
