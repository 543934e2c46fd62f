using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Datasets;

/// <summary>Which split a dataset serves; only <see cref="Test"/> allows samples without labels.</summary>
public enum DatasetMode
{
    /// <summary>Training split: every sample needs a label.</summary>
    Train,
    /// <summary>Evaluation split: every sample needs a label.</summary>
    Val,
    /// <summary>Prediction: labels are optional.</summary>
    Test,
}

/// <summary>
/// A finite, indexable set of (image, label) samples with a class count, an ignore index and an optional
/// transform pipeline. Equivalent to <c>paddleseg.datasets.Dataset</c> / <c>paddlex.datasets.SegDataset</c>
/// (and a map-style <c>torch.utils.data.Dataset</c>).
/// </summary>
public abstract class SegDataset
{
    /// <summary>Creates the dataset description.</summary>
    protected SegDataset(int numClasses, DatasetMode mode, ISegTransform? transforms, int ignoreIndex)
    {
        if (numClasses <= 0)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be positive.");
        NumClasses = numClasses;
        Mode = mode;
        Transforms = transforms;
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>Number of samples (<c>len(dataset)</c>).</summary>
    public abstract int Count { get; }

    /// <summary>Number of classes; valid label values are 0 … NumClasses − 1 and <see cref="IgnoreIndex"/>.</summary>
    public int NumClasses { get; }

    /// <summary>Label value excluded from losses and metrics (PaddleSeg's <c>ignore_index</c>, 255).</summary>
    public int IgnoreIndex { get; }

    /// <summary>The split this dataset serves.</summary>
    public DatasetMode Mode { get; }

    /// <summary>Applied by <see cref="Get"/> after loading; null for raw samples.</summary>
    public ISegTransform? Transforms { get; }

    /// <summary>Class names when the format provides them (PaddleX <c>labels.txt</c>), else null.</summary>
    public virtual IReadOnlyList<string>? ClassNames => null;

    /// <summary>A name for sample <paramref name="index"/> in error messages (its image file, usually).</summary>
    public abstract string SourceName(int index);

    /// <summary>Loads sample <paramref name="index"/> without validating its label.</summary>
    protected abstract SegSample LoadUnchecked(int index);

    /// <summary>
    /// Loads sample <paramref name="index"/> and validates its label: a value that is neither a class id nor
    /// <see cref="IgnoreIndex"/> throws <see cref="InvalidDataException"/> naming the file, the value and the class count.
    /// </summary>
    public SegSample Load(int index)
    {
        CheckIndex(index);
        var sample = LoadUnchecked(index);
        if (sample.Label is { } label && FirstBadLabel(label) is { } bad)
            throw new InvalidDataException(
                $"Label {sample.LabelPath ?? SourceName(index)} has value {label.Pixels[bad]} at row {bad / label.Width}, " +
                $"column {bad % label.Width}, but the dataset has {NumClasses} classes (valid values 0..{NumClasses - 1} " +
                $"and ignore index {IgnoreIndex}).");
        if (sample.Label is null && Mode != DatasetMode.Test)
            throw new InvalidDataException($"Sample {SourceName(index)} has no label, which {Mode} mode needs.");
        return sample;
    }

    /// <summary>The validated, untransformed sample <paramref name="index"/> (same as <see cref="Load"/>).</summary>
    public SegSample this[int index] => Load(index);

    /// <summary>Loads sample <paramref name="index"/> and applies <see cref="Transforms"/>, drawing from <paramref name="random"/>.
    /// Equivalent to <c>dataset[index]</c> in PaddleSeg.</summary>
    public SegSample Get(int index, Random random)
    {
        var sample = Load(index);
        Transforms?.Apply(sample, random);
        return sample;
    }

    private int? FirstBadLabel(Image<int> label)
    {
        var pixels = label.Pixels;
        for (int i = 0; i < pixels.Length; i++)
            if ((uint)pixels[i] >= (uint)NumClasses && pixels[i] != IgnoreIndex)
                return i;
        return null;
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {Count} samples.");
    }

    /// <summary>
    /// Reads every sample and reports image sizes, the images' bit depths and value ranges (as read, before the
    /// transforms), the class pixel histogram and every label value that is out of range (without throwing for them), so
    /// a broken dataset can be diagnosed in one pass.
    /// </summary>
    public DatasetDescription Describe()
    {
        var sizes = new SortedDictionary<(int Height, int Width, int Channels), int>();
        var ranges = new SortedDictionary<SampleType, ImageValueRange>();
        var histogram = new long[NumClasses];
        long ignored = 0;
        var bad = new List<BadLabel>();
        int unlabeled = 0;
        for (int i = 0; i < Count; i++)
        {
            var sample = LoadUnchecked(i);
            var key = (sample.Image.Height, sample.Image.Width, sample.Image.Channels);
            sizes[key] = sizes.GetValueOrDefault(key) + 1;
            var range = ImageValueRange.Of(sample);
            ranges[range.SampleType] = ranges.TryGetValue(range.SampleType, out var seen) ? seen.Merge(range) : range;
            if (sample.Label is null)
            {
                unlabeled++;
                continue;
            }
            var badValues = new SortedDictionary<int, long>();
            foreach (int value in sample.Label.Pixels)
            {
                if ((uint)value < (uint)NumClasses)
                    histogram[value]++;
                else if (value == IgnoreIndex)
                    ignored++;
                else
                    badValues[value] = badValues.GetValueOrDefault(value) + 1;
            }
            foreach (var (value, pixels) in badValues)
                bad.Add(new BadLabel(sample.LabelPath ?? SourceName(i), value, pixels));
        }
        return new DatasetDescription(Count, NumClasses, IgnoreIndex,
            [.. sizes.Select(kv => new ImageSizeCount(kv.Key.Height, kv.Key.Width, kv.Key.Channels, kv.Value))], [.. ranges.Values],
            histogram, ignored, unlabeled, bad);
    }
}

/// <summary>How many images of the dataset have one size.</summary>
public readonly record struct ImageSizeCount(int Height, int Width, int Channels, int Images);

/// <summary>
/// How many images of a dataset are stored in one sample type, and the smallest and largest value over all their samples
/// as read (before the transforms): what <see cref="Transforms.Normalize"/>'s <c>min_val</c>/<c>max_val</c> should cover.
/// </summary>
/// <param name="SampleType">The stored sample type; <see cref="SampleType.Float32"/> for samples not read from a file.</param>
/// <param name="Images">Images of that type.</param>
/// <param name="Min">Smallest sample value.</param>
/// <param name="Max">Largest sample value.</param>
public readonly record struct ImageValueRange(SampleType SampleType, int Images, float Min, float Max)
{
    /// <summary>"8-bit", "16-bit", "32-bit integer" or "32-bit float".</summary>
    public string BitDepth => SampleType switch
    {
        SampleType.UInt8 => "8-bit",
        SampleType.UInt16 => "16-bit",
        SampleType.Int32 => "32-bit integer",
        _ => "32-bit float",
    };

    /// <summary>The range of one sample's image.</summary>
    public static ImageValueRange Of(SegSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float value in sample.Image.Pixels)
        {
            min = MathF.Min(min, value);
            max = MathF.Max(max, value);
        }
        return new ImageValueRange(sample.StoredSampleType ?? SampleType.Float32, 1, min, max);
    }

    /// <summary>The range of these images and <paramref name="other"/>'s together (same sample type).</summary>
    /// <exception cref="ArgumentException">The sample types differ.</exception>
    public ImageValueRange Merge(ImageValueRange other) => other.SampleType == SampleType
        ? new ImageValueRange(SampleType, Images + other.Images, MathF.Min(Min, other.Min), MathF.Max(Max, other.Max))
        : throw new ArgumentException($"Cannot merge the value range of {other.BitDepth} images into that of {BitDepth} images.", nameof(other));

    /// <summary>"16-bit: 12 images, values 0–4095".</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{BitDepth}: {Images} image{(Images == 1 ? "" : "s")}, values {Min}–{Max}");
}

/// <summary>A label file holding a value that is not a class id nor the ignore index.</summary>
public readonly record struct BadLabel(string File, int Value, long Pixels);

/// <summary>The result of <see cref="SegDataset.Describe"/>.</summary>
/// <param name="Samples">Number of samples.</param>
/// <param name="NumClasses">Class count the labels were checked against.</param>
/// <param name="IgnoreIndex">The ignored label value.</param>
/// <param name="ImageSizes">Distinct image sizes with their counts.</param>
/// <param name="ValueRanges">Per stored sample type (8-bit, 16-bit, …), the images and their value range, as read.</param>
/// <param name="ClassPixels">Pixels per class id.</param>
/// <param name="IgnoredPixels">Pixels labelled with the ignore index.</param>
/// <param name="UnlabeledSamples">Samples without a label file.</param>
/// <param name="BadLabels">Out-of-range label values per file.</param>
public sealed record DatasetDescription(int Samples, int NumClasses, int IgnoreIndex,
    IReadOnlyList<ImageSizeCount> ImageSizes, IReadOnlyList<ImageValueRange> ValueRanges, IReadOnlyList<long> ClassPixels, long IgnoredPixels,
    int UnlabeledSamples, IReadOnlyList<BadLabel> BadLabels)
{
    /// <summary>A human-readable report.</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"{Samples} samples, {NumClasses} classes, ignore index {IgnoreIndex}");
        text.AppendLine("image sizes (h×w×c): " +
            string.Join(", ", ImageSizes.Select(s => $"{s.Height}×{s.Width}×{s.Channels} ({s.Images})")));
        text.AppendLine("image values: " + string.Join("; ", ValueRanges));
        long total = ClassPixels.Sum() + IgnoredPixels;
        for (int c = 0; c < ClassPixels.Count; c++)
            text.AppendLine($"class {c}: {ClassPixels[c]} pixels ({(total == 0 ? 0 : 100.0 * ClassPixels[c] / total):F2} %)");
        text.AppendLine($"ignored: {IgnoredPixels} pixels");
        if (UnlabeledSamples > 0)
            text.AppendLine($"{UnlabeledSamples} samples without a label");
        text.AppendLine(BadLabels.Count == 0 ? "no bad labels" : $"{BadLabels.Count} bad label values:");
        foreach (var bad in BadLabels)
            text.AppendLine($"  {bad.File}: value {bad.Value} in {bad.Pixels} pixels (≥ {NumClasses} classes)");
        return text.ToString();
    }
}
