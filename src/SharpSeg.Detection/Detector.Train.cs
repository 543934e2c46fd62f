using System.Diagnostics;
using SharpSeg.Data.Loading;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Models;
using SharpSeg.Nn.Optim;
using SharpSeg.Training;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Logging;
using SharpSeg.Training.Reporting;

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
    /// Everything random is a function of the seed, the epoch and the step or sample index (the loader's order and
    /// augmentations, the RPN and RoI samplers' draws, EfficientDet's stochastic depth), so a run resumed from
    /// <c>epoch_N</c> or <c>epoch_N_step_K</c> with the same options repeats the uninterrupted run bit for bit at the same
    /// thread count. Cancelling <paramref name="cancellationToken"/> (Ctrl+C in <c>sharpseg detect train</c>) saves the
    /// steps done since the last checkpoint as <c>epoch_N_step_K</c> (or <c>epoch_N</c> between epochs), never non-finite
    /// weights, and throws a <see cref="TrainingInterruptedException"/> naming it. A non-finite loss stops the run at that
    /// step before it changes the weights.
    /// </para>
    /// <para>
    /// <c>saveDir/report.html</c> (<see cref="TrainingReport"/>) is rewritten after every checkpoint: loss curves per
    /// torchvision loss name, learning rate, box (and mask) mAP/AP50/AP75 per evaluation, the 12 COCO numbers and the
    /// per-class AP at the best epoch, and a gallery of drawn predictions next to the ground truth.
    /// </para>
    /// </summary>
    /// <param name="trainDataset">Training samples (with their augmentation in its transforms).</param>
    /// <param name="evalDataset">Evaluation samples, or null for none (then <c>best_model</c> is not written).</param>
    /// <param name="options">Epochs, batch, optimizer, schedule, save folder, resume; null = defaults.</param>
    /// <param name="progress">Receives a report after every step, evaluation and checkpoint.</param>
    /// <param name="cancellationToken">Checked before every step; cancelling saves the work done and throws <see cref="TrainingInterruptedException"/>.</param>
    /// <exception cref="ArgumentException">An option is out of range, or a dataset's class count differs from the model's.</exception>
    /// <exception cref="CheckpointException">The resume checkpoint is invalid or is another model's.</exception>
    /// <exception cref="SaveFolderInUseException">Another live run holds the save folder.</exception>
    /// <exception cref="NonFiniteLossException">A loss or a weight became NaN or infinite.</exception>
    /// <exception cref="TrainingInterruptedException"><paramref name="cancellationToken"/> was cancelled; the message names the checkpoint to resume from.</exception>
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
        LoadedCheckpoint? resumed = null;
        int seed = options.Seed;
        if (options.Resume is { } resume)
        {
            resumed = Checkpoint.Read(resume, ModelName, NumClasses);
            var settings = ReadSettings(resumed.State, resumed.Folder);
            if (settings.Backbone != BackboneName)
                throw new CheckpointException(resumed.Folder, $"it is a '{ModelName}' over '{settings.Backbone}', but this detector's backbone is '{BackboneName}'.");
            // A resumed run keeps the seed its checkpoint was trained with, as the Segmenter does: the order and draws continue.
            if (resumed.State.RandomState?.TryGetValue(SeedKey, out long saved) == true) seed = (int)saved;
        }
        var loader = new DetectionDataLoader(trainDataset, new DataLoaderOptions(options.BatchSize, Shuffle: true, DropLast: true, Seed: seed,
            NumWorkers: options.NumWorkers));
        var run = new DetectionRun(this, options, seed, loader.BatchesPerEpoch, cancellationToken);
        return run.Execute(trainDataset, evalDataset, loader, resumed, progress);
    }

    private const string SeedKey = "seed";

    // Streams of SeedMixer.Mix(seed, epoch, stream) that no sample index takes (the loader's order uses −1, synthetic scenes −2).
    private const int SamplerStream = -3;
    private const int DropPathStream = -4;

    /// <summary>
    /// One call of <see cref="Train"/>: the loop, the checkpoints it writes (<c>epoch_N</c>, and <c>epoch_N_step_K</c> when
    /// cancelled inside an epoch) and the logs. Every random draw of step k of epoch e comes from streams seeded by
    /// (seed, e, k) alone, so a run resumed after k steps draws exactly what the uninterrupted run drew.
    /// </summary>
    private sealed class DetectionRun(Detector detector, DetectionTrainingOptions options, int seed, int stepsPerEpoch, CancellationToken cancellationToken)
    {
        private readonly DetectionModel _model = detector.Model;
        private readonly List<double> _stepLosses = [];
        private readonly List<double> _epochLosses = [];
        private readonly List<(int, DetectionMetrics)> _evaluations = [];
        private Optimizer _optimizer = null!;
        private LearningRateSchedule _schedule = null!;
        private EarlyStopping? _earlyStopping;
        private long _globalStep;
        private double? _bestMap;
        private int? _bestEpoch;

        // The newest checkpoint written or resumed from, and the global step it holds: what an interruption need not save again.
        private string? _savedFolder;
        private long _savedStep;

        private long TotalSteps => (long)options.Epochs * stepsPerEpoch;

        public DetectionTrainingResult Execute(DetectionDataset trainDataset, DetectionDataset? evalDataset, DetectionDataLoader loader,
            LoadedCheckpoint? resumed, IProgress<DetectionTrainingProgress>? progress)
        {
            _optimizer = detector.CreateOptimizer(options);
            _schedule = CreateSchedule(options, stepsPerEpoch);
            _optimizer.Schedule = _schedule;
            _earlyStopping = options.EarlyStopPatience is { } patience ? new EarlyStopping(BoxMapMetric, EarlyStoppingMode.Max, patience) : null;

            int startEpoch = 1, firstBatch = 0;
            string metricsPath = Path.Combine(options.SaveDir, Segmenter.MetricsFileName);
            if (resumed is not null)
            {
                var state = resumed.State;
                CheckPartialEpoch(resumed);
                // A partial epoch resumes with its own batch size (checked above), so its schedule state is restored whole.
                resumed.Restore(_model, _optimizer, _schedule, scheduleStepOnly: state.TrainBatchSize != options.BatchSize);
                startEpoch = state.Epoch + 1;
                firstBatch = state.EpochStep;
                _globalStep = state.Step;
                _bestMap = state.BestMetricValue;
                _bestEpoch = state.BestEpoch;
                if (state.EarlyStopping is { } early && _earlyStopping is not null) _earlyStopping.Restore(early);
                (_savedFolder, _savedStep) = (resumed.Folder, state.Step);
                // What the interrupted run logged after its checkpoint is logged again by this one.
                MetricsLogger.RemoveStepsAfter(metricsPath, _globalStep);
            }
            else
                ClearEarlierRun(options);

            using var metrics = new MetricsLogger(metricsPath, append: resumed is not null, clock: () => DateTimeOffset.UtcNow);
            if (resumed is null)
                metrics.Log(new
                {
                    Event = "start", Task = "detection", Model = detector.ModelName, Backbone = detector.BackboneName, NumEpochs = options.Epochs,
                    TotalSteps, options.BatchSize, Optimizer = options.Optimizer.ToString(), options.LearningRate, Schedule = options.Schedule.ToString(),
                    options.SaveIntervalEpochs, Seed = seed, TrainSamples = trainDataset.Count, EvalSamples = evalDataset?.Count,
                });
            else
                metrics.Log(new { Event = "resume", Epoch = startEpoch - 1, Step = _globalStep, Checkpoint = resumed.Folder, EpochStep = firstBatch, NumEpochs = options.Epochs });
            using var tensorBoard = options.UseTensorBoard
                ? new TensorBoardWriter(Path.Combine(options.SaveDir, Segmenter.TensorBoardFolderName), purgeStep: resumed is null ? null : _globalStep + 1)
                : null;

            string? lastCheckpoint = null, bestFolder = _bestEpoch is null ? null : CheckpointFolders.BestModelFolder(options.SaveDir);
            bool stoppedEarly = false;
            int epoch;
            for (epoch = startEpoch; epoch <= options.Epochs; epoch++)
            {
                int stepsRun = RunEpoch(epoch, firstBatch, loader, metrics, tensorBoard, progress);
                firstBatch = 0;
                if (epoch % options.SaveIntervalEpochs != 0 && epoch != options.Epochs) continue;
                RequireFiniteWeights(epoch);

                bool isBest = false;
                if (evalDataset is not null)
                {
                    var result = detector.Evaluate(evalDataset, options.MaxPixelValue);
                    _model.Train();
                    _evaluations.Add((epoch, result));
                    isBest = _bestMap is null || result.Box.AP > _bestMap;
                    if (isBest) (_bestMap, _bestEpoch) = (result.Box.AP, epoch);
                    stoppedEarly = _earlyStopping?.Update(result.Box.AP) == true;
                    metrics.Log(new
                    {
                        Event = "evaluation", Epoch = epoch, Step = _globalStep, Metrics = ReportScalars(result), CocoBox = NamedStats(result.Box),
                        CocoMask = result.Mask is { } m ? NamedStats(m) : null, ClassAp = result.BoxClassAP, IsBest = isBest,
                    });
                    if (tensorBoard is not null)
                        foreach (var (name, value) in ReportScalars(result)) tensorBoard.AddScalar($"Eval/{name}", value, _globalStep);
                    if (isBest) detector.WriteGallery(options.SaveDir, evalDataset, options.MaxPixelValue);
                    progress?.Report(Report(DetectionTrainingPhase.Evaluation, epoch, stepsPerEpoch) with { Metrics = result, IsBest = isBest });
                }

                lastCheckpoint = SaveCheckpoint(epoch, 0);
                if (isBest) bestFolder = CheckpointFolders.UpdateBestModel(options.SaveDir, lastCheckpoint);
                CheckpointFolders.KeepLast(options.SaveDir, options.KeepLastCheckpoints, epoch);
                tensorBoard?.Flush();
                progress?.Report(Report(DetectionTrainingPhase.Checkpoint, epoch, stepsPerEpoch) with { CheckpointFolder = lastCheckpoint });
                // Rewritten after every checkpoint, so an interrupted run still has a report of what it did.
                TrainingReport.Write(options.SaveDir);
                if (stoppedEarly) break;
            }
            return new DetectionTrainingResult(Math.Min(epoch, options.Epochs), _globalStep, stoppedEarly, _stepLosses, _epochLosses, _evaluations, _bestMap,
                _bestEpoch, bestFolder, lastCheckpoint);
        }

        /// <summary>Trains epoch <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on; returns the steps run.</summary>
        private int RunEpoch(int epoch, int firstBatch, DetectionDataLoader loader, MetricsLogger metrics, TensorBoardWriter? tensorBoard,
            IProgress<DetectionTrainingProgress>? progress)
        {
            _model.Train();
            var clock = Stopwatch.StartNew();
            double epochSum = 0;
            int step = firstBatch, stepsRun = 0;
            using var batches = loader.Epoch(epoch - 1, firstBatch).GetEnumerator();
            while (true)
            {
                // After an epoch's last step the run goes on to its evaluation and checkpoint; the next epoch's first check stops it.
                if (step < stepsPerEpoch && cancellationToken.IsCancellationRequested) throw Interrupted(epoch, step);
                if (!batches.MoveNext()) break;
                var batch = batches.Current;
                // Buffers of this step's tensors serve the next step's (PyTorch's caching allocator does the same).
                using var reuse = Engine.ReuseBuffers();
                // Per step, not per epoch: a run resumed after step k draws what the whole run drew from step k on.
                var samplerRandom = new Random(SeedMixer.Mix(SeedMixer.Mix(seed, epoch, SamplerStream), step));
                Engine.ManualSeed(SeedMixer.Mix(SeedMixer.Mix(seed, epoch, DropPathStream), step));
                double rate = _optimizer.LearningRate;
                var images = batch.Images.Select((image, i) => new DetectionSample(image, batch.Targets[i]).ModelInput(options.MaxPixelValue)).ToArray();
                var targets = batch.Targets.Select(RcnnTarget.From).ToArray();
                var losses = _model.ComputeLosses(images, targets, samplerRandom);
                var total = losses.Values.Aggregate((a, b) => a + b);
                var values = losses.ToDictionary(p => p.Key, p => (double)p.Value.Item());
                double loss = total.Item();
                if (!double.IsFinite(loss))
                    throw new NonFiniteLossException(
                        $"Detector.Train: the loss became {loss} at epoch {epoch}, step {step + 1} ({string.Join(", ", values.Select(p => $"{p.Key} {p.Value}"))}); the weights were not changed.",
                        "loss", loss, epoch, step + 1, _globalStep + 1, _savedFolder);
                _optimizer.ZeroGrad();
                total.Backward();
                if (options.ClipGradNorm is { } maxNorm) GradientClipping.ClipGradNorm(_model.Parameters().Where(p => p.RequiresGrad), maxNorm);
                _optimizer.Step();
                _schedule.Step();
                step++;
                stepsRun++;
                _globalStep++;
                _stepLosses.Add(loss);
                epochSum += loss;
                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                double speed = stepsRun * options.BatchSize / seconds;
                if (step % options.LogIntervalSteps == 0 || step == stepsPerEpoch)
                {
                    metrics.Log(new { Event = "train", Epoch = epoch, Step = _globalStep, Loss = loss, Losses = values, LearningRate = rate, ImagesPerSecond = speed });
                    tensorBoard?.AddScalar("Train/loss", loss, _globalStep);
                    tensorBoard?.AddScalar("Train/lr", rate, _globalStep);
                }
                progress?.Report(new DetectionTrainingProgress(DetectionTrainingPhase.Step, epoch, options.Epochs, step, stepsPerEpoch, _globalStep, loss, values,
                    rate, speed, TotalSteps: TotalSteps, Eta: TimeSpan.FromSeconds(seconds / stepsRun * (TotalSteps - _globalStep))));
            }
            if (stepsRun > 0) _epochLosses.Add(epochSum / stepsRun);
            return stepsRun;
        }

        /// <summary>
        /// Saves what was trained since the last checkpoint and returns the exception that stops the run: <c>epoch_N</c> when
        /// the interruption falls between epochs, else <c>epoch_N_step_K</c>; nothing when no step ran since the last
        /// checkpoint, or when the weights are not finite.
        /// </summary>
        private TrainingInterruptedException Interrupted(int epoch, int epochStep)
        {
            string saved;
            if (_globalStep == _savedStep)
                saved = _savedFolder is null ? "nothing had been trained, so there is nothing to resume from" : $"all training so far is in the checkpoint {_savedFolder}";
            else if (FirstNonFinite(_model) is { } bad)
                saved = $"no checkpoint was saved because the weight {bad.Name} is {bad.Value}" + (_savedFolder is null ? "" : $"; the last checkpoint is {_savedFolder}");
            else
            {
                string target = SaveCheckpoint(epochStep == 0 ? epoch - 1 : epoch, epochStep);
                saved = $"the training done so far is saved in {target}";
                TrainingReport.Write(options.SaveDir);
            }
            string resume = _savedFolder is null ? "" : " Resume from that checkpoint (DetectionTrainingOptions.Resume, or --resume).";
            return new TrainingInterruptedException(
                $"Detector.Train: interrupted at epoch {epoch}, step {epochStep} (global step {_globalStep}); {saved}.{resume}",
                _savedFolder, epoch, epochStep, _globalStep, cancellationToken);
        }

        /// <summary>Writes <c>epoch_N</c> (<paramref name="epochStep"/> 0) or <c>epoch_N_step_K</c> with everything a resumed run needs; returns its folder.</summary>
        private string SaveCheckpoint(int epoch, int epochStep)
        {
            string folder = epochStep == 0
                ? CheckpointFolders.EpochFolder(options.SaveDir, epoch)
                : CheckpointFolders.PartialEpochFolder(options.SaveDir, epoch, epochStep);
            var state = detector.NewState() with
            {
                // Epochs finished: a partial checkpoint of epoch N holds N − 1 of them and EpochStep steps of the next.
                Epoch = epochStep == 0 ? epoch : epoch - 1,
                EpochStep = epochStep,
                Step = _globalStep,
                TrainBatchSize = options.BatchSize,
                SchedulerStateJson = _schedule.StateJson(),
                BestMetricName = _bestMap is null ? null : BoxMapMetric,
                BestMetricValue = _bestMap,
                BestEpoch = _bestEpoch,
                EarlyStopping = _earlyStopping?.State(),
                RandomState = new Dictionary<string, long> { [SeedKey] = seed },
            };
            Checkpoint.Save(folder, _model, state, _optimizer.StateDict());
            if (epochStep == 0) CheckpointFolders.RemovePartialEpochFolders(options.SaveDir, upToEpoch: epoch);
            (_savedFolder, _savedStep) = (folder, _globalStep);
            return folder;
        }

        /// <summary>
        /// A checkpoint saved inside an epoch continues after its steps, which are batches of its batch size in the epoch's
        /// fixed order: the same batch size, and an epoch with more steps than that, are needed.
        /// </summary>
        private void CheckPartialEpoch(LoadedCheckpoint checkpoint)
        {
            var state = checkpoint.State;
            if (state.EpochStep == 0) return;
            if (state.TrainBatchSize is { } batchSize && batchSize != options.BatchSize)
                throw new ArgumentException(
                    $"Detector.Train: checkpoint {checkpoint.Folder} was saved {state.EpochStep} steps into epoch {state.Epoch + 1} with {batchSize} images per " +
                    $"step; resume it with BatchSize {batchSize} (got {options.BatchSize}), or resume from an epoch checkpoint.", nameof(options));
            if (state.EpochStep >= stepsPerEpoch)
                throw new ArgumentException(
                    $"Detector.Train: checkpoint {checkpoint.Folder} was saved {state.EpochStep} steps into epoch {state.Epoch + 1}, but an epoch of this " +
                    $"training set has {stepsPerEpoch} steps; resume it with the training set it was saved with.", nameof(options));
        }

        /// <summary>Refuses to checkpoint or evaluate weights (or BatchNorm statistics) that are NaN or infinite.</summary>
        private void RequireFiniteWeights(int epoch)
        {
            if (FirstNonFinite(_model) is not { } bad) return;
            string saved = _savedFolder is null ? "no checkpoint had been written yet" : $"the last checkpoint, {_savedFolder}, has finite weights";
            throw new NonFiniteLossException(
                $"Detector.Train: the weight {bad.Name} is {bad.Value} after epoch {epoch} (global step {_globalStep}): training diverged, and the " +
                $"epoch's checkpoint was not saved; {saved}. Lower the learning rate or set ClipGradNorm.",
                $"weight {bad.Name}", bad.Value, epoch, stepsPerEpoch, _globalStep, _savedFolder);
        }

        private DetectionTrainingProgress Report(DetectionTrainingPhase phase, int epoch, int step) =>
            new(phase, epoch, options.Epochs, step, stepsPerEpoch, _globalStep, _stepLosses.Count > 0 ? _stepLosses[^1] : 0, EmptyLosses,
                _optimizer.LearningRate, 0, TotalSteps: TotalSteps);
    }

    private static (string Name, float Value)? FirstNonFinite(DetectionModel model) => Checkpoint.FirstNonFinite(model.StateDict());

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

    /// <summary>
    /// A fresh run must not mix with an earlier run's checkpoints, logs and report in its save folder: refused unless
    /// <see cref="DetectionTrainingOptions.OverwriteSaveDir"/>, which deletes them first.
    /// </summary>
    private static void ClearEarlierRun(DetectionTrainingOptions options)
    {
        string saveDir = options.SaveDir;
        if (!Directory.Exists(saveDir)) return;
        var earlier = CheckpointFolders.EpochFolders(saveDir).Select(f => f.Path)
            .Concat(CheckpointFolders.PartialEpochFolders(saveDir).Select(f => f.Path))
            .Append(CheckpointFolders.BestModelFolder(saveDir))
            .Append(Path.Combine(saveDir, Segmenter.MetricsFileName))
            .Append(Path.Combine(saveDir, Segmenter.TensorBoardFolderName))
            .Append(Path.Combine(saveDir, TrainingReport.FileName))
            .Append(Path.Combine(saveDir, TrainingReport.GalleryFolderName))
            .Where(path => Directory.Exists(path) || File.Exists(path))
            .ToList();
        if (earlier.Count == 0) return;
        if (!options.OverwriteSaveDir)
            throw new ArgumentException(
                $"Detector.Train: save folder '{Path.GetFullPath(saveDir)}' holds an earlier run ({string.Join(", ", earlier.Select(Path.GetFileName))}); " +
                "resume it, choose another folder, or set OverwriteSaveDir to delete it.", nameof(options));
        foreach (string path in earlier)
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
    }
}
