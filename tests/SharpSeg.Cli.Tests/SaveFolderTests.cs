namespace SharpSeg.Cli.Tests;

/// <summary>A fresh <c>train</c> never mixes with an earlier run's checkpoints: refused, or replaced with <c>--overwrite</c>.</summary>
public sealed class SaveFolderTests
{
    private static readonly string[] TinyRun =
        ["train", "--format", "synthetic", "--num-classes", "3", "--synthetic-size", "16,16", "--synthetic-train", "4", "--synthetic-val", "0",
         "--model", "unet", "--batch-size", "2"];

    [Fact]
    public void A_used_save_folder_is_refused_naming_its_checkpoints_and_overwrite_replaces_them()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        Assert.Equal(0, CliRunner.Run([.. TinyRun, "--epochs", "2", "--save-dir", run]).ExitCode);

        var refused = CliRunner.Run([.. TinyRun, "--epochs", "1", "--save-dir", run]);
        var replaced = CliRunner.Run([.. TinyRun, "--epochs", "1", "--save-dir", run, "--overwrite"]);

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("already holds an earlier run's epoch_1, epoch_2, metrics.jsonl", refused.Error);
        Assert.DoesNotContain("   at ", refused.Error);
        Assert.Equal(0, replaced.ExitCode);
        Assert.Equal(["epoch_1"], Directory.GetDirectories(run).Select(Path.GetFileName));
    }
}
