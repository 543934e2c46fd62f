using System.CommandLine;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Transforms;
using SharpSeg.Training;
using SharpSeg.Training.Metrics;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg train</c>: PaddleX 1.x's <c>model.train(...)</c> from the command line. Builds the model, opens the train
/// (and, when present, val) split with PaddleSeg's usual augmentation, trains with a live progress bar and prints the
/// last evaluation as a table.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new ModelArguments();
        var dataset = new DatasetArguments();
        var epochs = new Option<int>("--epochs", "-e") { Description = "Training epochs.", DefaultValueFactory = _ => 10 };
        var batchSize = new Option<int>("--batch-size") { Description = "Training images per step.", DefaultValueFactory = _ => 4 };
        var evalBatchSize = new Option<int>("--eval-batch-size") { Description = "Images per evaluation batch.", DefaultValueFactory = _ => 1 };
        var learningRate = new Option<double>("--lr") { Description = "Initial learning rate (momentum SGD, polynomial decay).", DefaultValueFactory = _ => 0.01 };
        var decayPower = new Option<double>("--lr-decay-power") { Description = "Exponent of the polynomial decay.", DefaultValueFactory = _ => 0.9 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 weight decay (not on norms and biases).", DefaultValueFactory = _ => 4e-5 };
        var warmup = new Option<int>("--warmup-steps") { Description = "Linear warmup iterations.", DefaultValueFactory = _ => 0 };
        var saveDir = new Option<string>("--save-dir", "-o") { Description = "Folder of checkpoints, best_model/ and metrics.jsonl.", DefaultValueFactory = _ => "output" };
        var saveInterval = new Option<int>("--save-interval") { Description = "Epochs between evaluations and checkpoints.", DefaultValueFactory = _ => 1 };
        var logInterval = new Option<int>("--log-interval") { Description = "Steps between metrics.jsonl lines.", DefaultValueFactory = _ => 2 };
        var keep = new Option<int>("--keep-checkpoints") { Description = "Epoch checkpoints kept.", DefaultValueFactory = _ => 5 };
        var bestMetric = new Option<string>("--best-metric")
        {
            Description = "Metric that picks best_model and drives early stopping (loss = validation loss, lower is better).",
            DefaultValueFactory = _ => "miou",
        };
        bestMetric.AcceptOnlyFromAmong([.. SegmentationMetrics.ScalarNames, Segmenter.ValidationLossMetric]);
        var resume = new Option<string?>("--resume") { Description = "Checkpoint folder (save-dir/epoch_N) to continue from." };
        var pretrained = new Option<string?>("--pretrained") { Description = "Safetensors weights, or IMAGENET for <weights folder>/<backbone>_IMAGENET.safetensors." };
        var seed = new Option<int>("--seed") { Description = "Seed of the weights, sample order and augmentation.", DefaultValueFactory = _ => 0 };
        var workers = new Option<int>("--workers") { Description = "Background threads building batches (results do not depend on it).", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var earlyStop = new Option<bool>("--early-stop") { Description = "Stop when the best metric has not improved for --patience evaluations." };
        var patience = new Option<int>("--patience") { Description = "Evaluations without improvement before early stopping.", DefaultValueFactory = _ => 5 };
        var vdl = new Option<bool>("--vdl") { Description = "Write TensorBoard event files to save-dir/vdl_log." };
        var crop = new Option<string?>("--crop-size") { Description = "Random crop W,H of training images (padded when smaller), as PaddleSeg's RandomPaddingCrop." };
        var scale = new Option<bool>("--random-scale") { Description = "Random rescaling by 0.5–2.0 in steps of 0.25 before the crop (ResizeStepScaling)." };
        var noFlip = new Option<bool>("--no-flip") { Description = "Do not flip training images horizontally at random." };

        var command = new Command("train", "Train a segmentation model (PaddleX train()): checkpoints, best_model/ and metrics.jsonl in --save-dir.");
        model.AddTo(command);
        dataset.AddTo(command);
        foreach (var option in new Option[]
                 {
                     epochs, batchSize, evalBatchSize, learningRate, decayPower, weightDecay, warmup, saveDir, saveInterval, logInterval,
                     keep, bestMetric, resume, pretrained, seed, workers, threads, earlyStop, patience, vdl, crop, scale, noFlip,
                 })
            command.Options.Add(option);

        command.SetAction(parse =>
        {
            RequirePositive(parse.GetValue(epochs), "--epochs");
            RequirePositive(parse.GetValue(batchSize), "--batch-size");
            RequirePositive(parse.GetValue(evalBatchSize), "--eval-batch-size");
            RequirePositive(parse.GetValue(saveInterval), "--save-interval");
            RequirePositive(parse.GetValue(logInterval), "--log-interval");
            if (!(parse.GetValue(learningRate) > 0))
                throw new UsageException($"--lr must be positive, got {parse.GetValue(learningRate)}.");
            if (parse.GetValue(resume) is { } resumeFolder && !Directory.Exists(resumeFolder))
                throw new UsageException($"--resume: folder '{resumeFolder}' does not exist.");
            if (parse.GetValue(pretrained) is { } weights && !weights.Equals("IMAGENET", StringComparison.OrdinalIgnoreCase) && !File.Exists(weights))
                throw new UsageException($"--pretrained: file '{weights}' does not exist.");
            // Validate the model name before reading data, so a typo fails at once.
            ModelArguments.RequireRegistered(parse.GetValue(model.Model)!, Models.RegistryKind.Model, "--model");

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
            augmentation.Add(new Normalize());

            var train = dataset.Open(parse, DatasetMode.Train, new Compose(augmentation));
            // Checked here as well as in Resolve because a resumed run builds no model from the arguments.
            model.UsesBinaryLoss(parse, train.NumClasses);
            var val = dataset.HasValidationSplit(parse) ? dataset.Open(parse, DatasetMode.Val, new Normalize()) : null;
            int seedValue = parse.GetValue(seed);
            Engine.ManualSeed(seedValue);
            var segmenter = parse.GetValue(resume) is { } resumeFrom
                ? ResumedSegmenter(parse, model, resumeFrom)
                : CreateSegmenter(parse, model, train);

            console.MarkupLine(Markup.Escape(
                $"Training {Describe(segmenter)} on {train.Count} images ({train.NumClasses} classes)" +
                (val is null ? ", no validation split" : $", validating on {val.Count}") + $"; output in {Path.GetFullPath(parse.GetValue(saveDir)!)}"));
            var result = TrainingProgressView.Run(console, progress => segmenter.Train(
                parse.GetValue(epochs), train, parse.GetValue(batchSize), val, parse.GetValue(evalBatchSize),
                parse.GetValue(saveInterval), parse.GetValue(logInterval), parse.GetValue(saveDir)!, parse.GetValue(pretrained),
                learningRate: parse.GetValue(learningRate), lrDecayPower: parse.GetValue(decayPower), useVdl: parse.GetValue(vdl),
                earlyStop: parse.GetValue(earlyStop), earlyStopPatience: parse.GetValue(patience), resumeCheckpoint: parse.GetValue(resume),
                options: new TrainingOptions(Seed: seedValue, NumWorkers: parse.GetValue(workers), WeightDecay: parse.GetValue(weightDecay),
                    WarmupSteps: parse.GetValue(warmup), KeepLastCheckpoints: parse.GetValue(keep), BestMetric: parse.GetValue(bestMetric)!,
                    ThreadCount: parse.GetValue(threads), UseBceLoss: parse.GetValue(model.UseBceLoss), UseDiceLoss: parse.GetValue(model.UseDiceLoss)),
                progress: progress));

            if (result.StoppedEarly)
                console.WriteLine($"Stopped early after epoch {result.EpochsCompleted}.");
            if (result.Evaluations.Count > 0)
                MetricsView.Write(console, result.Evaluations[^1].Metrics, segmenter.ClassNames, $"Validation after epoch {result.Evaluations[^1].Epoch}");
            if (result.BestModelFolder is { } best)
                console.WriteLine($"Best {parse.GetValue(bestMetric)} {MetricsView.Format(result.BestMetricValue ?? 0)} at epoch {result.BestEpoch}: {best}");
            if (result.LastCheckpointFolder is { } last)
                console.WriteLine($"Last checkpoint: {last}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Segmenter CreateSegmenter(ParseResult parse, ModelArguments model, SegDataset train)
    {
        var (modelName, options) = model.Resolve(parse, train.NumClasses);
        return new Segmenter(modelName, options.NumClasses, options: options, classNames: train.ClassNames);
    }

    /// <summary>
    /// The model a resumed run continues, rebuilt from the checkpoint's saved name and options so the command line
    /// need not repeat them; a model option given explicitly must agree with the checkpoint.
    /// </summary>
    private static Segmenter ResumedSegmenter(ParseResult parse, ModelArguments model, string folder)
    {
        var segmenter = Segmenter.Load(folder);
        var saved = segmenter.Model.Options as Models.DeepLabV3PlusOptions;
        if (IsExplicit(parse, model.Model) && parse.GetValue(model.Model) != segmenter.ModelName)
            throw new UsageException($"--model is {parse.GetValue(model.Model)} but the checkpoint {folder} holds {segmenter.ModelName}.");
        if (IsExplicit(parse, model.Backbone) && parse.GetValue(model.Backbone) != saved?.Backbone)
            throw new UsageException($"--backbone is {parse.GetValue(model.Backbone)} but the checkpoint {folder} holds {saved?.Backbone ?? "a model without one"}.");
        if (IsExplicit(parse, model.OutputStride) && parse.GetValue(model.OutputStride) != saved?.OutputStride)
            throw new UsageException($"--output-stride is {parse.GetValue(model.OutputStride)} but the checkpoint {folder} was trained with {saved?.OutputStride.ToString() ?? "none"}.");
        return segmenter;
    }

    private static bool IsExplicit(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>"deeplabv3p (resnet18_vd, output stride 8)"-style description of the segmenter's model.</summary>
    public static string Describe(Segmenter segmenter) => segmenter.Model.Options switch
    {
        Models.DeepLabV3PlusOptions deepLab => $"{segmenter.ModelName} ({deepLab.Backbone}, output stride {deepLab.OutputStride})",
        _ => segmenter.ModelName,
    } + (segmenter.HasBinaryHead ? " with a one-channel binary head" : "");

    private static void RequirePositive(int value, string optionName)
    {
        if (value < 1)
            throw new UsageException($"{optionName} must be at least 1, got {value}.");
    }
}
