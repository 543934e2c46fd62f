using SharpSeg.Nn;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Training.Checkpoints;

/// <summary>
/// A checkpoint read into memory and validated by <see cref="Checkpoint.Read(string, string, int)"/>, ready to be
/// applied to a model (and optimizer and schedule for resume). Equivalent to the dictionaries PaddleSeg's
/// <c>resume()</c> gets from <c>paddle.load</c> before calling <c>set_state_dict</c>.
/// </summary>
public sealed class LoadedCheckpoint
{
    internal LoadedCheckpoint(string folder, CheckpointState state, IReadOnlyDictionary<string, Tensor> modelTensors, OptimizerState? optimizer)
    {
        Folder = folder;
        State = state;
        ModelTensors = modelTensors;
        Optimizer = optimizer;
    }

    /// <summary>The checkpoint folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The run state from <c>state.json</c>.</summary>
    public CheckpointState State { get; }

    /// <summary>The model's state dict.</summary>
    public IReadOnlyDictionary<string, Tensor> ModelTensors { get; }

    /// <summary>The optimizer state, or null when the checkpoint was saved without it.</summary>
    public OptimizerState? Optimizer { get; }

    /// <summary>
    /// Loads the weights into <paramref name="model"/>, and when given, the optimizer state into
    /// <paramref name="optimizer"/> and the schedule state into <paramref name="schedule"/>, all or nothing: if any part
    /// is refused, the parts already loaded are put back as they were before the exception propagates. Equivalent to
    /// <c>model.set_state_dict(…); optimizer.set_state_dict(…)</c> in PaddleSeg's <c>resume()</c>. With
    /// <paramref name="scheduleStepOnly"/> the schedule takes only the saved step count, so a schedule rebuilt for another
    /// plan (more epochs, another batch size or learning rate) continues at that step.
    /// </summary>
    /// <exception cref="CheckpointException">
    /// The checkpoint does not fit (state-dict keys or shapes, optimizer kind or groups, schedule), or an optimizer or
    /// schedule was given but the checkpoint has no state for it.
    /// </exception>
    public void Restore(Module model, Optimizer? optimizer = null, LearningRateSchedule? schedule = null, bool scheduleStepOnly = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (optimizer is not null && Optimizer is null)
            throw new CheckpointException(Folder, $"it has no {Checkpoint.OptimizerFileName}, so the optimizer cannot resume from it.");
        if (schedule is not null && State.SchedulerStateJson is null)
            throw new CheckpointException(Folder, "its state has no scheduler_state, so the learning-rate schedule cannot resume from it.");

        var modelBackup = model.StateDict().Select(p => KeyValuePair.Create(p.Key, p.Value.Clone())).ToDictionary();
        var optimizerBackup = optimizer?.StateDict();
        string? scheduleBackup = schedule?.StateJson();
        try
        {
            model.LoadStateDict(ModelTensors);
            if (optimizer is not null) optimizer.LoadStateDict(Optimizer!);
            if (schedule is not null)
            {
                if (scheduleStepOnly) schedule.LoadStepCount(State.SchedulerStateJson!);
                else schedule.LoadStateJson(State.SchedulerStateJson!);
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            model.LoadStateDict(modelBackup);
            if (optimizerBackup is not null) optimizer!.LoadStateDict(optimizerBackup);
            if (scheduleBackup is not null) schedule!.LoadStateJson(scheduleBackup);
            string reason = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;
            throw new CheckpointException(Folder, $"it does not fit: {reason}", e);
        }
    }
}
