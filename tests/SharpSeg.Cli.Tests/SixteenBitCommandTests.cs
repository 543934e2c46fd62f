using SharpSeg.Data;
using SharpSeg.Data.Synthetic;

namespace SharpSeg.Cli.Tests;

/// <summary>16-bit images on the command line: describe reports their range, train needs and saves it, predict uses it.</summary>
public sealed class SixteenBitCommandTests
{
    /// <summary>The synthetic file list with every image turned into 12-bit data in a 16-bit PNG (sample v becomes 16·v + v/16).</summary>
    private static void WriteTwelveBitFileList(TempFolder folder, int train, int val)
    {
        SyntheticDataset.WriteFileList(folder.Path, new SyntheticOptions(Height: 16, Width: 16, NumClasses: 3, Seed: 5), train, val);
        foreach (string file in Directory.GetFiles(folder["images"]))
        {
            var bytes = (Image<byte>)ImageFile.Read(file);
            ImageFile.WritePng(file, new Image<ushort>(bytes.Height, bytes.Width, 3, Array.ConvertAll(bytes.Pixels, b => (ushort)(16 * b + b / 16))));
        }
    }

    private static string[] Tiny(TempFolder folder) =>
        ["--data", folder.Path, "--backbone", "resnet18_vd", "--batch-size", "2", "--epochs", "1"];

    [Fact]
    public void Describe_reports_the_bit_depth_and_value_range_and_the_max_value_to_train_with()
    {
        using var folder = new TempFolder();
        WriteTwelveBitFileList(folder, train: 3, val: 0);
        long max = 0;
        foreach (string file in Directory.GetFiles(folder["images"]))
            max = Math.Max(max, ((Image<ushort>)ImageFile.Read(file)).Pixels.Max());

        var result = CliRunner.Run("describe", "--data", folder.Path);

        Assert.Equal(0, result.ExitCode);
        Assert.True(max is > 255 and < 4096, $"the data's maximum is {max}");
        DatasetCommandTests.AssertRow(result.Output, "bit depth", "images", "min", "max");
        Assert.Contains(result.Output.Split('\n'), line => line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is ["16-bit", "3", _, var top] && top == $"{max}");
        Assert.Contains($"Image values reach {max}, beyond the 0–255 that Normalize maps to [0, 1] by default: train with --max-value {max} " +
                        "(Normalize's max_val) so they normalise from their real range, or --max-value 65535 for the full 16-bit range.", result.Output);
    }

    [Fact]
    public void Train_refuses_16_bit_images_without_a_range_saves_the_given_one_and_a_resume_must_keep_it()
    {
        using var folder = new TempFolder();
        WriteTwelveBitFileList(folder, train: 4, val: 2);
        string run = folder["run"];

        var refused = CliRunner.Run(["train", .. Tiny(folder), "--save-dir", run]);

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"{Path.Combine(folder.Path, "images", "000000.png")} holds 16-bit samples", refused.Error);
        Assert.Contains("Pass --max-value 65535 to normalise from the full range", refused.Error);
        Assert.False(Directory.Exists(run));

        var trained = CliRunner.Run(["train", .. Tiny(folder), "--save-dir", run, "--max-value", "4095"]);

        Assert.Equal(0, trained.ExitCode);
        Assert.Contains("\"min_val\":[0],\"max_val\":[4095]", File.ReadAllText(Path.Combine(run, "best_model", "state.json")));
        var predicted = CliRunner.Run("predict", "--model-dir", Path.Combine(run, "best_model"), Path.Combine(folder.Path, "images", "000004.png"),
            "--output", folder["predictions"]);
        Assert.Equal(0, predicted.ExitCode);
        Assert.True(File.Exists(Path.Combine(folder["predictions"], "000004_label.png")));

        var resumed = CliRunner.Run(["train", .. Tiny(folder)[..^1], "2", "--resume", Path.Combine(run, "epoch_1"), "--max-value", "65535"]);

        Assert.Equal(2, resumed.ExitCode);
        Assert.Contains($"--min-value/--max-value give 0–65535 but the checkpoint {Path.Combine(run, "epoch_1")} was trained with 0–4095", resumed.Error);
    }

    [Fact]
    public void A_range_that_is_not_numbers_or_not_increasing_is_a_usage_error()
    {
        using var folder = new TempFolder();
        WriteTwelveBitFileList(folder, train: 2, val: 0);

        var text = CliRunner.Run(["train", .. Tiny(folder), "--max-value", "lots"]);
        var inverted = CliRunner.Run(["train", .. Tiny(folder), "--min-value", "0,5000,0", "--max-value", "4095"]);

        Assert.Equal((2, 2), (text.ExitCode, inverted.ExitCode));
        Assert.Contains("--max-value expects numbers separated by commas (one, or one per band), got 'lots'.", text.Error);
        Assert.Contains("--max-value must be above --min-value for every band, but band 1 has min 5000 and max 4095.", inverted.Error);
    }
}
