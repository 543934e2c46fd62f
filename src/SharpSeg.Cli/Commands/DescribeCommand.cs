using System.CommandLine;
using System.Globalization;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg describe</c>: reads every sample of a dataset split and reports image sizes, bit depths and value ranges
/// (as the model reads them, before Normalize), the class histogram and
/// every bad file (<see cref="SegDataset.Describe"/> per sample): out-of-range label values with where the first one is,
/// RGB labels, image/label size mismatches, unreadable files. Exits 1 when any file is bad, so it can guard a training
/// script.
/// </summary>
internal static class DescribeCommand
{
    /// <summary>Bad files listed in full; the rest are counted.</summary>
    internal const int ProblemsListed = 20;

    public static Command Create(IAnsiConsole console)
    {
        var dataset = new DatasetArguments();
        var split = new Option<string>("--split")
        {
            Description = "Which split to read: train or val.",
            DefaultValueFactory = _ => "train",
        };
        split.AcceptOnlyFromAmong("train", "val");
        var command = new Command("describe", "Dataset statistics and label check: image sizes, class histogram, and every bad file (out-of-range values, RGB labels, size mismatches).");
        dataset.AddTo(command);
        command.Options.Add(split);
        command.SetAction(parse =>
        {
            var mode = parse.GetValue(split) == "val" ? DatasetMode.Val : DatasetMode.Train;
            var data = dataset.Open(parse, mode, transforms: null);
            var (description, problems) = DescribeEverySample(data);
            Write(console, description, problems, data.ClassNames);
            return problems.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>
    /// The description of <paramref name="data"/> and one line per bad sample. <see cref="SegDataset.Describe"/> stops at
    /// the first sample that cannot be loaded (an RGB label, a size mismatch, a corrupt file), so a file dataset (every
    /// format reader but the synthetic one) is described one sample at a time, each as a one-file dataset with the same
    /// channels, label encoding and ignore index, and the descriptions of the loadable ones are added up.
    /// </summary>
    private static (DatasetDescription Description, List<string> Problems) DescribeEverySample(SegDataset data)
    {
        if (data is not FileSegDataset fileData)
            return (data.Describe(), []);
        var parts = new List<DatasetDescription>();
        var problems = new List<string>();
        foreach (var files in fileData.Files)
        {
            var sample = new FileSegDataset([files], fileData.NumClasses, fileData.Mode, transforms: null, fileData.IgnoreIndex,
                fileData.ImageChannels, fileData.LabelEncoding);
            DatasetDescription part;
            try
            {
                part = sample.Describe();
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                problems.Add(e.Message);
                continue;
            }
            parts.Add(part);
            if (part.BadLabels.Count > 0)
                problems.Add(OutOfRangeProblem(sample, part));
        }
        var sizes = parts.SelectMany(p => p.ImageSizes).GroupBy(s => (s.Height, s.Width, s.Channels)).OrderBy(g => g.Key)
            .Select(g => new ImageSizeCount(g.Key.Height, g.Key.Width, g.Key.Channels, g.Sum(s => s.Images))).ToList();
        var ranges = parts.SelectMany(p => p.ValueRanges).GroupBy(r => r.SampleType).OrderBy(g => g.Key)
            .Select(g => g.Aggregate((a, b) => a.Merge(b))).ToList();
        var classPixels = Enumerable.Range(0, fileData.NumClasses).Select(c => parts.Sum(p => p.ClassPixels[c])).ToList();
        var description = new DatasetDescription(fileData.Count, fileData.NumClasses, fileData.IgnoreIndex, sizes, ranges, classPixels,
            parts.Sum(p => p.IgnoredPixels), parts.Sum(p => p.UnlabeledSamples), [.. parts.SelectMany(p => p.BadLabels)]);
        return (description, problems);
    }

    /// <summary>
    /// The loader's own refusal of the one-sample <paramref name="sample"/> (file, first bad value, its row and column,
    /// the class count) followed by every out-of-range value of the file with its pixel count.
    /// </summary>
    private static string OutOfRangeProblem(FileSegDataset sample, DatasetDescription description)
    {
        string values = string.Join(", ", description.BadLabels.Select(bad =>
            string.Create(CultureInfo.InvariantCulture, $"{bad.Value} in {bad.Pixels} pixel{(bad.Pixels == 1 ? "" : "s")}")));
        try
        {
            sample.Load(0);
        }
        catch (InvalidDataException e)
        {
            return $"{e.Message} Out-of-range values: {values}.";
        }
        throw new InvalidOperationException($"Describe found out-of-range values ({values}) in {description.BadLabels[0].File} that Load accepted.");
    }

    private static void Write(IAnsiConsole console, DatasetDescription description, IReadOnlyList<string> problems, IReadOnlyList<string>? classNames)
    {
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{description.Samples} samples, {description.NumClasses} classes, ignore index {description.IgnoreIndex}"));

        var sizes = new Table().AddColumn("image size (H×W×C)").AddColumn(new TableColumn("images").RightAligned());
        foreach (var size in description.ImageSizes)
            sizes.AddRow($"{size.Height}×{size.Width}×{size.Channels}", size.Images.ToString(CultureInfo.InvariantCulture));
        console.Write(sizes);

        var values = new Table().AddColumn("bit depth").AddColumn(new TableColumn("images").RightAligned())
            .AddColumn(new TableColumn("min").RightAligned()).AddColumn(new TableColumn("max").RightAligned());
        foreach (var range in description.ValueRanges)
            values.AddRow(range.BitDepth, range.Images.ToString(CultureInfo.InvariantCulture), Value(range.Min), Value(range.Max));
        console.Write(values);
        if (description.ValueRanges.Count > 0 && description.ValueRanges.Max(r => r.Max) is > 255 and var highest)
            console.WriteLine($"Image values reach {Value(highest)}, beyond the 0–255 that Normalize maps to [0, 1] by default: train with " +
                              $"--max-value {Value(highest)} (Normalize's max_val) so they normalise from their real range" +
                              (description.ValueRanges.Any(r => r.SampleType == SampleType.UInt16) && highest < ushort.MaxValue
                                  ? ", or --max-value 65535 for the full 16-bit range." : "."));

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
        if (problems.Count == 0)
        {
            console.MarkupLine("[green]All label values are class ids or the ignore index.[/]");
            return;
        }
        console.MarkupLine($"[red]{problems.Count} of {description.Samples} samples have problems[/] (the histogram counts only the readable ones " +
                           $"and only valid values; valid: 0..{description.NumClasses - 1} and {description.IgnoreIndex}):");
        foreach (string problem in problems.Take(ProblemsListed))
            console.WriteLine(problem);
        if (problems.Count > ProblemsListed)
            console.WriteLine($"… and {problems.Count - ProblemsListed} more.");
    }

    private static string Value(float value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Share(long pixels, long total) =>
        (total == 0 ? 0 : 100.0 * pixels / total).ToString("F2", CultureInfo.InvariantCulture) + " %";
}
