using System.CommandLine;
using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Training;
using SharpSeg.Training.Checkpoints;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg evaluate</c>: loads a saved model folder (<c>best_model</c>, <c>epoch_N</c> or a <c>Save</c> folder) and
/// prints the metrics of a dataset split as tables. PaddleX 1.x's <c>model.evaluate(eval_dataset)</c>; the
/// augmentation options are PaddleSeg's <c>val.py --aug_eval</c>.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var modelDir = ModelDirOption();
        var dataset = new DatasetArguments();
        var split = new Option<string>("--split") { Description = "Which split to evaluate: val or train.", DefaultValueFactory = _ => "val" };
        split.AcceptOnlyFromAmong("train", "val");
        var batchSize = new Option<int>("--batch-size") { Description = "Images per evaluation batch.", DefaultValueFactory = _ => 1 };
        var details = new Option<bool>("--details") { Description = "Also print the confusion matrix." };
        var json = new Option<string?>("--json")
        {
            Description = "Also write the metrics as JSON to this file, with the keys miou, category_iou, oacc, category_acc " +
                          "(precision), kappa and category_f1 (PaddleX's evaluate() calls it category_F1-score), plus macc, " +
                          "category_recall, mdice and confusion_matrix, which PaddleX does not write.",
        };
        var augmentation = new AugmentationArguments();
        var distributed = new DistributedArguments(
            "Share the images among the ranks of an Open MPI job (start it with mpirun -np N): each rank evaluates every N-th image and the " +
            "confusion matrices are summed, so the metrics equal a single process's; rank 0 prints them and writes --json.");

        var command = new Command("evaluate", "Evaluate a saved model on a dataset split: mIoU, per-class IoU, accuracy, kappa, Dice.");
        command.AddOptions(modelDir);
        dataset.AddTo(command);
        command.AddOptions(split, batchSize, details, json);
        augmentation.AddTo(command);
        distributed.AddTo(command);
        command.SetAction(parse => distributed.Run(parse, console, parse.InvocationConfiguration.Error, (group, console, _) =>
        {
            if (parse.GetValue(batchSize) < 1)
                throw new UsageException($"--batch-size must be at least 1, got {parse.GetValue(batchSize)}.");
            var tta = augmentation.Parse(parse);
            var segmenter = LoadSegmenter(parse.GetValue(modelDir)!);
            var mode = parse.GetValue(split) == "train" ? DatasetMode.Train : DatasetMode.Val;
            var data = dataset.Open(parse, mode, segmenter.Transforms, segmenter.Model.Options.InChannels);
            if (data.NumClasses != segmenter.NumClasses)
                throw new UsageException($"The model predicts {segmenter.NumClasses} classes but the dataset has {data.NumClasses}.");

            console.WriteLine($"Evaluating {TrainCommand.Describe(segmenter)} on {data.Count} images" +
                              (tta is null ? "" : " with " + AugmentationArguments.Describe(tta)) + "…");
            var metrics = segmenter.Evaluate(data, parse.GetValue(batchSize), returnDetails: parse.GetValue(details) || parse.GetValue(json) is not null,
                augmentation: tta, group: group);
            MetricsView.Write(console, parse.GetValue(details) ? metrics : metrics with { ConfusionMatrix = null },
                segmenter.ClassNames ?? data.ClassNames);
            if (parse.GetValue(json) is { } path && (group?.Rank ?? 0) == 0)
            {
                AtomicFile.WriteAllText(path, JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
                console.WriteLine($"Metrics written to {path}");
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The <c>--model-dir</c> option shared by <c>evaluate</c> and <c>predict</c>.</summary>
    public static Option<string> ModelDirOption() => new("--model-dir", "-m")
    {
        Description = "A saved model folder: save-dir/best_model, save-dir/epoch_N, or one written by Segmenter.Save.",
        Required = true,
    };

    /// <summary>
    /// Loads the segmenter saved in <paramref name="folder"/>; a missing folder is a usage error, which for a missing
    /// <c>best_model</c> names the newest <c>epoch_N</c> of the same run to use instead.
    /// </summary>
    public static Segmenter LoadSegmenter(string folder)
    {
        if (!Directory.Exists(folder))
            throw new UsageException($"--model-dir: folder '{folder}' does not exist.{CheckpointFolders.MissingBestModelHint(folder)}");
        return Segmenter.Load(folder);
    }
}
