using System.Globalization;
using System.Text;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;

namespace SharpSeg.Training;

/// <summary>
/// The check <see cref="Segmenter.Train"/> makes before its first step: every image and label file of a file dataset
/// opens, its header is valid and its pixel data is all there, labels have one channel, and image and label sizes agree.
/// Headers only (<see cref="ImageHeader"/>), so a dataset of thousands of files is checked in seconds, and a bad
/// validation image no longer surfaces after a whole epoch of training. Generated datasets have no files to check.
/// </summary>
internal static class DatasetCheck
{
    private const int ProblemsListed = 10;

    private static readonly ImageReadOptions LabelOptions = new() { Palette = PaletteMode.Index };

    /// <exception cref="InvalidDataException">Some samples cannot be used; the message lists them by list file and line (or sample index).</exception>
    /// <param name="dataset">The dataset to check.</param>
    /// <param name="what">"training" or "evaluation", for the message.</param>
    /// <param name="modelChannels">Input channels of the model the images go to.</param>
    public static void Run(SegDataset dataset, string what, int modelChannels)
    {
        if (dataset is not FileSegDataset files) return;
        var problems = new List<string>();
        int count = 0;
        for (int i = 0; i < files.Files.Count; i++)
        {
            if (Problem(files, files.Files[i], modelChannels) is not { } problem) continue;
            count++;
            if (problems.Count < ProblemsListed)
                problems.Add($"  {files.Files[i].ListedAt ?? string.Create(CultureInfo.InvariantCulture, $"sample {i}")}: {problem}");
        }
        if (count == 0) return;
        var message = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"Train: {count} of the {files.Files.Count} {what} samples cannot be used (checked before the first step; nothing was trained or written):"));
        foreach (string problem in problems) message.Append('\n').Append(problem);
        if (count > ProblemsListed) message.Append(CultureInfo.InvariantCulture, $"\n  … and {count - ProblemsListed} more.");
        throw new InvalidDataException(message.ToString());
    }

    private static string? Problem(FileSegDataset dataset, SampleFiles sample, int modelChannels)
    {
        if (!TryRead(sample.ImagePath, "image", ImageReadOptions.Default, out var image, out string? problem)) return problem;
        bool bandStack = image.Format is "TIFF" or "NPY";
        if (dataset.ImageChannels is { } wanted && (image.Channels is < 1 or > 4 || (bandStack && image.Channels != wanted && image.Channels != 1)))
            return $"image {sample.ImagePath} has {image.Channels} {(bandStack ? "bands" : "channels")}, which are not converted to {wanted}; " +
                   $"train a model with {image.Channels} input channels (--in-channels {image.Channels}).";
        if (dataset.ImageChannels is null && image.Channels != modelChannels)
            return $"image {sample.ImagePath} has {image.Channels} bands but the model takes {modelChannels} input channels " +
                   $"(--in-channels {image.Channels} builds one that takes them all).";
        if (sample.LabelPath is not { } labelPath) return null;
        if (!TryRead(labelPath, "label", LabelOptions, out var label, out problem)) return problem;
        if (label.Channels != 1)
            return $"label {labelPath} has {label.Channels} channels; labels must be gray or palette images holding class ids.";
        if (label.Width != image.Width || label.Height != image.Height)
            return $"label {labelPath} is {label.Height}×{label.Width} but image {sample.ImagePath} is {image.Height}×{image.Width}.";
        return null;
    }

    private static bool TryRead(string path, string kind, ImageReadOptions options, out ImageInfo info, out string? problem)
    {
        try
        {
            info = ImageHeader.Read(path, options);
            problem = null;
            return true;
        }
        catch (ImageFormatException e)
        {
            problem = $"{kind} {e.FileName}: {e.Problem}.";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"{kind} {path} cannot be opened: {e.Message}";
        }
        info = default;
        return false;
    }
}
