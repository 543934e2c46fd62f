using System.Globalization;
using SharpSeg.Training;
using Spectre.Console;

namespace SharpSeg.Cli;

/// <summary>
/// Shows <see cref="Segmenter.Train"/>'s progress reports: a live Spectre.Console bar with epoch, loss, learning rate,
/// speed and ETA on an interactive terminal, and one line per evaluation (and per epoch when the output is not a
/// terminal, so logs stay readable).
/// </summary>
internal sealed class TrainingProgressView : IProgress<TrainingProgress>
{
    private readonly IAnsiConsole _console;
    private readonly ProgressTask? _task;

    private TrainingProgressView(IAnsiConsole console, ProgressTask? task)
    {
        _console = console;
        _task = task;
    }

    /// <summary>
    /// Runs <paramref name="train"/> with a progress view attached: a live bar when the console is interactive,
    /// plain lines otherwise. Returns what <paramref name="train"/> returns.
    /// </summary>
    public static T Run<T>(IAnsiConsole console, Func<IProgress<TrainingProgress>, T> train)
    {
        if (!console.Profile.Capabilities.Interactive)
            return train(new TrainingProgressView(console, null));
        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: 1);
                var result = train(new TrainingProgressView(console, task));
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
                if (_task is not null)
                {
                    _task.MaxValue = Math.Max(1, value.TotalSteps);
                    _task.Value = value.GlobalStep;
                    _task.Description = Markup.Escape(StepLine(value));
                }
                else if (value.Step == value.StepsPerEpoch)
                    _console.WriteLine(StepLine(value));
                break;
            case TrainingPhase.Evaluation when value.Metrics is { } metrics:
                _console.MarkupLine(
                    $"epoch {value.Epoch}/{value.NumEpochs}: val mIoU [bold]{MetricsView.Format(metrics.MeanIou)}[/] " +
                    $"oAcc {MetricsView.Format(metrics.OverallAccuracy)} kappa {MetricsView.Format(metrics.Kappa)}" +
                    (value.IsBest ? " [green](best so far)[/]" : ""));
                break;
            case TrainingPhase.Checkpoint when value.CheckpointFolder is { } folder && _task is null:
                _console.WriteLine($"saved {folder}");
                break;
        }
    }

    private static string StepLine(TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {p.Epoch}/{p.NumEpochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F4} (avg {p.AverageLoss:F4}) " +
        $"lr {p.LearningRate:G3} {p.ImagesPerSecond:F1} img/s ETA {FormatEta(p.Eta)}");

    private static string FormatEta(TimeSpan eta) =>
        eta.TotalHours >= 1 ? eta.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : eta.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
