using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SharpSeg.Data;
using SharpSeg.Detection;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Evaluation;
using SharpSeg.Detection.Visualization;
using SharpSeg.Training;
using SharpSeg.Training.Checkpoints;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>The settings of <c>sharpseg detect demo</c> (and the synthetic defaults of <c>detect train</c>).</summary>
internal static class DetectDemo
{
    public const int TrainSamples = 128;
    public const int ValSamples = 32;
    public const int Size = 128;
    public const int Epochs = 12;
    public const int BatchSize = 4;
    public const double LearningRate = 1e-3;
    public const string Backbone = "resnet18_fpn";
    public const int PredictionsDrawn = 8;
}

/// <summary>
/// <c>sharpseg detect train|evaluate|predict|demo</c>: object detection with the <see cref="Detector"/> on COCO JSON, Pascal
/// VOC or synthetic data. The counterpart of torchvision's <c>references/detection/train.py</c> (train, and
/// <c>--test-only</c> for evaluate) and of drawing its predictions with <c>draw_bounding_boxes</c>.
/// </summary>
internal static class DetectCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("detect", "Object detection (Faster R-CNN over ResNet-FPN backbones): train, evaluate, predict, or a demo on built-in shapes.");
        command.Subcommands.Add(TrainCommand(console));
        command.Subcommands.Add(EvaluateCommand(console));
        command.Subcommands.Add(PredictCommand(console));
        command.Subcommands.Add(DemoCommand(console));
        return command;
    }

    private sealed class TrainArguments
    {
        public readonly Option<string> Model = new("--model") { Description = $"Detection model: {string.Join(", ", DetectionModelRegistry.Names)}.", DefaultValueFactory = _ => "faster_rcnn" };
        public readonly Option<string?> Backbone = new("--backbone") { Description = $"Backbone: {string.Join(", ", DetectionModelRegistry.BackboneNames)} (default resnet50_fpn; {DetectDemo.Backbone} for synthetic data)." };
        public readonly Option<string> SaveDir = new("--save-dir") { Description = "Folder of checkpoints (epoch_N, best_model) and metrics.jsonl.", DefaultValueFactory = _ => "output" };
        public readonly Option<string?> Resume = new("--resume")
        {
            Description = "A checkpoint of this run to continue from, up to --epochs: save-dir/epoch_N, or save-dir/epoch_N_step_K that Ctrl+C saved " +
                          "inside an epoch (continued after its K steps; same --batch-size). Ctrl+C stops a run before its next step, saves the " +
                          "work done and names the checkpoint (as train; a step still running 30 s later is not waited for).",
        };
        public readonly Option<int?> Epochs = new("--epochs") { Description = "Training epochs (default 26, as torchvision's references; 12 for synthetic data)." };
        public readonly Option<int?> BatchSize = new("--batch-size") { Description = "Images per step (default 2; 4 for synthetic data)." };
        public readonly Option<double?> LearningRate = new("--lr") { Description = "Base learning rate (default 0.0025 for sgd, 1e-3 for adamw)." };
        public readonly Option<string?> Optimizer = new("--optimizer") { Description = "sgd (momentum 0.9, weight decay 1e-4, torchvision's references) or adamw (default for synthetic data)." };
        public readonly Option<int?> MinSize = new("--min-size") { Description = "Shorter image side the model resizes to (default: the backbone's, 800 or 320 for mobilenet_v3_large_320_fpn; the image size for synthetic data)." };
        public readonly Option<int?> MaxSize = new("--max-size") { Description = "Cap on the longer side (default: the backbone's, 1333 or 640)." };
        public readonly Option<int> SaveInterval = new("--save-interval") { Description = "Epochs between evaluations and checkpoints.", DefaultValueFactory = _ => 1 };
        public readonly Option<int> Seed = new("--seed") { Description = "Seed of the order, augmentation and weights.", DefaultValueFactory = _ => 0 };
        public readonly Option<bool> Overwrite = new("--overwrite") { Description = "Start afresh in a save folder that holds an earlier run, deleting its checkpoints." };
        public readonly Option<bool> UseVdl = new("--vdl") { Description = "Also write TensorBoard event files to save-dir/vdl_log." };
        public readonly Option<int> NumWorkers = new("--num-workers") { Description = "Threads loading samples.", DefaultValueFactory = _ => 0 };
        public readonly Option<int> LogInterval = new("--log-interval") { Description = "Steps between lines of metrics.jsonl (and progress lines when the output is not a terminal).", DefaultValueFactory = _ => 10 };

        public TrainArguments()
        {
            Optimizer.AcceptOnlyFromAmong("sgd", "adamw");
        }

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Model, Backbone, SaveDir, Resume, Epochs, BatchSize, LearningRate, Optimizer, MinSize, MaxSize, SaveInterval, Seed, Overwrite, UseVdl, NumWorkers, LogInterval })
                command.Options.Add(option);
        }
    }

    private static Command TrainCommand(IAnsiConsole console)
    {
        var arguments = new TrainArguments();
        var data = new DetectDataArguments();
        var command = new Command("train", "Train a detector; evaluates COCO box mAP and checkpoints every --save-interval epochs, keeping best_model.");
        arguments.AddTo(command);
        data.AddTo(command, withTrain: true);
        command.SetAction((parse, cancellationToken) => Task.Run(() =>
        {
            bool synthetic = parse.GetValue(data.FormatOption) == "synthetic";
            string model = parse.GetValue(arguments.Model)!;
            if (!DetectionModelRegistry.Names.Contains(model))
                throw new UsageException($"--model: unknown detection model '{model}'. Valid names: {string.Join(", ", DetectionModelRegistry.Names)}.");
            bool masks = DetectionModelRegistry.PredictsMasks(model);
            var train = data.OpenTrain(parse, masks);
            var val = data.OpenVal(parse, masks, required: false);
            var (detector, options) = Build(parse, arguments, synthetic, model, train.ClassNames);
            return RunTraining(console, parse.InvocationConfiguration.Error, detector, train, val, options, cancellationToken);
        }, CancellationToken.None));
        return command;
    }

    private static Command EvaluateCommand(IAnsiConsole console)
    {
        var modelDir = ModelDirOption();
        var data = new DetectDataArguments();
        var metric = new Option<string>("--metric")
        {
            Description = "coco: the 12 COCO numbers; voc: also VOC2007 11-point box mAP at IoU 0.5 (difficult ignored, as PaddleDetection); voc-integral: also integral VOC mAP.",
            DefaultValueFactory = _ => "coco",
        };
        metric.AcceptOnlyFromAmong("coco", "voc", "voc-integral");
        var command = new Command("evaluate", "Print the 12 COCO metrics (boxes, and masks for mask models) of a saved detector on a dataset, and VOC mAP with --metric voc.");
        command.Options.Add(modelDir);
        command.Options.Add(metric);
        data.AddTo(command, withTrain: false);
        command.SetAction(parse =>
        {
            var detector = LoadDetector(parse.GetValue(modelDir)!);
            var dataset = data.OpenVal(parse, DetectionModelRegistry.PredictsMasks(detector.ModelName), required: true)!;
            console.WriteLine($"Evaluating {Describe(detector)} on {dataset.Count} images…");
            var chosen = parse.GetValue(metric) switch { "voc" => DetectionMetric.Voc, "voc-integral" => DetectionMetric.VocIntegral, _ => DetectionMetric.Coco };
            console.Write(detector.Evaluate(dataset, metric: chosen).ToSummary(detector.ClassNames));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command PredictCommand(IAnsiConsole console)
    {
        var modelDir = ModelDirOption();
        var images = new Option<string[]>("--image", "-i")
        {
            Description = "Image files or folders (every image directly inside) to predict.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--output", "-o") { Description = "Folder for the drawn images and detections.json.", DefaultValueFactory = _ => "detections" };
        var threshold = new Option<float>("--score-threshold") { Description = "Objects scoring below this are left out.", DefaultValueFactory = _ => 0.5f };
        var command = new Command("predict", "Detect objects in images: writes each image with boxes, labels and scores drawn, and a COCO results file detections.json.");
        command.Options.Add(modelDir);
        command.Options.Add(images);
        command.Options.Add(output);
        command.Options.Add(threshold);
        command.SetAction(parse =>
        {
            float minScore = parse.GetValue(threshold);
            if (!(minScore >= 0 && minScore <= 1)) throw new UsageException($"--score-threshold must be in [0, 1], got {minScore}.");
            var files = ExpandImages(parse.GetValue(images)!);
            var detector = LoadDetector(parse.GetValue(modelDir)!);
            string folder = parse.GetValue(output)!;
            var predictions = detector.BatchPredict(files, folder, minScore);
            for (int i = 0; i < files.Count; i++)
                console.WriteLine($"{files[i]}: {Summarize(predictions[i], detector.ClassNames)}");
            console.WriteLine($"Drawn images and detections.json (image ids 1…{files.Count} in this order) written to {folder}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command DemoCommand(IAnsiConsole console)
    {
        var arguments = new TrainArguments();
        var command = new Command("demo",
            $"Train Faster R-CNN ({DetectDemo.Backbone}) from scratch on {DetectDemo.TrainSamples} built-in {DetectDemo.Size}×{DetectDemo.Size} shape images, " +
            $"report COCO box mAP on {DetectDemo.ValSamples} others, and draw its predictions.");
        arguments.SaveDir.DefaultValueFactory = _ => "sharpseg-detect-demo";
        arguments.AddTo(command);
        command.SetAction((parse, cancellationToken) => Task.Run(() =>
        {
            var (detector, options) = Build(parse, arguments, synthetic: true, "faster_rcnn", ["background", .. SyntheticDetectionDataset.ShapeClasses]);
            int seed = parse.GetValue(arguments.Seed);
            var train = new SyntheticDetectionDataset(new SyntheticDetectionOptions(DetectDemo.TrainSamples, DetectDemo.Size, DetectDemo.Size, seed * 2),
                new DetectionRandomHorizontalFlip(0.5));
            var val = new SyntheticDetectionDataset(new SyntheticDetectionOptions(DetectDemo.ValSamples, DetectDemo.Size, DetectDemo.Size, seed * 2 + 1));
            var clock = Stopwatch.StartNew();
            int code = RunTraining(console, parse.InvocationConfiguration.Error, detector, train, val, options, cancellationToken);
            if (code != ExitCodes.Success) return code;
            string predictions = Path.Combine(options.SaveDir, "predictions");
            var best = Detector.Load(CheckpointFolders.BestModelFolder(options.SaveDir));
            Directory.CreateDirectory(predictions);
            for (int i = 0; i < Math.Min(DetectDemo.PredictionsDrawn, val.Count); i++)
            {
                var sample = val.Load(i);
                var found = best.Predict(sample.Image, 0.5f);
                ImageFile.WritePng(Path.Combine(predictions, $"val_{i:D3}.png"), DetectionDrawing.Draw(DetectionDrawing.ToBytes(sample.Image), found, best.ClassNames));
            }
            console.WriteLine($"Demo finished in {clock.Elapsed.TotalSeconds:F0} s; drawn predictions of best_model in {predictions}");
            return ExitCodes.Success;
        }, CancellationToken.None));
        return command;
    }

    private static (Detector Detector, DetectionTrainingOptions Options) Build(ParseResult parse, TrainArguments arguments, bool synthetic, string model,
        IReadOnlyList<string> classNames)
    {
        var accepted = DetectionModelRegistry.BackboneNamesFor(model);
        string backbone = parse.GetValue(arguments.Backbone)
            ?? (synthetic && accepted.Contains(DetectDemo.Backbone) ? DetectDemo.Backbone : DetectionModelRegistry.DefaultBackboneFor(model));
        if (!accepted.Contains(backbone))
            throw new UsageException($"--backbone: backbone '{backbone}' does not fit model '{model}'. Valid names: {string.Join(", ", accepted)}.");
        bool adamW = (parse.GetValue(arguments.Optimizer) ?? (synthetic ? "adamw" : "sgd")) == "adamw";
        var options = new DetectionTrainingOptions(
            Epochs: parse.GetValue(arguments.Epochs) ?? (synthetic ? DetectDemo.Epochs : 26),
            BatchSize: parse.GetValue(arguments.BatchSize) ?? (synthetic ? DetectDemo.BatchSize : 2),
            LearningRate: parse.GetValue(arguments.LearningRate) ?? (adamW ? DetectDemo.LearningRate : 0.0025),
            Optimizer: adamW ? DetectionOptimizer.AdamW : DetectionOptimizer.Sgd,
            Schedule: synthetic ? DetectionLrSchedule.Cosine : DetectionLrSchedule.MultiStep,
            WarmupSteps: synthetic ? 20 : null,
            ClipGradNorm: synthetic ? 10 : null,
            SaveDir: parse.GetValue(arguments.SaveDir)!,
            SaveIntervalEpochs: parse.GetValue(arguments.SaveInterval),
            LogIntervalSteps: parse.GetValue(arguments.LogInterval),
            Resume: parse.GetValue(arguments.Resume),
            Seed: parse.GetValue(arguments.Seed),
            NumWorkers: parse.GetValue(arguments.NumWorkers),
            UseTensorBoard: parse.GetValue(arguments.UseVdl),
            OverwriteSaveDir: parse.GetValue(arguments.Overwrite));
        if (options.Epochs < 1 || options.BatchSize < 1 || !(options.LearningRate > 0) || options.SaveIntervalEpochs < 1 || options.NumWorkers < 0 || options.LogIntervalSteps < 1)
            throw new UsageException($"--epochs, --batch-size, --save-interval and --log-interval must be at least 1, --lr positive and --num-workers at least 0; got {options.Epochs}, {options.BatchSize}, {options.SaveIntervalEpochs}, {options.LogIntervalSteps}, {options.LearningRate}, {options.NumWorkers}.");
        if (options.Resume is { } resume && !Directory.Exists(resume))
            throw new UsageException($"--resume: folder '{resume}' does not exist.");
        var modelOptions = synthetic
            ? DetectionModelOptions.SmallImages with { MinSize = parse.GetValue(arguments.MinSize) ?? DetectDemo.Size, MaxSize = parse.GetValue(arguments.MaxSize) ?? DetectDemo.Size }
            : new DetectionModelOptions() with { MinSize = parse.GetValue(arguments.MinSize), MaxSize = parse.GetValue(arguments.MaxSize) };
        if (modelOptions.MinSize < 32 || modelOptions.MaxSize < (modelOptions.MinSize ?? 32))
            throw new UsageException($"--min-size must be at least 32 and --max-size at least --min-size, got {modelOptions.MinSize} and {modelOptions.MaxSize}.");
        Engine.ManualSeed(options.Seed);
        return (new Detector(model, classNames.Count, backbone, modelOptions, classNames), options);
    }

    /// <summary>
    /// Trains with the live progress view of <c>sharpseg train</c> (<see cref="TrainingProgressView"/>: a bar on a terminal,
    /// plain lines every --log-interval steps otherwise) and prints how the run ended. Ctrl+C (the command's token) stops
    /// before the next step; the Detector saves the work done and this prints the checkpoint to resume from.
    /// </summary>
    private static int RunTraining(IAnsiConsole console, TextWriter error, Detector detector, DetectionDataset train, DetectionDataset? val,
        DetectionTrainingOptions options, CancellationToken cancellationToken)
    {
        console.WriteLine($"Training {Describe(detector)} on {train.Count} images ({(val is null ? "no evaluation set" : $"evaluating on {val.Count}")}), " +
                          $"{options.Epochs} epochs of batch {options.BatchSize}, {options.Optimizer} lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)}, saving to {options.SaveDir}");
        var clock = Stopwatch.StartNew();
        using var interruption = cancellationToken.Register(() => error.WriteLine("Interrupted: stopping before the next training step…"));
        DetectionTrainingResult result;
        try
        {
            result = TrainingProgressView.Run(console, options.LogIntervalSteps, progress => detector.Train(train, val, options, progress, cancellationToken));
        }
        catch (Exception e) when (TrainingProgressView.IsStop(e))
        {
            return TrainingProgressView.ReportStop(error, e, options.LearningRate);
        }
        console.WriteLine($"Trained {result.EpochsCompleted} epochs ({result.GlobalStep} steps) in {clock.Elapsed.TotalSeconds:F0} s.");
        if (result.Evaluations.Count > 0)
        {
            // best_model may predate a resumed run's evaluations; then the last one is shown, titled as such.
            bool bestIsHere = result.Evaluations.Any(e => e.Epoch == result.BestEpoch);
            var (epoch, best) = bestIsHere ? result.Evaluations.First(e => e.Epoch == result.BestEpoch) : result.Evaluations[^1];
            console.WriteLine(bestIsHere ? $"best_model (epoch {epoch}):" : $"Last evaluation (epoch {epoch}; best_model is from epoch {result.BestEpoch}):");
            console.Write(best.ToSummary(detector.ClassNames));
            console.WriteLine();
            MetricsView.Write(console, best, detector.ClassNames, $"Epoch {epoch}");
        }
        if (result.BestModelFolder is { } bestFolder) console.WriteLine($"best_model: {bestFolder}");
        if (result.LastCheckpointFolder is { } last) console.WriteLine($"last checkpoint: {last}");
        console.WriteLine($"report: {Path.GetFullPath(Path.Combine(options.SaveDir, Training.Reporting.TrainingReport.FileName))}");
        return ExitCodes.Success;
    }

    private static Option<string> ModelDirOption() => new("--model-dir", "-m")
    {
        Description = "A saved detector: save-dir/best_model, save-dir/epoch_N, or a folder written by Detector.Save.",
        Required = true,
    };

    private static Detector LoadDetector(string folder)
    {
        if (!Directory.Exists(folder))
            throw new UsageException($"--model-dir: folder '{folder}' does not exist.{CheckpointFolders.MissingBestModelHint(folder)}");
        return Detector.Load(folder);
    }

    private static string Describe(Detector detector) => $"{detector.ModelName} ({detector.BackboneName}, {detector.NumClasses - 1} classes)";

    private static string Summarize(DetectionPrediction prediction, IReadOnlyList<string> classNames) =>
        prediction.Count == 0
            ? "no objects"
            : string.Join(", ", Enumerable.Range(0, prediction.Count).Select(i => string.Create(CultureInfo.InvariantCulture,
                $"{classNames[prediction.Labels[i]]} {prediction.Scores[i]:F2} [{string.Join(" ", prediction.Boxes.AsSpan(4 * i, 4).ToArray().Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))}]")));

    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"];

    private static List<string> ExpandImages(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        foreach (string input in inputs)
        {
            if (Directory.Exists(input))
            {
                var inside = Directory.EnumerateFiles(input).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
                if (inside.Count == 0) throw new UsageException($"--image: folder '{input}' holds no images ({string.Join(", ", ImageExtensions)}).");
                files.AddRange(inside);
            }
            else if (File.Exists(input))
                files.Add(input);
            else
                throw new UsageException($"--image: '{input}' is neither a file nor a folder.");
        }
        return files;
    }
}
