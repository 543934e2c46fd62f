using System.Globalization;
using SharpSeg.Detection;
using SharpSeg.Training;
using Spectre.Console;

namespace SharpSeg.Cli;

/// <summary>
/// Shows <see cref="Segmenter.Train"/>'s progress reports: a live Spectre.Console bar with epoch, loss, learning rate,
/// speed and ETA on an interactive terminal, and one line per evaluation. When the output is not a terminal (a log
/// file, <c>nohup</c>, CI) the bar becomes a plain step line every <c>logIntervalSteps</c> steps and at the end of each
/// epoch, the cadence of <c>metrics.jsonl</c>, as PaddleX logs every <c>log_interval_steps</c>. Shows
/// <see cref="Detector.Train"/>'s reports the same way, with each torchvision loss on the step line and box (and mask)
/// mAP on the evaluation line.
/// </summary>
internal sealed class TrainingProgressView : IProgress<TrainingProgress>, IProgress<DetectionTrainingProgress>
{
    private readonly IAnsiConsole _console;
    private readonly ProgressTask? _task;
    private readonly int _logIntervalSteps;

    private TrainingProgressView(IAnsiConsole console, ProgressTask? task, int logIntervalSteps)
    {
        _console = console;
        _task = task;
        _logIntervalSteps = logIntervalSteps;
    }

    /// <summary>Whether <paramref name="e"/> is one of the ways a run stops early that <see cref="ReportStop"/> explains.</summary>
    public static bool IsStop(Exception e) => e is NonFiniteLossException or TrainingFailedException or TrainingInterruptedException;

    /// <summary>
    /// Prints how a run of <c>train</c> or <c>detect train</c> stopped early (<see cref="IsStop"/>) and the command line
    /// that continues it, and returns the exit code: 130 when interrupted, 1 otherwise.
    /// </summary>
    public static int ReportStop(TextWriter error, Exception e, double learningRate)
    {
        string rate = learningRate.ToString(CultureInfo.InvariantCulture);
        switch (e)
        {
            case TrainingInterruptedException interrupted:
                error.WriteLine(interrupted.CheckpointFolder is { } saved
                    ? $"Training interrupted at epoch {interrupted.Epoch}, step {interrupted.Step}. The last checkpoint is {saved}; to continue, run the same command with --resume {saved}"
                    : $"Training interrupted at epoch {interrupted.Epoch}, step {interrupted.Step}, before any checkpoint; there is nothing to resume from.");
                return ExitCodes.Interrupted;
            case NonFiniteLossException diverged:
                error.WriteLine($"error: {diverged.Message}");
                error.WriteLine(diverged.LastCheckpointFolder is { } good
                    ? $"To continue from the last good checkpoint with a lower learning rate: the same command with --resume {good} and a smaller --lr (this run used {rate})."
                    : $"Run again with a smaller --lr (this run used {rate}).");
                return ExitCodes.Failure;
            case TrainingFailedException failed:
                error.WriteLine($"error: {failed.Message}");
                if (failed.CheckpointFolder is { } resumable)
                    error.WriteLine($"To continue once it is fixed: run the same command with --resume {resumable}");
                return ExitCodes.Failure;
            default:
                throw new ArgumentException($"{e.GetType().Name} is not a way a training run stops early.", nameof(e));
        }
    }

    /// <summary>
    /// Runs <paramref name="train"/> with a progress view attached: a live bar when the console is interactive,
    /// plain lines every <paramref name="logIntervalSteps"/> steps otherwise. Returns what <paramref name="train"/> returns.
    /// </summary>
    public static T Run<T>(IAnsiConsole console, int logIntervalSteps, Func<TrainingProgressView, T> train)
    {
        if (!console.Profile.Capabilities.Interactive)
            return train(new TrainingProgressView(console, null, logIntervalSteps));
        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: 1);
                var result = train(new TrainingProgressView(console, task, logIntervalSteps));
                task.Value = task.MaxValue;
                task.StopTask();
                return result;
            });
    }

    /// <inheritdoc />
    public void Report(TrainingProgress value)
    {
        switch (value.Phase)
        {
            case TrainingPhase.Step:
                ShowStep(StepLine(value), value.TotalSteps, value.GlobalStep, value.Step, value.StepsPerEpoch);
                break;
            case TrainingPhase.Evaluation when value.Metrics is { } metrics:
                _console.MarkupLine(
                    $"epoch {value.Epoch}/{value.NumEpochs}: val mIoU [bold]{MetricsView.Format(metrics.MeanIou)}[/] " +
                    $"oAcc {MetricsView.Format(metrics.OverallAccuracy)} kappa {MetricsView.Format(metrics.Kappa)}" +
                    (value.IsBest ? " [green](best so far)[/]" : ""));
                break;
            case TrainingPhase.Note when value.Message is { } note:
                _console.WriteLine($"Note: {note}");
                break;
            case TrainingPhase.Checkpoint when value.CheckpointFolder is { } folder:
                ShowCheckpoint(folder);
                break;
        }
    }

    /// <inheritdoc />
    public void Report(DetectionTrainingProgress value)
    {
        switch (value.Phase)
        {
            case DetectionTrainingPhase.Step:
                ShowStep(StepLine(value), value.TotalSteps, value.GlobalStep, value.Step, value.StepsPerEpoch);
                break;
            case DetectionTrainingPhase.Evaluation when value.Metrics is { } metrics:
                _console.MarkupLine(
                    $"epoch {value.Epoch}/{value.Epochs}: box mAP [bold]{MetricsView.Format(metrics.Box.AP)}[/] AP50 {MetricsView.Format(metrics.Box.AP50)} " +
                    $"AP75 {MetricsView.Format(metrics.Box.AP75)}" + (metrics.Mask is { } mask ? $", mask mAP [bold]{MetricsView.Format(mask.AP)}[/]" : "") +
                    (value.IsBest ? " [green](best so far)[/]" : ""));
                break;
            case DetectionTrainingPhase.Note when value.Message is { } note:
                _console.WriteLine($"Note: {note}");
                break;
            case DetectionTrainingPhase.Checkpoint when value.CheckpointFolder is { } folder:
                ShowCheckpoint(folder);
                break;
        }
    }

    // A step moves the live bar; without one (output redirected), every log interval and each epoch's last step print a line.
    private void ShowStep(string line, long totalSteps, long globalStep, int step, int stepsPerEpoch)
    {
        if (_task is not null)
        {
            _task.MaxValue = Math.Max(1, totalSteps);
            _task.Value = globalStep;
            _task.Description = Markup.Escape(line);
        }
        else if (step % _logIntervalSteps == 0 || step == stepsPerEpoch)
            _console.WriteLine(line);
    }

    private void ShowCheckpoint(string folder)
    {
        if (_task is null)
            _console.WriteLine($"saved {folder}");
    }

    // torchvision's loss names without their "loss_" prefix, so the line fits a terminal.
    private static string StepLine(DetectionTrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F4} " +
        $"({string.Join(", ", p.Losses.Select(l => $"{(l.Key.StartsWith("loss_", StringComparison.Ordinal) ? l.Key[5..] : l.Key)} {l.Value:F3}"))}) " +
        $"lr {p.LearningRate:G3} {p.ImagesPerSecond:F1} img/s ETA {FormatEta(p.Eta)}");

    private static string StepLine(TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {p.Epoch}/{p.NumEpochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F4} (avg {p.AverageLoss:F4}) " +
        $"lr {p.LearningRate:G3} {p.ImagesPerSecond:F1} img/s ETA {FormatEta(p.Eta)}");

    private static string FormatEta(TimeSpan eta) =>
        eta.TotalHours >= 1 ? eta.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : eta.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
