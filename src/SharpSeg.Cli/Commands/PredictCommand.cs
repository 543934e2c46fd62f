using System.CommandLine;
using SharpSeg.Data;
using SharpSeg.Data.Transforms;
using SharpSeg.Training;
using SharpSeg.Training.Visualization;
using Spectre.Console;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// <c>sharpseg predict</c>: runs a saved model on an image, a folder of images or a file list and writes, per image,
/// the label PNG (class ids), the pseudo-colour PNG, the overlay on the image and optionally the class
/// probabilities as NPY. <c>--tile</c> switches to overlap-tile prediction for large images, <c>--slide</c> to
/// PaddleSeg's averaged sliding window, and <c>--scales</c>/<c>--flip-horizontal</c>/<c>--flip-vertical</c> add
/// test-time augmentation. PaddleX 1.x's <c>predict</c> / <c>overlap_tile_predict</c> followed by
/// <c>paddlex.seg.visualize</c>; PaddleSeg's <c>predict.py --is_slide --aug_pred</c>.
/// </summary>
internal static class PredictCommand
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".npy", ".tif", ".tiff"];

    public static Command Create(IAnsiConsole console)
    {
        var modelDir = EvaluateCommand.ModelDirOption();
        var input = new Argument<string>("input")
        {
            Description = "An image file, a folder of images (png, jpg, bmp, npy; not its subfolders) or a file list (.txt; the " +
                          "first item of each line is an image path relative to the list's folder or to --data). Results are named " +
                          "by the image's path relative to the list root (its file name for a single image or a folder) without " +
                          "the extension, plus _label.png, _pseudo.png, _overlay.png and _scores.npy; a list entry outside the " +
                          "root (absolute or ../) is named by its file name, so nothing is written outside --output. Two images " +
                          "that would get one name (a.png and a.jpg) are refused before anything is written.",
        };
        var output = new Option<string>("--output", "-o") { Description = "Folder the results are written to.", DefaultValueFactory = _ => "predictions" };
        var data = new Option<string?>("--data", "-d") { Description = "Root the paths of a file list are relative to (default: the list's folder)." };
        var tile = new Option<string?>("--tile") { Description = "Overlap-tile prediction with tiles of W,H pixels (for large images)." };
        var pad = new Option<string?>("--pad") { Description = "Overlap-tile context W,H added around each tile (default 64,64; 0,0 = plain tiling)." };
        var slide = new Option<bool>("--slide") { Description = "Averaged sliding-window prediction (PaddleSeg's --is_slide); needs --crop-size and --stride." };
        var cropSize = new Option<string?>("--crop-size") { Description = "Sliding-window size W,H with --slide." };
        var stride = new Option<string?>("--stride") { Description = "Sliding-window step W,H with --slide." };
        var batchSize = new Option<int>("--batch-size") { Description = "Tiles or windows per forward pass with --tile or --slide (--tile takes fewer when a pass of that many would need over ~1 GiB).", DefaultValueFactory = _ => 32 };
        var augmentation = new AugmentationArguments();
        var npy = new Option<bool>("--npy") { Description = "Also write the class probabilities (H×W×C float32) as <name>_scores.npy (with --tile written tile by tile, never held whole)." };
        var displayBands = new Option<string?>("--display-bands")
        {
            Description = "Bands of a multi-band image shown as red,green,blue in the overlay, numbered from 1 as GDAL numbers them " +
                          "(e.g. 3,2,1, or one band for grey; default the first three). 16-bit and float bands are stretched from the " +
                          "model's saved Normalize min/max values, or from the image's own minimum and maximum when the model has none.",
        };
        var weight = new Option<double>("--overlay-weight") { Description = "Weight of the image in the overlay (PaddleSeg's 0.6).", DefaultValueFactory = _ => LabelVisualizer.DefaultImageWeight };

        var distributed = new DistributedArguments(
            "Share the images among the ranks of an Open MPI job (start it with mpirun -np N): each rank predicts a contiguous part of the " +
            "list and writes its own files; rank 0 prints the total when every rank has finished.");

        var command = new Command("predict", "Predict images with a saved model; write label, pseudo-colour and overlay PNGs (and NPY scores).");
        command.Arguments.Add(input);
        foreach (var option in new Option[] { modelDir, output, data, tile, pad, slide, cropSize, stride, batchSize, npy, weight, displayBands })
            command.Options.Add(option);
        augmentation.AddTo(command);
        distributed.AddTo(command);
        command.SetAction(parse => distributed.Run(parse, console, parse.InvocationConfiguration.Error, (group, console, _) =>
        {
            (int Width, int Height)? tileSize = parse.GetValue(tile) is { } tileText ? SizeArgument.Parse(tileText, "--tile") : null;
            (int Width, int Height)? padSize = parse.GetValue(pad) is { } padText ? SizeArgument.Parse(padText, "--pad", minimum: 0) : null;
            if (padSize is not null && tileSize is null)
                throw new UsageException("--pad needs --tile (overlap-tile prediction).");
            var window = SlidingWindowArguments(parse.GetValue(slide), parse.GetValue(cropSize), parse.GetValue(stride));
            if (window is not null && tileSize is not null)
                throw new UsageException("--tile and --slide are two different ways to predict a large image; choose one.");
            var tta = augmentation.Parse(parse);
            if (parse.GetValue(batchSize) < 1)
                throw new UsageException($"--batch-size must be at least 1, got {parse.GetValue(batchSize)}.");
            double overlayWeight = parse.GetValue(weight);
            if (overlayWeight is < 0 or > 1 || double.IsNaN(overlayWeight))
                throw new UsageException($"--overlay-weight must be in [0, 1], got {overlayWeight}.");
            string outputFolder = parse.GetValue(output)!;
            var allImages = ListImages(parse.GetValue(input)!, parse.GetValue(data), outputFolder);
            var (first, count) = DistributedArguments.Shard(allImages.Count, group?.Rank ?? 0, group?.Size ?? 1);
            var images = allImages.GetRange(first, count);
            var segmenter = EvaluateCommand.LoadSegmenter(parse.GetValue(modelDir)!);

            var writer = new PredictionWriter(outputFolder, parse.GetValue(npy), overlayWeight,
                DisplayImage(parse.GetValue(displayBands), SavedRange(segmenter.Transforms)));
            console.WriteLine($"Predicting {allImages.Count} image(s) with {TrainCommand.Describe(segmenter)}" +
                              (group is null ? "" : $" on {group.Size} ranks (rank 0 takes {images.Count})") +
                              (tileSize is { } t ? $", overlap-tile {t.Width}×{t.Height}" : "") +
                              (window is { } w ? $", sliding window {w.Crop.Width}×{w.Crop.Height} every {w.Stride.Width}×{w.Stride.Height}" : "") +
                              (tta is null ? "" : ", " + AugmentationArguments.Describe(tta)) + "…");
            foreach (var (path, name) in images)
            {
                var image = segmenter.ReadImage(path);
                var written = (tileSize, window) switch
                {
                    // The label map alone, the scores (with --npy) written tile by tile: the full score map is never held.
                    ({ } size, _) => writer.WriteTiled(name, image, segmenter.NumClasses,
                        tileScores => segmenter.OverlapTilePredictLabels(image, size, padSize ?? (64, 64), parse.GetValue(batchSize), tta, tileScores)),
                    (_, { } slideWindow) => writer.Write(name, image,
                        segmenter.SlidingWindowPredict(image, slideWindow.Crop, slideWindow.Stride, parse.GetValue(batchSize), tta)),
                    _ => writer.Write(name, image, segmenter.Predict(image, tta)),
                };
                console.WriteLine($"{path} → {string.Join(", ", written.Select(Path.GetFileName))}");
            }
            // The total is summed over the ranks, so the line rank 0 prints counts files that every rank has finished writing.
            long[] predicted = [images.Count];
            group?.AllReduceSum(predicted);
            console.WriteLine($"Wrote {predicted[0]} prediction(s) to {Path.GetFullPath(outputFolder)}");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>
    /// What the overlay is drawn on: the image itself for up to 3 channels without <c>--display-bands</c> (as before), otherwise
    /// the chosen bands (default the first three) scaled to bytes by <see cref="DisplayBands"/>.
    /// </summary>
    private static Func<Image, Image> DisplayImage(string? bandsText, (IReadOnlyList<float> Min, IReadOnlyList<float> Max)? range) => image =>
    {
        if (bandsText is null && image.Channels <= 3)
            return image;
        IReadOnlyList<int> bands;
        try
        {
            bands = bandsText is null ? DisplayBands.Default(image.Channels) : DisplayBands.Parse(bandsText, image.Channels);
        }
        catch (ArgumentException error)
        {
            throw new UsageException(error.Message);
        }
        return DisplayBands.Compose(image, bands, range?.Min, range?.Max);
    };

    /// <summary>The <c>min_val</c>/<c>max_val</c> of the model's saved Normalize, or null when it has none.</summary>
    private static (IReadOnlyList<float> Min, IReadOnlyList<float> Max)? SavedRange(ISegTransform? transforms) => transforms switch
    {
        Normalize normalize => (normalize.MinValue, normalize.MaxValue),
        Compose compose => compose.Transforms.Select(SavedRange).FirstOrDefault(found => found is not null),
        _ => null,
    };

    /// <summary>The sliding window of <c>--slide --crop-size W,H --stride W,H</c>, or null without <c>--slide</c>.</summary>
    /// <exception cref="UsageException">--slide lacks a size, or a size is given without --slide.</exception>
    private static ((int Width, int Height) Crop, (int Width, int Height) Stride)? SlidingWindowArguments(bool slide, string? cropSize, string? stride)
    {
        if (!slide)
        {
            if (cropSize is not null || stride is not null)
                throw new UsageException("--crop-size and --stride need --slide (sliding-window prediction).");
            return null;
        }
        if (cropSize is null || stride is null)
            throw new UsageException("--slide needs --crop-size W,H and --stride W,H.");
        return (SizeArgument.Parse(cropSize, "--crop-size"), SizeArgument.Parse(stride, "--stride"));
    }

    /// <summary>
    /// The images named by <paramref name="input"/> with the output name of each: a file is named by its stem, a folder
    /// gives its image files (not its subfolders) in name order, named by stem, and a .txt file list the first item of
    /// each non-blank line, named by its path relative to the list root without extension. A list entry outside the
    /// root (absolute, or leaving it with <c>..</c>) is named by its file stem alone, as PaddleSeg's <c>predict.py</c>
    /// names images outside <c>--image_path</c>; so no result is ever written outside <paramref name="outputFolder"/>.
    /// </summary>
    /// <remarks>
    /// Paths are compared as the file system reaches them (<see cref="RealPath"/>): an output folder that is, or goes
    /// through, a symbolic link to the input folder is the input folder.
    /// </remarks>
    /// <exception cref="UsageException">
    /// The input does not exist or names no image, <paramref name="outputFolder"/> is the input folder, two images
    /// would get one output name (such as <c>a.png</c> and <c>a.jpg</c>), a result would overwrite an input, or a link
    /// inside the output folder would take a result outside it: nothing has been written then.
    /// </exception>
    public static List<(string Path, string Name)> ListImages(string input, string? root, string outputFolder)
    {
        var images = new List<(string Path, string Name)>();
        if (Directory.Exists(input))
        {
            string realInput = RealPath.Of(input), realOutput = RealPath.Of(outputFolder);
            if (SamePath(realInput, realOutput))
                throw new UsageException(
                    $"--output '{outputFolder}' is the input folder" + (SamePath(Path.GetFullPath(input), Path.GetFullPath(outputFolder)) ? "" : $" (through a link to {realInput})") +
                    $", so the results would be read as images by the next run and could overwrite them; write them to another folder (e.g. {Path.Combine(input, "predictions")}).");
            foreach (string file in Directory.EnumerateFiles(input).Where(IsImage).Order(StringComparer.Ordinal))
                images.Add((file, Path.GetFileNameWithoutExtension(file)));
            if (images.Count == 0)
                throw new UsageException($"Folder '{input}' holds no image ({string.Join(", ", ImageExtensions)}).");
            return RequireDistinctNames(images, outputFolder);
        }
        if (!File.Exists(input))
            throw new UsageException($"Input '{input}' does not exist.");
        if (!input.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
            return RequireDistinctNames([(input, Path.GetFileNameWithoutExtension(input))], outputFolder);

        string listRoot = Path.GetFullPath(root ?? Path.GetDirectoryName(Path.GetFullPath(input))!);
        if (!Directory.Exists(listRoot))
            throw new UsageException($"--data: folder '{listRoot}' does not exist.");
        int lineNumber = 0;
        foreach (string line in File.ReadLines(input))
        {
            lineNumber++;
            string[] items = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (items.Length == 0)
                continue;
            string path = Path.GetFullPath(Path.Combine(listRoot, items[0]));
            if (!File.Exists(path))
                throw new FileNotFoundException($"{input}, line {lineNumber}: image {path} does not exist.", path);
            images.Add((path, OutputName(path, listRoot)));
        }
        if (images.Count == 0)
            throw new UsageException($"File list '{input}' names no image.");
        return RequireDistinctNames(images, outputFolder);
    }

    /// <summary>The path of <paramref name="image"/> relative to <paramref name="listRoot"/> without extension, or its stem when it lies outside.</summary>
    private static string OutputName(string image, string listRoot)
    {
        string relative = Path.GetRelativePath(listRoot, image);
        bool outside = Path.IsPathRooted(relative) || relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return outside ? Path.GetFileNameWithoutExtension(image) : Path.ChangeExtension(relative, null);
    }

    /// <exception cref="UsageException">
    /// Two images share an output name, a result would overwrite an input image (an earlier run's results listed as
    /// inputs, or an output folder linked to the input's), or a link inside the output folder would take a result outside
    /// it; the message names both files. Paths are compared after following links.
    /// </exception>
    private static List<(string Path, string Name)> RequireDistinctNames(List<(string Path, string Name)> images, string outputFolder)
    {
        var owners = new Dictionary<string, string>(PathComparer);
        foreach (var (path, name) in images)
        {
            if (owners.TryGetValue(name, out string? first))
                throw new UsageException(
                    $"{first} and {path} would both be written as {name}_label.png (results are named by the image path without " +
                    "its extension); rename one of them or predict them separately.");
            owners[name] = path;
        }
        var inputs = images.Select(image => RealPath.Of(image.Path)).ToHashSet(PathComparer);
        string realOutput = Path.TrimEndingDirectorySeparator(RealPath.Of(outputFolder)) + Path.DirectorySeparatorChar;
        foreach (var (path, name) in images)
            foreach (string suffix in PredictionWriter.Suffixes)
            {
                string written = Path.Combine(outputFolder, name + suffix);
                // A result replaces its file by a rename, so a link in the last component is replaced, not followed.
                string result = RealPath.OfParent(written);
                if (inputs.Contains(result))
                    throw new UsageException(
                        $"The results of {path} would overwrite the input image {result}" +
                        (PathComparer.Equals(result, Path.GetFullPath(written)) ? "" : $" ({Path.GetFullPath(written)} leads there through a link)") +
                        "; write them to another --output folder.");
                if (!result.StartsWith(realOutput, PathComparison))
                    throw new UsageException(
                        $"The results of {path} would be written to {result}, outside --output '{outputFolder}' ({realOutput.TrimEnd(Path.DirectorySeparatorChar)}): " +
                        $"{Path.GetFullPath(written)} leads there through a link; remove the link or write to another --output folder.");
            }
        return images;
    }

    private static bool SamePath(string a, string b) =>
        PathComparer.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b));

    // Windows and macOS file systems ignore case by default, so there A.png and a.png would overwrite each other's results.
    private static StringComparer PathComparer => IgnoresCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    private static StringComparison PathComparison => IgnoresCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private static bool IgnoresCase => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS();

    private static bool IsImage(string path) => ImageExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());
}

/// <summary>Writes the files of one prediction: label, pseudo-colour and overlay PNGs, and the scores as NPY.</summary>
internal sealed class PredictionWriter(string folder, bool writeScores, double overlayWeight, Func<Image, Image>? displayImage = null)
{
    /// <summary>What each written file adds to the image's name.</summary>
    public static readonly string[] Suffixes = ["_label.png", "_pseudo.png", "_overlay.png", "_scores.npy"];

    /// <summary>Writes <c>name_label.png</c>, <c>name_pseudo.png</c>, <c>name_overlay.png</c> (and <c>name_scores.npy</c>); returns their paths.</summary>
    public IReadOnlyList<string> Write(string name, Image image, Prediction prediction)
    {
        var paths = WriteLabels(name, image, prediction.LabelMap);
        if (writeScores)
        {
            paths.Add(Path.Combine(folder, name + Suffixes[3]));
            ImageFile.WriteNpy(paths[^1], prediction.ScoreMap);
        }
        return paths;
    }

    /// <summary>
    /// Writes the files of a prediction made by <paramref name="predict"/>, which returns the label map and hands each
    /// tile's scores to the handler it is given (null without scores): <c>name_scores.npy</c> is written tile by tile as
    /// they come (to a temporary file renamed when complete), so the full score map is never held. Returns the paths.
    /// </summary>
    public IReadOnlyList<string> WriteTiled(string name, Image image, int classes, Func<TileScoresHandler?, Image<int>> predict)
    {
        if (!writeScores)
            return WriteLabels(name, image, predict(null));
        string scoresPath = Path.Combine(folder, name + Suffixes[3]);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(scoresPath))!);
        Image<int>? labels = null;
        AtomicFile.Write(scoresPath, stream =>
        {
            var npy = new NpyBlockWriter(stream, SampleType.Float32, image.Height, image.Width, classes);
            labels = predict((top, left, scores) => npy.WriteBlock(top, left, scores));
            npy.Complete();
        });
        var paths = WriteLabels(name, image, labels!);
        paths.Add(scoresPath);
        return paths;
    }

    private List<string> WriteLabels(string name, Image image, Image<int> labelMap)
    {
        string stem = Path.Combine(folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(stem))!);
        var paths = new List<string> { stem + Suffixes[0], stem + Suffixes[1], stem + Suffixes[2] };
        LabelVisualizer.WriteLabelPng(paths[0], labelMap);
        LabelVisualizer.WritePseudoColorPng(paths[1], labelMap);
        ImageFile.WritePng(paths[2], LabelVisualizer.Overlay(displayImage?.Invoke(image) ?? image, labelMap, overlayWeight));
        return paths;
    }
}
