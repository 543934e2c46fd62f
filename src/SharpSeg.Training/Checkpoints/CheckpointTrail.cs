namespace SharpSeg.Training.Checkpoints;

/// <summary>
/// The newest checkpoint a training run wrote or resumed from, the global step it holds, and what the run saves and says
/// when it stops early: cancelled, a sample or an evaluation that fails, a checkpoint that cannot be written. The
/// Segmenter's and the Detector's runs share it so that both save the same work, refuse the same non-finite weights and
/// name the checkpoint to resume from in the same words.
/// </summary>
internal sealed class CheckpointTrail
{
    /// <summary>The newest checkpoint folder, all of whose weights are finite; null before the first.</summary>
    public string? Folder { get; private set; }

    /// <summary>The global step <see cref="Folder"/> holds.</summary>
    public long Step { get; private set; }

    public void Record(string folder, long step) => (Folder, Step) = (folder, step);

    /// <summary>What a divergence message says of the checkpoints: the last one has finite weights, or there is none yet.</summary>
    public string LastGoodClause => Folder is null ? "no checkpoint had been written yet" : $"the last checkpoint, {Folder}, has finite weights";

    private string LastClause => Folder is null ? "" : $"; the last checkpoint is {Folder}";

    /// <summary>
    /// Saves the steps trained since <see cref="Folder"/> through <paramref name="save"/> into <c>epoch_N</c> (N =
    /// <paramref name="epochsDone"/>, when <paramref name="epochStep"/> is 0) or <c>epoch_N+1_step_K</c>, and returns the
    /// clause that says what became of the work: nothing to save when no step ran since the last checkpoint; nothing saved
    /// when a weight is not finite (resuming from it would only repeat the failure); the save's own I/O error when writing
    /// fails, so the error that stopped the run is still the one reported.
    /// </summary>
    public string SaveWorkDone(string saveDir, long globalStep, int epochsDone, int epochStep, IEnumerable<KeyValuePair<string, Tensor>> weights,
        Action<string> save)
    {
        if (globalStep == Step)
            return Folder is null ? "nothing had been trained, so there is nothing to resume from" : $"all training so far is in the checkpoint {Folder}";
        if (Checkpoint.FirstNonFinite(weights) is { } bad)
            return $"no checkpoint was saved because the weight {bad.Name} is {bad.Value}{LastClause}";
        string target = epochStep == 0
            ? CheckpointFolders.EpochFolder(saveDir, epochsDone)
            : CheckpointFolders.PartialEpochFolder(saveDir, epochsDone + 1, epochStep);
        try
        {
            save(target);
            Record(target, globalStep);
            return $"the training done so far is saved in {target}";
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return $"saving a checkpoint to {target} failed too ({error.Message}){LastClause}";
        }
    }

    /// <summary>
    /// The exception for a run that stops on <paramref name="error"/> after training started; <paramref name="saved"/> is
    /// the clause of <see cref="SaveWorkDone"/> (or why nothing was saved). Its message starts with the error's own.
    /// </summary>
    public TrainingFailedException Failed(Exception error, string during, int epoch, int step, long globalStep, string saved) =>
        new($"{error.Message}\nTraining stopped by this error during {during} (epoch {epoch}, step {step}, global step {globalStep}); {saved}." +
            (Folder is null ? "" : " Fix the cause and resume from that checkpoint."),
            Folder, epoch, step, globalStep, error);

    /// <summary>
    /// The exception for an epoch checkpoint that could not be written (disk full, no permission): the checkpoint
    /// commits atomically, so <paramref name="target"/> is absent or still the earlier one, and the run resumes from
    /// <see cref="Folder"/>.
    /// </summary>
    public TrainingFailedException WriteFailed(Exception error, string target, int epoch, int step, long globalStep) =>
        Failed(error, $"writing the checkpoint {target}", epoch, step, globalStep,
            Folder is null ? "no earlier checkpoint exists, so there is nothing to resume from" : $"the last checkpoint written is {Folder}");

    /// <summary>
    /// The exception for a cancelled run; <paramref name="saved"/> is the clause of <see cref="SaveWorkDone"/>, and
    /// <paramref name="resumeWith"/> names the option that resumes (e.g. <c>resumeCheckpoint, or --resume</c>).
    /// </summary>
    public TrainingInterruptedException Interrupted(string who, int epoch, int epochStep, long globalStep, string saved, string resumeWith,
        CancellationToken token) =>
        new($"{who}: interrupted at epoch {epoch}, step {epochStep} (global step {globalStep}); {saved}." +
            (Folder is null ? "" : $" Resume from that checkpoint ({resumeWith})."),
            Folder, epoch, epochStep, globalStep, token);
}
