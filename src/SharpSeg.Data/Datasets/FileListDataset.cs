using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Datasets;

/// <summary>
/// A PaddleSeg file list: one sample per line, <c>image&lt;sep&gt;label</c> relative to a root folder (a
/// single item is allowed in <see cref="DatasetMode.Test"/> mode). A line with any other number of items, or
/// naming a missing file, is an error naming the list file and line. Blank lines are skipped.
/// Equivalent to <c>paddleseg.datasets.Dataset(dataset_root, train_path/val_path/test_path, num_classes,
/// mode, separator=' ', ignore_index=255)</c>.
/// </summary>
public sealed class FileListDataset : FileSegDataset
{
    /// <summary>Reads the list and checks every named file exists.</summary>
    /// <param name="datasetRoot">Folder the listed paths are relative to.</param>
    /// <param name="fileList">The list file (absolute, or relative to the working directory).</param>
    /// <param name="numClasses">Class count.</param>
    /// <param name="mode">Split; <see cref="DatasetMode.Test"/> allows image-only lines.</param>
    /// <param name="transforms">Pipeline applied by <see cref="SegDataset.Get"/>.</param>
    /// <param name="separator">Separates image and label on a line (PaddleSeg's <c>separator</c>, a space by default).</param>
    /// <param name="ignoreIndex">Ignored label value.</param>
    /// <param name="imageChannels">Channels images are converted to, or null to keep them.</param>
    public FileListDataset(string datasetRoot, string fileList, int numClasses, DatasetMode mode = DatasetMode.Train,
        ISegTransform? transforms = null, string separator = " ", int ignoreIndex = SegSample.IgnoreIndex,
        int? imageChannels = 3)
        : base(Parse(datasetRoot, fileList, separator, mode, whitespaceSplit: false), numClasses, mode, transforms,
            ignoreIndex, imageChannels)
    {
        DatasetRoot = datasetRoot;
        FileList = fileList;
    }

    /// <summary>Folder the listed paths are relative to.</summary>
    public string DatasetRoot { get; }

    /// <summary>The list file.</summary>
    public string FileList { get; }

    /// <summary>Parses a list file into sample files, checking items per line and file existence.</summary>
    internal static List<SampleFiles> Parse(string root, string listPath, string separator, DatasetMode mode, bool whitespaceSplit)
    {
        if (separator.Length == 0)
            throw new ArgumentException("The file list separator must not be empty.", nameof(separator));
        RequireDirectory(root, "Dataset root");
        RequireFile(listPath, "File list");
        var files = new List<SampleFiles>();
        int lineNumber = 0;
        foreach (string rawLine in File.ReadLines(listPath))
        {
            lineNumber++;
            string line = rawLine.Trim();
            if (line.Length == 0)
                continue;
            string[] items = whitespaceSplit
                ? line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                : line.Split(separator);
            string where = $"{listPath}, line {lineNumber}";
            if (items.Length != 2 && !(items.Length == 1 && mode == DatasetMode.Test))
                throw new InvalidDataException(
                    $"{where}: expected 'image{Describe(separator, whitespaceSplit)}label' (2 items) but found " +
                    $"{items.Length} item(s) in \"{line}\"" +
                    (mode == DatasetMode.Test ? "." : $"; {mode} mode needs a label on every line."));
            string image = Path.Combine(root, items[0]);
            string? label = items.Length == 2 ? Path.Combine(root, items[1]) : null;
            if (!File.Exists(image))
                throw new FileNotFoundException($"{where}: image {image} does not exist.", image);
            if (label is not null && !File.Exists(label))
                throw new FileNotFoundException($"{where}: label {label} does not exist.", label);
            files.Add(new SampleFiles(image, label) { ListedAt = where });
        }
        return files;
    }

    private static string Describe(string separator, bool whitespaceSplit) =>
        whitespaceSplit ? " " : separator == " " ? " " : separator == "\t" ? "\\t" : separator;
}

/// <summary>
/// A PaddleX segmentation folder: <c>JPEGImages/</c>, <c>Annotations/</c>, list files
/// (<c>train_list.txt</c>, <c>val_list.txt</c>, <c>test_list.txt</c>) with whitespace-separated
/// <c>image label</c> lines relative to the folder, and <c>labels.txt</c> with one class name per line
/// (their count is the class count). Equivalent to <c>paddlex.datasets.SegDataset(data_dir, file_list,
/// label_list, transforms)</c>.
/// </summary>
public sealed class PaddleXSegDataset : FileSegDataset
{
    /// <summary>Reads <paramref name="fileList"/> and <paramref name="labelList"/> (both relative to <paramref name="dataDir"/> unless absolute).</summary>
    public PaddleXSegDataset(string dataDir, string fileList, string labelList = "labels.txt",
        DatasetMode mode = DatasetMode.Train, ISegTransform? transforms = null, int? imageChannels = 3)
        : this(dataDir, fileList, ReadClassNames(dataDir, labelList), mode, transforms, imageChannels)
    {
    }

    private PaddleXSegDataset(string dataDir, string fileList, IReadOnlyList<string> classNames, DatasetMode mode,
        ISegTransform? transforms, int? imageChannels)
        : base(FileListDataset.Parse(dataDir, Path.Combine(dataDir, fileList), " ", mode, whitespaceSplit: true), classNames.Count,
            mode, transforms, SegSample.IgnoreIndex, imageChannels, LabelEncoding.ClassIds, classNames)
    {
        DataDir = dataDir;
    }

    /// <summary>Opens the standard split list of a PaddleX folder (<c>train_list.txt</c>, <c>val_list.txt</c> or <c>test_list.txt</c>).</summary>
    public static PaddleXSegDataset Open(string dataDir, DatasetMode mode, ISegTransform? transforms = null) =>
        new(dataDir, mode switch
        {
            DatasetMode.Train => "train_list.txt",
            DatasetMode.Val => "val_list.txt",
            _ => "test_list.txt",
        }, "labels.txt", mode, transforms);

    /// <summary>The dataset folder.</summary>
    public string DataDir { get; }

    private static List<string> ReadClassNames(string dataDir, string labelList)
    {
        string path = Path.Combine(dataDir, labelList);
        RequireFile(path, "Class list");
        var names = File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (names.Count == 0)
            throw new InvalidDataException($"Class list {path} names no classes.");
        return names;
    }
}
