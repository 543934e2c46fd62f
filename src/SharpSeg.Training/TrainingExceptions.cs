namespace SharpSeg.Training;

/// <summary>
/// Training diverged: the loss or a gradient of a step, or a weight at a checkpoint, is NaN or infinite. Thrown by
/// <see cref="Segmenter.Train"/> (and the Detector's run) at the step where it happens, before that step changes the weights, so nothing non-finite
/// is ever saved (no epoch checkpoint, no <c>best_model</c>); the checkpoints written before stay as they were.
/// Equivalent to PyTorch Lightning's <c>terminate_on_nan</c> ("The loss returned in training_step is nan or inf").
/// </summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> names the quantity, the epoch and the step.</summary>
    public NonFiniteLossException(string message, string quantity, double value, int epoch, int step, long globalStep, string? lastCheckpointFolder)
        : base(message)
    {
        Quantity = quantity;
        Value = value;
        Epoch = epoch;
        Step = step;
        GlobalStep = globalStep;
        LastCheckpointFolder = lastCheckpointFolder;
    }

    /// <summary>What is not finite: <c>loss</c>, <c>gradient of conv1.weight</c> or <c>weight conv1.weight</c>.</summary>
    public string Quantity { get; }

    /// <summary>The offending value (NaN, +∞ or −∞).</summary>
    public double Value { get; }

    /// <summary>1-based epoch of the step.</summary>
    public int Epoch { get; }

    /// <summary>1-based step within <see cref="Epoch"/>.</summary>
    public int Step { get; }

    /// <summary>1-based optimizer step since the start of the run (resumed runs included).</summary>
    public long GlobalStep { get; }

    /// <summary>The newest checkpoint this run wrote or resumed from, all of whose weights are finite; null when there is none.</summary>
    public string? LastCheckpointFolder { get; }
}

/// <summary>
/// Training stopped on an error that came late, after training had started: a sample that no longer loads in the middle
/// of an epoch, or an evaluation after an epoch that failed. Before it is thrown the work done so far is saved as a
/// checkpoint (<see cref="CheckpointFolder"/>: <c>epoch_N</c> after an epoch, <c>epoch_N_step_K</c> inside one) to resume
/// from once the cause is fixed. Also thrown when an epoch checkpoint cannot be written (disk full, no permission); then
/// <see cref="CheckpointFolder"/> is the last one that was. <see cref="Exception.InnerException"/> is the original error, and the message starts
/// with its message.
/// </summary>
public sealed class TrainingFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingFailedException(string message, string? checkpointFolder, int epoch, int step, long globalStep, Exception inner)
        : base(message, inner)
    {
        CheckpointFolder = checkpointFolder;
        Epoch = epoch;
        Step = step;
        GlobalStep = globalStep;
    }

    /// <summary>The checkpoint holding all training done before the failure, to resume from; null when nothing had been trained.</summary>
    public string? CheckpointFolder { get; }

    /// <summary>1-based epoch during or after which the failure happened.</summary>
    public int Epoch { get; }

    /// <summary>Steps of <see cref="Epoch"/> done before the failure.</summary>
    public int Step { get; }

    /// <summary>Optimizer steps done since the start of the run.</summary>
    public long GlobalStep { get; }
}
