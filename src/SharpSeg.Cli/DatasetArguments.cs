using System.CommandLine;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Cli;

/// <summary>
/// The options that name a dataset on the command line (<c>--format</c>, <c>--data</c>, the list files, the folder
/// pairs, the synthetic generator's settings) and the code that opens its train or val split. Shared by
/// <c>train</c>, <c>evaluate</c> and <c>describe</c> so every command reads data the same way.
/// </summary>
internal sealed class DatasetArguments
{
    /// <summary>
    /// The smallest side of generated images, for <c>train --synthetic-size</c> and <c>demo --size</c> alike: at 16 pixels
    /// a DeepLabV3+ at output stride 16 already sees a single feature pixel, and the generated shapes are a few pixels wide.
    /// </summary>
    public const int MinimumSyntheticSize = 16;

    /// <summary>The dataset layouts <c>--format</c> accepts.</summary>
    public static readonly string[] Formats = ["filelist", "paddlex", "cityscapes", "voc", "ade20k", "folders", "synthetic"];

    public Option<string> Format { get; } = new("--format", "-f")
    {
        Description = "Dataset layout: filelist (PaddleSeg 'image label' lists), paddlex (JPEGImages/, Annotations/, " +
                      "*_list.txt, labels.txt), cityscapes, voc (the VOC2012 folder), ade20k (ADEChallengeData2016), " +
                      "folders (image and label folders paired by file stem) or synthetic (generated shapes).",
        DefaultValueFactory = _ => "filelist",
    };

    public Option<string?> Root { get; } = new("--data", "-d")
    {
        Description = "Dataset folder: the root the list paths are relative to (filelist, paddlex) or the dataset's " +
                      "top folder (cityscapes, voc, ade20k).",
    };

    public Option<string?> TrainList { get; } = new("--train-list")
    {
        Description = "Training list file, relative to --data unless absolute (filelist: train.txt; paddlex: train_list.txt).",
    };

    public Option<string?> ValList { get; } = new("--val-list")
    {
        Description = "Validation list file, relative to --data unless absolute (filelist: val.txt; paddlex: val_list.txt).",
    };

    public Option<string?> LabelList { get; } = new("--label-list")
    {
        Description = "Class names, one per line, relative to --data unless absolute (default labels.txt; for filelist " +
                      "it is read when present and its line count is the class count unless --num-classes is given).",
    };

    public Option<string> Separator { get; } = new("--separator")
    {
        Description = "Separator between image and label on a filelist line (PaddleSeg's separator).",
        DefaultValueFactory = _ => " ",
    };

    public Option<string?> Images { get; } = new("--images")
    {
        Description = "folders: training image folder.",
    };

    public Option<string?> Labels { get; } = new("--labels")
    {
        Description = "folders: training label folder (labels paired with images by file stem).",
    };

    public Option<string?> ValImages { get; } = new("--val-images")
    {
        Description = "folders: validation image folder.",
    };

    public Option<string?> ValLabels { get; } = new("--val-labels")
    {
        Description = "folders: validation label folder.",
    };

    public Option<int?> NumClasses { get; } = new("--num-classes", "-n")
    {
        Description = "Number of classes (needed for filelist without labels.txt and for folders; fixed by " +
                      "paddlex's labels.txt, Cityscapes (19), VOC (21) and ADE20K (150); synthetic default 4).",
    };

    public Option<int> SyntheticTrainSamples { get; } = new("--synthetic-train")
    {
        Description = "synthetic: training samples.",
        DefaultValueFactory = _ => 128,
    };

    public Option<int> SyntheticValSamples { get; } = new("--synthetic-val")
    {
        Description = "synthetic: validation samples.",
        DefaultValueFactory = _ => 32,
    };

    public Option<string> SyntheticSize { get; } = new("--synthetic-size")
    {
        Description = $"synthetic: image size W,H (each at least {MinimumSyntheticSize}).",
        DefaultValueFactory = _ => "64,64",
    };

    public Option<int> SyntheticSeed { get; } = new("--synthetic-seed")
    {
        Description = "synthetic: generator seed (the validation split uses seed + 1).",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>Adds every dataset option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        Format.AcceptOnlyFromAmong(Formats);
        command.AddOptions(Format, Root, TrainList, ValList, LabelList, Separator, Images, Labels, ValImages, ValLabels, NumClasses,
            SyntheticTrainSamples, SyntheticValSamples, SyntheticSize, SyntheticSeed);
    }

    /// <summary>
    /// Whether a validation split is available: always for the benchmark and synthetic formats (unless
    /// <c>--synthetic-val 0</c>), for folders when <c>--val-images</c> is given, and for list formats when
    /// <c>--val-list</c> is given or the default list file exists.
    /// </summary>
    public bool HasValidationSplit(ParseResult parse)
    {
        string format = parse.GetValue(Format)!;
        return format switch
        {
            "synthetic" => parse.GetValue(SyntheticValSamples) > 0,
            "folders" => parse.GetValue(ValImages) is not null,
            "filelist" or "paddlex" => parse.GetValue(ValList) is not null
                || parse.GetValue(Root) is { } root && File.Exists(Path.Combine(root, format == "filelist" ? "val.txt" : "val_list.txt")),
            _ => true,
        };
    }

    /// <summary>
    /// Opens the <paramref name="mode"/> split (<see cref="DatasetMode.Train"/> or <see cref="DatasetMode.Val"/>) with
    /// <paramref name="transforms"/>. A missing folder or list named on the command line is a <see cref="UsageException"/>;
    /// problems inside the data (a bad line, a missing image, a bad label) surface as the dataset's own exceptions.
    /// <paramref name="modelChannels"/> is the model's input channels: 1 and 3 convert colour images (grey repeated, alpha
    /// dropped); any other count reads every band of the files as stored (multi-band TIFF/NPY).
    /// </summary>
    public SegDataset Open(ParseResult parse, DatasetMode mode, ISegTransform? transforms, int modelChannels = 3)
    {
        int? imageChannels = modelChannels is 1 or 3 ? modelChannels : null;
        string format = parse.GetValue(Format)!;
        bool train = mode == DatasetMode.Train;
        int? numClasses = parse.GetValue(NumClasses);
        if (numClasses is <= 0)
            throw new UsageException($"--num-classes must be positive, got {numClasses}.");

        switch (format)
        {
            case "synthetic":
            {
                var (width, height) = SizeArgument.Parse(parse.GetValue(SyntheticSize)!, "--synthetic-size", MinimumSyntheticSize);
                int count = parse.GetValue(train ? SyntheticTrainSamples : SyntheticValSamples);
                if (count < 1)
                    throw new UsageException($"{(train ? "--synthetic-train" : "--synthetic-val")} must be at least 1, got {count}.");
                int seed = parse.GetValue(SyntheticSeed) + (train ? 0 : 1);
                return new SyntheticDataset(new SyntheticOptions(count, height, width, numClasses ?? 4, seed), mode, transforms);
            }
            case "folders":
            {
                string images = RequireDirectory(parse.GetValue(train ? Images : ValImages), train ? "--images" : "--val-images");
                string labels = RequireDirectory(parse.GetValue(train ? Labels : ValLabels), train ? "--labels" : "--val-labels");
                return new FolderPairDataset(images, labels, numClasses ?? throw NeedsNumClasses(format), mode, transforms, imageChannels: imageChannels);
            }
        }

        string root = RequireDirectory(parse.GetValue(Root), "--data");
        switch (format)
        {
            case "filelist":
            {
                string list = RequireFile(root, parse.GetValue(train ? TrainList : ValList) ?? (train ? "train.txt" : "val.txt"),
                    train ? "--train-list" : "--val-list");
                var classNames = ReadClassNames(root, parse.GetValue(LabelList));
                int classes = numClasses ?? classNames?.Count ?? throw NeedsNumClasses(format);
                string separator = parse.GetValue(Separator)!;
                if (separator.Length == 0)
                    throw new UsageException("--separator must not be empty.");
                var dataset = new FileListDataset(root, list, classes, mode, transforms, separator, imageChannels: imageChannels);
                return classNames is null || classNames.Count != classes
                    ? dataset
                    : new FileSegDataset(dataset.Files, classes, mode, transforms, dataset.IgnoreIndex, imageChannels, classNames: classNames);
            }
            case "paddlex":
            {
                string list = RequireFile(root, parse.GetValue(train ? TrainList : ValList) ?? (train ? "train_list.txt" : "val_list.txt"),
                    train ? "--train-list" : "--val-list");
                string labelList = RequireFile(root, parse.GetValue(LabelList) ?? "labels.txt", "--label-list");
                var dataset = new PaddleXSegDataset(root, list, labelList, mode, transforms, imageChannels);
                if (numClasses is { } given && given != dataset.NumClasses)
                    throw new UsageException($"--num-classes is {given} but {labelList} names {dataset.NumClasses} classes.");
                return dataset;
            }
            case "cityscapes":
                return CheckFixedClasses(new CityscapesDataset(root, mode, transforms), numClasses);
            case "voc":
                return CheckFixedClasses(new PascalVocDataset(root, mode, transforms), numClasses);
            case "ade20k":
                return CheckFixedClasses(new Ade20kDataset(root, mode, transforms), numClasses);
            default:
                throw new UsageException($"Unknown --format '{format}'; use one of {string.Join(", ", Formats)}.");
        }
    }

    private static UsageException NeedsNumClasses(string format) =>
        new($"--format {format} needs --num-classes (or a labels.txt in the dataset folder for filelist).");

    private static SegDataset CheckFixedClasses(SegDataset dataset, int? numClasses) =>
        numClasses is { } given && given != dataset.NumClasses
            ? throw new UsageException($"This dataset format has {dataset.NumClasses} classes; --num-classes {given} does not match.")
            : dataset;

    private static List<string>? ReadClassNames(string root, string? labelList)
    {
        string path = labelList is null ? Path.Combine(root, "labels.txt") : RequireFile(root, labelList, "--label-list");
        if (!File.Exists(path))
            return null;
        var names = File.ReadLines(path).Select(line => line.Trim()).Where(line => line.Length > 0).ToList();
        return names.Count > 0 ? names : null;
    }

    /// <summary>The full path of an existing folder named by <paramref name="optionName"/>.</summary>
    public static string RequireDirectory(string? path, string optionName)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new UsageException($"{optionName} is required for this dataset format.");
        if (!Directory.Exists(path))
            throw new UsageException($"{optionName}: folder '{path}' does not exist.");
        return Path.GetFullPath(path);
    }

    private static string RequireFile(string root, string path, string optionName)
    {
        string full = Path.IsPathRooted(path) ? path : Path.Combine(root, path);
        if (!File.Exists(full))
            throw new UsageException($"{optionName}: file '{full}' does not exist.");
        return full;
    }
}
