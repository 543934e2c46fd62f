using SharpSeg.Data.Synthetic;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// <c>train</c> and <c>evaluate</c> when something is wrong: a diverging loss, a save folder held by another run, a
/// corrupt image, <c>--num-classes 1</c>, a <c>--save-dir</c> that is a file, a missing <c>best_model</c>.
/// </summary>
public sealed class TrainRobustnessTests
{
    private static readonly string[] TinyRun =
        ["train", "--format", "synthetic", "--num-classes", "3", "--synthetic-size", "16,16", "--synthetic-train", "4", "--synthetic-val", "0",
         "--model", "fastscnn", "--batch-size", "2"];

    /// <summary>A two-class PaddleSeg file list of 16×16 images in <paramref name="root"/>: 4 in train.txt, 2 in val.txt.</summary>
    private static string[] FileList(string root)
    {
        SyntheticDataset.WriteFileList(root, new SyntheticOptions(Height: 16, Width: 16, NumClasses: 2), trainCount: 4, valCount: 2);
        return ["train", "--data", root, "--model", "unet", "--batch-size", "2"];
    }

    [Fact]
    public void A_diverging_run_exits_1_naming_the_epoch_and_step_and_saves_no_nan_weights()
    {
        using var folder = new TempFolder();
        string run = folder["run"];

        var result = CliRunner.Run([.. FileList(folder["data"]), "--epochs", "3", "--lr", "1e6", "--save-dir", run]);

        // The issue's reproduction: at --lr 1e6 the loss is NaN at the fourth step, the second of epoch 2.
        Assert.Equal(1, result.ExitCode);
        string epoch1 = Path.Combine(run, "epoch_1");
        Assert.Contains("error: Train: the loss is NaN at epoch 2, step 2 (global step 4, learning rate", result.Error);
        Assert.Contains($"the last checkpoint, {epoch1}, has finite weights", result.Error);
        Assert.Contains($"the same command with --resume {epoch1} and a smaller --lr (this run used 1000000)", result.Error);
        Assert.Equal([1], CheckpointFolders.EpochFolders(run).Select(f => f.Epoch));
        foreach (string saved in new[] { epoch1, CheckpointFolders.BestModelFolder(run) })
            Assert.All(Checkpoint.Read(saved).ModelTensors, p => Assert.True(p.Value.ToArray().All(float.IsFinite), $"{saved}: {p.Key}"));
    }

    [Fact]
    public void Train_on_a_save_folder_held_by_a_live_run_is_refused_naming_its_process_and_deletes_nothing()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        Assert.Equal(0, CliRunner.Run([.. TinyRun, "--epochs", "1", "--save-dir", run]).ExitCode);
        string epoch1 = Path.Combine(run, "epoch_1");
        byte[] weights = File.ReadAllBytes(Path.Combine(epoch1, Checkpoint.ModelFileName));

        const int holder = 4_000_002;
        CliRunner.Result overwrite, resume;
        using (new FileStream(Path.Combine(run, $"train.{holder}.lock"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            overwrite = CliRunner.Run([.. TinyRun, "--epochs", "1", "--save-dir", run, "--overwrite"]);
            resume = CliRunner.Run([.. TinyRun, "--epochs", "2", "--resume", epoch1]);
        }

        foreach (var refused in new[] { overwrite, resume })
        {
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains($"is in use by another training run, process {holder}", refused.Error);
            Assert.DoesNotContain("   at ", refused.Error);
        }
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(epoch1, Checkpoint.ModelFileName)));
        Assert.Equal([1], CheckpointFolders.EpochFolders(run).Select(f => f.Epoch));
    }

    [Fact]
    public void A_lock_left_by_a_killed_run_is_taken_over_with_a_note()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "train.2147483646.lock"), "pid 2147483646\n");

        var result = CliRunner.Run([.. TinyRun, "--epochs", "1", "--save-dir", run]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Note: took over save folder '{run}' from process 2147483646, which is no longer running", result.Output);
        Assert.Empty(Directory.GetFiles(run, "*.lock"));
    }

    [Fact]
    public void A_corrupt_validation_image_fails_before_the_first_step_naming_the_list_and_line()
    {
        using var folder = new TempFolder();
        string[] train = FileList(folder["data"]);
        string corrupt = Path.Combine(folder["data"], "images", "000005.png");
        File.WriteAllBytes(corrupt, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]);

        var result = CliRunner.Run([.. train, "--epochs", "1", "--save-dir", folder["run"]]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{Path.Combine(folder["data"], "val.txt")}, line 2: image {corrupt}: truncated", result.Error);
        Assert.DoesNotContain("step 1/2", result.Output);
        Assert.False(Directory.Exists(folder["run"]));
    }

    [Fact]
    public void Num_classes_1_is_a_usage_error_that_points_to_2_and_the_binary_losses()
    {
        using var folder = new TempFolder();

        var result = CliRunner.Run([.. FileList(folder["data"]), "--num-classes", "1", "--epochs", "1", "--save-dir", folder["run"]]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: --num-classes 1: a dataset has at least two classes, background included", result.Error);
        Assert.Contains("Pass --num-classes 2; add --use-bce-loss or --use-dice-loss for PaddleX's one-channel binary head", result.Error);
        Assert.DoesNotContain("Training", result.Output);
    }

    [Fact]
    public void A_save_dir_that_is_a_file_is_a_usage_error_before_any_data_is_read()
    {
        using var folder = new TempFolder();
        string file = folder["notes.txt"];
        File.WriteAllText(file, "not a folder");

        var direct = CliRunner.Run([.. TinyRun, "--epochs", "1", "--save-dir", file]);
        var below = CliRunner.Run([.. TinyRun, "--epochs", "1", "--save-dir", Path.Combine(file, "run")]);

        Assert.Equal(2, direct.ExitCode);
        Assert.Contains($"error: --save-dir: save folder '{file}' is a file, not a folder", direct.Error);
        Assert.DoesNotContain("Training", direct.Output);
        Assert.Equal(2, below.ExitCode);
        Assert.Contains($"cannot be created because '{file}' is a file.", below.Error);
        Assert.Equal("not a folder", File.ReadAllText(file));
    }

    [Fact]
    public void Evaluate_with_a_missing_best_model_names_the_newest_epoch_checkpoint_to_use()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        Assert.Equal(0, CliRunner.Run([.. TinyRun, "--epochs", "2", "--save-dir", run]).ExitCode);   // no validation split: no best_model

        var result = CliRunner.Run(["evaluate", "--model-dir", Path.Combine(run, "best_model"), "--format", "synthetic", "--num-classes", "3",
            "--synthetic-size", "16,16", "--synthetic-val", "2"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"error: --model-dir: folder '{Path.Combine(run, "best_model")}' does not exist. " +
                        $"The newest checkpoint of that run is {Path.Combine(run, "epoch_2")}; use it instead.", result.Error);
    }
}
