using SharpSeg.Data;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// <c>predict</c> names every result inside <c>--output</c> (review findings 5 and 6): list entries outside the list root
/// get their file name, two images that would share a name are refused before anything is written, and no result may
/// overwrite an input.
/// </summary>
public sealed class PredictOutputNameTests(TinyCheckpoint checkpoint) : IClassFixture<TinyCheckpoint>
{
    [Fact]
    public void List_entries_outside_the_list_root_are_written_inside_the_output_folder_by_file_name()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder["lists/sub"]);
        Directory.CreateDirectory(folder["elsewhere"]);
        ImageFile.WritePng(folder["lists/a.png"], TinyCheckpoint.MakeImage(16, 16, seed: 1));
        ImageFile.WritePng(folder["lists/sub/d.png"], TinyCheckpoint.MakeImage(16, 16, seed: 4));
        ImageFile.WritePng(folder["elsewhere/b.png"], TinyCheckpoint.MakeImage(16, 16, seed: 2));
        ImageFile.WritePng(folder["elsewhere/c.png"], TinyCheckpoint.MakeImage(16, 16, seed: 3));
        File.WriteAllLines(folder["lists/list.txt"], ["./a.png", "sub/../sub/d.png", "../elsewhere/b.png", folder["elsewhere/c.png"]]);

        var result = CliRunner.Run("predict", "--model-dir", checkpoint.ModelFolder, folder["lists/list.txt"], "-o", folder["out"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["b.png", "c.png"], Directory.GetFiles(folder["elsewhere"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["a.png", "list.txt", "sub"], Directory.GetFileSystemEntries(folder["lists"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(
            ["a_label.png", "b_label.png", "c_label.png", Path.Combine("sub", "d_label.png")],
            Directory.GetFiles(folder["out"], "*_label.png", SearchOption.AllDirectories).Select(path => Path.GetRelativePath(folder["out"], path))
                .Order(StringComparer.Ordinal));
        Assert.Contains($"{folder["elsewhere/b.png"]} → b_label.png, b_pseudo.png, b_overlay.png", result.Output);
    }

    [Fact]
    public void Two_images_of_a_folder_with_one_stem_are_refused_naming_both_before_anything_is_written()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder["images"]);
        ImageFile.WritePng(folder["images/a.png"], TinyCheckpoint.MakeImage(16, 16, seed: 1));
        File.WriteAllBytes(folder["images/a.jpg"], [0xFF, 0xD8, 0xFF]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["images"], "-o", folder["out"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{folder["images/a.jpg"]} and {folder["images/a.png"]} would both be written as a_label.png", result.Error);
        Assert.False(Directory.Exists(folder["out"]));
    }

    [Fact]
    public void Two_list_entries_outside_the_root_with_one_file_name_are_refused_naming_both()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder["root"]);
        Directory.CreateDirectory(folder["x"]);
        Directory.CreateDirectory(folder["y"]);
        ImageFile.WritePng(folder["x/a.png"], TinyCheckpoint.MakeImage(16, 16, seed: 1));
        ImageFile.WritePng(folder["y/a.png"], TinyCheckpoint.MakeImage(16, 16, seed: 2));
        File.WriteAllLines(folder["root/list.txt"], ["../x/a.png", "../y/a.png"]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["root/list.txt"], "-o", folder["out"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{folder["x/a.png"]} and {folder["y/a.png"]} would both be written as a_label.png", result.Error);
        Assert.False(Directory.Exists(folder["out"]));
    }

    [Fact]
    public void The_input_folder_as_output_folder_is_refused()
    {
        using var folder = new TempFolder();
        ImageFile.WritePng(folder["a.png"], TinyCheckpoint.MakeImage(16, 16, seed: 1));

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder.Path, "-o", folder.Path + Path.DirectorySeparatorChar);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is the input folder", result.Error);
        Assert.Equal(["a.png"], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_result_that_would_overwrite_a_listed_image_is_refused()
    {
        using var folder = new TempFolder();
        ImageFile.WritePng(folder["b.png"], TinyCheckpoint.MakeImage(16, 16, seed: 1));
        var earlierResult = new Image<byte>(16, 16, 1);
        ImageFile.WritePng(folder["b_label.png"], earlierResult);
        File.WriteAllLines(folder["list.txt"], ["b.png", "b_label.png"]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["list.txt"], "-o", folder.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"The results of {folder["b.png"]} would overwrite the input image {folder["b_label.png"]}", result.Error);
        Assert.Equal(earlierResult.Pixels, ImageFile.Read(folder["b_label.png"]).ToInt32().Pixels.Select(v => (byte)v));
    }
}
