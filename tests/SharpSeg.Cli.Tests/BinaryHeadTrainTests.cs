using System.Text.Json;

namespace SharpSeg.Cli.Tests;

/// <summary><c>train --use-bce-loss/--use-dice-loss</c>: PaddleX's one-channel binary head from the command line.</summary>
public sealed class BinaryHeadTrainTests
{
    private static string[] TinySynthetic(int numClasses) =>
        ["--format", "synthetic", "--num-classes", $"{numClasses}", "--synthetic-size", "16,16", "--synthetic-train", "4", "--synthetic-val", "2"];

    [Fact]
    public void BinaryLossesOnTwoClassDataTrainAOneChannelHeadThatEvaluatesAsTwoClasses()
    {
        using var folder = new TempFolder();

        var train = CliRunner.Run(["train", .. TinySynthetic(2), "--model", "unet", "--use-bce-loss", "--use-dice-loss", "--epochs", "1",
            "--batch-size", "2", "--save-dir", folder["out"]]);

        Assert.Equal(0, train.ExitCode);
        Assert.Contains("Training unet with a one-channel binary head on 4 images (2 classes), validating on 2", train.Output);
        using (var state = JsonDocument.Parse(File.ReadAllText(folder["out/best_model/state.json"])))
            Assert.Equal(1, state.RootElement.GetProperty("num_classes").GetInt32());

        var evaluate = CliRunner.Run(["evaluate", "--model-dir", folder["out/best_model"], .. TinySynthetic(2), "--json", folder["metrics.json"]]);
        Assert.Equal(0, evaluate.ExitCode);
        using var metrics = JsonDocument.Parse(File.ReadAllText(folder["metrics.json"]));
        var matrix = metrics.RootElement.GetProperty("confusion_matrix");
        Assert.Equal(2, matrix.GetArrayLength());
        Assert.Equal(2 * 16 * 16, matrix.EnumerateArray().SelectMany(row => row.EnumerateArray()).Sum(n => n.GetInt64()));
    }

    [Theory]
    [InlineData("--use-bce-loss")]
    [InlineData("--use-dice-loss")]
    public void BinaryLossesOnThreeClassDataAreAUsageError(string flag)
    {
        using var folder = new TempFolder();

        var result = CliRunner.Run(["train", .. TinySynthetic(3), flag, "--epochs", "1", "--save-dir", folder["out"]]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--use-bce-loss and --use-dice-loss apply to two-class data only (PaddleX's one-channel binary head), but the dataset has 3 classes.",
            result.Error);
        Assert.False(Directory.Exists(folder["out"]));
    }
}
