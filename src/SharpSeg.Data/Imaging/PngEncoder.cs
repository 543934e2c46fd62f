using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpSeg.Data;

/// <summary>Options for <see cref="PngEncoder"/>.</summary>
public sealed record PngWriteOptions
{
    /// <summary>The defaults: no palette, <see cref="System.IO.Compression.CompressionLevel.Optimal"/>.</summary>
    public static PngWriteOptions Default { get; } = new();

    /// <summary>
    /// RGB triples (at most 256) to write a 1-channel 8-bit image as an indexed-colour PNG, the way PaddleSeg's
    /// <c>get_pseudo_color_map</c> saves predictions (<c>PIL.Image.fromarray(mask, "P").putpalette(...)</c>).
    /// </summary>
    public byte[]? Palette { get; init; }

    /// <summary>zlib effort; PNG files decode the same at every level.</summary>
    public CompressionLevel Compression { get; init; } = CompressionLevel.Optimal;
}

/// <summary>
/// Encodes images as PNG, like <c>PIL.Image.save(p, "PNG")</c> or <c>cv2.imwrite</c>. Byte images with 1, 2,
/// 3 or 4 channels become 8-bit gray, gray+alpha, RGB or RGBA; ushort images become the 16-bit variants;
/// 1-channel int images (label maps) whose values all lie in 0..255 become 8-bit gray; a palette in the
/// options turns a 1-channel image into an indexed-colour PNG.
/// </summary>
public static class PngEncoder
{
    private const int IdatChunkBytes = 1 << 20;

    /// <summary>Encodes <paramref name="image"/> into a new byte array.</summary>
    public static byte[] Encode(Image image, PngWriteOptions? options = null)
    {
        using var stream = new MemoryStream();
        Encode(image, stream, options);
        return stream.ToArray();
    }

    /// <summary>Writes <paramref name="image"/> as a PNG file to <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">The image's sample type, channels or values have no PNG form.</exception>
    public static void Encode(Image image, Stream output, PngWriteOptions? options = null)
    {
        options ??= PngWriteOptions.Default;
        int bitDepth = BitDepth(image);
        int channels = image.Channels;
        int colourType = channels switch { 1 => 0, 2 => 4, 3 => 2, 4 => 6, _ => -1 };
        if (colourType < 0)
            throw new ArgumentException($"PNG holds 1 to 4 channels, the image has {channels}.", nameof(image));
        if (options.Palette is { } palette)
        {
            if (channels != 1 || bitDepth != 8)
                throw new ArgumentException(
                    $"A palette PNG needs a 1-channel image with values 0..255, got {channels} channel(s) of {image.SampleType}.", nameof(image));
            if (palette.Length == 0 || palette.Length % 3 != 0 || palette.Length > 768)
                throw new ArgumentException($"The palette must hold 1 to 256 RGB triples, got {palette.Length} bytes.", nameof(options));
            int entries = palette.Length / 3;
            for (int i = 0; i < image.Height * image.Width; i++)
                if (PaletteIndex(image, i) >= entries)
                    throw new ArgumentException(
                        $"Pixel value {PaletteIndex(image, i)} at row {i / image.Width}, column {i % image.Width} has no entry in the {entries}-colour palette.",
                        nameof(image));
            colourType = 3;
        }

        output.Write(PngDecoder.Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], image.Height);
        header[8] = (byte)bitDepth;
        header[9] = (byte)colourType;
        WriteChunk(output, "IHDR", header);
        if (colourType == 3)
            WriteChunk(output, "PLTE", options.Palette);

        using var compressedStream = Compress(image, bitDepth, options.Compression);
        var compressed = compressedStream.GetBuffer().AsSpan(0, (int)compressedStream.Length);
        for (int start = 0; start < compressed.Length; start += IdatChunkBytes)
            WriteChunk(output, "IDAT", compressed.Slice(start, Math.Min(IdatChunkBytes, compressed.Length - start)));
        WriteChunk(output, "IEND", []);
    }

    /// <summary>The PNG bit depth of <paramref name="image"/>'s samples, checking that they have one.</summary>
    private static int BitDepth(Image image)
    {
        switch (image)
        {
            case Image<byte>:
                return 8;
            case Image<ushort>:
                return 16;
            case Image<int> labels:
                if (labels.Channels != 1)
                    throw new ArgumentException($"Only 1-channel int images (label maps) can be written as PNG, the image has {labels.Channels} channels.", nameof(image));
                for (int i = 0; i < labels.Pixels.Length; i++)
                    if ((uint)labels.Pixels[i] > 255)
                        throw new ArgumentException(
                            $"Label value {labels.Pixels[i]} at row {i / labels.Width}, column {i % labels.Width} does not fit an 8-bit PNG (0..255); convert to a ushort image for 16-bit.", nameof(image));
                return 8;
            default:
                throw new ArgumentException($"PNG stores byte, ushort or 0..255 int samples, not {image.SampleType}; convert the image first.", nameof(image));
        }
    }

    /// <summary>Sample <paramref name="index"/> of a 1-channel byte or int image (what a palette PNG holds).</summary>
    private static int PaletteIndex(Image image, int index) => image is Image<byte> bytes ? bytes.Pixels[index] : ((Image<int>)image).Pixels[index];

    /// <summary>Row <paramref name="y"/> of <paramref name="image"/> as PNG bytes (16-bit samples big-endian), read in place so no copy of the image is made.</summary>
    private static void ReadRow(Image image, int y, byte[] row)
    {
        int samplesPerRow = image.Width * image.Channels, start = y * samplesPerRow;
        switch (image)
        {
            case Image<byte> bytes:
                Array.Copy(bytes.Pixels, start, row, 0, samplesPerRow);
                break;
            case Image<ushort> words:
                for (int i = 0; i < samplesPerRow; i++) BinaryPrimitives.WriteUInt16BigEndian(row.AsSpan(2 * i), words.Pixels[start + i]);
                break;
            default:
                var labels = ((Image<int>)image).Pixels;
                for (int i = 0; i < samplesPerRow; i++) row[i] = (byte)labels[start + i];
                break;
        }
    }

    private static MemoryStream Compress(Image image, int bitDepth, CompressionLevel level)
    {
        int bytesPerSample = bitDepth / 8;
        int rowBytes = image.Width * image.Channels * bytesPerSample, stride = image.Channels * bytesPerSample;
        var previous = new byte[rowBytes];
        var current = new byte[rowBytes];
        var candidate = new byte[rowBytes + 1];
        var best = new byte[rowBytes + 1];
        var buffer = new MemoryStream();
        using (var zlib = new ZLibStream(buffer, level, leaveOpen: true))
        {
            for (int y = 0; y < image.Height; y++)
            {
                ReadRow(image, y, current);
                ChooseFilter(current, y == 0 ? default : previous, stride, candidate, best);
                zlib.Write(best);
                (previous, current) = (current, previous);
            }
        }
        return buffer;
    }

    // libpng's heuristic: the filter whose output has the smallest sum of absolute (signed) byte values.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChooseFilter(byte[] row, ReadOnlySpan<byte> previous, int stride, byte[] candidate, byte[] best)
    {
        if (previous.IsEmpty)
            previous = new byte[row.Length];
        long bestScore = long.MaxValue;
        var filtered = candidate.AsSpan(1);
        for (int filter = 0; filter <= 4; filter++)
        {
            candidate[0] = (byte)filter;
            switch (filter)
            {
                case 0:
                    row.CopyTo(filtered);
                    break;
                case 1:
                    row.AsSpan(0, stride).CopyTo(filtered);
                    for (int i = stride; i < row.Length; i++)
                        filtered[i] = (byte)(row[i] - row[i - stride]);
                    break;
                case 2:
                    for (int i = 0; i < row.Length; i++)
                        filtered[i] = (byte)(row[i] - previous[i]);
                    break;
                case 3:
                    for (int i = 0; i < stride; i++)
                        filtered[i] = (byte)(row[i] - (previous[i] >> 1));
                    for (int i = stride; i < row.Length; i++)
                        filtered[i] = (byte)(row[i] - ((row[i - stride] + previous[i]) >> 1));
                    break;
                default:
                    for (int i = 0; i < stride; i++)
                        filtered[i] = (byte)(row[i] - previous[i]);
                    for (int i = stride; i < row.Length; i++)
                        filtered[i] = (byte)(row[i] - PngDecoder.Paeth(row[i - stride], previous[i], previous[i - stride]));
                    break;
            }
            long score = 0;
            foreach (sbyte value in MemoryMarshal.Cast<byte, sbyte>(filtered))
                score += value < 0 ? -value : value;
            if (score < bestScore)
            {
                bestScore = score;
                candidate.CopyTo(best, 0);
            }
        }
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> body)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, body.Length);
        output.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        System.Text.Encoding.ASCII.GetBytes(type, typeBytes);
        output.Write(typeBytes);
        output.Write(body);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Compute(body, Crc32.Compute(typeBytes)));
        output.Write(word);
    }
}
