using System.CommandLine;
using System.Globalization;
using SharpSeg.Data.Datasets;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg describe</c>: reads every sample of a dataset split and reports image sizes, the class histogram and
/// every out-of-range label value (<see cref="SegDataset.Describe"/>); exits 1 when a label is bad, so it can guard a
/// training script.
/// </summary>
internal static class DescribeCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var dataset = new DatasetArguments();
        var split = new Option<string>("--split")
        {
            Description = "Which split to read: train or val.",
            DefaultValueFactory = _ => "train",
        };
        split.AcceptOnlyFromAmong("train", "val");
        var command = new Command("describe", "Dataset statistics and label check: image sizes, class histogram, out-of-range labels.");
        dataset.AddTo(command);
        command.Options.Add(split);
        command.SetAction(parse =>
        {
            var mode = parse.GetValue(split) == "val" ? DatasetMode.Val : DatasetMode.Train;
            var data = dataset.Open(parse, mode, transforms: null);
            var description = data.Describe();
            Write(console, description, data.ClassNames);
            return description.BadLabels.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static void Write(IAnsiConsole console, DatasetDescription description, IReadOnlyList<string>? classNames)
    {
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{description.Samples} samples, {description.NumClasses} classes, ignore index {description.IgnoreIndex}"));

        var sizes = new Table().AddColumn("image size (H×W×C)").AddColumn(new TableColumn("images").RightAligned());
        foreach (var size in description.ImageSizes)
            sizes.AddRow($"{size.Height}×{size.Width}×{size.Channels}", size.Images.ToString(CultureInfo.InvariantCulture));
        console.Write(sizes);

        long total = description.ClassPixels.Sum() + description.IgnoredPixels;
        var histogram = new Table().AddColumn("class").AddColumn(new TableColumn("pixels").RightAligned())
            .AddColumn(new TableColumn("share").RightAligned());
        for (int c = 0; c < description.ClassPixels.Count; c++)
        {
            string name = classNames is not null && c < classNames.Count ? $"{c} {classNames[c]}" : c.ToString(CultureInfo.InvariantCulture);
            histogram.AddRow(Markup.Escape(name), description.ClassPixels[c].ToString(CultureInfo.InvariantCulture), Share(description.ClassPixels[c], total));
        }
        histogram.AddRow($"ignored ({description.IgnoreIndex})", description.IgnoredPixels.ToString(CultureInfo.InvariantCulture),
            Share(description.IgnoredPixels, total));
        console.Write(histogram);

        if (description.UnlabeledSamples > 0)
            console.WriteLine($"{description.UnlabeledSamples} samples have no label.");
        if (description.BadLabels.Count == 0)
        {
            console.MarkupLine("[green]All label values are class ids or the ignore index.[/]");
            return;
        }
        console.MarkupLine($"[red]{description.BadLabels.Count} out-of-range label value(s)[/] (valid: 0..{description.NumClasses - 1} and {description.IgnoreIndex}):");
        var bad = new Table().AddColumn("label file").AddColumn(new TableColumn("value").RightAligned()).AddColumn(new TableColumn("pixels").RightAligned());
        foreach (var label in description.BadLabels)
            bad.AddRow(Markup.Escape(label.File), label.Value.ToString(CultureInfo.InvariantCulture), label.Pixels.ToString(CultureInfo.InvariantCulture));
        console.Write(bad);
    }

    private static string Share(long pixels, long total) =>
        (total == 0 ? 0 : 100.0 * pixels / total).ToString("F2", CultureInfo.InvariantCulture) + " %";
}
