using System.Diagnostics;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Transforms;
using SharpSeg.Nn;
using SharpSeg.Nn.Distributed;
using SharpSeg.Nn.Losses;
using SharpSeg.Nn.Optim;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Logging;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training;

public sealed partial class Segmenter
{
    /// <summary>The file of JSON-lines training metrics in the save folder.</summary>
    public const string MetricsFileName = "metrics.jsonl";

    /// <summary>The TensorBoard log folder in the save folder (PaddleX's <c>vdl_log</c>).</summary>
    public const string TensorBoardFolderName = "vdl_log";

    private sealed record TrainingArguments(int NumEpochs, SegDataset TrainDataset, int TrainBatchSize, SegDataset? EvalDataset,
        int EvalBatchSize, int SaveIntervalEpochs, int LogIntervalSteps, string SaveDir, string? PretrainWeights, Optimizer? Optimizer,
        double LearningRate, double LrDecayPower, bool UseVdl, bool EarlyStop, int EarlyStopPatience, string? ResumeCheckpoint,
        TrainingOptions Options, IProgress<TrainingProgress>? Progress, CancellationToken CancellationToken);

    /// <summary>
    /// One call of <see cref="Train"/>. A resumed run restores weights, BatchNorm statistics, optimizer buffers, schedule
    /// step, best metric and early-stop state from the checkpoint; the random streams need no saving because each is
    /// derived from (seed, epoch, index).
    /// </summary>
    private sealed class TrainingRun
    {
        private readonly Segmenter _segmenter;
        private readonly TrainingArguments _args;
        private readonly TrainingOptions _options;
        private readonly List<double> _stepLosses = [];
        private readonly List<double> _epochLosses = [];
        private readonly List<EpochEvaluation> _evaluations = [];

        public TrainingRun(Segmenter segmenter, TrainingArguments args)
        {
            _segmenter = segmenter;
            _args = args;
            _options = args.Options;
            Validate();
        }

        private void Validate()
        {
            var a = _args;
            ArgumentOutOfRangeException.ThrowIfLessThan(a.NumEpochs, 1, "numEpochs");
            ArgumentNullException.ThrowIfNull(a.TrainDataset, "trainDataset");
            ArgumentOutOfRangeException.ThrowIfLessThan(a.TrainBatchSize, 1, "trainBatchSize");
            ArgumentOutOfRangeException.ThrowIfLessThan(a.EvalBatchSize, 1, "evalBatchSize");
            ArgumentOutOfRangeException.ThrowIfLessThan(a.SaveIntervalEpochs, 1, "saveIntervalEpochs");
            ArgumentOutOfRangeException.ThrowIfLessThan(a.LogIntervalSteps, 1, "logIntervalSteps");
            ArgumentException.ThrowIfNullOrEmpty(a.SaveDir, "saveDir");
            if (CheckpointFolders.SaveFolderProblem(a.SaveDir) is { } problem) throw new ArgumentException($"Train: {problem}", "saveDir");
            ArgumentOutOfRangeException.ThrowIfLessThan(a.EarlyStopPatience, 1, "earlyStopPatience");
            if (!(a.LearningRate >= 0) || double.IsInfinity(a.LearningRate))
                throw new ArgumentOutOfRangeException("learningRate", a.LearningRate, "Train: the learning rate must be finite and ≥ 0.");
            ArgumentOutOfRangeException.ThrowIfLessThan(_options.KeepLastCheckpoints, 1, "options.KeepLastCheckpoints");
            ArgumentOutOfRangeException.ThrowIfNegative(_options.WarmupSteps, "options.WarmupSteps");
            ArgumentOutOfRangeException.ThrowIfNegative(_options.NumWorkers, "options.NumWorkers");
            ArgumentOutOfRangeException.ThrowIfNegative(_options.ThreadCount, "options.ThreadCount");
            if (_options.Losses is not null && (_options.Loss is not null || _options.LossCoefficients is not null))
                throw new ArgumentException("Train: options.Losses gives every output's loss and coefficient, so options.Loss and options.LossCoefficients must be null.", "options");
            if (_options.LossCoefficients is { } coefficients)
            {
                if (coefficients.Count == 0) throw new ArgumentException("Train: options.LossCoefficients is empty; give one coefficient per model output.", "options");
                foreach (float coefficient in coefficients)
                    if (!float.IsFinite(coefficient) || coefficient < 0)
                        throw new ArgumentException($"Train: loss coefficient {coefficient} is not finite and non-negative.", "options");
            }
            if (!SegmentationMetrics.ScalarNames.Contains(_options.BestMetric) && _options.BestMetric != ValidationLossMetric)
                throw new ArgumentException(
                    $"Train: best metric '{_options.BestMetric}' is not one of {string.Join(", ", SegmentationMetrics.ScalarNames)} or {ValidationLossMetric}.",
                    "options");
            var explicitLosses = (_options.Losses?.Entries.Select(e => e.Loss) ?? []).Append(_options.Loss).OfType<ISegmentationLoss>();
            if (_segmenter.HasBinaryHead && explicitLosses.SelectMany(Terms).FirstOrDefault(l => l.NeedsOneChannelPerClass) is { } perClass)
                throw new ArgumentException(
                    $"Train: model '{_segmenter.ModelName}' has a one-channel binary head (NumClasses 1), but a given loss is a {perClass.GetType().Name}, " +
                    "which needs one logit per class. Train a binary head with BceLoss, DiceLoss or LovaszHingeLoss, or leave options.Loss null for " +
                    "PaddleX's BCE/Dice (UseBceLoss/UseDiceLoss).", "options");
            CheckDataset(a.TrainDataset, "training");
            if (a.EvalDataset is not null) CheckDataset(a.EvalDataset, "evaluation");
            else if (a.EarlyStop)
                throw new ArgumentException("Train: early stopping watches evaluations, so it needs an evaluation dataset.", "evalDataset");
            if (_options.Distributed is { } distributed)
            {
                ArgumentNullException.ThrowIfNull(distributed.Group, "options.Distributed.Group");
                if (!(distributed.BucketMegabytes > 0) || double.IsInfinity(distributed.BucketMegabytes))
                    throw new ArgumentOutOfRangeException("options", distributed.BucketMegabytes, "Train: options.Distributed.BucketMegabytes must be a positive number.");
            }
            if (a.TrainDataset.Count < GlobalBatchSize)
                throw new ArgumentException(
                    $"Train: the training set has {a.TrainDataset.Count} samples, fewer than one batch of {GlobalBatchSize}" +
                    (Ranks > 1 ? $" ({a.TrainBatchSize} per rank × {Ranks} ranks)" : "") + " (incomplete batches are dropped).",
                    "trainDataset");
        }

        /// <summary>
        /// A fresh run must not mix with an earlier run's checkpoints and logs in its save folder
        /// (<see cref="CheckpointFolders.EarlierRun"/>): refused unless <see cref="TrainingOptions.OverwriteSaveDir"/>, which
        /// deletes them first.
        /// </summary>
        private void PrepareFreshSaveFolder()
        {
            string saveDir = _args.SaveDir;
            var earlier = CheckpointFolders.EarlierRun(saveDir);
            if (earlier.Count == 0) return;
            if (!_options.OverwriteSaveDir)
            {
                string latest = CheckpointFolders.LatestEpochFolder(saveDir) is { } folder ? $" resume with resumeCheckpoint '{folder}'," : "";
                throw new ArgumentException(
                    $"Train: save folder '{Path.GetFullPath(saveDir)}' already holds an earlier run's " +
                    $"{string.Join(", ", earlier.Select(Path.GetFileName))};{latest} choose another saveDir, or set " +
                    "TrainingOptions.OverwriteSaveDir to delete them first.", "saveDir");
            }
            CheckpointFolders.DeleteEarlierRun(earlier);
        }

        private void CheckDataset(SegDataset dataset, string what)
        {
            if (dataset.NumClasses != _segmenter.NumClasses)
                throw new ArgumentException(
                    $"Train: the {what} set has {dataset.NumClasses} classes but model '{_segmenter.ModelName}' predicts {_segmenter.NumClasses}" +
                    (_segmenter.HasBinaryHead ? " (its one-channel binary head is for two-class data)." : "."));
        }

        /// <summary>The terms of a <see cref="MixedLoss"/> (nested ones too), or the loss itself: the refusal names the term at fault.</summary>
        private static IEnumerable<ISegmentationLoss> Terms(ISegmentationLoss loss) =>
            loss is MixedLoss mixed ? mixed.Losses.SelectMany(Terms) : [loss];

        /// <summary>
        /// PaddleX 1.x's loss for the model: its <c>_get_loss</c> from the options; a binary head trains with BCE and/or
        /// Dice, BCE when neither is chosen (PaddleX builds the one-channel head only for those losses).
        /// </summary>
        private ISegmentationLoss DefaultLoss(int ignoreIndex)
        {
            bool useBce = _options.UseBceLoss || (_segmenter.HasBinaryHead && !_options.UseDiceLoss);
            return PaddleXLoss.Create(_segmenter.NumClasses, useBce, _options.UseDiceLoss, _options.ClassWeight, ignoreIndex);
        }

        /// <summary>The ranks of a data-parallel run; the single-process group otherwise.</summary>
        private IProcessGroup Group => _options.Distributed?.Group ?? SingleProcessGroup.Instance;

        private int Ranks => Group.Size;

        /// <summary>Only rank 0 writes to the save folder (checkpoints, logs, TensorBoard, report, lock), as PaddleSeg's <c>local_rank == 0</c>.</summary>
        private bool IsWriter => Group.Rank == 0;

        /// <summary>Images per optimizer step over all ranks: the per-rank batch times the rank count (DDP's effective batch).</summary>
        private int GlobalBatchSize => _args.TrainBatchSize * Ranks;

        private DistributedDataParallel? _dataParallel;

        // Where the run is, for the message of a rank that fails.
        private int _currentEpoch, _currentStep;

        private Optimizer _optimizer = null!;
        private LearningRateSchedule _schedule = null!;
        private EarlyStopping _tracker = null!;
        private int _seed;
        private long _globalStep;
        private double? _bestValue;
        private int? _bestEpoch;

        // The newest checkpoint written or resumed from, and the global step it holds: where a failed run can continue.
        private readonly CheckpointTrail _trail = new();
        private DivergenceGuard _guard = null!;

        /// <summary>
        /// Runs the training. In a data-parallel run an exception on this rank first aborts the group with a message naming
        /// the rank, epoch and step (<see cref="IProcessGroup.Abort"/>), so no other rank waits for it forever.
        /// </summary>
        public TrainingResult Execute()
        {
            try
            {
                return ExecuteRun();
            }
            // A group of one has nobody to wake, and its Abort would end the process instead of letting the error propagate.
            catch (Exception error) when (_options.Distributed is { Group.Size: > 1 } && error is not ProcessGroupAbortedException)
            {
                Group.Abort($"rank {Group.Rank} failed at epoch {_currentEpoch}, step {_currentStep} (global step {_globalStep}): " +
                    $"{error.GetType().Name}: {error.Message}");
                throw;
            }
            finally
            {
                if (_dataParallel is not null)
                {
                    _dataParallel.Dispose();
                    if (_options.Distributed!.SyncBatchNorm) SyncBatchNorm.RevertModules(_segmenter.Model);
                }
            }
        }

        private TrainingResult ExecuteRun()
        {
            var a = _args;
            var model = _segmenter.Model;
            _segmenter.ClassNames ??= a.TrainDataset.ClassNames is { } names && names.Count == _segmenter.NumClasses ? [.. names] : null;
            _segmenter.Transforms ??= PredictionTransforms(a.EvalDataset?.Transforms, a.TrainDataset.Transforms);

            _seed = _options.Seed;
            CheckpointState? resumed = null;
            LoadedCheckpoint? checkpoint = null;
            if (a.ResumeCheckpoint is not null)
            {
                checkpoint = Checkpoint.Read(a.ResumeCheckpoint, _segmenter.ModelName, _segmenter.Model.NumClasses);
                resumed = checkpoint.State;
                if (resumed.RandomState?.TryGetValue(SeedKey, out long saved) == true) _seed = (int)saved;
            }

            var loader = new DataLoader(a.TrainDataset,
                new DataLoaderOptions(BatchSize: a.TrainBatchSize, Shuffle: true, DropLast: true, Seed: _seed, NumWorkers: _options.NumWorkers,
                    // Cutting the order to a multiple of the rank count keeps floor(count / (N·B)) steps per epoch, the same
                    // steps and samples as one process with batch N·B (see DistributedSampler).
                    Sampler: _options.Distributed is null ? null : new DistributedSampler(Ranks, Group.Rank, DropLast: true)));
            int stepsPerEpoch = loader.BatchesPerEpoch;
            long totalSteps = (long)stepsPerEpoch * a.NumEpochs;
            _optimizer = a.Optimizer ?? new Sgd(ParameterGroup.SplitByWeightDecay(model.NamedParameters()), a.LearningRate, momentum: _options.Momentum,
                weightDecay: _options.WeightDecay);
            bool defaultSchedule = _optimizer.Schedule is null;
            _schedule = _optimizer.Schedule ??= CreateSchedule(totalSteps);
            var losses = _options.Losses ?? LossList.Weighted(
                _options.Loss ?? DefaultLoss(a.TrainDataset.IgnoreIndex),
                [.. _options.LossCoefficients ?? [1f]]);
            var mode = _options.BestMetric == ValidationLossMetric ? EarlyStoppingMode.Min : EarlyStoppingMode.Max;
            _tracker = new EarlyStopping(_options.BestMetric, mode, a.EarlyStopPatience);

            int startEpoch = 0, firstBatch = 0;
            LoadReport? pretrained = null;
            if (checkpoint is not null)
            {
                CheckPartialEpoch(checkpoint, stepsPerEpoch);
                // A schedule built here from this call's arguments keeps only the saved step, as PaddleX resumes with a new plan.
                checkpoint.Restore(model, _optimizer, _schedule, scheduleStepOnly: defaultSchedule);
                startEpoch = resumed!.Epoch;
                firstBatch = resumed.EpochStep;
                _globalStep = resumed.Step;
                _bestValue = resumed.BestMetricName == _options.BestMetric ? resumed.BestMetricValue : null;
                _bestEpoch = _bestValue is null ? null : resumed.BestEpoch;
                if (resumed.EarlyStopping is { } stopState && stopState.MetricName == _tracker.MetricName) _tracker.Restore(stopState);
                _trail.Record(checkpoint.Folder, resumed.Step);
            }
            else if (a.PretrainWeights is not null)
            {
                pretrained = _segmenter.LoadPretrained(_segmenter.ResolvePretrainedWeights(a.PretrainWeights));
            }
            if (_options.Distributed is { } distributed)
            {
                if (distributed.SyncBatchNorm) SyncBatchNorm.ConvertModules(model, distributed.Group);
                _dataParallel = new DistributedDataParallel(model, distributed.Group, distributed.BucketMegabytes);
                // Every rank starts from rank 0's weights and statistics (fresh, pretrained or resumed), as DDP's constructor does.
                _dataParallel.BroadcastState();
            }

            // Read-only checks first: an unreadable file fails here, before anything in the save folder changes.
            DatasetCheck.Run(a.TrainDataset, "training", _segmenter.Model.Options.InChannels);
            if (a.EvalDataset is not null) DatasetCheck.Run(a.EvalDataset, "evaluation", _segmenter.Model.Options.InChannels);

            using var folderLock = IsWriter ? SaveFolderLock.Acquire(a.SaveDir) : null;
            var notes = new List<string>();
            if (folderLock?.Note is { } takeover) notes.Add(takeover);
            if (IsWriter && checkpoint is null) PrepareFreshSaveFolder();
            else if (IsWriter && checkpoint is not null && _bestEpoch is not null && SameFolder(Path.GetDirectoryName(checkpoint.Folder)!, a.SaveDir)
                     && CheckpointFolders.RepairBestModel(a.SaveDir, resumed! with { BestEpoch = _bestEpoch }) is { } repaired)
                notes.Add(repaired);
            string metricsPath = Path.Combine(a.SaveDir, MetricsFileName);
            if (checkpoint is not null && IsWriter) MetricsLogger.RemoveStepsAfter(metricsPath, _globalStep);
            using var metricsLog = IsWriter ? new MetricsLogger(metricsPath, append: checkpoint is not null, clock: () => DateTimeOffset.UtcNow) : null;
            if (checkpoint is null)
                metricsLog?.Log(new
                {
                    Event = "start", Model = _segmenter.DescribeModel().ModelName, NumEpochs = a.NumEpochs, TotalSteps = totalSteps, a.TrainBatchSize,
                    Ranks, GlobalBatchSize,
                    a.EvalBatchSize, a.SaveIntervalEpochs, _options.BestMetric, TrainSamples = a.TrainDataset.Count, EvalSamples = a.EvalDataset?.Count,
                    GalleryFiles = (a.EvalDataset as FileSegDataset)?.Files.Take(Reporting.TrainingReport.GalleryImages).Select(f => new[] { f.ImagePath, f.LabelPath }),
                });
            else
                metricsLog?.Log(new
                {
                    Event = "resume", Epoch = startEpoch, Step = _globalStep, Checkpoint = checkpoint.Folder, NumEpochs = a.NumEpochs, TotalSteps = totalSteps,
                    EpochStep = firstBatch,
                });
            foreach (string note in notes)
            {
                metricsLog?.Log(new { Event = "note", Epoch = startEpoch, Step = _globalStep, Message = note });
                a.Progress?.Report(new TrainingProgress(TrainingPhase.Note, startEpoch + 1, a.NumEpochs, firstBatch, stepsPerEpoch, _globalStep, totalSteps,
                    double.NaN, double.NaN, _optimizer.LearningRate, 0, TimeSpan.Zero, Message: note));
            }
            // A resumed run hides what the interrupted run logged after its checkpoint, as SummaryWriter(purge_step=…) does.
            using var tensorBoard = a.UseVdl && IsWriter
                ? new TensorBoardWriter(Path.Combine(a.SaveDir, TensorBoardFolderName), purgeStep: checkpoint is null ? null : _globalStep + 1)
                : null;

            bool stoppedEarly = false;
            string? lastCheckpoint = null;
            int epoch = startEpoch;
            while (epoch < a.NumEpochs && !stoppedEarly)
            {
                epoch++;
                var (epochLoss, lastLoss, lastRate, speed) = RunEpoch(epoch, firstBatch, loader, losses, totalSteps, metricsLog, tensorBoard);
                firstBatch = 0;
                _epochLosses.Add(epochLoss);
                if (epoch % a.SaveIntervalEpochs != 0 && epoch != a.NumEpochs) continue;

                _guard.RequireFiniteWeights("Train", epoch, stepsPerEpoch, _globalStep, _trail, "Lower the learning rate.");
                bool improved = false;
                if (a.EvalDataset is not null)
                {
                    ConfusionMatrix matrix;
                    double validationLoss;
                    try
                    {
                        (matrix, validationLoss) = _segmenter.EvaluateMatrix(a.EvalDataset, a.EvalBatchSize, _seed, _options.NumWorkers,
                            loss: losses.Entries[0].Loss, ranks: _options.Distributed?.Group);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        throw SaveAndFail(epoch, stepsPerEpoch, epochsDone: epoch, epochStep: 0, $"the evaluation after epoch {epoch}", e);
                    }
                    var metrics = matrix.ComputeMetrics();
                    _evaluations.Add(new EpochEvaluation(epoch, metrics, validationLoss));
                    double value = _options.BestMetric == ValidationLossMetric ? validationLoss : metrics.Scalar(_options.BestMetric);
                    improved = !double.IsNaN(value) && (_bestValue is not { } best || (mode == EarlyStoppingMode.Max ? value > best : value < best));
                    if (improved)
                    {
                        _bestValue = value;
                        _bestEpoch = epoch;
                    }
                    _tracker.Update(value);
                    stoppedEarly = a.EarlyStop && _tracker.ShouldStop && epoch < a.NumEpochs;
                    metricsLog?.Log(new
                    {
                        Event = "evaluation", Epoch = epoch, Step = _globalStep, Metrics = metrics.Scalars(), metrics.CategoryIou, ValidationLoss = validationLoss,
                        IsBest = improved, ConfusionMatrix = matrix.ToArray(),
                    });
                    if (tensorBoard is not null)
                    {
                        foreach (var (name, scalar) in metrics.Scalars()) tensorBoard.AddScalar($"Evaluation/{name}", scalar, epoch);
                        tensorBoard.AddScalar($"Evaluation/{ValidationLossMetric}", validationLoss, epoch);
                        tensorBoard.Flush();
                    }
                    Report(TrainingPhase.Evaluation, epoch, stepsPerEpoch, totalSteps, lastLoss, epochLoss, lastRate, speed, metrics, null, improved);
                }

                // A kill between these writes leaves best_model behind epoch_N; the resumed run repairs it (RepairBestModel).
                // Every rank names the folder; rank 0 alone writes it (the ranks' weights are equal).
                lastCheckpoint = CheckpointFolders.EpochFolder(a.SaveDir, epoch);
                if (!IsWriter)
                {
                    _trail.Record(lastCheckpoint, _globalStep);
                    continue;
                }
                try
                {
                    Checkpoint.Save(lastCheckpoint, model, State(epoch, 0), _optimizer.StateDict());
                    _trail.Record(lastCheckpoint, _globalStep);
                    if (improved) CheckpointFolders.UpdateBestModel(a.SaveDir, lastCheckpoint);
                    CheckpointFolders.KeepLast(a.SaveDir, _options.KeepLastCheckpoints, upToEpoch: epoch);
                    CheckpointFolders.RemovePartialEpochFolders(a.SaveDir, upToEpoch: epoch);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw _trail.WriteFailed(e, lastCheckpoint, epoch, stepsPerEpoch, _globalStep);
                }
                Report(TrainingPhase.Checkpoint, epoch, stepsPerEpoch, totalSteps, lastLoss, epochLoss, lastRate, speed, null, lastCheckpoint);
                // Rewritten after every checkpoint so an interrupted run still has a report of what it did.
                Reporting.TrainingReport.Write(a.SaveDir);
            }
            if (IsWriter)
            {
                if (a.EvalDataset is FileSegDataset validation) Reporting.TrainingReport.WriteGallery(a.SaveDir, validation.Files);
                Reporting.TrainingReport.Write(a.SaveDir);
            }

            string bestFolder = CheckpointFolders.BestModelFolder(a.SaveDir);
            return new TrainingResult(epoch, _globalStep, stoppedEarly, _stepLosses, _epochLosses, _evaluations, _bestValue, _bestEpoch,
                Directory.Exists(bestFolder) ? bestFolder : null, lastCheckpoint, pretrained);
        }

        /// <summary>The run's state after <paramref name="epochsDone"/> epochs and <paramref name="epochStep"/> steps of the next.</summary>
        private CheckpointState State(int epochsDone, int epochStep) => _segmenter.DescribeModel() with
        {
            Epoch = epochsDone,
            Step = _globalStep,
            EpochStep = epochStep,
            // Images per step over all ranks: a checkpoint saved inside an epoch resumes with any rank count giving that batch.
            TrainBatchSize = GlobalBatchSize,
            SchedulerStateJson = _schedule.StateJson(),
            BestMetricName = _options.BestMetric,
            BestMetricValue = _bestValue,
            BestEpoch = _bestEpoch,
            EarlyStopping = _tracker.State(),
            RandomState = new Dictionary<string, long> { [SeedKey] = _seed },
        };

        /// <summary>
        /// A checkpoint saved inside an epoch continues after the steps it had done, which are batches of its batch size
        /// in the epoch's fixed order: the same batch size, and an epoch with more steps than that, are needed.
        /// </summary>
        private void CheckPartialEpoch(LoadedCheckpoint checkpoint, int stepsPerEpoch)
        {
            var state = checkpoint.State;
            if (state.EpochStep == 0) return;
            if (state.TrainBatchSize is { } batchSize && batchSize != GlobalBatchSize)
                throw new ArgumentException(
                    $"Train: checkpoint {checkpoint.Folder} was saved {state.EpochStep} steps into epoch {state.Epoch + 1} with {batchSize} images per " +
                    (_options.Distributed is null
                        ? $"step; resume it with trainBatchSize {batchSize} (got {_args.TrainBatchSize}), "
                        : $"step; resume it with {batchSize} images per step over all ranks (got trainBatchSize {_args.TrainBatchSize} × {Ranks} ranks), ") +
                    "or resume from an epoch checkpoint.", "trainBatchSize");
            if (state.EpochStep >= stepsPerEpoch)
                throw new ArgumentException(
                    $"Train: checkpoint {checkpoint.Folder} was saved {state.EpochStep} steps into epoch {state.Epoch + 1}, but an epoch of this " +
                    $"training set has {stepsPerEpoch} steps; resume it with the training set it was saved with.", "trainDataset");
        }

        /// <summary>
        /// Saves the work done before a late failure (a sample that fails to load inside an epoch, a failed evaluation after
        /// one) and returns the exception to throw: <c>epoch_N</c> after <paramref name="epochsDone"/> whole epochs, else
        /// <c>epoch_N_step_K</c>; nothing when no step ran since the last checkpoint, or when the weights are not finite.
        /// </summary>
        private TrainingFailedException SaveAndFail(int epoch, int step, int epochsDone, int epochStep, string during, Exception error) =>
            _trail.Failed(error, during, epoch, step, _globalStep, SaveWorkDone(epochsDone, epochStep));

        /// <summary>
        /// Saves the steps done since the last checkpoint when the token is cancelled (<c>epoch_N_step_K</c> inside an epoch,
        /// <c>epoch_N</c> between epochs) and returns the exception that stops the run, as the Detector's run does.
        /// </summary>
        private TrainingInterruptedException Interrupted(int epoch, int epochStep) =>
            _trail.Interrupted("Train", epoch, epochStep, _globalStep, SaveWorkDone(epoch - 1, epochStep), "resumeCheckpoint, or --resume",
                _args.CancellationToken);

        /// <summary>What <see cref="CheckpointTrail.SaveWorkDone"/> says, on rank 0; the other ranks write nothing.</summary>
        private string SaveWorkDone(int epochsDone, int epochStep)
        {
            if (!IsWriter) return $"rank {Group.Rank} writes no checkpoints (rank 0 does)";
            string? before = _trail.Folder;
            string saved = _trail.SaveWorkDone(_args.SaveDir, _globalStep, epochsDone, epochStep, _segmenter.Model.StateDict(),
                target => Checkpoint.Save(target, _segmenter.Model, State(epochsDone, epochStep), _optimizer.StateDict()));
            // Rewritten so the report of a stopped run shows the steps its new checkpoint holds.
            if (_trail.Folder != before) Reporting.TrainingReport.Write(_args.SaveDir);
            return saved;
        }

        private (double EpochLoss, double LastLoss, double LastRate, double Speed) RunEpoch(int epoch, int firstBatch, DataLoader loader,
            LossList losses, long totalSteps, MetricsLogger? metricsLog, TensorBoardWriter? tensorBoard)
        {
            var model = _segmenter.Model;
            model.Train();
            // Each rank its own dropout stream; rank 0's is the single-process one.
            Engine.ManualSeed(loader.SampleSeed(epoch, DropoutStream + Group.Rank));
            int stepsPerEpoch = loader.BatchesPerEpoch;
            var clock = Stopwatch.StartNew();
            double lossSum = 0, lastLoss = double.NaN, rate = 0, speed = 0;
            int step = firstBatch, stepsRun = 0, images = 0;
            _guard = new DivergenceGuard(model);
            using var batches = loader.Epoch(epoch, firstBatch).GetEnumerator();
            while (true)
            {
                (_currentEpoch, _currentStep) = (epoch, step + 1);
                // After an epoch's last step the run goes on to its evaluation and checkpoint; the next epoch's first check stops it.
                if (step < stepsPerEpoch && _args.CancellationToken.IsCancellationRequested) throw Interrupted(epoch, step);
                Batch batch;
                try
                {
                    if (!batches.MoveNext()) break;
                    batch = batches.Current;
                }
                catch (SampleLoadException e)
                {
                    throw SaveAndFail(epoch, step, epoch - 1, step, $"loading step {step + 1} of epoch {epoch}", e);
                }
                // Buffers of this step's tensors serve the next step's (PyTorch's caching allocator does the same).
                using var reuse = Engine.ReuseBuffers();
                // DDP's broadcast_buffers: every rank normalises with rank 0's running statistics, and they stay equal.
                _dataParallel?.BroadcastBuffers();
                _guard.BeforeStep();
                var labels = batch.LabelTensor();
                var logits = model.Forward(batch.ImageTensor());
                var total = LossOverOutputs(losses, logits, labels);
                double loss = MeanOverRanks(total.Item());
                if (!double.IsFinite(loss)) throw Diverged("loss", loss, epoch, step + 1);
                _optimizer.ZeroGrad();
                _dataParallel?.PrepareForBackward();
                total.Backward();
                _dataParallel?.FinishGradientReduction();
                // A finite clipping norm proves every gradient finite; otherwise they are scanned.
                float? norm = _options.ClipGradNorm is { } maxNorm ? GradientClipping.ClipGradNorm(_optimizer.Parameters, maxNorm) : null;
                if ((norm is not { } n || !float.IsFinite(n)) && _guard.FirstNonFiniteGradient() is { } bad)
                    throw Diverged($"gradient of {bad.Name}", bad.Value, epoch, step + 1);
                rate = _optimizer.LearningRate;
                _optimizer.Step();
                _schedule.Step();

                lastLoss = loss;
                step++;
                stepsRun++;
                _globalStep++;
                images += batch.Count * Ranks;
                lossSum += lastLoss;
                _stepLosses.Add(lastLoss);
                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                speed = images / seconds;
                var eta = TimeSpan.FromSeconds(seconds / stepsRun * (totalSteps - _globalStep));
                if (step % _args.LogIntervalSteps == 0 || step == stepsPerEpoch)
                {
                    metricsLog?.Log(new { Event = "train", Epoch = epoch, Step = _globalStep, Loss = lastLoss, LearningRate = rate, ImagesPerSecond = speed });
                    if (tensorBoard is not null)
                    {
                        tensorBoard.AddScalar("Train/loss", lastLoss, _globalStep);
                        tensorBoard.AddScalar("Train/lr", rate, _globalStep);
                    }
                }
                _args.Progress?.Report(new TrainingProgress(TrainingPhase.Step, epoch, _args.NumEpochs, step, stepsPerEpoch, _globalStep, totalSteps,
                    lastLoss, lossSum / stepsRun, rate, speed, eta));
            }
            return (lossSum / Math.Max(stepsRun, 1), lastLoss, rate, speed);
        }

        /// <summary>
        /// The mean of <paramref name="value"/> over the ranks (the logged loss of a data-parallel step), the value itself in one
        /// process. Every rank gets the same mean, so a non-finite loss on any rank stops all of them at the same step.
        /// </summary>
        private double MeanOverRanks(double value)
        {
            if (_options.Distributed is null) return value;
            Span<double> sum = [value];
            Group.AllReduceSum(sum);
            return sum[0] / Ranks;
        }

        private NonFiniteLossException Diverged(string quantity, double value, int epoch, int step) =>
            _guard.Diverged("Train", quantity, value, epoch, step, _globalStep + 1, _optimizer.LearningRate, _trail,
                "Lower the learning rate" + (_options.ClipGradNorm is null ? " or clip the gradients (TrainingOptions.ClipGradNorm)." : "."));

        private static bool SameFolder(string a, string b) =>
            string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)),
                OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

        private void Report(TrainingPhase phase, int epoch, int stepsPerEpoch, long totalSteps, double lastLoss, double epochLoss,
            double rate, double speed, SegmentationMetrics? metrics, string? folder, bool isBest = false) =>
            _args.Progress?.Report(new TrainingProgress(phase, epoch, _args.NumEpochs, stepsPerEpoch, stepsPerEpoch, _globalStep, totalSteps,
                lastLoss, epochLoss, rate, speed, TimeSpan.Zero, metrics, folder, isBest));

        private LearningRateSchedule CreateSchedule(long totalSteps)
        {
            long warmup = Math.Min(_options.WarmupSteps, totalSteps - 1);
            var decay = new PolynomialDecay(_args.LearningRate, Math.Max(1, totalSteps - warmup), _options.EndLearningRate, _args.LrDecayPower);
            return warmup > 0 ? new LinearWarmup(decay, warmup, _options.WarmupStartLearningRate) : decay;
        }

        private LossList? _resolvedLosses;

        /// <summary>
        /// The loss summed over the model's outputs. Without explicit coefficients the main loss applies to every output with
        /// the model's own coefficients (<see cref="Models.SegmentationModel.LossCoefficients"/>, e.g. Fast-SCNN's <c>multi_loss_weight</c>)
        /// or weight 1; otherwise the coefficients must match the outputs one to one, as PaddleSeg's <c>loss.coef</c>.
        /// </summary>
        private Tensor LossOverOutputs(LossList losses, IReadOnlyList<Tensor> logits, Tensor labels)
        {
            if (_resolvedLosses is null)
            {
                bool explicitEntries = _options.Losses is not null || _options.LossCoefficients is not null;
                if (explicitEntries && losses.Entries.Count != logits.Count)
                    throw new ArgumentException(
                        $"Train: {losses.Entries.Count} loss coefficient(s) given but model '{_segmenter.ModelName}' returns {logits.Count} output(s) " +
                        $"(main logits{(logits.Count > 1 ? $" and {logits.Count - 1} auxiliary" : "")}); give one per output.", "options");
                var coefficients = _segmenter.Model.LossCoefficients?.Select(c => (float)c) ?? Enumerable.Repeat(1f, logits.Count);
                _resolvedLosses = explicitEntries ? losses : LossList.Weighted(losses.Entries[0].Loss, [.. coefficients]);
            }
            return _resolvedLosses.Forward(logits, labels);
        }

        /// <summary>
        /// Prediction transforms for a model trained with these datasets, as PaddleX keeps the evaluation transforms: the
        /// evaluation transforms when they are deterministic, else the deterministic per-pixel ones (<see cref="Normalize"/>,
        /// <see cref="Clip"/>) of the evaluation or training transforms, so prediction sees the value range training saw.
        /// </summary>
        private static ISegTransform? PredictionTransforms(ISegTransform? evaluation, ISegTransform? training)
        {
            if (evaluation is not null && !TransformConfig.IsRandom(evaluation)) return evaluation;
            var perPixel = Flatten(evaluation ?? training).Where(t => t is Normalize or Clip).ToArray();
            return perPixel.Length == 0 ? null : new Compose(perPixel);
        }

        private static IEnumerable<ISegTransform> Flatten(ISegTransform? transform) => transform switch
        {
            null => [],
            Compose compose => compose.Transforms.SelectMany(Flatten),
            _ => [transform],
        };
    }

    private const string SeedKey = "seed";

    /// <summary>The <see cref="TrainingOptions.BestMetric"/> name of the validation loss (lower is better).</summary>
    public const string ValidationLossMetric = "loss";

    // A sample index no dataset has, so the dropout stream never coincides with a sample's augmentation stream.
    private const int DropoutStream = int.MinValue;
}
