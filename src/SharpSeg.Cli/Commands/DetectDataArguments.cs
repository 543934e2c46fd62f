using System.CommandLine;
using SharpSeg.Detection.Data;

namespace SharpSeg.Cli.Commands;

/// <summary>
/// The dataset options of <c>sharpseg detect</c>: a COCO JSON file with its image folder, a Pascal VOC folder with a split
/// name, or the built-in synthetic shapes set, for the training and the evaluation split.
/// </summary>
internal sealed class DetectDataArguments
{
    private readonly Option<string> _format = new("--format")
    {
        Description = "Dataset format: coco (a COCO instances JSON and an image folder), voc (a VOCdevkit year folder) or synthetic (built-in shapes).",
        DefaultValueFactory = _ => "coco",
    };
    private readonly Option<string?> _trainAnnotations = new("--train-annotations") { Description = "coco: the training instances JSON file." };
    private readonly Option<string?> _trainImages = new("--train-images") { Description = "coco: the training images folder." };
    private readonly Option<string?> _valAnnotations = new("--val-annotations") { Description = "coco: the evaluation instances JSON file." };
    private readonly Option<string?> _valImages = new("--val-images") { Description = "coco: the evaluation images folder." };
    private readonly Option<string?> _vocRoot = new("--voc-root") { Description = "voc: the year folder holding Annotations/, JPEGImages/ and ImageSets/Main/." };
    private readonly Option<string> _trainSplit = new("--train-split") { Description = "voc: the training split name.", DefaultValueFactory = _ => "trainval" };
    private readonly Option<string> _valSplit = new("--val-split") { Description = "voc: the evaluation split name.", DefaultValueFactory = _ => "test" };
    private readonly Option<int> _syntheticTrain = new("--synthetic-train") { Description = "synthetic: training images.", DefaultValueFactory = _ => DetectDemo.TrainSamples };
    private readonly Option<int> _syntheticVal = new("--synthetic-val") { Description = "synthetic: evaluation images.", DefaultValueFactory = _ => DetectDemo.ValSamples };
    private readonly Option<int> _syntheticSize = new("--synthetic-size") { Description = "synthetic: image side in pixels.", DefaultValueFactory = _ => DetectDemo.Size };
    private readonly Option<int> _syntheticSeed = new("--synthetic-seed") { Description = "synthetic: seed of the generated images.", DefaultValueFactory = _ => 0 };

    public DetectDataArguments() => _format.AcceptOnlyFromAmong("coco", "voc", "synthetic");

    /// <summary>The <c>--format</c> option.</summary>
    public Option<string> FormatOption => _format;

    public void AddTo(Command command, bool withTrain)
    {
        command.AddOptions(_format);
        if (withTrain) command.AddOptions(_trainAnnotations, _trainImages, _trainSplit, _syntheticTrain);
        command.AddOptions(_valAnnotations, _valImages, _vocRoot, _valSplit, _syntheticVal, _syntheticSize, _syntheticSeed);
    }

    /// <summary>The training split; <paramref name="loadMasks"/> for models that predict masks.</summary>
    public DetectionDataset OpenTrain(ParseResult parse, bool loadMasks) => Open(parse, train: true, loadMasks, new DetectionRandomHorizontalFlip(0.5))!;

    /// <summary>The evaluation split, or null when none is named (COCO without --val-annotations).</summary>
    public DetectionDataset? OpenVal(ParseResult parse, bool loadMasks, bool required) =>
        Open(parse, train: false, loadMasks, transforms: null) ?? (required
            ? throw new UsageException("Name the evaluation data: --val-annotations and --val-images (coco), --voc-root (voc), or --format synthetic.")
            : null);

    private DetectionDataset? Open(ParseResult parse, bool train, bool loadMasks, IDetectionTransform? transforms)
    {
        switch (parse.GetValue(_format))
        {
            case "synthetic":
                int count = parse.GetValue(train ? _syntheticTrain : _syntheticVal), size = parse.GetValue(_syntheticSize);
                if (count < 1 || size < 32)
                    throw new UsageException($"--synthetic-train/--synthetic-val must be at least 1 and --synthetic-size at least 32, got {count} and {size}.");
                // The evaluation images come from another seed, so they are never training images.
                return new SyntheticDetectionDataset(new SyntheticDetectionOptions(count, size, size, parse.GetValue(_syntheticSeed) * 2 + (train ? 0 : 1)), transforms);
            case "voc":
                string root = parse.GetValue(_vocRoot) ?? throw new UsageException("--format voc needs --voc-root.");
                if (!Directory.Exists(root)) throw new UsageException($"--voc-root: folder '{root}' does not exist.");
                return new VocDetectionDataset(root, parse.GetValue(train ? _trainSplit : _valSplit)!, transforms: transforms);
            default:
                var (annotations, images) = train ? (_trainAnnotations, _trainImages) : (_valAnnotations, _valImages);
                string? file = parse.GetValue(annotations), folder = parse.GetValue(images);
                if (file is null && folder is null && !train) return null;
                if (file is null || folder is null)
                    throw new UsageException($"--format coco needs both {annotations.Name} and {images.Name}.");
                if (!File.Exists(file)) throw new UsageException($"{annotations.Name}: file '{file}' does not exist.");
                if (!Directory.Exists(folder)) throw new UsageException($"{images.Name}: folder '{folder}' does not exist.");
                return new CocoDetectionDataset(folder, file, transforms, loadMasks);
        }
    }
}
