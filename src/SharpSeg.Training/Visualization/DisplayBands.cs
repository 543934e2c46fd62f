using System.Globalization;
using System.Numerics;
using SharpSeg.Data;

namespace SharpSeg.Training.Visualization;

/// <summary>
/// Picks three bands of a multi-band image (multispectral TIFF, NPY stack) and scales them to 0…255 for an overlay or a
/// gallery, as a GIS shows a false-colour composite. Bands are numbered from 1, as GDAL numbers them
/// (<c>gdal_translate -b 3 -b 2 -b 1</c>, QGIS's band rendering); <c>3,2,1</c> shows bands 3, 2 and 1 as red, green and blue.
/// </summary>
/// <remarks>
/// Scaling: 8-bit bands are shown as stored. 16-bit and float bands are stretched linearly from a range to 0…255 per band:
/// the <see cref="Data.Transforms.Normalize"/> <c>min_val</c>/<c>max_val</c> saved with the model when there is one (the range
/// the model itself sees as 0…1, so the picture matches what it was trained on), otherwise the band's own minimum and maximum
/// in this image (a band with one value shows as 0).
/// </remarks>
public static class DisplayBands
{
    /// <summary>The bands shown when none are chosen: the first three (1-based 1, 2, 3), or the only one.</summary>
    public static IReadOnlyList<int> Default(int channels) => channels >= 3 ? [1, 2, 3] : [1];

    /// <summary>Parses <c>3,2,1</c> (1-based band numbers, one or three) and checks them against <paramref name="channels"/>.</summary>
    /// <exception cref="ArgumentException">Not one or three whole numbers, or a band outside 1…<paramref name="channels"/>; the message names <paramref name="optionName"/>.</exception>
    public static IReadOnlyList<int> Parse(string text, int channels, string optionName = "--display-bands")
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var bands = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out bands[i]))
                throw new ArgumentException($"{optionName} expects 1-based band numbers separated by commas (e.g. 3,2,1), got '{text}'.");
        if (bands.Length is not (1 or 3))
            throw new ArgumentException($"{optionName} takes three bands (red, green, blue) or one (grey), got {bands.Length} in '{text}'.");
        Check(bands, channels, optionName);
        return bands;
    }

    /// <summary>
    /// A 3-channel byte image of <paramref name="bands"/> (1-based; one band is repeated as grey) of <paramref name="image"/>, scaled
    /// as the remarks say. <paramref name="minValue"/>/<paramref name="maxValue"/> are the saved Normalize range (one value or one
    /// per band of the image), or null to use the image's own.
    /// </summary>
    /// <exception cref="ArgumentException">A band is outside the image's bands, or a range list has the wrong length.</exception>
    public static Image<byte> Compose(Image image, IReadOnlyList<int> bands, IReadOnlyList<float>? minValue = null, IReadOnlyList<float>? maxValue = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(bands);
        if (bands.Count is not (1 or 3))
            throw new ArgumentException($"Display bands are three (red, green, blue) or one (grey), got {bands.Count}.", nameof(bands));
        Check(bands, image.Channels, "display bands");
        return image switch
        {
            Image<byte> bytes => Compose(bytes, bands, null, null),
            Image<ushort> words => Compose(words, bands, minValue, maxValue),
            Image<int> ints => Compose(ints, bands, minValue, maxValue),
            Image<float> floats => Compose(floats, bands, minValue, maxValue),
            _ => throw new ArgumentException($"Display bands: images of {image.SampleType} samples are not supported.", nameof(image)),
        };
    }

    private static void Check(IReadOnlyList<int> bands, int channels, string what)
    {
        foreach (int band in bands)
            if (band < 1 || band > channels)
                throw new ArgumentException($"{what}: band {band} does not exist; the image has bands 1–{channels} (numbered from 1, as GDAL does).");
    }

    private static Image<byte> Compose<T>(Image<T> image, IReadOnlyList<int> bands, IReadOnlyList<float>? minValue, IReadOnlyList<float>? maxValue)
        where T : unmanaged, INumber<T>
    {
        int channels = image.Channels, pixels = image.Height * image.Width;
        var source = image.Pixels;
        var result = new Image<byte>(image.Height, image.Width, 3);
        var target = result.Pixels;
        for (int c = 0; c < 3; c++)
        {
            int band = bands[bands.Count == 1 ? 0 : c] - 1;
            float low, high;
            if (typeof(T) == typeof(byte))
                (low, high) = (0, 255);
            else if (minValue is not null && maxValue is not null)
                (low, high) = (RangeValue(minValue, band, channels, "min_val"), RangeValue(maxValue, band, channels, "max_val"));
            else
            {
                (low, high) = (float.PositiveInfinity, float.NegativeInfinity);
                for (int p = 0; p < pixels; p++)
                {
                    float value = float.CreateTruncating(source[p * channels + band]);
                    if (float.IsFinite(value))
                        (low, high) = (MathF.Min(low, value), MathF.Max(high, value));
                }
            }
            float scale = high > low ? 255f / (high - low) : 0f;
            for (int p = 0; p < pixels; p++)
            {
                float value = (float.CreateTruncating(source[p * channels + band]) - low) * scale;
                target[3 * p + c] = float.IsNaN(value) ? (byte)0 : (byte)Math.Clamp(MathF.Round(value, MidpointRounding.ToEven), 0f, 255f);
            }
        }
        return result;
    }

    private static float RangeValue(IReadOnlyList<float> values, int band, int channels, string name) =>
        values.Count == 1 ? values[0]
        : values.Count == channels ? values[band]
        : throw new ArgumentException($"Display bands: the saved Normalize {name} has {values.Count} values but the image has {channels} bands.");
}
