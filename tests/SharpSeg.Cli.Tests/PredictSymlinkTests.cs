using SharpSeg.Data;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// <c>predict</c> compares real paths: an output folder that is, or goes through, a symbolic link to the input folder
/// overwrote an input image (issue 12); now it is refused before anything is written, as is a link inside the output
/// folder that would take a result outside it.
/// </summary>
public sealed class PredictSymlinkTests(TinyCheckpoint checkpoint) : IClassFixture<TinyCheckpoint>
{
    /// <summary>A folder of two images, one of which has the name a result of the other would get.</summary>
    private static byte[] ImagesWithAResultName(TempFolder folder)
    {
        Directory.CreateDirectory(folder["data/images"]);
        ImageFile.WritePng(folder["data/images/a.png"], TinyCheckpoint.MakeImage(16, 16, seed: 1));
        ImageFile.WritePng(folder["data/images/a_label.png"], TinyCheckpoint.MakeImage(16, 16, seed: 2));
        return File.ReadAllBytes(folder["data/images/a_label.png"]);
    }

    [Fact]
    public void An_output_folder_linked_to_the_input_folder_is_refused_and_no_input_changes()
    {
        using var folder = new TempFolder();
        byte[] input = ImagesWithAResultName(folder);
        Directory.CreateSymbolicLink(folder["out"], folder["data/images"]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["data/images"], "-o", folder["out"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--output '{folder["out"]}' is the input folder (through a link to {folder["data/images"]})", result.Error);
        Assert.Equal(input, File.ReadAllBytes(folder["data/images/a_label.png"]));
        Assert.Equal(["a.png", "a_label.png"], Directory.GetFiles(folder["data/images"]).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_output_folder_reached_through_a_linked_parent_is_the_input_folder()
    {
        using var folder = new TempFolder();
        byte[] input = ImagesWithAResultName(folder);
        Directory.CreateDirectory(folder["elsewhere"]);
        Directory.CreateSymbolicLink(folder["elsewhere/link"], "../data");

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["data/images"], "-o", folder["elsewhere/link/images"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is the input folder (through a link", result.Error);
        Assert.Equal(input, File.ReadAllBytes(folder["data/images/a_label.png"]));
    }

    [Fact]
    public void A_list_whose_results_would_land_on_an_input_through_a_linked_output_is_refused()
    {
        using var folder = new TempFolder();
        byte[] input = ImagesWithAResultName(folder);
        File.WriteAllLines(folder["data/list.txt"], ["images/a.png", "images/a_label.png"]);
        Directory.CreateSymbolicLink(folder["out"], folder["data"]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["data/list.txt"], "-o", folder["out"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(
            $"The results of {folder["data/images/a.png"]} would overwrite the input image {folder["data/images/a_label.png"]} " +
            $"({folder["out/images/a_label.png"]} leads there through a link)", result.Error);
        Assert.Equal(input, File.ReadAllBytes(folder["data/images/a_label.png"]));
    }

    [Fact]
    public void A_link_inside_the_output_folder_may_not_take_results_outside_it()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder["data/sub"]);
        Directory.CreateDirectory(folder["out"]);
        Directory.CreateDirectory(folder["elsewhere"]);
        ImageFile.WritePng(folder["data/sub/c.png"], TinyCheckpoint.MakeImage(16, 16, seed: 3));
        File.WriteAllLines(folder["data/list.txt"], ["sub/c.png"]);
        Directory.CreateSymbolicLink(folder["out/sub"], folder["elsewhere"]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["data/list.txt"], "-o", folder["out"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"would be written to {folder["elsewhere/c_label.png"]}, outside --output '{folder["out"]}'", result.Error);
        Assert.Empty(Directory.GetFileSystemEntries(folder["elsewhere"]));
    }

    [Fact]
    public void A_result_file_that_is_a_link_is_replaced_not_followed_so_it_is_allowed()
    {
        using var folder = new TempFolder();
        ImagesWithAResultName(folder);
        File.Move(folder["data/images/a_label.png"], folder["data/elsewhere.png"]);
        byte[] target = File.ReadAllBytes(folder["data/elsewhere.png"]);
        Directory.CreateDirectory(folder["out"]);
        File.CreateSymbolicLink(folder["out/a_label.png"], folder["data/elsewhere.png"]);

        var result = CliRunner.Run("predict", "-m", checkpoint.ModelFolder, folder["data/images"], "-o", folder["out"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Null(new FileInfo(folder["out/a_label.png"]).LinkTarget);
        Assert.Equal(target, File.ReadAllBytes(folder["data/elsewhere.png"]));
    }

    [Fact]
    public void Real_paths_follow_every_link_and_apply_dot_dot_after_the_link()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder["a/b/c"]);
        Directory.CreateSymbolicLink(folder["x"], "a/b/c");
        Directory.CreateSymbolicLink(folder["a/b/c/up"], folder["a"]);
        File.CreateSymbolicLink(folder["loop1"], "loop2");
        File.CreateSymbolicLink(folder["loop2"], "loop1");
        string real = RealPath.Of(folder.Path);

        Assert.Equal(Path.Combine(real, "a", "b", "c"), RealPath.Of(folder["x"]));
        Assert.Equal(Path.Combine(real, "a", "b"), RealPath.Of(folder["x/.."]));
        Assert.Equal(Path.Combine(real, "a", "b", "new", "file.png"), RealPath.Of(folder["x/up/b/./new/file.png"]));
        Assert.Equal(Path.Combine(real, "x"), RealPath.OfParent(folder["x"]));
        Assert.Throws<IOException>(() => RealPath.Of(folder["loop1"]));
    }
}
