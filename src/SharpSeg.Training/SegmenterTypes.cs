using SharpSeg.Data;
using SharpSeg.Nn.Losses;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training;

/// <summary>
/// Settings of <see cref="Segmenter.Train"/> beyond PaddleX 1.x's <c>train()</c> arguments: seeds, weight decay,
/// warmup, gradient clipping, checkpoint rotation, the best-model metric and the loss. The loss arguments mirror the
/// PaddleX model constructors (<c>use_bce_loss</c>, <c>use_dice_loss</c>, <c>class_weight</c>).
/// </summary>
/// <param name="Seed">Fixes the sample order, every augmentation and every dropout mask (the loader draws from (seed, epoch, index)).</param>
/// <param name="NumWorkers">Background threads building batches (<c>paddle.io.DataLoader(num_workers)</c>); results do not depend on it.</param>
/// <param name="WeightDecay">L2 weight decay of the default optimizer, off for norms and biases (PaddleX's <c>L2Decay(4e-5)</c>).</param>
/// <param name="WarmupSteps">Iterations of linear warmup before the polynomial decay (PaddleSeg's <c>LinearWarmup</c>); 0 = none.</param>
/// <param name="WarmupStartLearningRate">Learning rate of the first warmup iteration.</param>
/// <param name="ClipGradNorm">Maximum global L2 norm of the gradients (<c>torch.nn.utils.clip_grad_norm_</c>); null = no clipping.</param>
/// <param name="KeepLastCheckpoints">Epoch checkpoints kept in the save folder (PaddleSeg's <c>keep_checkpoint_max</c>).</param>
/// <param name="BestMetric">
/// Metric that picks <c>best_model</c> and drives early stopping: <c>miou</c>, <c>oacc</c>, <c>macc</c>, <c>kappa</c>,
/// <c>mdice</c> (higher is better), or <c>loss</c>, the validation loss (lower is better: the training loss of the main
/// output, averaged over the evaluation images).
/// </param>
/// <param name="Loss">
/// The training loss on the main logits; null = <see cref="PaddleXLoss.Create"/> from the next three arguments (BCE when
/// neither binary loss is chosen for a <see cref="Segmenter.HasBinaryHead">binary head</see>, which refuses per-class losses such as cross-entropy).
/// </param>
/// <param name="UseBceLoss">PaddleX's <c>use_bce_loss</c> (two classes; on a two-channel head the foreground logit is l1 − l0, whose sigmoid is the softmax probability).</param>
/// <param name="UseDiceLoss">PaddleX's <c>use_dice_loss</c> (two classes, combinable with BCE, as above).</param>
/// <param name="ClassWeight">PaddleX's <c>class_weight</c>: null/none, fixed weights or dynamic.</param>
/// <param name="ThreadCount">Kernel threads during training (<c>torch.set_num_threads</c>); 0 keeps <see cref="Engine.Threads"/>.</param>
/// <param name="LossCoefficients">
/// PaddleSeg's <c>loss.coef</c>: the weight of the loss on each model output, main logits first, then the auxiliary heads'
/// (e.g. [1, 0.4]); there must be one per output. Null = the model's own (<see cref="Models.SegmentationModel.LossCoefficients"/>,
/// e.g. Fast-SCNN's <c>multi_loss_weight</c>), else 1 for every output.
/// </param>
/// <param name="OverwriteSaveDir">
/// Let a fresh run (not a resume) start in a save folder that already holds an earlier run's <c>epoch_N</c>,
/// <c>best_model</c>, <c>metrics.jsonl</c>, <c>vdl_log</c>, <c>report.html</c> or <c>report_gallery</c>, deleting those first. Without it such a folder is refused,
/// so no run ever deletes or mixes with another's checkpoints.
/// </param>
/// <param name="Losses">
/// PaddleSeg's <c>loss: {types, coef}</c>: one loss and coefficient per model output, main first. Replaces
/// <paramref name="Loss"/> and <paramref name="LossCoefficients"/>, which must then be null.
/// </param>
/// <param name="Momentum">Momentum of the default SGD optimizer (PaddleX's and PaddleSeg's 0.9).</param>
/// <param name="EndLearningRate">Learning rate the default polynomial decay ends at (PaddleSeg's <c>end_lr</c>, default 0).</param>
/// <param name="Distributed">Data-parallel training over the ranks of a process group (PyTorch's DDP); null = this process alone.</param>
public sealed record TrainingOptions(
    int Seed = 0,
    int NumWorkers = 0,
    double WeightDecay = 4e-5,
    int WarmupSteps = 0,
    double WarmupStartLearningRate = 0,
    double? ClipGradNorm = null,
    int KeepLastCheckpoints = 5,
    string BestMetric = "miou",
    ISegmentationLoss? Loss = null,
    bool UseBceLoss = false,
    bool UseDiceLoss = false,
    ClassWeight? ClassWeight = null,
    int ThreadCount = 0,
    IReadOnlyList<float>? LossCoefficients = null,
    LossList? Losses = null,
    bool OverwriteSaveDir = false,
    double Momentum = 0.9,
    double EndLearningRate = 0,
    DistributedOptions? Distributed = null);

/// <summary>
/// Data-parallel training settings (PyTorch's <c>DistributedDataParallel</c> with <c>DistributedSampler</c>; PaddleSeg's
/// <c>paddle.distributed.launch</c>). Every rank trains the same model on its shard of each epoch; gradients are averaged.
/// The training batch size is per rank; see <see cref="Segmenter.Train"/> for the exact semantics. For tests and experiments in
/// one process, <see cref="SharpSeg.Nn.Distributed.ThreadProcessGroup"/> runs the ranks as threads.
/// </summary>
/// <param name="Group">The ranks of the job (e.g. <c>SharpSeg.Distributed.MpiProcessGroup</c> under <c>mpirun</c>).</param>
/// <param name="SyncBatchNorm">Normalise with statistics over all ranks' batches (<c>torch.nn.SyncBatchNorm</c>).</param>
/// <param name="BucketMegabytes">Gradient bytes per allreduce bucket (DDP's <c>bucket_cap_mb</c>, default 25).</param>
public sealed record DistributedOptions(SharpSeg.Nn.Distributed.IProcessGroup Group, bool SyncBatchNorm = false, double BucketMegabytes = 25);

/// <summary>What a <see cref="TrainingProgress"/> report is about.</summary>
public enum TrainingPhase
{
    /// <summary>One optimizer step finished.</summary>
    Step,
    /// <summary>An evaluation of the evaluation set finished; <see cref="TrainingProgress.Metrics"/> holds its result.</summary>
    Evaluation,
    /// <summary>A checkpoint was written; <see cref="TrainingProgress.CheckpointFolder"/> names it.</summary>
    Checkpoint,
    /// <summary>
    /// Something the run repaired or took over before its first step (a stale save-folder lock, a stale <c>best_model</c>);
    /// <see cref="TrainingProgress.Message"/> says what. Also logged to <c>metrics.jsonl</c>.
    /// </summary>
    Note,
}

/// <summary>
/// One progress report of <see cref="Segmenter.Train"/>, for a progress bar: what PaddleX 1.x prints every
/// <c>log_interval_steps</c> (epoch, step, loss, learning rate, speed, ETA), sent on every step.
/// </summary>
/// <param name="Phase">What happened.</param>
/// <param name="Epoch">1-based epoch in progress.</param>
/// <param name="NumEpochs">Epochs of the run.</param>
/// <param name="Step">1-based step within the epoch (the last step for evaluation and checkpoint reports).</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="GlobalStep">Optimizer steps done since the start of the run (resumed runs included).</param>
/// <param name="TotalSteps">Optimizer steps of the whole run.</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="AverageLoss">Mean loss of the epoch's steps so far.</param>
/// <param name="LearningRate">Base learning rate used by the last step.</param>
/// <param name="ImagesPerSecond">Training throughput of this epoch so far.</param>
/// <param name="Eta">Estimated time until the run's last step, from this epoch's speed.</param>
/// <param name="Metrics">The evaluation's metrics for <see cref="TrainingPhase.Evaluation"/>, else null.</param>
/// <param name="CheckpointFolder">The folder written for <see cref="TrainingPhase.Checkpoint"/>, else null.</param>
/// <param name="IsBest">For evaluations: whether this one is the best so far (and became <c>best_model</c>).</param>
/// <param name="Message">For <see cref="TrainingPhase.Note"/>: what happened, else null.</param>
public sealed record TrainingProgress(
    TrainingPhase Phase,
    int Epoch,
    int NumEpochs,
    int Step,
    int StepsPerEpoch,
    long GlobalStep,
    long TotalSteps,
    double Loss,
    double AverageLoss,
    double LearningRate,
    double ImagesPerSecond,
    TimeSpan Eta,
    SegmentationMetrics? Metrics = null,
    string? CheckpointFolder = null,
    bool IsBest = false,
    string? Message = null);

/// <summary>One evaluation made during training.</summary>
/// <param name="Epoch">Epoch after which it ran.</param>
/// <param name="Metrics">Its metrics.</param>
/// <param name="ValidationLoss">The training loss of the main output averaged over the evaluation images.</param>
public sealed record EpochEvaluation(int Epoch, SegmentationMetrics Metrics, double ValidationLoss);

/// <summary>What <see cref="Segmenter.Train"/> did: the loss curve, the evaluations and where the checkpoints are.</summary>
/// <param name="EpochsCompleted">Epochs finished (the checkpointed epoch included for a resumed run).</param>
/// <param name="GlobalStep">Optimizer steps finished.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run before <c>numEpochs</c>.</param>
/// <param name="StepLosses">Loss of every step this call ran, in order.</param>
/// <param name="EpochLosses">Mean step loss of every epoch this call ran.</param>
/// <param name="Evaluations">Every evaluation this call ran.</param>
/// <param name="BestMetricValue">Best value of the best-model metric so far (resumed history included), or null without evaluations.</param>
/// <param name="BestEpoch">Epoch of <paramref name="BestMetricValue"/>.</param>
/// <param name="BestModelFolder">The <c>best_model</c> folder, or null when none was written.</param>
/// <param name="LastCheckpointFolder">The last epoch checkpoint written, or null.</param>
/// <param name="PretrainedWeights">What loading <c>pretrainWeights</c> loaded, skipped and left missing; null when none were loaded.</param>
public sealed record TrainingResult(
    int EpochsCompleted,
    long GlobalStep,
    bool StoppedEarly,
    IReadOnlyList<double> StepLosses,
    IReadOnlyList<double> EpochLosses,
    IReadOnlyList<EpochEvaluation> Evaluations,
    double? BestMetricValue,
    int? BestEpoch,
    string? BestModelFolder,
    string? LastCheckpointFolder,
    SharpSeg.Nn.LoadReport? PretrainedWeights = null);

/// <summary>
/// A prediction at the input image's size. Equivalent to the dictionary PaddleX 1.x <c>predict()</c> returns
/// (<c>label_map</c>, <c>score_map</c>).
/// </summary>
/// <param name="LabelMap">Class id per pixel, H×W×1 (the argmax of the scores; the first class on ties).</param>
/// <param name="ScoreMap">
/// Softmax probability of every class per pixel, H×W×C in HWC order; for a <see cref="Segmenter.HasBinaryHead">binary
/// head</see> the two classes [1 − σ(l), σ(l)] of its one logit.
/// </param>
public sealed record Prediction(Image<int> LabelMap, Image<float> ScoreMap);
