using System.CommandLine;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Reporting;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg report</c>: rebuilds a run's <c>report.html</c> (<see cref="TrainingReport"/>) from what the run saved.
/// When the run has a <c>best_model</c> but no gallery, and the validation images it recorded are still there, it predicts
/// them first; for a detection run, which records no image files, it says why it cannot. Plays the role of opening PaddleX's VisualDL log, as one HTML file.
/// </summary>
internal static class ReportCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var runDir = new Argument<string>("RUN_DIR") { Description = "The training run's save folder (holding metrics.jsonl and best_model)." };
        var output = new Option<string?>("--output", "-o") { Description = "The HTML file to write (default: RUN_DIR/report.html)." };
        var command = new Command("report", "Rebuild a training run's HTML report: loss, learning rate, metrics, per-class IoU, confusion matrix, gallery, configuration.");
        command.Arguments.Add(runDir);
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            string folder = Path.GetFullPath(parse.GetValue(runDir)!);
            if (!Directory.Exists(folder)) throw new UsageException($"Run folder {folder} does not exist.");
            bool galleryMissing = !Directory.Exists(Path.Combine(folder, TrainingReport.GalleryFolderName));
            var recorded = TrainingReport.RecordedGalleryFiles(folder);
            if (galleryMissing && recorded.Count > 0 && recorded.All(f => File.Exists(f.ImagePath) && (f.LabelPath is null || File.Exists(f.LabelPath)))
                && Directory.Exists(CheckpointFolders.BestModelFolder(folder)))
                TrainingReport.WriteGallery(folder, recorded);
            else if (galleryMissing && TrainingReport.IsDetectionRun(folder))
                // A detection run's evaluation set may be generated or read through an annotation file, so the run cannot
                // name image files to predict again; say so rather than leave the report's gallery silently empty.
                console.WriteLine($"No gallery rebuilt: {TrainingReport.GalleryFolderName} is missing, and a detection run does not record its evaluation images " +
                                  "(the Detector draws the gallery while training, whenever an evaluation makes a new best_model). " +
                                  "To draw best_model's predictions: sharpseg detect predict --model-dir RUN_DIR/best_model --image FOLDER.");
            string written = TrainingReport.Write(folder, parse.GetValue(output));
            console.WriteLine($"Wrote {written}.");
            return ExitCodes.Success;
        });
        return command;
    }
}
