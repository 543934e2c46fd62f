using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Datasets;

/// <summary>
/// Cityscapes fine annotations: <c>leftImg8bit/&lt;split&gt;/&lt;city&gt;/*_leftImg8bit.png</c> paired with
/// <c>gtFine/&lt;split&gt;/&lt;city&gt;/*_gtFine_labelTrainIds.png</c> (19 classes, 255 ignore). An image whose
/// label is missing is an error outside test mode. Equivalent to <c>paddleseg.datasets.Cityscapes(dataset_root, mode)</c>.
/// </summary>
public sealed class CityscapesDataset : FileSegDataset
{
    /// <summary>Cityscapes' train-id class count.</summary>
    public const int NumTrainClasses = 19;

    /// <summary>Finds the split's images and their labels under <paramref name="datasetRoot"/>.</summary>
    public CityscapesDataset(string datasetRoot, DatasetMode mode = DatasetMode.Train, ISegTransform? transforms = null)
        : base(FindFiles(datasetRoot, mode), NumTrainClasses, mode, transforms)
    {
    }

    private static List<SampleFiles> FindFiles(string root, DatasetMode mode)
    {
        string split = mode switch { DatasetMode.Train => "train", DatasetMode.Val => "val", _ => "test" };
        string imageDir = Path.Combine(root, "leftImg8bit", split);
        RequireDirectory(imageDir, "Cityscapes image");
        const string imageSuffix = "_leftImg8bit.png", labelSuffix = "_gtFine_labelTrainIds.png";
        var files = new List<SampleFiles>();
        foreach (string image in Directory.EnumerateFiles(imageDir, "*" + imageSuffix, SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(imageDir, image);
            string label = Path.Combine(root, "gtFine", split, relative[..^imageSuffix.Length] + labelSuffix);
            if (File.Exists(label))
                files.Add(new SampleFiles(image, label));
            else if (mode == DatasetMode.Test)
                files.Add(new SampleFiles(image, null));
            else
                throw new FileNotFoundException($"Cityscapes image {image} has no label {label}.", label);
        }
        if (files.Count == 0)
            throw new InvalidDataException($"No *{imageSuffix} images under {imageDir}.");
        return files;
    }
}

/// <summary>
/// Pascal VOC 2012 segmentation: ids from <c>ImageSets/Segmentation/&lt;split&gt;.txt</c>, images
/// <c>JPEGImages/&lt;id&gt;.jpg</c>, labels <c>SegmentationClass/&lt;id&gt;.png</c> (palette PNGs read as indices;
/// the 255 object border is ignored). 21 classes. Equivalent to <c>paddleseg.datasets.PascalVOC(dataset_root, mode)</c>
/// with <c>dataset_root</c> the <c>VOC2012</c> folder.
/// </summary>
public sealed class PascalVocDataset : FileSegDataset
{
    /// <summary>Background plus the 20 VOC object classes.</summary>
    public const int NumVocClasses = 21;

    /// <summary>Reads the split's id list under <paramref name="datasetRoot"/>.</summary>
    /// <param name="datasetRoot">The <c>VOC2012</c> folder.</param>
    /// <param name="mode">Split.</param>
    /// <param name="transforms">Pipeline applied by <see cref="SegDataset.Get"/>.</param>
    /// <param name="splitName">Overrides the list name (e.g. <c>"trainval"</c>, <c>"trainaug"</c>).</param>
    public PascalVocDataset(string datasetRoot, DatasetMode mode = DatasetMode.Train, ISegTransform? transforms = null,
        string? splitName = null)
        : base(FindFiles(datasetRoot, splitName ?? (mode == DatasetMode.Train ? "train" : "val"), mode), NumVocClasses,
            mode, transforms)
    {
    }

    private static List<SampleFiles> FindFiles(string root, string split, DatasetMode mode)
    {
        string list = Path.Combine(root, "ImageSets", "Segmentation", split + ".txt");
        RequireFile(list, "VOC split list");
        var files = new List<SampleFiles>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(list))
        {
            lineNumber++;
            string id = line.Trim();
            if (id.Length == 0)
                continue;
            if (id.Any(char.IsWhiteSpace))
                throw new InvalidDataException($"{list}, line {lineNumber}: expected one image id, got \"{id}\".");
            string image = Path.Combine(root, "JPEGImages", id + ".jpg");
            string label = Path.Combine(root, "SegmentationClass", id + ".png");
            if (!File.Exists(image))
                throw new FileNotFoundException($"{list}, line {lineNumber}: image {image} does not exist.", image);
            bool hasLabel = File.Exists(label);
            if (!hasLabel && mode != DatasetMode.Test)
                throw new FileNotFoundException($"{list}, line {lineNumber}: label {label} does not exist.", label);
            files.Add(new SampleFiles(image, hasLabel ? label : null) { ListedAt = $"{list}, line {lineNumber}" });
        }
        return files;
    }
}

/// <summary>
/// ADE20K (SceneParsing, <c>ADEChallengeData2016</c>): <c>images/{training,validation}/*.jpg</c> with
/// <c>annotations/{training,validation}/*.png</c> of the same stem; stored label 0 ("other") becomes the ignore
/// index and every other value v becomes v − 1, giving 150 classes. Equivalent to
/// <c>paddleseg.datasets.ADE20K(dataset_root, mode)</c>.
/// </summary>
public sealed class Ade20kDataset : FileSegDataset
{
    /// <summary>ADE20K's SceneParsing class count.</summary>
    public const int NumAdeClasses = 150;

    /// <summary>Finds the split's images and labels under <paramref name="datasetRoot"/> (the <c>ADEChallengeData2016</c> folder).</summary>
    public Ade20kDataset(string datasetRoot, DatasetMode mode = DatasetMode.Train, ISegTransform? transforms = null)
        : base(FindFiles(datasetRoot, mode), NumAdeClasses, mode, transforms, labelEncoding: LabelEncoding.Ade20k)
    {
    }

    private static List<SampleFiles> FindFiles(string root, DatasetMode mode)
    {
        string split = mode == DatasetMode.Train ? "training" : "validation";
        return FolderPairDataset.MatchByStem(Path.Combine(root, "images", split), Path.Combine(root, "annotations", split), mode);
    }
}

/// <summary>
/// Images and labels in two folders, paired by file stem (<c>images/a.jpg</c> with <c>labels/a.png</c>). An image
/// without a label (outside test mode) or a label without an image is an error naming the file.
/// The folder layout PaddleSeg's and PaddleX's tools split into file lists.
/// </summary>
public sealed class FolderPairDataset : FileSegDataset
{
    /// <summary>Pairs the files of <paramref name="imageDir"/> and <paramref name="labelDir"/>.</summary>
    public FolderPairDataset(string imageDir, string labelDir, int numClasses, DatasetMode mode = DatasetMode.Train,
        ISegTransform? transforms = null, int ignoreIndex = SegSample.IgnoreIndex, int? imageChannels = 3)
        : base(MatchByStem(imageDir, labelDir, mode), numClasses, mode, transforms, ignoreIndex, imageChannels)
    {
    }

    internal static List<SampleFiles> MatchByStem(string imageDir, string labelDir, DatasetMode mode)
    {
        RequireDirectory(imageDir, "Image");
        bool haveLabels = Directory.Exists(labelDir);
        if (!haveLabels && mode != DatasetMode.Test)
            RequireDirectory(labelDir, "Label");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (haveLabels)
            foreach (string label in Directory.EnumerateFiles(labelDir).Where(IsImageFile))
                if (!labels.TryAdd(Path.GetFileNameWithoutExtension(label), label))
                    throw new InvalidDataException(
                        $"Label folder {labelDir} has two files with stem '{Path.GetFileNameWithoutExtension(label)}': " +
                        $"{labels[Path.GetFileNameWithoutExtension(label)]} and {label}.");
        var files = new List<SampleFiles>();
        var stems = new HashSet<string>(StringComparer.Ordinal);
        foreach (string image in Directory.EnumerateFiles(imageDir).Where(IsImageFile).Order(StringComparer.Ordinal))
        {
            string stem = Path.GetFileNameWithoutExtension(image);
            if (!stems.Add(stem))
                throw new InvalidDataException($"Image folder {imageDir} has two files with stem '{stem}' ({image}).");
            string? label = labels.GetValueOrDefault(stem);
            if (label is null && mode != DatasetMode.Test)
                throw new FileNotFoundException($"Image {image} has no label with stem '{stem}' in {labelDir}.", image);
            files.Add(new SampleFiles(image, label));
        }
        foreach (var (stem, label) in labels)
            if (!stems.Contains(stem))
                throw new InvalidDataException($"Label {label} has no image with stem '{stem}' in {imageDir}.");
        if (files.Count == 0)
            throw new InvalidDataException($"Image folder {imageDir} holds no images ({string.Join(", ", ImageExtensions)}).");
        return files;
    }
}
