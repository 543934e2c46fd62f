using System.Text.Json.Serialization;

namespace SharpSeg.Training.Checkpoints;

/// <summary>Size and SHA-256 of one file of a checkpoint, recorded in <c>state.json</c> to detect corruption.</summary>
/// <param name="Bytes">File length.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the contents.</param>
public sealed record CheckpointFile(long Bytes, string Sha256);

/// <summary>
/// Everything of a training run that is not a tensor, saved as a checkpoint's <c>state.json</c>: what PaddleX 1.x
/// spreads over <c>model.yml</c> (model name, parameters, transforms, class names) and the resume state PaddleSeg keeps
/// in <c>model.pdopt</c> and its iteration counter (epoch, step, scheduler, best metric), plus the early-stop counter
/// and random seeds so a resumed run continues where it stopped. Properties holding JSON documents
/// (<see cref="ModelOptionsJson"/>, <see cref="SchedulerStateJson"/>, <see cref="TransformsJson"/>) are stored inline.
/// </summary>
public sealed record CheckpointState
{
    /// <summary>Layout version of the checkpoint; readers refuse other versions.</summary>
    public int FormatVersion { get; init; } = Checkpoint.FormatVersion;

    /// <summary>Registry name of the model (e.g. <c>deeplabv3p</c>). PaddleX's <c>model.yml</c> <c>Model</c>.</summary>
    public required string ModelName { get; init; }

    /// <summary>The model options' class count, i.e. its logit channels: the classes predicted, or 1 for a binary head predicting two.</summary>
    public required int NumClasses { get; init; }

    /// <summary>The model's construction options as JSON (backbone, output stride …), to rebuild it. PaddleX's <c>_init_params</c>.</summary>
    [JsonPropertyName("model_options")]
    [JsonConverter(typeof(RawJsonConverter))]
    public string? ModelOptionsJson { get; init; }

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; init; }

    /// <summary>Optimizer steps completed (the global step).</summary>
    public long Step { get; init; }

    /// <summary>
    /// Steps of epoch <see cref="Epoch"/> + 1 already trained when the checkpoint was saved inside that epoch (after a
    /// sample failed to load, in an <c>epoch_N_step_K</c> folder); 0 for a checkpoint at the end of an epoch. A run resumed
    /// from it continues that epoch after those steps.
    /// </summary>
    public int EpochStep { get; init; }

    /// <summary>Images per training step of the run that saved the checkpoint; null in checkpoints saved for prediction only.</summary>
    public int? TrainBatchSize { get; init; }

    /// <summary>The learning-rate schedule's state, from <c>LearningRateSchedule.StateJson()</c>.</summary>
    [JsonPropertyName("scheduler_state")]
    [JsonConverter(typeof(RawJsonConverter))]
    public string? SchedulerStateJson { get; init; }

    /// <summary>Metric used to pick the best model (e.g. <c>miou</c>).</summary>
    public string? BestMetricName { get; init; }

    /// <summary>Best value of <see cref="BestMetricName"/> so far.</summary>
    public double? BestMetricValue { get; init; }

    /// <summary>Epoch that gave <see cref="BestMetricValue"/>.</summary>
    public int? BestEpoch { get; init; }

    /// <summary>The early-stopping tracker, counter included.</summary>
    public EarlyStoppingState? EarlyStopping { get; init; }

    /// <summary>
    /// Seeds and counters of the run's random streams by name (e.g. <c>seed</c>, <c>data_loader</c>): the data pipeline
    /// draws from (seed, epoch, index), so these plus <see cref="Epoch"/> and <see cref="Step"/> reproduce every draw.
    /// </summary>
    public IReadOnlyDictionary<string, long>? RandomState { get; init; }

    /// <summary>The evaluation/prediction transforms as JSON, to preprocess images at prediction time. PaddleX's <c>model.yml</c> <c>Transforms</c>.</summary>
    [JsonPropertyName("transforms")]
    [JsonConverter(typeof(RawJsonConverter))]
    public string? TransformsJson { get; init; }

    /// <summary>Class names in id order. PaddleX's <c>_Attributes.labels</c>.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The checkpoint's tensor files with size and hash; filled in by <see cref="Checkpoint.Save(string, SharpSeg.Nn.Module, CheckpointState, SharpSeg.Nn.Optim.OptimizerState?)"/>.</summary>
    public IReadOnlyDictionary<string, CheckpointFile>? Files { get; init; }
}
