using System.Text.RegularExpressions;
using SharpSeg.Training;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// <c>train</c> as a long run is used (review findings 7, 8, 11 and 13): progress lines in logs, Ctrl+C, resuming into
/// the run's own folder, resuming a finished run, early argument checks and which model the final table describes.
/// </summary>
public sealed class TrainRunTests
{
    private static string[] Synthetic(int train, int val) =>
        ["--format", "synthetic", "--num-classes", "3", "--synthetic-size", "16,16", "--synthetic-train", $"{train}", "--synthetic-val", $"{val}",
         "--backbone", "resnet18_vd", "--batch-size", "2"];

    [Fact]
    public void Redirected_output_gets_a_step_line_every_log_interval_and_at_the_end_of_each_epoch()
    {
        using var folder = new TempFolder();

        var result = CliRunner.Run(["train", .. Synthetic(train: 6, val: 0), "--epochs", "2", "--log-interval", "2", "--save-dir", folder["out"]]);

        Assert.Equal(0, result.ExitCode);
        // Three steps per epoch: lines at steps 2 and 3 (the epoch's end), as metrics.jsonl logs them.
        var steps = Regex.Matches(result.Output, @"^epoch (\d)/2 step (\d)/3 loss \d+\.\d{4} \(avg \d+\.\d{4}\) lr \S+ \d+\.\d img/s ETA \d+:\d\d$",
            RegexOptions.Multiline).Select(m => (m.Groups[1].Value, m.Groups[2].Value));
        Assert.Equal([("1", "2"), ("1", "3"), ("2", "2"), ("2", "3")], steps);
    }

    [Fact]
    public void Ctrl_C_stops_with_exit_130_naming_the_checkpoint_and_resuming_it_continues_in_the_same_folder()
    {
        using var folder = new TempFolder();
        string run = folder["run"];
        string[] common = [.. Synthetic(train: 4, val: 2), "--epochs", "2"];

        var interrupted = CliRunner.RunUntil("saved ", ["train", .. common, "--save-dir", run]);

        Assert.Equal(130, interrupted.ExitCode);
        string epoch1 = Path.Combine(run, "epoch_1");
        Assert.Contains("Interrupted: stopping before the next training step", interrupted.Error);
        Assert.Contains($"Training interrupted at epoch 2, step 0. The last checkpoint is {epoch1}; to continue, run the same command with --resume {epoch1}", interrupted.Error);
        Assert.True(File.Exists(Path.Combine(epoch1, "optimizer.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(run, "epoch_2")));

        var resumed = CliRunner.Run(["train", .. common, "--resume", epoch1, "--seed", "5", "--pretrained", Path.Combine(run, "best_model", "model.safetensors")]);

        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains($"output in {run}", resumed.Output);
        Assert.Contains($"Note: --seed 5 is not used: a resumed run keeps the seed of the checkpoint {epoch1}.", resumed.Output);
        Assert.Contains("Note: --pretrained", resumed.Output);
        Assert.Contains($"is not loaded: a resumed run continues from the weights of the checkpoint {epoch1}.", resumed.Output);
        Assert.True(File.Exists(Path.Combine(run, "epoch_2", "state.json")));
        Assert.Contains($"Last checkpoint: {Path.Combine(run, "epoch_2")}", resumed.Output);
        Assert.Matches(@"best_model: validation after epoch 2|Last evaluation, after epoch 2 \(best_model is from epoch 1, before the resume\)", resumed.Output);

        string epoch2 = Path.Combine(run, "epoch_2");
        var finished = CliRunner.Run(["train", .. common, "--resume", epoch2]);
        var shorter = CliRunner.Run(["train", .. common[..^2], "--epochs", "1", "--resume", epoch2]);
        var bestModel = CliRunner.Run(["train", .. common, "--resume", Path.Combine(run, "best_model")]);

        Assert.Equal(0, finished.ExitCode);
        Assert.Contains($"The checkpoint {epoch2} was saved after epoch 2, the last of a 2-epoch run: nothing is left to train. " +
                        "To train further, resume with a larger --epochs", finished.Output);
        Assert.DoesNotContain("Training ", finished.Output);
        Assert.Equal(2, shorter.ExitCode);
        Assert.Contains($"--epochs is 1 but the checkpoint {epoch2} was saved after epoch 2", shorter.Error);
        Assert.Equal(2, bestModel.ExitCode);
        Assert.Contains("holds weights only, no optimizer state", bestModel.Error);
        Assert.Contains($"(the newest there is {epoch2})", bestModel.Error);
    }

    [Fact]
    public async Task A_real_SIGINT_reaches_the_training_loop_through_System_CommandLines_token()
    {
        // Sending a signal needs a separate process; the in-process test above covers the same path on other systems.
        if (!OperatingSystem.IsLinux())
            return;
        using var folder = new TempFolder();

        var interrupted = await CliRunner.InterruptWhenAsync("saved ", folder.Path, ["train", .. Synthetic(train: 4, val: 0), "--epochs", "1000", "--save-dir", "run"]);

        Assert.Equal(130, interrupted.ExitCode);
        // The signal lands after epoch_1 is saved, in a later step or just after one: epoch_N or epoch_N_step_1 then holds the work done.
        Assert.Matches(@"Training interrupted at epoch \d+, step [01]\. The last checkpoint is run/epoch_\d+(_step_1)?; to continue, run the same command with --resume run/epoch_", interrupted.Error);
    }

    [Fact]
    public void Batch_size_1_for_deeplabv3p_is_a_usage_error_before_any_data_is_read()
    {
        string missing = Path.Combine(Path.GetTempPath(), "sharpseg-no-such-dataset-" + Guid.NewGuid().ToString("N"));

        var result = CliRunner.Run("train", "--data", missing, "--num-classes", "3", "--batch-size", "1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--batch-size must be at least 2 for deeplabv3p, got 1: it has BatchNorm after global pooling", result.Error);
    }

    [Fact]
    public void Synthetic_images_smaller_than_16_pixels_are_refused_by_train_as_by_demo()
    {
        var train = CliRunner.Run("train", "--format", "synthetic", "--synthetic-size", "10,10");
        var demo = CliRunner.Run("demo", "--size", "10");

        Assert.Equal(2, train.ExitCode);
        Assert.Contains("--synthetic-size expects W,H (two integers ≥ 16", train.Error);
        Assert.Equal(2, demo.ExitCode);
        Assert.Contains("--size must be at least 16, got 10.", demo.Error);
    }

    [Fact]
    public void The_summary_shows_the_evaluation_that_chose_best_model_not_the_last_one()
    {
        var better = Metrics(0.75);
        var worse = Metrics(0.25);
        var result = new TrainingResult(2, 4, false, [], [], [new EpochEvaluation(1, better, 0.5), new EpochEvaluation(2, worse, 0.7)],
            BestMetricValue: 0.75, BestEpoch: 1, BestModelFolder: "out/best_model", LastCheckpointFolder: "out/epoch_2");
        var resumedAfterItsBest = result with { Evaluations = [new EpochEvaluation(2, worse, 0.7)] };

        Assert.Same(better, Commands.TrainCommand.BestEvaluation(result)!.Metrics);
        Assert.Null(Commands.TrainCommand.BestEvaluation(resumedAfterItsBest));
    }

    private static SegmentationMetrics Metrics(double miou) =>
        new(miou, [miou], 0.9, 0.8, [0.8], [0.8], 0.7, [0.6], 0.5, ConfusionMatrix: null);
}
