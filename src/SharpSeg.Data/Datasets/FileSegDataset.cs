using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Datasets;

/// <summary>The image file of a sample and its label file, if it has one.</summary>
public readonly record struct SampleFiles(string ImagePath, string? LabelPath)
{
    /// <summary>Where a list file names the sample, for error messages (e.g. <c>train.txt, line 7</c>); null when it was not read from a list.</summary>
    public string? ListedAt { get; init; }
}

/// <summary>How stored label values become class ids.</summary>
public enum LabelEncoding
{
    /// <summary>Stored values are class ids (255 = ignore).</summary>
    ClassIds,
    /// <summary>ADE20K: stored 0 ("other") becomes 255, every other value v becomes v − 1.</summary>
    Ade20k,
}

/// <summary>
/// A dataset of image files with optional label files, decoded on each access. Images are read by
/// <see cref="ImageInput"/>, the reading prediction uses too, with <see cref="ImageChannels"/> channels (for 3: grey
/// repeated, alpha dropped, palettes expanded, as <c>cv2.imread(IMREAD_COLOR)</c>), and become float samples with their
/// stored values (16-bit images 0–65535; <see cref="Normalize"/>'s <c>min_val</c>/<c>max_val</c> scale them). Labels must
/// be one channel (gray or palette indices, as <c>np.asarray(PIL.Image.open(label))</c>). The base of every file format reader.
/// </summary>
public class FileSegDataset : SegDataset
{
    /// <summary>Creates the dataset over explicit files.</summary>
    /// <param name="files">The samples, in order.</param>
    /// <param name="numClasses">Class count.</param>
    /// <param name="mode">Split; only <see cref="DatasetMode.Test"/> accepts samples without label.</param>
    /// <param name="transforms">Pipeline applied by <see cref="SegDataset.Get"/>.</param>
    /// <param name="ignoreIndex">Ignored label value.</param>
    /// <param name="imageChannels">Channels images are converted to (1 or 3), or null to keep them as decoded.</param>
    /// <param name="labelEncoding">How stored label values map to class ids.</param>
    /// <param name="classNames">Class names, if known.</param>
    public FileSegDataset(IReadOnlyList<SampleFiles> files, int numClasses, DatasetMode mode = DatasetMode.Train,
        ISegTransform? transforms = null, int ignoreIndex = SegSample.IgnoreIndex, int? imageChannels = 3,
        LabelEncoding labelEncoding = LabelEncoding.ClassIds, IReadOnlyList<string>? classNames = null)
        : base(numClasses, mode, transforms, ignoreIndex)
    {
        if (imageChannels is not (null or 1 or 3))
            throw new ArgumentOutOfRangeException(nameof(imageChannels), imageChannels, "imageChannels must be 1, 3 or null.");
        Files = [.. files];
        if (mode != DatasetMode.Test && Files.FirstOrDefault(f => f.LabelPath is null) is { ImagePath: { } unlabeled })
            throw new InvalidDataException($"Image {unlabeled} has no label, which {mode} mode needs.");
        ImageChannels = imageChannels;
        LabelEncoding = labelEncoding;
        _classNames = classNames;
    }

    private readonly IReadOnlyList<string>? _classNames;

    /// <summary>The sample files, in order.</summary>
    public IReadOnlyList<SampleFiles> Files { get; }

    /// <summary>Channels images are converted to, or null to keep the decoded count.</summary>
    public int? ImageChannels { get; }

    /// <summary>How stored label values map to class ids.</summary>
    public LabelEncoding LabelEncoding { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string>? ClassNames => _classNames;

    /// <inheritdoc />
    public override int Count => Files.Count;

    /// <inheritdoc />
    public override string SourceName(int index) => Files[index].ImagePath;

    /// <inheritdoc />
    protected override SegSample LoadUnchecked(int index)
    {
        var (imagePath, labelPath) = Files[index];
        var decoded = ImageInput.Read(imagePath, ImageChannels);
        var image = decoded as Image<float> ?? decoded.ToFloat();
        Image<int>? label = null;
        if (labelPath is not null)
        {
            label = ReadLabel(labelPath);
            if (label.Height != image.Height || label.Width != image.Width)
                throw new InvalidDataException(
                    $"Label {labelPath} is {label.Height}×{label.Width} but image {imagePath} is {image.Height}×{image.Width}.");
        }
        return new SegSample(image, label, imagePath, labelPath) { StoredSampleType = decoded.SampleType };
    }

    private Image<int> ReadLabel(string path)
    {
        var decoded = ImageFile.Read(path, new ImageReadOptions { Palette = PaletteMode.Index });
        if (decoded.Channels != 1)
            throw new InvalidDataException(
                $"Label {path} has {decoded.Channels} channels; labels must be gray or palette images holding class ids.");
        var label = decoded.ToInt32();
        if (LabelEncoding == LabelEncoding.Ade20k)
        {
            var pixels = label.Pixels;
            for (int i = 0; i < pixels.Length; i++)
                pixels[i] = pixels[i] == 0 ? SegSample.IgnoreIndex : pixels[i] - 1;
        }
        return label;
    }

    /// <summary>Image file extensions the folder-based readers pick up.</summary>
    internal static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".npy", ".tif", ".tiff"];

    internal static bool IsImageFile(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    internal static void RequireDirectory(string path, string what)
    {
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"{what} folder {path} does not exist.");
    }

    internal static void RequireFile(string path, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{what} {path} does not exist.", path);
    }
}
