using System.CommandLine;
using System.Diagnostics;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Training;
using SharpSeg.Training.Visualization;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg demo</c>: the whole workflow on built-in data in a few minutes on two cores. It writes a synthetic
/// dataset as a PaddleSeg file list, trains a small DeepLabV3+ (ResNet18_vd, output stride 16, 64-channel ASPP) with
/// the progress bar, prints best_model's validation metrics, and writes its predictions and overlays of validation images.
/// Everything lands under one folder the command names at the end.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The demo's defaults, chosen so the default seed reaches validation mIoU ≥ 0.75 in well under five minutes on two cores.</summary>
    internal static class Defaults
    {
        public const int Epochs = 10;
        public const int Size = 64;
        public const int TrainSamples = 128;
        public const int ValSamples = 32;
        public const int NumClasses = 4;
        public const int BatchSize = 8;
        public const double LearningRate = 0.05;
        public const int PredictionsWritten = 8;
    }

    public static Command Create(IAnsiConsole console)
    {
        var seed = new Option<int>("--seed") { Description = "Seed of the data, the weights and the training order.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--output", "-o") { Description = "Folder for the dataset, checkpoints and predictions.", DefaultValueFactory = _ => "sharpseg-demo" };
        var epochs = new Option<int>("--epochs", "-e") { Description = "Training epochs.", DefaultValueFactory = _ => Defaults.Epochs };
        var size = new Option<int>("--size")
        {
            Description = $"Image side in pixels (at least {DatasetArguments.MinimumSyntheticSize}).",
            DefaultValueFactory = _ => Defaults.Size,
        };
        var trainSamples = new Option<int>("--train-samples") { Description = "Training images generated.", DefaultValueFactory = _ => Defaults.TrainSamples };
        var valSamples = new Option<int>("--val-samples") { Description = "Validation images generated.", DefaultValueFactory = _ => Defaults.ValSamples };

        var command = new Command("demo",
            "Generate a synthetic dataset, train a small DeepLabV3+ on it, evaluate, and write predictions and overlays (a few minutes on 2 cores).");
        foreach (var option in new Option[] { seed, output, epochs, size, trainSamples, valSamples })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var settings = new DemoSettings(parse.GetValue(seed), parse.GetValue(output)!, parse.GetValue(epochs), parse.GetValue(size),
                parse.GetValue(trainSamples), parse.GetValue(valSamples));
            Run(console, settings);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>What one demo run uses.</summary>
    internal sealed record DemoSettings(int Seed, string Output, int Epochs, int Size, int TrainSamples, int ValSamples);

    /// <summary>Runs the demo, reporting each stage on <paramref name="console"/>.</summary>
    internal static void Run(IAnsiConsole console, DemoSettings settings)
    {
        if (settings.Epochs < 1)
            throw new UsageException($"--epochs must be at least 1, got {settings.Epochs}.");
        if (settings.Size < DatasetArguments.MinimumSyntheticSize)
            throw new UsageException($"--size must be at least {DatasetArguments.MinimumSyntheticSize}, got {settings.Size}.");
        // Batch norm in training mode needs at least two images per batch.
        if (settings.TrainSamples < 2 || settings.ValSamples < 1)
            throw new UsageException($"The demo needs at least 2 training and 1 validation samples, got {settings.TrainSamples} and {settings.ValSamples}.");

        var clock = Stopwatch.StartNew();
        string root = Path.GetFullPath(settings.Output);
        string dataFolder = Path.Combine(root, "data"), saveDir = Path.Combine(root, "output"), predictionFolder = Path.Combine(root, "predictions");
        console.MarkupLine($"[bold]SharpSeg demo[/] (seed {settings.Seed}): everything goes to {Markup.Escape(root)}");

        var synthetic = new SyntheticOptions(Height: settings.Size, Width: settings.Size, NumClasses: Defaults.NumClasses, Seed: settings.Seed);
        SyntheticDataset.WriteFileList(dataFolder, synthetic, settings.TrainSamples, settings.ValSamples);
        var classNames = File.ReadAllLines(Path.Combine(dataFolder, "labels.txt"));
        console.WriteLine($"1/4 Wrote {settings.TrainSamples} training and {settings.ValSamples} validation images " +
                          $"({settings.Size}×{settings.Size}, classes: {string.Join(", ", classNames)}) to {dataFolder}");

        var train = OpenSplit(dataFolder, "train.txt", DatasetMode.Train, new Compose(new RandomHorizontalFlip(), new Normalize()), classNames);
        var val = OpenSplit(dataFolder, "val.txt", DatasetMode.Val, new Normalize(), classNames);
        Engine.ManualSeed(settings.Seed);
        var options = new DeepLabV3PlusOptions(Defaults.NumClasses, Backbone: "resnet18_vd", OutputStride: 16, AsppOutChannels: 64, LowLevelChannels: 32);
        var segmenter = new Segmenter("deeplabv3p", Defaults.NumClasses, options: options, classNames: classNames);
        int batchSize = Math.Min(Defaults.BatchSize, settings.TrainSamples);
        console.WriteLine($"2/4 Training {TrainCommand.Describe(segmenter)} for {settings.Epochs} epochs, batch {batchSize}, lr {Defaults.LearningRate}");
        int evaluationInterval = Math.Max(1, settings.Epochs / 4);
        const int logIntervalSteps = 4;
        var result = TrainingProgressView.Run(console, logIntervalSteps, progress => segmenter.Train(settings.Epochs, train, batchSize, val,
            evalBatchSize: 8, saveIntervalEpochs: evaluationInterval, logIntervalSteps: logIntervalSteps, saveDir: saveDir,
            learningRate: Defaults.LearningRate,
            // The demo owns its folder: a rerun replaces the previous demo's checkpoints.
            options: new TrainingOptions(Seed: settings.Seed, KeepLastCheckpoints: 1, OverwriteSaveDir: true),
            progress: progress));

        // The files and the table describe best_model, the model the user is sent to, not the final weights in memory.
        string modelFolder = result.BestModelFolder ?? result.LastCheckpointFolder!;
        var model = Segmenter.Load(modelFolder);
        var evaluation = TrainCommand.BestEvaluation(result) ?? result.Evaluations[^1];
        var metrics = evaluation.Metrics;
        string modelName = $"{Path.GetFileName(modelFolder)} (epoch {evaluation.Epoch})";
        console.WriteLine($"3/4 Validation metrics of {modelName}:");
        MetricsView.Write(console, metrics, classNames, $"Validation, {val.Count} images");

        var writer = new PredictionWriter(predictionFolder, writeScores: false, overlayWeight: 0.5);
        int written = Math.Min(Defaults.PredictionsWritten, val.Count);
        var galleryRows = new List<Image<byte>[]>();
        for (int i = 0; i < written; i++)
        {
            var files = val.Files[i];
            var image = (Image<byte>)ImageFile.Read(files.ImagePath, new ImageReadOptions { ForceRgb = true });
            var prediction = model.Predict(image);
            writer.Write(Path.GetFileNameWithoutExtension(files.ImagePath), image, prediction);
            var truth = ImageFile.Read(files.LabelPath!).ToInt32();
            galleryRows.Add([image, LabelVisualizer.PseudoColor(truth), LabelVisualizer.PseudoColor(prediction.LabelMap),
                LabelVisualizer.Overlay(image, prediction.LabelMap, 0.5)]);
        }
        string gallery = Path.Combine(predictionFolder, "gallery.png");
        ImageFile.WritePng(gallery, Tile(galleryRows));
        console.WriteLine($"4/4 Wrote {modelName}'s label, pseudo-colour and overlay PNGs of {written} validation images to {predictionFolder}, " +
                          "and gallery.png (columns: image, ground truth, prediction, overlay)");

        console.MarkupLine($"[bold]Validation mIoU {MetricsView.Format(metrics.MeanIou)}[/] " +
                           $"(pixel accuracy {MetricsView.Format(metrics.OverallAccuracy)}) of {Markup.Escape(modelName)} in {clock.Elapsed.TotalSeconds:F0} s.");
        console.WriteLine($"Model: {modelFolder}");
        console.WriteLine($"Predictions: {predictionFolder}");
        console.WriteLine($"Try: sharpseg predict --model-dir {modelFolder} {Path.Combine(dataFolder, "images")} -o {Path.Combine(root, "all-predictions")}");
    }

    /// <summary>Lays equally sized RGB images out in a grid, one row per entry, with a 2-pixel white gutter.</summary>
    private static Image<byte> Tile(IReadOnlyList<Image<byte>[]> rows)
    {
        const int gutter = 2;
        int cellHeight = rows[0][0].Height, cellWidth = rows[0][0].Width, columns = rows[0].Length;
        var grid = new Image<byte>(rows.Count * (cellHeight + gutter) + gutter, columns * (cellWidth + gutter) + gutter, 3);
        Array.Fill(grid.Pixels, (byte)255);
        for (int row = 0; row < rows.Count; row++)
            for (int column = 0; column < columns; column++)
            {
                var cell = rows[row][column];
                int top = gutter + row * (cellHeight + gutter), left = gutter + column * (cellWidth + gutter);
                for (int y = 0; y < cellHeight; y++)
                    for (int x = 0; x < cellWidth; x++)
                        for (int c = 0; c < 3; c++)
                            grid[top + y, left + x, c] = cell[y, x, cell.Channels == 3 ? c : 0];
            }
        return grid;
    }

    private static FileSegDataset OpenSplit(string root, string list, DatasetMode mode, ISegTransform transforms, IReadOnlyList<string> classNames)
    {
        var files = new FileListDataset(root, Path.Combine(root, list), classNames.Count, mode, transforms).Files;
        return new FileSegDataset(files, classNames.Count, mode, transforms, classNames: classNames);
    }
}
