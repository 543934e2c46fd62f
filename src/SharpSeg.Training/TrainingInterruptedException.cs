namespace SharpSeg.Training;

/// <summary>
/// Training stopped because its <see cref="CancellationToken"/> was cancelled (Ctrl+C in the CLI). Before it is thrown the
/// work done since the last checkpoint is saved (<see cref="CheckpointFolder"/>: <c>epoch_N</c> at an epoch boundary,
/// <c>epoch_N_step_K</c> inside an epoch) unless the weights are not finite, and the message names the checkpoint to resume
/// from. An <see cref="OperationCanceledException"/>, so code that catches cancellation keeps working. Plays the role of
/// PyTorch Lightning saving on <c>KeyboardInterrupt</c> (<c>on_exception</c> → checkpoint) before it stops.
/// </summary>
public sealed class TrainingInterruptedException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public TrainingInterruptedException(string message, string? checkpointFolder, int epoch, int step, long globalStep, CancellationToken token)
        : base(message, token)
    {
        CheckpointFolder = checkpointFolder;
        Epoch = epoch;
        Step = step;
        GlobalStep = globalStep;
    }

    /// <summary>The checkpoint holding all training done before the interruption, to resume from; null when nothing had been trained.</summary>
    public string? CheckpointFolder { get; }

    /// <summary>1-based epoch in progress when the run stopped.</summary>
    public int Epoch { get; }

    /// <summary>Steps of <see cref="Epoch"/> done before the run stopped.</summary>
    public int Step { get; }

    /// <summary>Optimizer steps done since the start of the run.</summary>
    public long GlobalStep { get; }
}
