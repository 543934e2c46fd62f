using System.CommandLine;
using System.Globalization;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Transforms;
using SharpSeg.Training;

namespace SharpSeg.Cli;

/// <summary>
/// <c>train</c>'s <c>--min-value</c>/<c>--max-value</c>: PaddleX's <c>Normalize(min_val, max_val)</c>, the per-band values
/// mapped to 0 and 1 before the mean and std are applied (default 0 and 255, the 8-bit range). Images reach
/// <see cref="Normalize"/> with their stored values (<see cref="ImageInput"/>), so 16-bit data needs its real range here;
/// the range is saved with the model in its prediction transforms, so evaluate and predict scale images as training did.
/// </summary>
internal sealed class ValueRangeArguments
{
    private readonly Option<string?> _minValue = new("--min-value")
    {
        Description = "Image value mapped to 0 before Normalize's mean/std (PaddleX's min_val): one number, or one per band separated by commas. Default 0.",
    };

    private readonly Option<string?> _maxValue = new("--max-value")
    {
        Description = "Image value mapped to 1 before Normalize's mean/std (PaddleX's max_val): one number, or one per band separated by commas. " +
                      "Default 255 (8-bit images); 16-bit images need it, e.g. 65535 or the data's real maximum, which describe reports.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_minValue);
        command.Options.Add(_maxValue);
    }

    /// <summary>
    /// PaddleSeg's default <see cref="Normalize"/> (mean and std 0.5) over the range the options give. For a model of
    /// other than 3 input channels the mean and std are one value for every band (the same numbers), as a 3-entry list
    /// would not fit its images.
    /// </summary>
    /// <exception cref="UsageException">A value is not a number, or a maximum is not above its minimum.</exception>
    public Normalize Normalize(ParseResult parse, int modelChannels = 3)
    {
        var defaults = new Normalize();
        var min = Parse(parse.GetValue(_minValue), "--min-value") ?? [.. defaults.MinValue];
        var max = Parse(parse.GetValue(_maxValue), "--max-value") ?? [.. defaults.MaxValue];
        if (min.Length != max.Length && min.Length != 1 && max.Length != 1)
            throw new UsageException($"--min-value has {min.Length} values and --max-value {max.Length}; give one value, or one per band, to each.");
        for (int band = 0; band < Math.Max(min.Length, max.Length); band++)
        {
            float low = min[min.Length == 1 ? 0 : band], high = max[max.Length == 1 ? 0 : band];
            if (!(high > low))
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"--max-value must be above --min-value for every band, but band {band} has min {low} and max {high}."));
        }
        return modelChannels == 3
            ? new Normalize(minValue: min, maxValue: max)
            : new Normalize(mean: [defaults.Mean[0]], std: [defaults.Std[0]], minValue: min, maxValue: max);
    }

    /// <summary>
    /// Refuses training data whose first image holds more than 8 bits per sample (16-bit PNG, integer NPY) when
    /// <c>--max-value</c> is not given: the 8-bit default would feed the model values hundreds of times too large, silently.
    /// Also checks that a per-band range has one value per image channel.
    /// </summary>
    /// <exception cref="UsageException">The range does not fit the data.</exception>
    public void CheckTrainingData(ParseResult parse, SegDataset train, Normalize normalize)
    {
        if (train.Count == 0) return;
        var sample = train.Load(0);
        int channels = sample.Image.Channels;
        foreach (var (option, values) in new[] { ("--min-value", normalize.MinValue), ("--max-value", normalize.MaxValue) })
            if (values.Count != 1 && values.Count != channels)
                throw new UsageException($"{option} has {values.Count} values but the images of the training split have {channels} channels ({sample.Source}).");
        if (sample.StoredSampleType is SampleType.UInt16 or SampleType.Int32 && parse.GetResult(_maxValue) is not { Implicit: false })
        {
            var range = ImageValueRange.Of(sample);
            string full = range.SampleType == SampleType.UInt16 ? "65535" : Format([range.Max]);
            throw new UsageException(
                $"{sample.Source} holds {range.BitDepth} samples (values {Format([range.Min])}–{Format([range.Max])} in this image), but without " +
                $"--max-value Normalize maps 0–255 to [0, 1], the 8-bit range. Pass --max-value {full} to normalise from the full range, or the " +
                "data's real maximum (sharpseg describe reports it); --max-value 255 keeps the 8-bit scaling.");
        }
    }

    /// <summary>
    /// Refuses resuming a checkpoint whose saved <see cref="Normalize"/> (its prediction transforms) has another value range
    /// than <paramref name="normalize"/>: the run would go on training on differently scaled images than it started with and
    /// than evaluate and predict will use.
    /// </summary>
    /// <exception cref="UsageException">The ranges differ.</exception>
    public static void CheckResume(Segmenter resumed, Normalize normalize, string folder)
    {
        if (Flatten(resumed.Transforms).OfType<Normalize>().FirstOrDefault() is not { } saved) return;
        if (saved.MinValue.SequenceEqual(normalize.MinValue) && saved.MaxValue.SequenceEqual(normalize.MaxValue)) return;
        throw new UsageException(
            $"--min-value/--max-value give {Format(normalize.MinValue)}–{Format(normalize.MaxValue)} but the checkpoint {folder} was trained with " +
            $"{Format(saved.MinValue)}–{Format(saved.MaxValue)} (its Normalize min_val/max_val); resume with --min-value {Format(saved.MinValue)} " +
            $"--max-value {Format(saved.MaxValue)}.");
    }

    private static IEnumerable<ISegTransform> Flatten(ISegTransform? transform) => transform switch
    {
        null => [],
        Compose compose => compose.Transforms.SelectMany(Flatten),
        _ => [transform],
    };

    private static string Format(IReadOnlyList<float> values) => string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));

    private static float[]? Parse(string? text, string optionName)
    {
        if (text is null) return null;
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]))
                throw new UsageException($"{optionName} expects numbers separated by commas (one, or one per band), got '{text}'.");
        return values;
    }
}
