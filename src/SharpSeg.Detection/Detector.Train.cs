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
    /// weights, and throws a <see cref="TrainingInterruptedException"/> naming it. A non-finite loss or gradient stops the run
    /// at that step before it changes the weights (BatchNorm statistics included). A sample that fails to load inside an
    /// epoch, or an evaluation that fails, first saves the work done the same way and then throws a
    /// <see cref="TrainingFailedException"/> naming the checkpoint; so does an epoch checkpoint that cannot be written, naming
    /// the last one that was. The Segmenter's run behaves the same in every one of these cases (both use one implementation).
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
    /// <exception cref="NonFiniteLossException">A loss, a gradient or a weight became NaN or infinite; the message names the last good checkpoint.</exception>
    /// <exception cref="TrainingFailedException">A sample failed to load inside an epoch, an evaluation failed, or a checkpoint could not be written; the message names the checkpoint to resume from.</exception>
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
        private readonly CheckpointTrail _trail = new();
        private readonly DivergenceGuard _guard = new(detector.Model);

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
                _trail.Record(resumed.Folder, state.Step);
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
                _guard.RequireFiniteWeights("Detector.Train", epoch, stepsPerEpoch, _globalStep, _trail, "Lower the learning rate or set ClipGradNorm.");

                bool isBest = false;
                if (evalDataset is not null)
                {
                    DetectionMetrics result;
                    try
                    {
                        result = detector.Evaluate(evalDataset, options.MaxPixelValue);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        throw SaveAndFail(epoch, stepsPerEpoch, epochsDone: epoch, epochStep: 0, $"the evaluation after epoch {epoch}", e);
                    }
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

                lastCheckpoint = CheckpointFolders.EpochFolder(options.SaveDir, epoch);
                try
                {
                    SaveCheckpoint(lastCheckpoint, epoch, 0);
                    if (isBest) bestFolder = CheckpointFolders.UpdateBestModel(options.SaveDir, lastCheckpoint);
                    CheckpointFolders.KeepLast(options.SaveDir, options.KeepLastCheckpoints, epoch);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw _trail.WriteFailed(e, lastCheckpoint, epoch, stepsPerEpoch, _globalStep);
                }
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
                DetectionBatch batch;
                try
                {
                    if (!batches.MoveNext()) break;
                    batch = batches.Current;
                }
                catch (SampleLoadException e)
                {
                    throw SaveAndFail(epoch, step, epochsDone: epoch - 1, epochStep: step, $"loading step {step + 1} of epoch {epoch}", e);
                }
                // Buffers of this step's tensors serve the next step's (PyTorch's caching allocator does the same).
                using var reuse = Engine.ReuseBuffers();
                // Per step, not per epoch: a run resumed after step k draws what the whole run drew from step k on.
                var samplerRandom = new Random(SeedMixer.Mix(SeedMixer.Mix(seed, epoch, SamplerStream), step));
                Engine.ManualSeed(SeedMixer.Mix(SeedMixer.Mix(seed, epoch, DropPathStream), step));
                double rate = _optimizer.LearningRate;
                _guard.BeforeStep();
                var images = batch.Images.Select((image, i) => new DetectionSample(image, batch.Targets[i]).ModelInput(options.MaxPixelValue)).ToArray();
                var targets = batch.Targets.Select(RcnnTarget.From).ToArray();
                var losses = _model.ComputeLosses(images, targets, samplerRandom);
                var total = losses.Values.Aggregate((a, b) => a + b);
                var values = losses.ToDictionary(p => p.Key, p => (double)p.Value.Item());
                double loss = total.Item();
                if (!double.IsFinite(loss)) throw Diverged("loss", loss, epoch, step + 1, values);
                _optimizer.ZeroGrad();
                total.Backward();
                // A finite clipping norm proves every gradient finite; otherwise they are scanned.
                float? norm = options.ClipGradNorm is { } maxNorm ? GradientClipping.ClipGradNorm(_model.Parameters().Where(p => p.RequiresGrad), maxNorm) : null;
                if ((norm is not { } n || !float.IsFinite(n)) && _guard.FirstNonFiniteGradient() is { } bad)
                    throw Diverged($"gradient of {bad.Name}", bad.Value, epoch, step + 1, values);
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
        private TrainingInterruptedException Interrupted(int epoch, int epochStep) =>
            _trail.Interrupted("Detector.Train", epoch, epochStep, _globalStep, SaveWorkDone(epoch - 1, epochStep),
                "DetectionTrainingOptions.Resume, or --resume", cancellationToken);

        /// <summary>
        /// Saves the work done before a late failure (a sample that fails to load inside an epoch, a failed evaluation after
        /// one) and returns the exception to throw, as the Segmenter's run does.
        /// </summary>
        private TrainingFailedException SaveAndFail(int epoch, int step, int epochsDone, int epochStep, string during, Exception error) =>
            _trail.Failed(error, during, epoch, step, _globalStep, SaveWorkDone(epochsDone, epochStep));

        private string SaveWorkDone(int epochsDone, int epochStep)
        {
            string? before = _trail.Folder;
            string saved = _trail.SaveWorkDone(options.SaveDir, _globalStep, epochsDone, epochStep, _model.StateDict(),
                folder => SaveCheckpoint(folder, epochsDone, epochStep));
            // Rewritten so the report of a stopped run shows the steps its new checkpoint holds.
            if (_trail.Folder != before) TrainingReport.Write(options.SaveDir);
            return saved;
        }

        private NonFiniteLossException Diverged(string quantity, double value, int epoch, int step, IReadOnlyDictionary<string, double> losses) =>
            _guard.Diverged("Detector.Train", quantity, value, epoch, step, _globalStep + 1, _optimizer.LearningRate, _trail,
                $"The step's losses: {string.Join(", ", losses.Select(p => $"{p.Key} {p.Value}"))}. Lower the learning rate" +
                (options.ClipGradNorm is null ? " or set ClipGradNorm." : "."));

        /// <summary>
        /// Writes <paramref name="folder"/> (<c>epoch_N</c> or <c>epoch_N_step_K</c>) with everything a resumed run needs,
        /// after <paramref name="epochsDone"/> whole epochs and <paramref name="epochStep"/> steps of the next.
        /// </summary>
        private void SaveCheckpoint(string folder, int epochsDone, int epochStep)
        {
            var state = detector.NewState() with
            {
                Epoch = epochsDone,
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
            _trail.Record(folder, _globalStep);
            if (epochStep == 0) CheckpointFolders.RemovePartialEpochFolders(options.SaveDir, upToEpoch: epochsDone);
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

        private DetectionTrainingProgress Report(DetectionTrainingPhase phase, int epoch, int step) =>
            new(phase, epoch, options.Epochs, step, stepsPerEpoch, _globalStep, _stepLosses.Count > 0 ? _stepLosses[^1] : 0, EmptyLosses,
                _optimizer.LearningRate, 0, TotalSteps: TotalSteps);
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

    /// <summary>
    /// A fresh run must not mix with an earlier run's checkpoints, logs and report in its save folder
    /// (<see cref="CheckpointFolders.EarlierRun"/>): refused unless <see cref="DetectionTrainingOptions.OverwriteSaveDir"/>,
    /// which deletes them first.
    /// </summary>
    private static void ClearEarlierRun(DetectionTrainingOptions options)
    {
        var earlier = CheckpointFolders.EarlierRun(options.SaveDir);
        if (earlier.Count == 0) return;
        if (!options.OverwriteSaveDir)
            throw new ArgumentException(
                $"Detector.Train: save folder '{Path.GetFullPath(options.SaveDir)}' holds an earlier run ({string.Join(", ", earlier.Select(Path.GetFileName))}); " +
                "resume it, choose another folder, or set OverwriteSaveDir to delete it.", nameof(options));
        CheckpointFolders.DeleteEarlierRun(earlier);
    }
}
