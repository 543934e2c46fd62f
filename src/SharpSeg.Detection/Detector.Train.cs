using System.Diagnostics;
using SharpSeg.Data.Loading;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Models;
using SharpSeg.Nn.Optim;
using SharpSeg.Training;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Logging;

namespace SharpSeg.Detection;

public sealed partial class Detector
{
    /// <summary>
    /// Trains the model on <paramref name="trainDataset"/> as torchvision's detection references do: shuffled batches
    /// collated as lists (images of any size), pixels scaled to 0–1, the sum of the model's losses minimised by SGD with
    /// momentum (or AdamW) with weight decay, a linear warmup in the first epoch, then a multistep or cosine decay stepped
    /// per iteration. Every <see cref="DetectionTrainingOptions.SaveIntervalEpochs"/> epochs (and after the last) the
    /// evaluation set is scored with COCO's metrics and a checkpoint <c>saveDir/epoch_N</c> written; <c>best_model</c>
    /// follows the best box AP@[.5:.95]. Steps are logged to <c>saveDir/metrics.jsonl</c> (and TensorBoard). The save folder
    /// is locked for the run, as the segmentation trainer's.
    /// <para>
    /// Everything random is a function of the seed, the epoch and the sample index (the loader's order and augmentations,
    /// the RPN and RoI samplers' draws), so a run resumed from <c>epoch_N</c> with the same options repeats the uninterrupted
    /// run. A non-finite loss stops the run at that step before it changes the weights.
    /// </para>
    /// </summary>
    /// <param name="trainDataset">Training samples (with their augmentation in its transforms).</param>
    /// <param name="evalDataset">Evaluation samples, or null for none (then <c>best_model</c> is not written).</param>
    /// <param name="options">Epochs, batch, optimizer, schedule, save folder, resume; null = defaults.</param>
    /// <param name="progress">Receives a report after every step, evaluation and checkpoint.</param>
    /// <param name="cancellationToken">Checked before every step; the checkpoints written stay, to resume from.</param>
    /// <exception cref="ArgumentException">An option is out of range, or a dataset's class count differs from the model's.</exception>
    /// <exception cref="CheckpointException">The resume checkpoint is invalid or is another model's.</exception>
    /// <exception cref="SaveFolderInUseException">Another live run holds the save folder.</exception>
    /// <exception cref="NonFiniteLossException">A loss became NaN or infinite.</exception>
    public DetectionTrainingResult Train(DetectionDataset trainDataset, DetectionDataset? evalDataset = null, DetectionTrainingOptions? options = null,
        IProgress<DetectionTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainDataset);
        options ??= new DetectionTrainingOptions();
        CheckOptions(options, trainDataset, evalDataset);
        if (CheckpointFolders.SaveFolderProblem(options.SaveDir) is { } problem)
            throw new ArgumentException($"Detector.Train: {problem}", nameof(options));
        int threads = Engine.Threads;
        if (options.ThreadCount > 0) Engine.Threads = options.ThreadCount;
        try
        {
            using var folderLock = SaveFolderLock.Acquire(options.SaveDir);
            if (folderLock.Note is { } note)
                progress?.Report(new DetectionTrainingProgress(DetectionTrainingPhase.Note, 0, options.Epochs, 0, 0, 0, 0, EmptyLosses, 0, 0, Message: note));
            return TrainLocked(trainDataset, evalDataset, options, progress, cancellationToken);
        }
        finally
        {
            Engine.Threads = threads;
        }
    }

    private static readonly IReadOnlyDictionary<string, double> EmptyLosses = new Dictionary<string, double>();

    private void CheckOptions(DetectionTrainingOptions options, DetectionDataset train, DetectionDataset? eval)
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new ArgumentException($"Detector.Train: {what}.", nameof(options));
        }
        Require(options.Epochs >= 1, $"Epochs must be ≥ 1, got {options.Epochs}");
        Require(options.BatchSize >= 1, $"BatchSize must be ≥ 1, got {options.BatchSize}");
        Require(options.LearningRate > 0 && double.IsFinite(options.LearningRate), $"LearningRate must be positive, got {options.LearningRate}");
        Require(options.SaveIntervalEpochs >= 1 && options.KeepLastCheckpoints >= 1 && options.LogIntervalSteps >= 1,
            "SaveIntervalEpochs, KeepLastCheckpoints and LogIntervalSteps must be ≥ 1");
        Require(options.WarmupSteps is null or >= 0, $"WarmupSteps must be ≥ 0, got {options.WarmupSteps}");
        Require(options.EarlyStopPatience is null or >= 1, $"EarlyStopPatience must be ≥ 1, got {options.EarlyStopPatience}");
        Require(options.EarlyStopPatience is null || eval is not null, "early stopping needs an evaluation dataset");
        Require(train.Count >= options.BatchSize, $"the training set has {train.Count} samples, fewer than one batch of {options.BatchSize}");
        foreach (var (name, dataset) in new[] { ("training", train), ("evaluation", eval) })
            if (dataset is not null && dataset.NumClasses != NumClasses)
                throw new ArgumentException(
                    $"Detector.Train: the {name} set has {dataset.NumClasses} classes (background included) but model '{ModelName}' has {NumClasses}.", nameof(options));
    }

    private DetectionTrainingResult TrainLocked(DetectionDataset trainDataset, DetectionDataset? evalDataset, DetectionTrainingOptions options,
        IProgress<DetectionTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var loader = new DetectionDataLoader(trainDataset, new DataLoaderOptions(options.BatchSize, Shuffle: true, DropLast: true, Seed: options.Seed,
            NumWorkers: options.NumWorkers));
        int stepsPerEpoch = loader.BatchesPerEpoch;
        var optimizer = CreateOptimizer(options);
        var schedule = CreateSchedule(options, stepsPerEpoch);
        optimizer.Schedule = schedule;

        int startEpoch = 1;
        long globalStep = 0;
        double? bestMap = null;
        int? bestEpoch = null;
        EarlyStopping? earlyStopping = options.EarlyStopPatience is { } patience ? new EarlyStopping("box_map", EarlyStoppingMode.Max, patience) : null;
        string metricsPath = Path.Combine(options.SaveDir, "metrics.jsonl");
        if (options.Resume is { } resume)
        {
            var loaded = Checkpoint.Read(resume, ModelName, NumClasses);
            var settings = ReadSettings(loaded.State, loaded.Folder);
            if (settings.Backbone != BackboneName)
                throw new CheckpointException(loaded.Folder, $"it is a '{ModelName}' over '{settings.Backbone}', but this detector's backbone is '{BackboneName}'.");
            if (loaded.State.EpochStep != 0)
                throw new CheckpointException(loaded.Folder, "it was saved inside an epoch; a detector resumes from an epoch_N checkpoint.");
            loaded.Restore(Model, optimizer, schedule, scheduleStepOnly: loaded.State.TrainBatchSize != options.BatchSize);
            startEpoch = loaded.State.Epoch + 1;
            globalStep = loaded.State.Step;
            bestMap = loaded.State.BestMetricValue;
            bestEpoch = loaded.State.BestEpoch;
            if (loaded.State.EarlyStopping is { } early && earlyStopping is not null) earlyStopping.Restore(early);
            if (File.Exists(metricsPath)) MetricsLogger.RemoveStepsAfter(metricsPath, globalStep);
        }
        else
            ClearEarlierRun(options);

        using var metrics = new MetricsLogger(metricsPath);
        using var tensorBoard = options.UseTensorBoard ? new TensorBoardWriter(Path.Combine(options.SaveDir, "vdl_log"), purgeStep: options.Resume is null ? null : globalStep + 1) : null;
        var stepLosses = new List<double>();
        var epochLosses = new List<double>();
        var evaluations = new List<(int, DetectionMetrics)>();
        string? lastCheckpoint = null, bestFolder = bestEpoch is null ? null : CheckpointFolders.BestModelFolder(options.SaveDir);
        bool stoppedEarly = false;
        int epoch = startEpoch - 1;
        for (epoch = startEpoch; epoch <= options.Epochs; epoch++)
        {
            Model.Train();
            // The samplers draw from a stream fixed by (seed, epoch), so a resumed epoch repeats the original's draws.
            var samplerRandom = new Random(SeedMixer.Mix(options.Seed, epoch, -3));
            var clock = Stopwatch.StartNew();
            double epochSum = 0;
            int step = 0;
            foreach (var batch in loader.Epoch(epoch - 1))
            {
                cancellationToken.ThrowIfCancellationRequested();
                step++;
                globalStep++;
                double rate = optimizer.LearningRate;
                var images = batch.Images.Select((image, i) => new DetectionSample(image, batch.Targets[i]).ModelInput(options.MaxPixelValue)).ToArray();
                var targets = batch.Targets.Select(RcnnTarget.From).ToArray();
                var losses = Model.ComputeLosses(images, targets, samplerRandom);
                var total = losses.Values.Aggregate((a, b) => a + b);
                var values = losses.ToDictionary(p => p.Key, p => (double)p.Value.Item());
                double loss = total.Item();
                if (!double.IsFinite(loss))
                    throw new NonFiniteLossException(
                        $"Detector.Train: the loss became {loss} at epoch {epoch}, step {step} ({string.Join(", ", values.Select(p => $"{p.Key} {p.Value}"))}); the weights were not changed.",
                        "loss", loss, epoch, step, globalStep, lastCheckpoint);
                optimizer.ZeroGrad();
                total.Backward();
                if (options.ClipGradNorm is { } maxNorm) GradientClipping.ClipGradNorm(Model.Parameters().Where(p => p.RequiresGrad), maxNorm);
                optimizer.Step();
                schedule.Step();
                stepLosses.Add(loss);
                epochSum += loss;
                double speed = step * options.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                if (step % options.LogIntervalSteps == 0 || step == stepsPerEpoch)
                {
                    metrics.Log(new { kind = "train", epoch, step = globalStep, loss, losses = values, lr = rate, images_per_second = speed });
                    tensorBoard?.AddScalar("Train/loss", loss, globalStep);
                    tensorBoard?.AddScalar("Train/lr", rate, globalStep);
                }
                progress?.Report(new DetectionTrainingProgress(DetectionTrainingPhase.Step, epoch, options.Epochs, step, stepsPerEpoch, globalStep, loss, values, rate, speed));
            }
            epochLosses.Add(epochSum / Math.Max(step, 1));

            if (epoch % options.SaveIntervalEpochs != 0 && epoch != options.Epochs) continue;
            bool isBest = false;
            if (evalDataset is not null)
            {
                var result = Evaluate(evalDataset, options.MaxPixelValue);
                Model.Train();
                evaluations.Add((epoch, result));
                isBest = bestMap is null || result.Box.AP > bestMap;
                if (isBest)
                {
                    bestMap = result.Box.AP;
                    bestEpoch = epoch;
                }
                stoppedEarly = earlyStopping?.Update(result.Box.AP) == true;
                metrics.Log(new { kind = "eval", epoch, step = globalStep, box = result.Box, mask = result.Mask, is_best = isBest });
                tensorBoard?.AddScalar("Eval/box_mAP", result.Box.AP, globalStep);
                tensorBoard?.AddScalar("Eval/box_AP50", result.Box.AP50, globalStep);
                if (result.Mask is { } mask) tensorBoard?.AddScalar("Eval/mask_mAP", mask.AP, globalStep);
                progress?.Report(new DetectionTrainingProgress(DetectionTrainingPhase.Evaluation, epoch, options.Epochs, step, stepsPerEpoch, globalStep,
                    stepLosses.Count > 0 ? stepLosses[^1] : 0, EmptyLosses, optimizer.LearningRate, 0, Metrics: result, IsBest: isBest));
            }

            var state = NewState() with
            {
                Epoch = epoch,
                Step = globalStep,
                TrainBatchSize = options.BatchSize,
                SchedulerStateJson = schedule.StateJson(),
                BestMetricName = bestMap is null ? null : "box_map",
                BestMetricValue = bestMap,
                BestEpoch = bestEpoch,
                EarlyStopping = earlyStopping?.State(),
            };
            lastCheckpoint = CheckpointFolders.EpochFolder(options.SaveDir, epoch);
            Checkpoint.Save(lastCheckpoint, Model, state, optimizer.StateDict());
            if (isBest) bestFolder = CheckpointFolders.UpdateBestModel(options.SaveDir, lastCheckpoint);
            CheckpointFolders.KeepLast(options.SaveDir, options.KeepLastCheckpoints, epoch);
            tensorBoard?.Flush();
            progress?.Report(new DetectionTrainingProgress(DetectionTrainingPhase.Checkpoint, epoch, options.Epochs, step, stepsPerEpoch, globalStep,
                stepLosses.Count > 0 ? stepLosses[^1] : 0, EmptyLosses, optimizer.LearningRate, 0, CheckpointFolder: lastCheckpoint));
            if (stoppedEarly) break;
        }
        return new DetectionTrainingResult(Math.Min(epoch, options.Epochs), globalStep, stoppedEarly, stepLosses, epochLosses, evaluations, bestMap, bestEpoch,
            bestFolder, lastCheckpoint);
    }

    private Optimizer CreateOptimizer(DetectionTrainingOptions options)
    {
        var parameters = Model.Parameters().Where(p => p.RequiresGrad).ToArray();
        return options.Optimizer switch
        {
            DetectionOptimizer.Sgd => new Sgd(parameters, options.LearningRate, options.Momentum, weightDecay: options.WeightDecay),
            _ => new AdamW(parameters, options.LearningRate, weightDecay: options.WeightDecay),
        };
    }

    // torchvision's references warm up for min(1000, steps per epoch − 1) iterations from lr/1000, then decay per epoch;
    // here the decay is stepped per iteration with its milestones in iterations, which is the same rate at every step.
    // Milestones that fall together in a short run (2/3 and 11/12 of 2 epochs) count once.
    private static LearningRateSchedule CreateSchedule(DetectionTrainingOptions options, int stepsPerEpoch)
    {
        long total = (long)options.Epochs * stepsPerEpoch;
        int warmup = options.WarmupSteps ?? Math.Min(1000, stepsPerEpoch - 1);
        LearningRateSchedule decay = options.Schedule switch
        {
            DetectionLrSchedule.Cosine => new CosineAnnealingDecay(options.LearningRate, Math.Max(total - warmup, 1)),
            _ => new MultiStepDecay(options.LearningRate,
                (options.LrMilestones ?? [(int)Math.Ceiling(options.Epochs * 2 / 3.0), (int)Math.Ceiling(options.Epochs * 11 / 12.0)])
                    .Select(e => Math.Max((long)e * stepsPerEpoch - warmup, 1)).Distinct().Order(), options.LrGamma),
        };
        return warmup > 0 ? new LinearWarmup(decay, warmup, options.LearningRate * options.WarmupFactor) : decay;
    }

    private static void ClearEarlierRun(DetectionTrainingOptions options)
    {
        string saveDir = options.SaveDir;
        var earlier = CheckpointFolders.EpochFolders(saveDir).Select(f => f.Path)
            .Concat(new[] { CheckpointFolders.BestModelFolder(saveDir), Path.Combine(saveDir, "vdl_log") }.Where(Directory.Exists))
            .ToList();
        string metricsPath = Path.Combine(saveDir, "metrics.jsonl");
        if (earlier.Count == 0 && !File.Exists(metricsPath)) return;
        if (!options.OverwriteSaveDir)
            throw new ArgumentException(
                $"Detector.Train: save folder '{Path.GetFullPath(saveDir)}' holds an earlier run ({string.Join(", ", earlier.Append(metricsPath).Where(p => Directory.Exists(p) || File.Exists(p)).Select(Path.GetFileName))}); " +
                "resume it, choose another folder, or set OverwriteSaveDir to delete it.", nameof(options));
        foreach (string folder in earlier) Directory.Delete(folder, recursive: true);
        File.Delete(metricsPath);
    }
}
