using SharpSeg.Data;

namespace SharpSeg.Training.Visualization;

/// <summary>
/// Pictures of label maps: PaddleSeg's pseudo-colour palette, label and pseudo-colour PNG files, and the prediction
/// blended over the image. Equivalent to <c>paddleseg.utils.visualize</c> (<c>get_color_map_list</c>,
/// <c>get_pseudo_color_map</c>, <c>visualize(image, result, color_map, weight=0.6)</c>).
/// </summary>
public static class LabelVisualizer
{
    /// <summary>The default overlay weight of the image (PaddleSeg's <c>weight=0.6</c>).</summary>
    public const double DefaultImageWeight = 0.6;

    /// <summary>
    /// <paramref name="numClasses"/> RGB triples (flat, 3 bytes per class) of PaddleSeg 2.x's <c>get_color_map_list</c>:
    /// the Pascal VOC bit-interleaving palette shifted by one, so class 0 is (128, 0, 0), class 1 (0, 128, 0), class 2
    /// (128, 128, 0) and so on (PaddleSeg drops VOC's black entry).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The count is below 1 or above 256.</exception>
    public static byte[] Palette(int numClasses = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(numClasses, 256);
        var palette = new byte[numClasses * 3];
        for (int c = 0; c < numClasses; c++)
        {
            int label = c + 1, bit = 0;
            int r = 0, g = 0, b = 0;
            while (label != 0)
            {
                r |= (label & 1) << (7 - bit);
                g |= ((label >> 1) & 1) << (7 - bit);
                b |= ((label >> 2) & 1) << (7 - bit);
                bit++;
                label >>= 3;
            }
            palette[3 * c] = (byte)r;
            palette[3 * c + 1] = (byte)g;
            palette[3 * c + 2] = (byte)b;
        }
        return palette;
    }

    /// <summary>
    /// The label map as an RGB image, pixel value v coloured by <paramref name="palette"/> entry v (default
    /// <see cref="Palette"/> of 256 entries, so the ignore value 255 gets a colour too).
    /// </summary>
    /// <exception cref="ArgumentException">The label map has more than one channel, or a value has no palette entry.</exception>
    public static Image<byte> PseudoColor(Image<int> labelMap, byte[]? palette = null)
    {
        CheckLabelMap(labelMap);
        palette = CheckPalette(palette);
        int entries = palette.Length / 3;
        var result = new Image<byte>(labelMap.Height, labelMap.Width, 3);
        var labels = labelMap.Pixels;
        var rgb = result.Pixels;
        for (int i = 0; i < labels.Length; i++)
        {
            int v = labels[i];
            if ((uint)v >= (uint)entries)
                throw NoColour(labelMap, i, entries);
            rgb[3 * i] = palette[3 * v];
            rgb[3 * i + 1] = palette[3 * v + 1];
            rgb[3 * i + 2] = palette[3 * v + 2];
        }
        return result;
    }

    /// <summary>
    /// Writes the label map as an indexed-colour PNG whose pixel values are the class ids and whose palette is
    /// <paramref name="palette"/> (default <see cref="Palette"/>), as PaddleSeg's <c>get_pseudo_color_map(pred).save(path)</c>:
    /// viewers show colours, and reading the file back gives the ids.
    /// </summary>
    /// <exception cref="ArgumentException">The label map has more than one channel or a value outside 0…255.</exception>
    public static void WritePseudoColorPng(string path, Image<int> labelMap, byte[]? palette = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ImageFile.WritePng(path, ToBytes(labelMap), new PngWriteOptions { Palette = CheckPalette(palette) });
    }

    /// <summary>Writes the label map as an 8-bit greyscale PNG of class ids (PaddleX's saved <c>label_map</c>).</summary>
    /// <exception cref="ArgumentException">The label map has more than one channel or a value outside 0…255.</exception>
    public static void WriteLabelPng(string path, Image<int> labelMap)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ImageFile.WritePng(path, ToBytes(labelMap));
    }

    /// <summary>
    /// The pseudo-colour label map blended over <paramref name="image"/>: image × <paramref name="imageWeight"/> +
    /// colour × (1 − <paramref name="imageWeight"/>), rounded half to even and saturated to 0…255, as PaddleSeg's
    /// <c>visualize</c> does with <c>cv2.addWeighted</c>. A one-channel image is used as grey; 16-bit samples are shown by their
    /// high byte (as <c>cv2.imread(IMREAD_COLOR)</c> reads them), other samples as 0…255 values (int and float images are
    /// clamped, not rescaled).
    /// </summary>
    /// <exception cref="ArgumentException">The sizes differ, the image has neither 1 nor 3 or more channels, or the weight is outside [0, 1].</exception>
    public static Image<byte> Overlay(Image image, Image<int> labelMap, double imageWeight = DefaultImageWeight, byte[]? palette = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!(imageWeight is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(imageWeight), imageWeight, "The overlay's image weight must lie in [0, 1].");
        CheckLabelMap(labelMap);
        if (image.Height != labelMap.Height || image.Width != labelMap.Width)
            throw new ArgumentException($"Overlay: the image is {image.Height}×{image.Width} but the label map is {labelMap.Height}×{labelMap.Width}.", nameof(labelMap));
        if (image.Channels == 2)
            throw new ArgumentException("Overlay: a 2-channel image has no RGB reading; pass 1 (grey) or 3+ channels (the first three are RGB).", nameof(image));

        // Row by row, so an 8000×8000 overlay holds no float copy of the image and no pseudo-colour image besides its result.
        palette = CheckPalette(palette);
        int entries = palette.Length / 3, width = image.Width, channels = image.Channels;
        var result = new Image<byte>(image.Height, width, 3);
        var output = result.Pixels;
        var labels = labelMap.Pixels;
        var row = new float[width * channels];
        double colourWeight = 1 - imageWeight;
        for (int y = 0; y < image.Height; y++)
        {
            ReadRow(image, y, row);
            for (int x = 0; x < width; x++)
            {
                int p = y * width + x, v = labels[p];
                if ((uint)v >= (uint)entries)
                    throw NoColour(labelMap, p, entries);
                for (int c = 0; c < 3; c++)
                {
                    float sample = row[x * channels + (channels == 1 ? 0 : c)];
                    double blended = Math.Clamp(sample, 0f, 255f) * imageWeight + palette[3 * v + c] * colourWeight;
                    output[3 * p + c] = (byte)Math.Clamp(Math.Round(blended, MidpointRounding.ToEven), 0, 255);
                }
            }
        }
        return result;
    }

    /// <summary>Row <paramref name="y"/>'s samples as the overlay shows them: 16-bit by their high byte, others by value.</summary>
    private static void ReadRow(Image image, int y, float[] row)
    {
        int start = y * row.Length;
        switch (image)
        {
            case Image<byte> bytes:
                for (int i = 0; i < row.Length; i++) row[i] = bytes.Pixels[start + i];
                break;
            case Image<ushort> words:
                for (int i = 0; i < row.Length; i++) row[i] = words.Pixels[start + i] >> 8;
                break;
            case Image<int> ints:
                for (int i = 0; i < row.Length; i++) row[i] = ints.Pixels[start + i];
                break;
            case Image<float> floats:
                Array.Copy(floats.Pixels, start, row, 0, row.Length);
                break;
            default:
                throw new ArgumentException($"Overlay: images of {image.SampleType} samples are not supported.", nameof(image));
        }
    }

    private static ArgumentException NoColour(Image<int> labelMap, int index, int entries) =>
        new($"Label value {labelMap.Pixels[index]} at row {index / labelMap.Width}, column {index % labelMap.Width} has no colour in a palette of {entries} entries.",
            nameof(labelMap));

    private static Image<byte> ToBytes(Image<int> labelMap)
    {
        CheckLabelMap(labelMap);
        var labels = labelMap.Pixels;
        var bytes = new byte[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] > 255)
                throw new ArgumentException($"Label value {labels[i]} at row {i / labelMap.Width}, column {i % labelMap.Width} does not fit an 8-bit PNG.", nameof(labelMap));
            bytes[i] = (byte)labels[i];
        }
        return new Image<byte>(labelMap.Height, labelMap.Width, 1, bytes);
    }

    private static void CheckLabelMap(Image<int> labelMap)
    {
        ArgumentNullException.ThrowIfNull(labelMap);
        if (labelMap.Channels != 1)
            throw new ArgumentException($"A label map has one channel, got {labelMap.Channels}.", nameof(labelMap));
    }

    private static byte[] CheckPalette(byte[]? palette)
    {
        if (palette is null) return Palette();
        if (palette.Length == 0 || palette.Length % 3 != 0 || palette.Length > 768)
            throw new ArgumentException($"A palette holds 1 to 256 RGB triples, got {palette.Length} bytes.", nameof(palette));
        return palette;
    }
}
