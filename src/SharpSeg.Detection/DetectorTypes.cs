using SharpSeg.Detection.Data;
using SharpSeg.Detection.Evaluation;

namespace SharpSeg.Detection;

/// <summary>The optimizer of <see cref="Detector.Train"/>.</summary>
public enum DetectionOptimizer
{
    /// <summary>SGD with momentum, as torchvision's detection references (<c>torch.optim.SGD(momentum=0.9, weight_decay=1e-4)</c>).</summary>
    Sgd,
    /// <summary>AdamW (<c>torch.optim.AdamW</c>), the references' <c>--opt adamw</c>.</summary>
    AdamW,
}

/// <summary>The learning-rate decay of <see cref="Detector.Train"/> after warmup.</summary>
public enum DetectionLrSchedule
{
    /// <summary>×<see cref="DetectionTrainingOptions.LrGamma"/> at each milestone epoch (torchvision's <c>--lr-scheduler multisteplr</c>, the default).</summary>
    MultiStep,
    /// <summary>Cosine annealing to 0 over the run (<c>--lr-scheduler cosineannealinglr</c>).</summary>
    Cosine,
}

/// <summary>
/// Settings of <see cref="Detector.Train"/>, torchvision's detection reference arguments (<c>references/detection/train.py</c>)
/// plus the segmentation trainer's checkpoint and logging ones.
/// </summary>
/// <param name="Epochs">Epochs of the whole run (a resumed run continues up to this); <c>--epochs</c>.</param>
/// <param name="BatchSize">Images per step (<c>--batch-size</c>, per GPU there).</param>
/// <param name="LearningRate">Base learning rate (<c>--lr</c>; 0.02 for 8×2 images there; scale with the batch).</param>
/// <param name="Optimizer">SGD with momentum or AdamW.</param>
/// <param name="Momentum">SGD momentum (0.9).</param>
/// <param name="WeightDecay">Weight decay on every parameter, as the references (1e-4; AdamW's decoupled decay).</param>
/// <param name="WarmupSteps">Linear warmup steps from <paramref name="WarmupFactor"/> × lr (the references: min(1000, steps per epoch − 1) in the first epoch); null = that rule.</param>
/// <param name="WarmupFactor">Start of the warmup as a fraction of the base rate (1/1000).</param>
/// <param name="Schedule">The decay after warmup.</param>
/// <param name="LrMilestones">Epochs after which the multistep schedule multiplies the rate by <paramref name="LrGamma"/>; null = 2/3 and 11/12 of the run (the references' 16 and 22 of 26).</param>
/// <param name="LrGamma">The multistep factor (0.1).</param>
/// <param name="ClipGradNorm">Largest global gradient L2 norm (<c>clip_grad_norm_</c>); null = no clipping.</param>
/// <param name="SaveDir">Folder of checkpoints (<c>epoch_N</c>, <c>best_model</c> by box mAP) and logs (<c>metrics.jsonl</c>, <c>vdl_log</c>).</param>
/// <param name="SaveIntervalEpochs">Epochs between evaluations and checkpoints (the last epoch always gets both).</param>
/// <param name="KeepLastCheckpoints">Epoch checkpoints kept.</param>
/// <param name="LogIntervalSteps">Steps between lines of <c>metrics.jsonl</c>.</param>
/// <param name="Resume">A checkpoint of this run to continue from (<c>--resume</c>): <c>epoch_N</c>, or <c>epoch_N_step_K</c> written when a run was cancelled inside an epoch (it continues that epoch after its K steps and needs the same <paramref name="BatchSize"/>).</param>
/// <param name="Seed">Fixes the sample order, every augmentation and every sampler draw.</param>
/// <param name="NumWorkers">Background threads loading samples; results do not depend on it.</param>
/// <param name="ThreadCount">Kernel threads during training; 0 keeps <see cref="Engine.Threads"/>.</param>
/// <param name="UseTensorBoard">Write TensorBoard event files to <c>saveDir/vdl_log</c>.</param>
/// <param name="EarlyStopPatience">Evaluations without a box-mAP gain that stop the run; null = never stop early.</param>
/// <param name="OverwriteSaveDir">Let a fresh run start in a folder holding an earlier run's checkpoints, deleting them first.</param>
/// <param name="MaxPixelValue">The pixel value that maps to 1 (255 for 8-bit images).</param>
public sealed record DetectionTrainingOptions(
    int Epochs = 26,
    int BatchSize = 2,
    double LearningRate = 0.0025,
    DetectionOptimizer Optimizer = DetectionOptimizer.Sgd,
    double Momentum = 0.9,
    double WeightDecay = 1e-4,
    int? WarmupSteps = null,
    double WarmupFactor = 1e-3,
    DetectionLrSchedule Schedule = DetectionLrSchedule.MultiStep,
    IReadOnlyList<int>? LrMilestones = null,
    double LrGamma = 0.1,
    double? ClipGradNorm = null,
    string SaveDir = "output",
    int SaveIntervalEpochs = 1,
    int KeepLastCheckpoints = 5,
    int LogIntervalSteps = 10,
    string? Resume = null,
    int Seed = 0,
    int NumWorkers = 0,
    int ThreadCount = 0,
    bool UseTensorBoard = false,
    int? EarlyStopPatience = null,
    bool OverwriteSaveDir = false,
    float MaxPixelValue = 255f);

/// <summary>COCO metrics of one evaluation: the 12 box numbers, and the 12 mask numbers when the model predicts masks.</summary>
/// <param name="Box">COCOeval's <c>stats</c> for <c>iouType="bbox"</c>.</param>
/// <param name="Mask">COCOeval's <c>stats</c> for <c>iouType="segm"</c>, or null for a model without masks.</param>
/// <param name="Images">Images evaluated.</param>
/// <param name="BoxClassAP">Box AP@[.5:.95] of each class by label − 1 (label 1 first), −1 for a class without ground truth; null when not computed.</param>
/// <param name="Voc">VOC-style box mAP when <see cref="DetectionMetric.Voc"/> or <see cref="DetectionMetric.VocIntegral"/> was asked for, else null.</param>
public sealed record DetectionMetrics(CocoMetrics Box, CocoMetrics? Mask, int Images, IReadOnlyList<double>? BoxClassAP = null, VocMetrics? Voc = null)
{
    /// <summary>The text pycocotools' <c>summarize()</c> prints, boxes then masks, then the VOC mAP lines if any.</summary>
    /// <param name="classNames">Names by label (index 0 the background), for the VOC per-class lines; null prints "class N".</param>
    public string ToSummary(IReadOnlyList<string>? classNames = null) =>
        Box.ToSummary(CocoIouType.Bbox) + (Mask is null ? "" : Environment.NewLine + Mask.ToSummary(CocoIouType.Segm))
        + (Voc is null ? "" : Environment.NewLine + Voc.ToSummary(classNames));
}

/// <summary>What a <see cref="DetectionTrainingProgress"/> report is about.</summary>
public enum DetectionTrainingPhase
{
    /// <summary>One optimizer step finished.</summary>
    Step,
    /// <summary>An evaluation finished; <see cref="DetectionTrainingProgress.Metrics"/> holds it.</summary>
    Evaluation,
    /// <summary>A checkpoint was written; <see cref="DetectionTrainingProgress.CheckpointFolder"/> names it.</summary>
    Checkpoint,
    /// <summary>Something the run repaired before its first step (a stale lock); see <see cref="DetectionTrainingProgress.Message"/>.</summary>
    Note,
}

/// <summary>One progress report of <see cref="Detector.Train"/>, sent on the training thread.</summary>
/// <param name="Phase">What happened.</param>
/// <param name="Epoch">1-based epoch in progress.</param>
/// <param name="Epochs">Epochs of the run.</param>
/// <param name="Step">1-based step within the epoch.</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="GlobalStep">Optimizer steps since the start of the run.</param>
/// <param name="Loss">The last step's total loss.</param>
/// <param name="Losses">The last step's losses by torchvision's names.</param>
/// <param name="LearningRate">The rate the last step used.</param>
/// <param name="ImagesPerSecond">Training throughput of this epoch so far.</param>
/// <param name="Metrics">For evaluations, their metrics.</param>
/// <param name="CheckpointFolder">For checkpoints, the folder written.</param>
/// <param name="IsBest">For evaluations, whether it became <c>best_model</c>.</param>
/// <param name="Message">For notes, what happened.</param>
/// <param name="TotalSteps">Optimizer steps of the whole run (epochs × steps per epoch).</param>
/// <param name="Eta">For steps, the time left at this epoch's pace.</param>
public sealed record DetectionTrainingProgress(
    DetectionTrainingPhase Phase,
    int Epoch,
    int Epochs,
    int Step,
    int StepsPerEpoch,
    long GlobalStep,
    double Loss,
    IReadOnlyDictionary<string, double> Losses,
    double LearningRate,
    double ImagesPerSecond,
    DetectionMetrics? Metrics = null,
    string? CheckpointFolder = null,
    bool IsBest = false,
    string? Message = null,
    long TotalSteps = 0,
    TimeSpan Eta = default);

/// <summary>What <see cref="Detector.Train"/> did.</summary>
/// <param name="EpochsCompleted">Epochs finished (a resumed run's earlier epochs included).</param>
/// <param name="GlobalStep">Optimizer steps finished.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run.</param>
/// <param name="StepLosses">Total loss of every step this call ran.</param>
/// <param name="EpochLosses">Mean step loss of every epoch this call ran.</param>
/// <param name="Evaluations">Every evaluation this call ran, by epoch.</param>
/// <param name="BestBoxMap">Best box AP@[.5:.95] so far, or null without evaluations.</param>
/// <param name="BestEpoch">Epoch of <paramref name="BestBoxMap"/>.</param>
/// <param name="BestModelFolder">The <c>best_model</c> folder, or null.</param>
/// <param name="LastCheckpointFolder">The last epoch checkpoint written, or null.</param>
public sealed record DetectionTrainingResult(
    int EpochsCompleted,
    long GlobalStep,
    bool StoppedEarly,
    IReadOnlyList<double> StepLosses,
    IReadOnlyList<double> EpochLosses,
    IReadOnlyList<(int Epoch, DetectionMetrics Metrics)> Evaluations,
    double? BestBoxMap,
    int? BestEpoch,
    string? BestModelFolder,
    string? LastCheckpointFolder);

/// <summary>
/// The objects found in one image, in its pixels, best first: xyxy boxes, scores, labels (1 … classes − 1) and, for
/// models with a mask head, binary masks of the image's size. Equivalent to one dict of torchvision's detection output
/// (<c>boxes</c>, <c>scores</c>, <c>labels</c>, <c>masks</c> thresholded at 0.5).
/// </summary>
/// <param name="Boxes">N×4 values x1, y1, x2, y2.</param>
/// <param name="Scores">N scores.</param>
/// <param name="Labels">N labels.</param>
/// <param name="Masks">N masks, or null.</param>
public sealed record DetectionPrediction(float[] Boxes, float[] Scores, int[] Labels, InstanceMasks? Masks = null)
{
    /// <summary>Objects found.</summary>
    public int Count => Scores.Length;

    /// <summary>Object <paramref name="index"/>'s box.</summary>
    public (float X1, float Y1, float X2, float Y2) Box(int index) => (Boxes[4 * index], Boxes[4 * index + 1], Boxes[4 * index + 2], Boxes[4 * index + 3]);

    /// <summary>The objects scoring at least <paramref name="minScore"/>.</summary>
    public DetectionPrediction AtLeast(float minScore)
    {
        var kept = Enumerable.Range(0, Count).Where(i => Scores[i] >= minScore).ToArray();
        return new DetectionPrediction([.. kept.SelectMany(i => Boxes.AsSpan(4 * i, 4).ToArray())], [.. kept.Select(i => Scores[i])],
            [.. kept.Select(i => Labels[i])], Masks?.Select(kept));
    }
}
