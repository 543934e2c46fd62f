using SharpSeg.Training;

namespace SharpSeg.Cli.Tests;

/// <summary>
/// What <c>train</c> and <c>detect train</c> print when a run stops early (<see cref="TrainingProgressView.ReportStop"/>,
/// shared by both): the exit code and the <c>--resume</c> line naming the checkpoint the exception carries.
/// </summary>
public sealed class TrainingStopReportTests
{
    private static (int Code, string Text) Report(Exception e, double learningRate = 0.02)
    {
        var error = new StringWriter();
        int code = TrainingProgressView.ReportStop(error, e, learningRate);
        return (code, error.ToString());
    }

    [Fact]
    public void A_late_failure_exits_1_with_its_message_and_the_checkpoint_to_resume_from_once_fixed()
    {
        var failed = new TrainingFailedException("a.png is truncated\nTraining stopped by this error …", "out/epoch_2_step_3", 2, 3, 9,
            new InvalidDataException("a.png is truncated"));

        var (code, text) = Report(failed);

        Assert.Equal(1, code);
        Assert.StartsWith("error: a.png is truncated", text);
        Assert.Contains("To continue once it is fixed: run the same command with --resume out/epoch_2_step_3", text);
        Assert.DoesNotContain("--resume", Report(new TrainingFailedException("x", null, 1, 1, 1, new IOException("x"))).Text);
    }

    [Fact]
    public void An_interruption_exits_130_naming_the_epoch_step_and_checkpoint()
    {
        var saved = new TrainingInterruptedException("m", "run/epoch_1_step_2", 1, 2, 2, CancellationToken.None);
        var nothing = new TrainingInterruptedException("m", null, 1, 0, 0, CancellationToken.None);

        Assert.Equal((130, "Training interrupted at epoch 1, step 2. The last checkpoint is run/epoch_1_step_2; to continue, run the same command " +
                           "with --resume run/epoch_1_step_2" + Environment.NewLine), Report(saved));
        Assert.Equal("Training interrupted at epoch 1, step 0, before any checkpoint; there is nothing to resume from." + Environment.NewLine, Report(nothing).Text);
    }

    [Fact]
    public void A_divergence_exits_1_suggesting_a_smaller_learning_rate_in_invariant_digits()
    {
        var diverged = new NonFiniteLossException("Train: the loss is NaN …", "loss", double.NaN, 3, 1, 7, "out/epoch_2");

        var (code, text) = Report(diverged, learningRate: 0.5);

        Assert.Equal(1, code);
        Assert.Contains("the same command with --resume out/epoch_2 and a smaller --lr (this run used 0.5).", text);
        Assert.Throws<ArgumentException>(() => Report(new IOException("disk")));
    }
}
