using System.Globalization;
using SharpSeg.Data;
using SharpSeg.Data.Synthetic;

namespace SharpSeg.Cli.Tests;

/// <summary><c>models</c> and <c>describe</c> on real (tiny) data written to a temp folder.</summary>
public sealed class DatasetCommandTests
{
    [Fact]
    public void Models_lists_deeplabv3p_and_unet_as_models_and_resnet18_vd_as_a_backbone()
    {
        var result = CliRunner.Run("models");

        Assert.Equal(0, result.ExitCode);
        var rows = result.Output.Split('\n').Select(line => line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Contains(rows, cells => cells is ["deeplabv3p", "model", ..]);
        Assert.Contains(rows, cells => cells is ["unet", "model", ..]);
        Assert.Contains(rows, cells => cells is ["resnet18_vd", "backbone", ..]);
    }

    [Fact]
    public void Describe_reports_sizes_and_the_exact_class_histogram_of_a_file_list()
    {
        using var folder = new TempFolder();
        var options = new SyntheticOptions(Height: 12, Width: 20, NumClasses: 3, Seed: 7);
        SyntheticDataset.WriteFileList(folder.Path, options, trainCount: 3, valCount: 1);
        var expected = new long[3];
        var generator = new SyntheticDataset(options with { Count = 3 });
        for (int i = 0; i < 3; i++)
            foreach (int value in generator.Load(i).Label!.Pixels)
                expected[value]++;

        var result = CliRunner.Run("describe", "--data", folder.Path);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("3 samples, 3 classes, ignore index 255", result.Output);
        AssertRow(result.Output, "12×20×3", "3");
        for (int c = 0; c < 3; c++)
        {
            string share = (100.0 * expected[c] / (3 * 12 * 20)).ToString("F2", CultureInfo.InvariantCulture) + " %";
            AssertRow(result.Output, $"{c} {generator.ClassNames[c]}", expected[c].ToString(CultureInfo.InvariantCulture), share);
        }
        Assert.Contains("All label values are class ids or the ignore index.", result.Output);
    }

    [Fact]
    public void Describe_of_the_val_split_reads_val_txt()
    {
        using var folder = new TempFolder();
        SyntheticDataset.WriteFileList(folder.Path, new SyntheticOptions(Height: 8, Width: 8, NumClasses: 2), trainCount: 3, valCount: 2);

        var result = CliRunner.Run("describe", "--data", folder.Path, "--split", "val");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("2 samples, 2 classes", result.Output);
    }

    [Fact]
    public void Describe_exits_1_and_names_the_file_and_value_of_a_bad_label()
    {
        using var folder = new TempFolder();
        SyntheticDataset.WriteFileList(folder.Path, new SyntheticOptions(Height: 8, Width: 8, NumClasses: 2), trainCount: 2, valCount: 0);
        var label = new Image<byte>(8, 8, 1);
        label[3, 4] = 7;
        label[5, 5] = 7;
        label[0, 0] = 255;
        ImageFile.WritePng(folder["labels/000001.png"], label);

        var result = CliRunner.Run("describe", "--data", folder.Path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("1 out-of-range label value(s)", result.Output);
        AssertRow(result.Output, folder["labels/000001.png"], "7", "2");
        // 2 images × 64 pixels, less the 2 out-of-range ones, which the histogram does not count.
        AssertRow(result.Output, "ignored (255)", "1", (100.0 / 126).ToString("F2", CultureInfo.InvariantCulture) + " %");
    }

    /// <summary>Asserts that a table row holding exactly <paramref name="cells"/> was printed.</summary>
    internal static void AssertRow(string output, params string[] cells) =>
        Assert.Contains(output.Split('\n'), line => line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).SequenceEqual(cells));
}
