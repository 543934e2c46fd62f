using System.CommandLine;
using System.Globalization;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Training;
using SharpSeg.Nn.Losses;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Config;
using SharpSeg.Training.Metrics;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg train</c>: PaddleX 1.x's <c>model.train(...)</c> from the command line. Builds the model, opens the train
/// (and, when present, val) split with PaddleSeg's usual augmentation, trains with a live progress bar (plain lines when
/// the output is not a terminal) and prints best_model's evaluation as a table. Ctrl+C stops after the current step,
/// exits 130 and names the checkpoint to resume from.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new ModelArguments();
        var dataset = new DatasetArguments();
        var valueRange = new ValueRangeArguments();
        var epochs = new Option<int>("--epochs", "-e") { Description = "Training epochs.", DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size")
        {
            Description = "Training images per step (at least 2 for deeplabv3p, whose image pooling has BatchNorm after global pooling).",
            DefaultValueFactory = _ => 4,
        };
        var evalBatchSize = new Option<int>("--eval-batch-size") { Description = "Images per evaluation batch.", DefaultValueFactory = _ => 1 };
        var learningRate = new Option<double>("--lr") { Description = "Initial learning rate (momentum SGD, polynomial decay).", DefaultValueFactory = _ => 0.01 };
        var decayPower = new Option<double>("--lr-decay-power") { Description = "Exponent of the polynomial decay.", DefaultValueFactory = _ => 0.9 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 weight decay (not on norms and biases).", DefaultValueFactory = _ => 4e-5 };
        var warmup = new Option<int>("--warmup-steps") { Description = "Linear warmup iterations.", DefaultValueFactory = _ => 0 };
        var saveDir = new Option<string>("--save-dir", "-o")
        {
            Description = "Folder of checkpoints, best_model/ and metrics.jsonl; with --resume and no --save-dir, the checkpoint's own save folder.",
            DefaultValueFactory = _ => "output",
        };
        var saveInterval = new Option<int>("--save-interval") { Description = "Epochs between evaluations and checkpoints.", DefaultValueFactory = _ => 1 };
        var logInterval = new Option<int>("--log-interval")
        {
            Description = "Steps between metrics.jsonl lines, and between progress lines when the output is not a terminal (PaddleX's log_interval_steps).",
            DefaultValueFactory = _ => 2,
        };
        var keep = new Option<int>("--keep-checkpoints") { Description = "Epoch checkpoints kept.", DefaultValueFactory = _ => 5 };
        var bestMetric = new Option<string>("--best-metric")
        {
            Description = "Metric that picks best_model and drives early stopping (loss = validation loss, lower is better).",
            DefaultValueFactory = _ => "miou",
        };
        bestMetric.AcceptOnlyFromAmong([.. SegmentationMetrics.ScalarNames, Segmenter.ValidationLossMetric]);
        var resume = new Option<string?>("--resume")
        {
            Description = "Checkpoint folder to continue from, up to --epochs: save-dir/epoch_N, or save-dir/epoch_N_step_K that a run stopped by an " +
                          "error saved; the run keeps the checkpoint's model, seed and weights, and repairs a stale best_model. " +
                          "Ctrl+C stops a run after the current step and names the checkpoint to resume from.",
        };
        var pretrained = new Option<string?>("--pretrained")
        {
            Description = "Pretrained weights: .safetensors, a PyTorch .pth/.pt or a Paddle .pdparams (read without running their pickled code), or IMAGENET for <weights folder>/<backbone>_IMAGENET.safetensors (not with --resume, which continues from the checkpoint's weights).",
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the weights, sample order and augmentation (a resumed run keeps the checkpoint's seed).",
            DefaultValueFactory = _ => 0,
        };
        var overwrite = new Option<bool>("--overwrite")
        {
            Description = "Start a fresh run in a save folder that holds an earlier run: delete its epoch_N and best_model folders, " +
                          "metrics.jsonl and vdl_log first (without it such a folder is refused).",
        };
        var workers = new Option<int>("--workers") { Description = "Background threads building batches (results do not depend on it).", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var earlyStop = new Option<bool>("--early-stop") { Description = "Stop when the best metric has not improved for --patience evaluations." };
        var patience = new Option<int>("--patience") { Description = "Evaluations without improvement before early stopping.", DefaultValueFactory = _ => 5 };
        var vdl = new Option<bool>("--vdl") { Description = "Write TensorBoard event files to save-dir/vdl_log." };
        var crop = new Option<string?>("--crop-size") { Description = "Random crop W,H of training images (padded when smaller), as PaddleSeg's RandomPaddingCrop." };
        var scale = new Option<bool>("--random-scale") { Description = "Random rescaling by 0.5–2.0 in steps of 0.25 before the crop (ResizeStepScaling)." };
        var noFlip = new Option<bool>("--no-flip") { Description = "Do not flip training images horizontally at random." };

        var config = new Option<string?>("--config", "-c")
        {
            Description = "A PaddleSeg-style YAML config (model, datasets, transforms, optimizer, lr_scheduler, loss, batch_size, iters; _base_ " +
                          "inheritance), e.g. configs/deeplabv3p/deeplabv3p_resnet50_vd_cityscapes_1024x512_80k.yml. Options given on the command line override it.",
        };
        var opts = new Option<string[]>("--opts")
        {
            Description = "With --config: override any key as KEY.PATH=VALUE (PaddleSeg's --opts), repeatable, e.g. model.backbone.output_stride=16.",
            AllowMultipleArgumentsPerToken = false,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the resolved configuration and training arguments, then exit without training." };
        var distributed = new DistributedArguments(
            "Data-parallel training as one rank of an Open MPI job: start every rank with mpirun -np N (add --hostfile for several machines). " +
            "Each rank trains on its shard of every epoch with the same seed, gradients are averaged, only rank 0 prints and writes; --batch-size is per rank.");
        var syncBn = new Option<bool>("--sync-bn") { Description = "With --distributed: BatchNorm statistics over all ranks' batches (torch.nn.SyncBatchNorm)." };

        var command = new Command("train", "Train a segmentation model (PaddleX train()): checkpoints, best_model/ and metrics.jsonl in --save-dir.");
        model.AddTo(command);
        dataset.AddTo(command);
        valueRange.AddTo(command);
        foreach (var option in new Option[]
                 {
                     epochs, batchSize, evalBatchSize, learningRate, decayPower, weightDecay, warmup, saveDir, saveInterval, logInterval,
                     keep, bestMetric, resume, pretrained, seed, overwrite, workers, threads, earlyStop, patience, vdl, crop, scale, noFlip,
                     config, opts, dryRun, syncBn,
                 })
            command.Options.Add(option);
        distributed.AddTo(command);

        // The action runs on a worker thread so that System.CommandLine, on the calling thread, can turn Ctrl+C into
        // the cancellation token that Segmenter.Train checks before every step.
        RunSettings ReadRunSettings(ParseResult parse) => new(parse.GetValue(evalBatchSize), parse.GetValue(saveInterval), parse.GetValue(logInterval),
            parse.GetValue(vdl), parse.GetValue(earlyStop), parse.GetValue(patience));

        TrainingOptions RunOptions(ParseResult parse) => new(Seed: parse.GetValue(seed), NumWorkers: parse.GetValue(workers),
            KeepLastCheckpoints: parse.GetValue(keep), BestMetric: parse.GetValue(bestMetric)!, ThreadCount: parse.GetValue(threads),
            OverwriteSaveDir: parse.GetValue(overwrite));

        // The settings a config file holds come from it; the command line overrides only what the user typed.
        List<(string, string?)> ConfigOverrides(ParseResult parse)
        {
            var overrides = new List<(string, string?)>();
            void Add(Option option, string keyPath, Func<string> value)
            {
                if (IsExplicit(parse, option)) overrides.Add((keyPath, value()));
            }
            Add(batchSize, "batch_size", () => Invariant(parse.GetValue(batchSize)));
            if (IsExplicit(parse, epochs))
            {
                overrides.Add(("iters", null));
                overrides.Add(("epochs", Invariant(parse.GetValue(epochs))));
            }
            Add(learningRate, "lr_scheduler.learning_rate", () => Invariant(parse.GetValue(learningRate)));
            Add(decayPower, "lr_scheduler.power", () => Invariant(parse.GetValue(decayPower)));
            Add(weightDecay, "optimizer.weight_decay", () => Invariant(parse.GetValue(weightDecay)));
            Add(warmup, "lr_scheduler.warmup_iters", () => Invariant(parse.GetValue(warmup)));
            Add(dataset.Root, "train_dataset.dataset_root", () => Quote(parse.GetValue(dataset.Root)!));
            Add(dataset.Root, "?val_dataset.dataset_root", () => Quote(parse.GetValue(dataset.Root)!));
            Add(dataset.TrainList, "train_dataset.train_path", () => Quote(parse.GetValue(dataset.TrainList)!));
            Add(dataset.ValList, "?val_dataset.val_path", () => Quote(parse.GetValue(dataset.ValList)!));
            Add(dataset.NumClasses, "model.num_classes", () => Invariant(parse.GetValue(dataset.NumClasses) ?? 0));
            Add(dataset.NumClasses, "?train_dataset.num_classes", () => Invariant(parse.GetValue(dataset.NumClasses) ?? 0));
            Add(dataset.NumClasses, "?val_dataset.num_classes", () => Invariant(parse.GetValue(dataset.NumClasses) ?? 0));
            Add(model.Backbone, "model.backbone.type", () => Quote(parse.GetValue(model.Backbone)!));
            Add(model.OutputStride, "model.backbone.output_stride", () => parse.GetValue(model.OutputStride)!);
            foreach (string entry in parse.GetValue(model.ModelOption) ?? [])
            {
                int equals = entry.IndexOf('=');
                if (equals <= 0) throw new UsageException($"--model-option must be NAME=VALUE, got '{entry}'.");
                overrides.Add(($"model.{entry[..equals].Trim().Replace('-', '_')}", entry[(equals + 1)..].Trim()));
            }
            foreach (string entry in parse.GetValue(opts) ?? [])
            {
                int equals = entry.IndexOf('=');
                if (equals <= 0) throw new UsageException($"--opts must be KEY.PATH=VALUE, got '{entry}'.");
                overrides.Add((entry[..equals].Trim(), entry[(equals + 1)..].Trim()));
            }
            return overrides;
        }

        int RunConfig(string configPath, ParseResult parse, IAnsiConsole console, TextWriter error, DistributedOptions? distributedOptions,
            CancellationToken cancellationToken)
        {
            string[] fromFile =
            [
                model.Model.Name, dataset.Format.Name, dataset.LabelList.Name, dataset.Separator.Name, dataset.Images.Name, dataset.Labels.Name,
                dataset.ValImages.Name, dataset.ValLabels.Name, dataset.SyntheticTrainSamples.Name, dataset.SyntheticValSamples.Name,
                dataset.SyntheticSize.Name, dataset.SyntheticSeed.Name, model.Upsample.Name, model.Width.Name, model.MultiLossWeight.Name,
                model.UseBceLoss.Name, model.UseDiceLoss.Name, crop.Name, scale.Name, noFlip.Name, "--min-value", "--max-value",
            ];
            foreach (var option in command.Options)
                if (fromFile.Contains(option.Name) && IsExplicit(parse, option))
                    throw new UsageException(
                        $"{option.Name} cannot be combined with --config: the config file sets it (edit the file, or override a key with --opts KEY.PATH=VALUE).");
            RequirePositive(parse.GetValue(evalBatchSize), "--eval-batch-size");
            RequirePositive(parse.GetValue(saveInterval), "--save-interval");
            RequirePositive(parse.GetValue(logInterval), "--log-interval");
            if (!File.Exists(configPath))
                throw new UsageException($"--config: file '{configPath}' does not exist.");
            if (parse.GetValue(pretrained) is { } weights && !File.Exists(weights))
                throw new UsageException($"--pretrained: file '{weights}' does not exist.");
            var loaded = TrainingConfig.Load(configPath, ConfigOverrides(parse));
            // Printed before any data is opened, so a config can be checked on a machine without its dataset.
            if (parse.GetValue(dryRun))
            {
                console.WriteLine($"Resolved configuration ({loaded.SourceFile}, after _base_ and command-line overrides):");
                console.Write(new Text(loaded.ResolvedYaml));
            }
            foreach (string note in loaded.Notes)
                console.WriteLine($"Note: {note}");

            string? resumeFrom = parse.GetValue(resume);
            var resumed = resumeFrom is null ? null : ReadResumeCheckpoint(resumeFrom);
            RequireBatchNormBatch(loaded.Model, loaded.ModelOptions, loaded.BatchSize);
            var train = loaded.TrainDataset.Open();
            var val = loaded.ValDataset?.Open();
            int numEpochs = loaded.EpochsFor(train.Count);
            if (resumed is not null && resumed.Epoch > numEpochs)
                throw new UsageException($"The checkpoint {resumeFrom} was saved after epoch {resumed.Epoch} but the config's run has {numEpochs} epochs.");
            string saveFolder = resumeFrom is not null && !IsExplicit(parse, saveDir)
                ? Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(resumeFrom)))!
                : parse.GetValue(saveDir)!;
            if (CheckpointFolders.SaveFolderProblem(saveFolder) is { } saveProblem)
                throw new UsageException($"--save-dir: {saveProblem}");

            Engine.ManualSeed(parse.GetValue(seed));
            Segmenter segmenter;
            if (resumeFrom is not null)
            {
                segmenter = Segmenter.Load(resumeFrom);
                if (segmenter.ModelName != loaded.Model || !segmenter.Model.Options.Equals(loaded.ModelOptions))
                    throw new UsageException($"The checkpoint {resumeFrom} holds {Describe(segmenter)}, not the config's {loaded.Model} ({loaded.ModelOptions.Summary()}).");
            }
            else
                segmenter = loaded.CreateSegmenter(train.ClassNames);
            var plan = new TrainPlan(numEpochs, loaded.BatchSize, loaded.LearningRate, loaded.DecayPower,
                parse.GetValue(pretrained) ?? loaded.PretrainedWeights, loaded.ApplyTo(RunOptions(parse)), ReadRunSettings(parse));
            if (parse.GetValue(dryRun))
            {
                if (loaded.DescribeItersMapping(train.Count) is { } mapping) console.WriteLine(mapping);
                WritePlan(console, segmenter, train, val, plan);
                return ExitCodes.Success;
            }
            console.MarkupLine(Markup.Escape(
                $"Training {Describe(segmenter)} from {loaded.SourceFile} on {train.Count} images ({train.NumClasses} classes)" +
                (val is null ? ", no validation split" : $", validating on {val.Count}") + $"; output in {Path.GetFullPath(saveFolder)}"));
            if (loaded.DescribeItersMapping(train.Count) is { } itersLine) console.WriteLine(itersLine);
            return Execute(console, error, segmenter, train, val, plan, distributedOptions, saveFolder, resumeFrom, cancellationToken);
        }

        int Train(ParseResult parse, IAnsiConsole console, TextWriter error, DistributedOptions? distributedOptions, CancellationToken cancellationToken)
        {
            if (parse.GetValue(config) is { } configPath)
                return RunConfig(configPath, parse, console, error, distributedOptions, cancellationToken);
            if (parse.GetValue(opts) is { Length: > 0 })
                throw new UsageException("--opts applies to --config only.");
            RequirePositive(parse.GetValue(epochs), "--epochs");
            RequirePositive(parse.GetValue(batchSize), "--batch-size");
            RequirePositive(parse.GetValue(evalBatchSize), "--eval-batch-size");
            RequirePositive(parse.GetValue(saveInterval), "--save-interval");
            RequirePositive(parse.GetValue(logInterval), "--log-interval");
            if (!(parse.GetValue(learningRate) > 0))
                throw new UsageException($"--lr must be positive, got {parse.GetValue(learningRate)}.");
            if (parse.GetValue(pretrained) is { } weights && !weights.Equals("IMAGENET", StringComparison.OrdinalIgnoreCase) && !File.Exists(weights))
                throw new UsageException($"--pretrained: file '{weights}' does not exist.");
            if (parse.GetValue(dataset.NumClasses) == 1)
                throw new UsageException(
                    "--num-classes 1: a dataset has at least two classes, background included, so a foreground/background task has 2. " +
                    "Pass --num-classes 2; add --use-bce-loss or --use-dice-loss for PaddleX's one-channel binary head (one logit).");
            string? resumeFrom = parse.GetValue(resume);
            var resumed = resumeFrom is null ? null : ReadResumeCheckpoint(resumeFrom);
            int numEpochs = parse.GetValue(epochs);
            if (resumed is not null && resumed.Epoch > numEpochs)
                throw new UsageException(
                    $"--epochs is {numEpochs} but the checkpoint {resumeFrom} was saved after epoch {resumed.Epoch}; " +
                    $"--epochs is the length of the whole run, so resume with --epochs greater than {resumed.Epoch}.");
            // Validate the model and its options before reading data, so a typo or a batch too small fails at once.
            var plannedOptions = resumed is null ? model.Resolve(parse, numClasses: 2).Options : SavedOptions(resumed, resumeFrom!);
            RequireBatchNormBatch(resumed?.ModelName ?? parse.GetValue(model.Model)!, plannedOptions, parse.GetValue(batchSize));
            string saveFolder = resumeFrom is not null && !IsExplicit(parse, saveDir)
                ? Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(resumeFrom)))!
                : parse.GetValue(saveDir)!;
            if (CheckpointFolders.SaveFolderProblem(saveFolder) is { } saveProblem)
                throw new UsageException($"--save-dir: {saveProblem}");
            if (resumed is not null && resumed.Epoch == numEpochs)
            {
                console.WriteLine($"The checkpoint {resumeFrom} was saved after epoch {resumed.Epoch}, the last of a {numEpochs}-epoch run: " +
                                  $"nothing is left to train. To train further, resume with a larger --epochs (the length of the whole run, e.g. --epochs {2 * numEpochs}).");
                return ExitCodes.Success;
            }

            var normalize = valueRange.Normalize(parse, plannedOptions.InChannels);
            var augmentation = new List<ISegTransform>();
            if (parse.GetValue(scale))
                augmentation.Add(new ResizeStepScaling(0.5, 2.0, 0.25));
            if (parse.GetValue(crop) is { } cropText)
            {
                var (width, height) = SizeArgument.Parse(cropText, "--crop-size");
                augmentation.Add(new RandomPaddingCrop(width, height));
            }
            if (!parse.GetValue(noFlip))
                augmentation.Add(new RandomHorizontalFlip());
            augmentation.Add(normalize);

            var train = dataset.Open(parse, DatasetMode.Train, new Compose(augmentation), plannedOptions.InChannels);
            valueRange.CheckTrainingData(parse, train, normalize);
            // Checked here as well as in Resolve because a resumed run builds no model from the arguments.
            model.UsesBinaryLoss(parse, train.NumClasses);
            var val = dataset.HasValidationSplit(parse) ? dataset.Open(parse, DatasetMode.Val, normalize, plannedOptions.InChannels) : null;
            int seedValue = parse.GetValue(seed);
            Engine.ManualSeed(seedValue);
            var segmenter = resumeFrom is not null
                ? ResumedSegmenter(parse, model, resumeFrom)
                : CreateSegmenter(parse, model, train);
            if (resumeFrom is not null)
                ValueRangeArguments.CheckResume(segmenter, normalize, resumeFrom);

            if (!parse.GetValue(dryRun))
                console.MarkupLine(Markup.Escape(
                    $"Training {Describe(segmenter)} on {train.Count} images ({train.NumClasses} classes)" +
                    (val is null ? ", no validation split" : $", validating on {val.Count}") + $"; output in {Path.GetFullPath(saveFolder)}"));
            if (resumeFrom is not null)
            {
                if (IsExplicit(parse, seed))
                    console.WriteLine($"Note: --seed {seedValue} is not used: a resumed run keeps the seed of the checkpoint {resumeFrom}.");
                if (parse.GetValue(pretrained) is { } ignored)
                    console.WriteLine($"Note: --pretrained {ignored} is not loaded: a resumed run continues from the weights of the checkpoint {resumeFrom}.");
            }

            var trainingOptions = new TrainingOptions(Seed: seedValue, NumWorkers: parse.GetValue(workers), WeightDecay: parse.GetValue(weightDecay),
                WarmupSteps: parse.GetValue(warmup), KeepLastCheckpoints: parse.GetValue(keep), BestMetric: parse.GetValue(bestMetric)!,
                ThreadCount: parse.GetValue(threads), UseBceLoss: parse.GetValue(model.UseBceLoss), UseDiceLoss: parse.GetValue(model.UseDiceLoss),
                OverwriteSaveDir: parse.GetValue(overwrite));
            var plan = new TrainPlan(numEpochs, parse.GetValue(batchSize), parse.GetValue(learningRate), parse.GetValue(decayPower),
                parse.GetValue(pretrained), trainingOptions, ReadRunSettings(parse));
            if (parse.GetValue(dryRun))
            {
                WritePlan(console, segmenter, train, val, plan);
                return ExitCodes.Success;
            }
            return Execute(console, error, segmenter, train, val, plan, distributedOptions, saveFolder, resumeFrom, cancellationToken);
        }

        command.SetAction((parse, cancellationToken) => Task.Run(() =>
        {
            if (parse.GetValue(syncBn) && !parse.GetValue(distributed.Distributed))
                throw new UsageException("--sync-bn needs --distributed: SyncBatchNorm reduces BatchNorm statistics over the ranks of an mpirun job.");
            return distributed.Run(parse, console, parse.InvocationConfiguration.Error, (group, rankConsole, rankError) =>
                Train(parse, rankConsole, rankError, group is null ? null : new DistributedOptions(group, parse.GetValue(syncBn)), cancellationToken));
        }, CancellationToken.None));
        return command;
    }

    /// <summary>
    /// Trains with a live progress view and prints how the run ended; a NaN loss, a failed sample or evaluation, and
    /// Ctrl+C become messages naming the checkpoint to resume from, with their exit codes.
    /// </summary>
    private static int Execute(IAnsiConsole console, TextWriter error, Segmenter segmenter, SegDataset train, SegDataset? val, TrainPlan plan,
        DistributedOptions? distributed, string saveFolder, string? resumeFrom, CancellationToken cancellationToken)
    {
        var options = plan.Options with { Distributed = distributed };
        using var interruption = cancellationToken.Register(() => error.WriteLine("Interrupted: stopping before the next training step…"));
        TrainingResult result;
        try
        {
            result = TrainingProgressView.Run(console, plan.Run.LogInterval, progress => segmenter.Train(
                plan.NumEpochs, train, plan.BatchSize, val, plan.Run.EvalBatchSize, plan.Run.SaveInterval, plan.Run.LogInterval, saveFolder,
                plan.Pretrained, learningRate: plan.LearningRate, lrDecayPower: plan.DecayPower, useVdl: plan.Run.UseVdl,
                earlyStop: plan.Run.EarlyStop, earlyStopPatience: plan.Run.Patience, resumeCheckpoint: resumeFrom, options: options,
                progress: progress, cancellationToken: cancellationToken));
        }
        catch (Exception e) when (TrainingProgressView.IsStop(e))
        {
            return TrainingProgressView.ReportStop(error, e, plan.LearningRate);
        }

        WriteSummary(console, result, segmenter.ClassNames, options.BestMetric);
        return ExitCodes.Success;
    }

    /// <summary>
    /// Prints how the run ended: what the pretrained weights filled in, the metrics of best_model (the evaluation that
    /// chose it) when this session made it, else the last evaluation, titled so the table never passes for another
    /// model's; then best_model and the last checkpoint.
    /// </summary>
    private static void WriteSummary(IAnsiConsole console, TrainingResult result, IReadOnlyList<string>? classNames, string bestMetric)
    {
        if (result.PretrainedWeights is { } loaded)
            console.WriteLine($"Pretrained weights: {loaded.LoadedCount} tensors loaded, {loaded.MissingKeys.Count} missing (kept as initialised), " +
                              $"{loaded.UnexpectedKeys.Count} not in the model, {loaded.SkippedShapeMismatches.Count} of another shape (new head).");
        if (result.StoppedEarly)
            console.WriteLine($"Stopped early after epoch {result.EpochsCompleted}.");
        if (BestEvaluation(result) is { } best)
        {
            console.WriteLine($"best_model: validation after epoch {best.Epoch}");
            MetricsView.Write(console, best.Metrics, classNames, "Validation");
        }
        else if (result.Evaluations.Count > 0)
        {
            console.WriteLine($"Last evaluation, after epoch {result.Evaluations[^1].Epoch} (best_model is from epoch {result.BestEpoch}, before the resume)");
            MetricsView.Write(console, result.Evaluations[^1].Metrics, classNames, "Validation");
        }
        if (result.BestModelFolder is { } folder)
            console.WriteLine($"Best {bestMetric} {MetricsView.Format(result.BestMetricValue ?? 0)} at epoch {result.BestEpoch}: {folder}");
        if (result.LastCheckpointFolder is { } last)
            console.WriteLine($"Last checkpoint: {last}");
    }

    /// <summary>The evaluation of this session that made best_model, or null when best_model predates it (or there is none).</summary>
    internal static EpochEvaluation? BestEvaluation(TrainingResult result) =>
        result.BestEpoch is { } epoch ? result.Evaluations.LastOrDefault(e => e.Epoch == epoch) : null;

    /// <summary>
    /// The state of the checkpoint <c>--resume</c> names, read before any data so a wrong folder fails at once.
    /// </summary>
    /// <exception cref="UsageException">The folder does not exist, or holds weights only (best_model, a Save folder).</exception>
    private static CheckpointState ReadResumeCheckpoint(string folder)
    {
        if (!Directory.Exists(folder))
            throw new UsageException($"--resume: folder '{folder}' does not exist.");
        if (!File.Exists(Path.Combine(folder, Checkpoint.OptimizerFileName)))
        {
            string saveFolder = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)))!;
            string newest = CheckpointFolders.LatestEpochFolder(saveFolder) is { } latest ? $" (the newest there is {latest})" : "";
            throw new UsageException(
                $"--resume: {folder} holds weights only, no optimizer state, so training cannot continue from it bit for bit. Resume from an " +
                $"epoch checkpoint, save-dir/epoch_N{newest}, or pass the weights as --pretrained to fine-tune from them in a fresh run.");
        }
        return Checkpoint.ReadState(folder);
    }

    /// <summary>
    /// A model with BatchNorm after global pooling (DeepLabV3+'s image pooling) cannot train on one image per batch
    /// (PyTorch: "Expected more than 1 value per channel"); PaddleX's docs ask for a batch of at least 2 for the same reason.
    /// </summary>
    private static void RequireBatchNormBatch(string modelName, ModelOptions options, int batchSize)
    {
        int minimum = options.MinimumTrainingBatchSize;
        if (batchSize < minimum)
            throw new UsageException(
                $"--batch-size must be at least {minimum} for {modelName}, got {batchSize}: it has BatchNorm after global pooling, " +
                $"which needs {minimum} or more images per batch to train.");
    }

    private static ModelOptions SavedOptions(CheckpointState state, string folder)
    {
        if (state.ModelOptionsJson is null) return new ModelOptions(state.NumClasses);
        try
        {
            return ModelOptionsJson.Deserialize(state.ModelOptionsJson, state.ModelName);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(folder, $"its model '{state.ModelName}' cannot be rebuilt: {e.Message}", e);
        }
    }

    private static Segmenter CreateSegmenter(ParseResult parse, ModelArguments model, SegDataset train)
    {
        var (modelName, options) = model.Resolve(parse, train.NumClasses);
        try
        {
            return new Segmenter(modelName, options.NumClasses, options: options, classNames: train.ClassNames);
        }
        catch (ArgumentException e)
        {
            // An option value the model or its backbone refuses (a width, an output stride) is a command-line mistake.
            throw new UsageException($"--model {modelName}: {e.Message.Split(" (Parameter")[0]}");
        }
    }

    /// <summary>
    /// The model a resumed run continues, rebuilt from the checkpoint's saved name and options so the command line
    /// need not repeat them; a model option given explicitly must agree with the checkpoint.
    /// </summary>
    private static Segmenter ResumedSegmenter(ParseResult parse, ModelArguments model, string folder)
    {
        var segmenter = Segmenter.Load(folder);
        if (IsExplicit(parse, model.Model) && ModelRegistry.Find(parse.GetValue(model.Model)!, RegistryKind.Model)?.Name != segmenter.ModelName)
            throw new UsageException($"--model is {parse.GetValue(model.Model)} but the checkpoint {folder} holds {segmenter.ModelName}.");
        var saved = segmenter.Model.Options;
        foreach (var (label, parameter, value) in model.GivenOptions(parse))
        {
            if (!TryGet(saved, parameter, out var savedValue))
                throw new UsageException($"{label} is {value} but the checkpoint {folder} holds {segmenter.ModelName}, which has no such option.");
            if (!SameOption(saved, parameter, value, savedValue))
                throw new UsageException($"{label} is {value} but the checkpoint {folder} holds {ModelOptionsBinder.Format(savedValue)}.");
        }
        return segmenter;
    }

    /// <summary>Whether the text <paramref name="value"/> means the saved value; backbone names compare by registry entry (any case or alias).</summary>
    private static bool SameOption(ModelOptions saved, string parameter, string value, object? savedValue)
    {
        if (savedValue is string savedName && ModelRegistry.Find(savedName, RegistryKind.Backbone) is { } savedBackbone)
            return ModelRegistry.Find(value, RegistryKind.Backbone) == savedBackbone;
        try
        {
            var asked = ModelOptionsBinder.Create(saved.GetType(), saved.NumClasses, new Dictionary<string, string> { [parameter] = value });
            return ModelOptionsBinder.ValuesEqual(ModelOptionsBinder.Get(asked, parameter), savedValue);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{parameter}: {e.Message.Split(" (Parameter")[0]}");
        }
    }

    private static bool TryGet(ModelOptions options, string parameter, out object? value)
    {
        try
        {
            value = ModelOptionsBinder.Get(options, parameter);
            return true;
        }
        catch (ArgumentException)
        {
            value = null;
            return false;
        }
    }

    private static bool IsExplicit(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>"deeplabv3p (resnet18_vd, output stride 8)"-style description of the segmenter's model.</summary>
    public static string Describe(Segmenter segmenter) =>
        (segmenter.Model.Options.Summary() is { Length: > 0 } summary ? $"{segmenter.ModelName} ({summary})" : segmenter.ModelName)
        + (segmenter.HasBinaryHead ? " with a one-channel binary head" : "");

    private static void RequirePositive(int value, string optionName)
    {
        if (value < 1)
            throw new UsageException($"{optionName} must be at least 1, got {value}.");
    }

    /// <summary>The settings of a run that only the command line gives (a config file holds none of them).</summary>
    private sealed record RunSettings(int EvalBatchSize, int SaveInterval, int LogInterval, bool UseVdl, bool EarlyStop, int Patience);

    /// <summary>The resolved arguments of <see cref="Segmenter.Train"/>, from the command line or a config file.</summary>
    private sealed record TrainPlan(int NumEpochs, int BatchSize, double LearningRate, double DecayPower, string? Pretrained,
        TrainingOptions Options, RunSettings Run);

    /// <summary>
    /// Prints the resolved training arguments (<c>--dry-run</c>): the same lines for a config file and for the equivalent
    /// command line, so the two can be compared.
    /// </summary>
    private static void WritePlan(IAnsiConsole console, Segmenter segmenter, SegDataset train, SegDataset? val, TrainPlan plan)
    {
        var o = plan.Options;
        var lines = new List<string>
        {
            "Resolved training arguments:",
            $"  model: {segmenter.ModelName} {ModelOptionsJson.Serialize(segmenter.Model.Options)}",
            $"  parameters: {segmenter.Model.Parameters().Sum(p => (long)p.Shape.Numel)}",
            $"  train_dataset: {DescribeDataset(train)}",
            $"  val_dataset: {(val is null ? "none" : DescribeDataset(val))}",
            $"  epochs: {plan.NumEpochs}",
            $"  batch_size: {plan.BatchSize}",
            $"  optimizer: sgd, momentum {Invariant(o.Momentum)}, weight_decay {Invariant(o.WeightDecay)} (not on norms and biases)",
            $"  lr_scheduler: PolynomialDecay, learning_rate {Invariant(plan.LearningRate)}, power {Invariant(plan.DecayPower)}, " +
            $"end_lr {Invariant(o.EndLearningRate)}, warmup_iters {o.WarmupSteps}, warmup_start_lr {Invariant(o.WarmupStartLearningRate)}",
            $"  loss: {DescribeLosses(segmenter, train, o)}",
            $"  pretrained: {plan.Pretrained ?? "none"}",
        };
        foreach (string line in lines) console.WriteLine(line);
    }

    private static string DescribeDataset(SegDataset dataset) =>
        $"{dataset.GetType().Name}, {dataset.Count} images, {dataset.NumClasses} classes, transforms {TransformConfig.ToJson(dataset.Transforms)}";

    /// <summary>The loss per model output that <see cref="Segmenter.Train"/> will use with these options.</summary>
    private static string DescribeLosses(Segmenter segmenter, SegDataset train, TrainingOptions options)
    {
        if (options.Losses is { } losses)
            return string.Join(" + ", losses.Entries.Select(e => $"{Invariant(e.Coef)} × {DescribeLoss(e.Loss)}"));
        bool useBce = options.UseBceLoss || (segmenter.HasBinaryHead && !options.UseDiceLoss);
        var loss = options.Loss ?? PaddleXLoss.Create(segmenter.NumClasses, useBce, options.UseDiceLoss, options.ClassWeight, train.IgnoreIndex);
        var coefficients = options.LossCoefficients?.Select(c => (double)c) ?? segmenter.Model.LossCoefficients ?? [1.0];
        return string.Join(" + ", coefficients.Select(c => $"{Invariant(c)} × {DescribeLoss(loss)}"));
    }

    private static string DescribeLoss(ISegmentationLoss loss) => loss switch
    {
        MixedLoss mixed => $"MixedLoss({string.Join(" + ", mixed.Losses.Zip(mixed.Coefs, (l, c) => $"{Invariant(c)} × {DescribeLoss(l)}"))})",
        _ => $"{loss.GetType().Name}({string.Join(", ", loss.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0)
            .Select(p => $"{p.Name} {DescribeValue(p.GetValue(loss))}"))})",
    };

    private static string DescribeValue(object? value) => value switch
    {
        null => "none",
        ClassWeight weight => weight.IsDynamic ? "dynamic" : weight.Weights is { } w ? $"[{string.Join(", ", w.Select(x => Invariant(x)))}]" : "none",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);

    /// <summary>A command-line path as a YAML string, so it is never read as a number or null.</summary>
    private static string Quote(string text) => $"'{text.Replace("'", "''")}'";
}
