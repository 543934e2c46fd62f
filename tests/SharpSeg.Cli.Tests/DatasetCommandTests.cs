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
        Assert.Contains(rows, cells => cells is ["deeplabv3p", "model", "deeplabv3plus", ..]);
        Assert.Contains("PaddleSeg ResNet18_vd", result.Output);
    }

    [Fact]
    public void Models_with_options_lists_each_models_options_and_defaults()
    {
        var result = CliRunner.Run("models", "--options");

        Assert.Equal(0, result.ExitCode);
        var rows = result.Output.Split('\n').Select(line => line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Contains(rows, cells => cells is ["output-stride", "int32?", "16"]);
        Assert.Contains(rows, cells => cells is ["upsample-mode", "Bilinear|TransposedConv", "Bilinear"]);
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
        Assert.Contains("1 of 2 samples have problems", result.Output);
        Assert.Contains($"Label {folder["labels/000001.png"]} has value 7 at row 3, column 4, but the dataset has 2 classes " +
                        "(valid values 0..1 and ignore index 255). Out-of-range values: 7 in 2 pixels.", result.Output);
        // 2 images × 64 pixels, less the 2 out-of-range ones, which the histogram does not count.
        AssertRow(result.Output, "ignored (255)", "1", (100.0 / 126).ToString("F2", CultureInfo.InvariantCulture) + " %");
    }

    [Fact]
    public void Describe_lists_every_bad_file_RGB_labels_and_size_mismatches_included_up_to_20_and_counts_the_rest()
    {
        using var folder = new TempFolder();
        SyntheticDataset.WriteFileList(folder.Path, new SyntheticOptions(Height: 8, Width: 8, NumClasses: 2), trainCount: 26, valCount: 0);
        ImageFile.WritePng(folder["labels/000000.png"], new Image<byte>(8, 8, 3));
        ImageFile.WritePng(folder["labels/000001.png"], new Image<byte>(8, 6, 1));
        for (int i = 2; i < 24; i++)
        {
            var label = new Image<byte>(8, 8, 1);
            label[1, 2] = 5;
            label[7, 7] = 9;
            ImageFile.WritePng(folder[$"labels/{i:D6}.png"], label);
        }

        var result = CliRunner.Run("describe", "--data", folder.Path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("24 of 26 samples have problems", result.Output);
        Assert.Contains($"Label {folder["labels/000000.png"]} has 3 channels", result.Output);
        Assert.Contains($"Label {folder["labels/000001.png"]} is 8×6 but image {folder["images/000001.png"]} is 8×8.", result.Output);
        Assert.Contains($"Label {folder["labels/000002.png"]} has value 5 at row 1, column 2, but the dataset has 2 classes " +
                        "(valid values 0..1 and ignore index 255). Out-of-range values: 5 in 1 pixel, 9 in 1 pixel.", result.Output);
        Assert.Contains(folder["labels/000019.png"], result.Output);
        Assert.DoesNotContain(folder["labels/000020.png"], result.Output);
        Assert.Contains("… and 4 more.", result.Output);
        // The two good samples and the 22 with out-of-range values are counted: 24 images of 8×8.
        AssertRow(result.Output, "8×8×3", "24");
    }

    [Fact]
    public void Describe_reads_a_PaddleX_folder_with_its_class_names_and_refuses_a_contradicting_class_count()
    {
        using var folder = new TempFolder();
        WriteSynthetic(folder, "JPEGImages", "Annotations", count: 2, numClasses: 3);
        File.WriteAllLines(folder["train_list.txt"], ["JPEGImages/0.png Annotations/0.png", "JPEGImages/1.png\tAnnotations/1.png"]);
        File.WriteAllLines(folder["labels.txt"], ["sky", "road", "car"]);

        var result = CliRunner.Run("describe", "--format", "paddlex", "--data", folder.Path);
        var contradicting = CliRunner.Run("describe", "--format", "paddlex", "--data", folder.Path, "--num-classes", "5");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("2 samples, 3 classes", result.Output);
        foreach (string name in new[] { "0 sky", "1 road", "2 car" })
            Assert.Contains(result.Output.Split('\n'), line => line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is [var first, _, _] && first == name);
        Assert.Equal(2, contradicting.ExitCode);
        Assert.Contains("--num-classes is 5 but", contradicting.Error);
        Assert.Contains("names 3 classes", contradicting.Error);
    }

    [Fact]
    public void Describe_pairs_image_and_label_folders_by_stem_and_needs_a_class_count()
    {
        using var folder = new TempFolder();
        WriteSynthetic(folder, "img", "ann", count: 3, numClasses: 2);

        var result = CliRunner.Run("describe", "--format", "folders", "--images", folder["img"], "--labels", folder["ann"], "--num-classes", "2");
        var withoutCount = CliRunner.Run("describe", "--format", "folders", "--images", folder["img"], "--labels", folder["ann"]);
        var withoutLabels = CliRunner.Run("describe", "--format", "folders", "--images", folder["img"], "--num-classes", "2");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("3 samples, 2 classes", result.Output);
        Assert.Equal(2, withoutCount.ExitCode);
        Assert.Contains("--format folders needs --num-classes", withoutCount.Error);
        Assert.Equal(2, withoutLabels.ExitCode);
        Assert.Contains("--labels is required for this dataset format.", withoutLabels.Error);
    }

    private static void WriteSynthetic(TempFolder folder, string imageDir, string labelDir, int count, int numClasses)
    {
        Directory.CreateDirectory(folder[imageDir]);
        Directory.CreateDirectory(folder[labelDir]);
        var generator = new SyntheticDataset(new SyntheticOptions(count, Height: 8, Width: 10, NumClasses: numClasses));
        for (int i = 0; i < count; i++)
        {
            var sample = generator.Load(i);
            var image = new Image<byte>(8, 10, 3, [.. sample.Image.Pixels.Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255))]);
            ImageFile.WritePng(folder[$"{imageDir}/{i}.png"], image);
            ImageFile.WritePng(folder[$"{labelDir}/{i}.png"], sample.Label!);
        }
    }

    /// <summary>Asserts that a table row holding exactly <paramref name="cells"/> was printed.</summary>
    internal static void AssertRow(string output, params string[] cells) =>
        Assert.Contains(output.Split('\n'), line => line.Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).SequenceEqual(cells));
}
