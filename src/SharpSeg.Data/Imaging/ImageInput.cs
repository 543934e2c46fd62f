using System.Numerics;

namespace SharpSeg.Data;

/// <summary>
/// Reads an image file as a model input. This is the one reading that training and evaluation datasets
/// (<see cref="Datasets.FileSegDataset"/>), prediction (<c>Segmenter.ReadImage</c>, <c>sharpseg predict</c>) and
/// <c>sharpseg describe</c> share, so a file reaches the model with the same values on every path.
/// </summary>
/// <remarks>
/// Samples keep their stored type and values: 8-bit images give 0–255, 16-bit PNGs 0–65535 (never cut to 8 bits),
/// NPY arrays their own values. PaddleSeg reads 16-bit images the same way (<c>cv2.IMREAD_UNCHANGED</c>), and PaddleX
/// (<c>cv2.IMREAD_ANYDEPTH</c>). Mapping the values to the model's range is the job of
/// <see cref="Transforms.Normalize"/>'s <c>min_val</c>/<c>max_val</c>, which are saved with the model's prediction
/// transforms. The channel count asked for decides the rest:
/// <list type="bullet">
/// <item>3: colour, as <c>cv2.imread(p, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)</c> and <see cref="ImageReadOptions.ForceRgb"/>
/// give it in RGB order: grey is repeated, alpha dropped, palettes expanded, and 1/2/4-bit grey scaled to 0–255.
/// 16-bit samples stay 16-bit.</item>
/// <item>1: the file's samples, with RGB(A) turned into luma (0.299 R + 0.587 G + 0.114 B, rounded) and the alpha of
/// grey+alpha dropped; palette images give their indices.</item>
/// <item>null: the file's samples and channels as decoded (see <see cref="ImageFile"/>).</item>
/// </list>
/// TIFF and NPY files are band stacks: a grey one is repeated into 3 channels, but more bands than asked for are refused,
/// never cut (a 4-band TIFF is not RGBA); read them with null and give the model as many input channels.
/// </remarks>
public static class ImageInput
{
    /// <summary>Reads <paramref name="path"/> with <paramref name="channels"/> channels (1, 3, or null to keep the file's).</summary>
    /// <exception cref="ImageFormatException">The file is corrupt, truncated or of an unknown format.</exception>
    /// <exception cref="InvalidDataException">The image's channels cannot be turned into <paramref name="channels"/>.</exception>
    public static Image Read(string path, int? channels) => Decode(File.ReadAllBytes(path), path, channels);

    /// <summary>Decodes an image held in memory as <see cref="Read"/> does.</summary>
    /// <exception cref="ImageFormatException">The data is corrupt, truncated or of an unknown format.</exception>
    /// <exception cref="InvalidDataException">The image's channels cannot be turned into <paramref name="channels"/>.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, int? channels)
    {
        CheckChannels(channels);
        // The decoder's colour conversion would cut 16-bit samples to their high byte; a 16-bit PNG is converted here instead.
        var options = channels == 3 && !IsSixteenBitPng(data) ? new ImageReadOptions { ForceRgb = true } : ImageReadOptions.Default;
        var image = ImageFile.Decode(data, nameForErrors, options);
        if (channels is not { } wanted)
            return image;
        // TIFF and NPY hold band stacks (multispectral, SAR, DEM...), not colour with alpha: cutting a fourth band as if it
        // were alpha, or mixing bands into luma, would train on less than the file holds without a word.
        if (IsBandStack(data) && image.Channels != wanted && !(image.Channels == 1 && wanted == 3))
            throw new InvalidDataException(
                $"Image {nameForErrors} has {image.Channels} bands, which are not reduced to {wanted} channel{(wanted == 1 ? "" : "s")} " +
                $"(only PNG/JPEG/BMP colour is converted); use a model that takes {image.Channels} input channels (sharpseg train --in-channels {image.Channels}).");
        return ConvertChannels(image, wanted, nameForErrors);
    }

    /// <summary>
    /// <paramref name="image"/> with <paramref name="channels"/> channels (1 or 3) and the same sample type: grey (and grey+alpha)
    /// repeated into three channels, alpha dropped, RGB(A) reduced to rounded luma. The image itself when it already has them.
    /// </summary>
    /// <exception cref="InvalidDataException">The conversion is not one of those (e.g. 5 bands to 3); the message names <paramref name="nameForErrors"/>.</exception>
    public static Image ConvertChannels(Image image, int channels, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckChannels(channels);
        return image switch
        {
            Image<byte> bytes => ConvertChannels(bytes, channels, nameForErrors),
            Image<ushort> words => ConvertChannels(words, channels, nameForErrors),
            Image<int> integers => ConvertChannels(integers, channels, nameForErrors),
            Image<float> floats => ConvertChannels(floats, channels, nameForErrors),
            _ => throw new NotSupportedException($"Image sample type {image.SampleType} is not supported."),
        };
    }

    private static Image<T> ConvertChannels<T>(Image<T> image, int wanted, string nameForErrors) where T : unmanaged, INumber<T>
    {
        int from = image.Channels, pixels = image.Height * image.Width;
        if (from == wanted)
            return image;
        var source = image.Pixels;
        var result = new Image<T>(image.Height, image.Width, wanted);
        var target = result.Pixels;
        if (from is 1 or 2 && wanted == 3)
        {
            for (int p = 0; p < pixels; p++)
                target[3 * p] = target[3 * p + 1] = target[3 * p + 2] = source[p * from];
        }
        else if (from == 4 && wanted == 3)
        {
            for (int p = 0; p < pixels; p++)
                source.AsSpan(4 * p, 3).CopyTo(target.AsSpan(3 * p));
        }
        else if (from is 3 or 4 && wanted == 1)
        {
            for (int p = 0; p < pixels; p++)
            {
                float luma = 0.299f * float.CreateTruncating(source[p * from]) + 0.587f * float.CreateTruncating(source[p * from + 1]) +
                             0.114f * float.CreateTruncating(source[p * from + 2]);
                target[p] = T.CreateSaturating(MathF.Round(luma));
            }
        }
        else if (from == 2 && wanted == 1)
        {
            for (int p = 0; p < pixels; p++)
                target[p] = source[2 * p];
        }
        else
            throw new InvalidDataException($"Image {nameForErrors} has {from} channels, which cannot be converted to {wanted}.");
        return result;
    }

    /// <summary>
    /// Whether <paramref name="data"/> is a PNG of 16-bit samples: the bit depth is byte 24 of the file, in the IHDR chunk that
    /// must come first (8-byte signature, 4-byte length, "IHDR", width, height, bit depth). Anything else is left to the decoder.
    /// </summary>
    private static bool IsSixteenBitPng(ReadOnlySpan<byte> data) => PngDecoder.IsPng(data) && data.Length > 24 && data[24] == 16;

    /// <summary>Whether <paramref name="data"/> is a TIFF or NPY file, whose channels are bands to keep, never colour to convert.</summary>
    internal static bool IsBandStack(ReadOnlySpan<byte> data) => TiffDecoder.IsTiff(data) || Npy.IsNpy(data);

    private static void CheckChannels(int? channels)
    {
        if (channels is not (null or 1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "An image input has 1 or 3 channels, or null for the file's own.");
    }
}
