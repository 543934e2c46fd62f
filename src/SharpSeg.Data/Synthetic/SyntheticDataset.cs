using SharpSeg.Data.Datasets;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Synthetic;

/// <summary>Settings of a <see cref="SyntheticDataset"/>.</summary>
/// <param name="Count">Number of samples.</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="NumClasses">Classes including background (class 0); at least 2.</param>
/// <param name="Seed">Fixes every sample: the same seed and index always give the same pixels.</param>
/// <param name="MinShapes">Fewest foreground shapes per image.</param>
/// <param name="MaxShapes">Most foreground shapes per image.</param>
/// <param name="NoiseStd">Standard deviation of the per-pixel Gaussian noise, in 0–255 units.</param>
/// <param name="OccluderProbability">Chance per image of background-coloured bars drawn over the shapes.</param>
public sealed record SyntheticOptions(int Count = 64, int Height = 128, int Width = 128, int NumClasses = 5,
    int Seed = 0, int MinShapes = 2, int MaxShapes = 6, double NoiseStd = 6, double OccluderProbability = 0.5);

/// <summary>
/// A generated segmentation dataset that needs no download: on a textured background (class 0), each image
/// holds a few shapes whose class decides both their form (disk, rectangle, triangle, ring, ellipse, cross, …)
/// and their hue band, each with its own jittered colour and texture (flat, stripes, checker or speckle), partly
/// overlapping and occluded, plus pixel noise. Sample <c>i</c> depends only on (seed, i), so any sample can be
/// regenerated alone and in any order. SharpSeg's embedded default dataset (the role of PaddleSeg's
/// downloadable <c>optic_disc_seg</c> demo data).
/// </summary>
public sealed class SyntheticDataset : SegDataset
{
    /// <summary>Shape kinds, in the order classes 1, 2, … take them (cycling when there are more classes).</summary>
    public static IReadOnlyList<string> ShapeKinds { get; } = ["disk", "rectangle", "triangle", "ring", "ellipse", "cross"];

    /// <summary>Creates the dataset.</summary>
    public SyntheticDataset(SyntheticOptions? options = null, DatasetMode mode = DatasetMode.Train, ISegTransform? transforms = null)
        : base(CheckOptions(options ?? new SyntheticOptions()).NumClasses, mode, transforms, SegSample.IgnoreIndex)
    {
        Options = options ?? new SyntheticOptions();
        ClassNames = ["background", .. Enumerable.Range(1, Options.NumClasses - 1).Select(ClassName)];
    }

    /// <summary>The settings.</summary>
    public SyntheticOptions Options { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc />
    public override int Count => Options.Count;

    /// <inheritdoc />
    public override string SourceName(int index) => $"synthetic sample {index} (seed {Options.Seed})";

    /// <inheritdoc />
    protected override SegSample LoadUnchecked(int index) =>
        new ShapeScene(Options, new Random(SeedMixer.Mix(Options.Seed, index))).Render(SourceName(index));

    private static string ClassName(int classId)
    {
        string kind = ShapeKinds[(classId - 1) % ShapeKinds.Count];
        int round = (classId - 1) / ShapeKinds.Count;
        return round == 0 ? kind : $"{kind}_{round + 1}";
    }

    private static SyntheticOptions CheckOptions(SyntheticOptions options)
    {
        if (options.Count < 0 || options.Height <= 0 || options.Width <= 0)
            throw new ArgumentException($"Synthetic dataset needs Count ≥ 0 and a positive size, got {options}.");
        if (options.NumClasses is < 2 or > 255)
            throw new ArgumentException($"Synthetic dataset needs 2 to 255 classes (background included), got {options.NumClasses}.");
        if (options.MinShapes < 0 || options.MaxShapes < options.MinShapes)
            throw new ArgumentException($"Synthetic dataset needs 0 ≤ MinShapes ≤ MaxShapes, got {options.MinShapes}, {options.MaxShapes}.");
        if (!(options.NoiseStd >= 0) || !(options.OccluderProbability is >= 0 and <= 1))
            throw new ArgumentException($"Synthetic dataset needs NoiseStd ≥ 0 and OccluderProbability in [0, 1], got {options}.");
        return options;
    }

    /// <summary>
    /// Writes the generator's samples as a PaddleSeg file-list dataset: <c>images/NNNNNN.png</c> (RGB),
    /// <c>labels/NNNNNN.png</c> (8-bit class ids), <c>train.txt</c> and <c>val.txt</c> (<c>image label</c>
    /// per line), and <c>labels.txt</c> (class names). Samples 0 … trainCount − 1 form the training list and
    /// the next <paramref name="valCount"/> the validation list. Each file is written atomically.
    /// </summary>
    public static void WriteFileList(string root, SyntheticOptions options, int trainCount, int valCount)
    {
        if (trainCount < 0 || valCount < 0)
            throw new ArgumentException($"Sample counts must be ≥ 0, got train {trainCount}, val {valCount}.");
        var generator = new SyntheticDataset(options with { Count = trainCount + valCount });
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(Path.Combine(root, "labels"));
        var lines = new List<string>(trainCount + valCount);
        for (int i = 0; i < trainCount + valCount; i++)
        {
            var sample = generator.Load(i);
            string name = $"{i:D6}.png";
            ImageFile.WritePng(Path.Combine(root, "images", name), ToBytes(sample.Image));
            ImageFile.WritePng(Path.Combine(root, "labels", name), sample.Label!);
            lines.Add($"images/{name} labels/{name}");
        }
        AtomicFile.WriteAllText(Path.Combine(root, "train.txt"), Lines(lines.Take(trainCount)));
        AtomicFile.WriteAllText(Path.Combine(root, "val.txt"), Lines(lines.Skip(trainCount)));
        AtomicFile.WriteAllText(Path.Combine(root, "labels.txt"), Lines(generator.ClassNames));
    }

    private static Image<byte> ToBytes(Image<float> image)
    {
        var bytes = new byte[image.Pixels.Length];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)Math.Clamp(MathF.Round(image.Pixels[i]), 0, 255);
        return new Image<byte>(image.Height, image.Width, image.Channels, bytes);
    }

    private static string Lines(IEnumerable<string> lines) => string.Concat(lines.Select(line => line + "\n"));
}
