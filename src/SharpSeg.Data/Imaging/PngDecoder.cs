using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace SharpSeg.Data;

/// <summary>
/// Decodes PNG files (ISO/IEC 15948): every colour type and bit depth, Adam7 interlacing, all five filters,
/// split IDAT data, with CRC checks. 1–8-bit samples decode to <see cref="Image{T}"/> of <see cref="byte"/>
/// (sub-byte samples keep their values, they are not rescaled), 16-bit samples to <see cref="ushort"/>.
/// Palette images give their indices by default, as <c>np.asarray(PIL.Image.open(p))</c> does for mode "P";
/// transparency (tRNS) is ignored.
/// </summary>
public static class PngDecoder
{
    internal static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // Deflate cannot expand data more than about 1032:1; checking first keeps a corrupt header from
    // allocating gigabytes for pixel data that is not there.
    private const int MaxDeflateRatio = 1100;

    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7Passes =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <summary>True when <paramref name="data"/> starts with the PNG signature.</summary>
    public static bool IsPng(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    /// <summary>Decodes a whole PNG file held in memory.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <param name="nameForErrors">Named in every exception message.</param>
    /// <param name="options">Palette handling and channel order; null for the defaults.</param>
    /// <exception cref="ImageFormatException">The data is not a valid PNG or is beyond <see cref="ImageLimits"/>.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions? options = null) =>
        Decode(data, nameForErrors, options ?? ImageReadOptions.Default, ReadLimits.Current);

    internal static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions options, ReadLimits limits)
    {
        if (!IsPng(data))
            throw new ImageFormatException(nameForErrors, "bad PNG signature");

        var header = default(Header);
        bool haveHeader = false;
        byte[]? palette = null;
        using var compressed = new MemoryStream();
        int offset = Signature.Length;
        while (true)
        {
            if (data.Length - offset < 12)
                throw new ImageFormatException(nameForErrors, $"truncated at offset {offset}: chunk header missing (no IEND)");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
            var typeBytes = data.Slice(offset + 4, 4);
            string type = System.Text.Encoding.ASCII.GetString(typeBytes);
            if (length > int.MaxValue || length > data.Length - offset - 12)
                throw new ImageFormatException(nameForErrors,
                    $"truncated at offset {offset}: chunk {type} declares {length} bytes, {Math.Max(0, data.Length - offset - 12)} remain");
            var body = data.Slice(offset + 8, (int)length);
            uint storedCrc = BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 8 + (int)length)..]);
            uint actualCrc = Crc32.Compute(body, Crc32.Compute(typeBytes));
            if (storedCrc != actualCrc)
                throw new ImageFormatException(nameForErrors,
                    $"CRC mismatch in chunk {type} at offset {offset} (stored 0x{storedCrc:X8}, computed 0x{actualCrc:X8})");
            offset += 12 + (int)length;

            if (!haveHeader && type != "IHDR")
                throw new ImageFormatException(nameForErrors, $"first chunk is {type}, expected IHDR");
            switch (type)
            {
                case "IHDR":
                    header = ReadHeader(body, nameForErrors, options, limits);
                    haveHeader = true;
                    break;
                case "PLTE":
                    if (length % 3 != 0 || length == 0 || length > 768)
                        throw new ImageFormatException(nameForErrors, $"PLTE chunk has {length} bytes, expected 3 to 768 in multiples of 3");
                    palette = body.ToArray();
                    break;
                case "IDAT":
                    compressed.Write(body);
                    break;
                case "IEND":
                    return BuildImage(compressed, header, palette, nameForErrors, options);
                default:
                    if (char.IsUpper(type[0]))
                        throw new ImageFormatException(nameForErrors, $"unknown critical chunk {type} at offset {offset - 12 - (int)length}");
                    break;
            }
        }
    }

    private readonly record struct Header(int Width, int Height, int BitDepth, int ColourType, bool Interlaced)
    {
        public int SamplesPerPixel => ColourType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        public int BitsPerPixel => SamplesPerPixel * BitDepth;
        public long RowBytes(int width) => ((long)width * BitsPerPixel + 7) / 8;
    }

    private static Header ReadHeader(ReadOnlySpan<byte> body, string name, ImageReadOptions options, ReadLimits limits)
    {
        if (body.Length != 13)
            throw new ImageFormatException(name, $"IHDR chunk has {body.Length} bytes, expected 13");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(body);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        int bitDepth = body[8], colourType = body[9];
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw new ImageFormatException(name, $"invalid PNG size {width}×{height}");
        bool depthAllowed = colourType switch
        {
            0 => bitDepth is 1 or 2 or 4 or 8 or 16,
            3 => bitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => bitDepth is 8 or 16,
            _ => throw new ImageFormatException(name, $"invalid PNG colour type {colourType}"),
        };
        if (!depthAllowed)
            throw new ImageFormatException(name, $"bit depth {bitDepth} is not allowed for PNG colour type {colourType}");
        if (body[10] != 0 || body[11] != 0)
            throw new ImageFormatException(name, $"unsupported PNG compression method {body[10]} or filter method {body[11]}");
        if (body[12] > 1)
            throw new ImageFormatException(name, $"invalid PNG interlace method {body[12]}");
        var header = new Header((int)width, (int)height, bitDepth, colourType, body[12] == 1);
        // Before any pixel memory exists; palette expansion and ForceRgb turn the samples into 3 channels.
        bool toRgb = options.ForceRgb || colourType == 3 && options.Palette == PaletteMode.Rgb;
        limits.CheckSize(width, height, Math.Max(header.SamplesPerPixel, toRgb ? 3 : 1), name, "PNG");
        return header;
    }

    private static Image BuildImage(MemoryStream compressed, Header header, byte[]? palette, string name, ImageReadOptions options)
    {
        if (header.ColourType == 3 && palette is null)
            throw new ImageFormatException(name, "palette PNG has no PLTE chunk");
        if (compressed.Length == 0)
            throw new ImageFormatException(name, "PNG has no IDAT chunk");

        var passes = header.Interlaced ? Adam7Passes : [(0, 0, 1, 1)];
        long rawLength = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            int passWidth = PassExtent(header.Width, x0, dx), passHeight = PassExtent(header.Height, y0, dy);
            if (passWidth > 0 && passHeight > 0)
                rawLength += passHeight * (1 + header.RowBytes(passWidth));
        }
        if (rawLength > Array.MaxLength)
            throw new ImageFormatException(name, $"PNG of {header.Width}×{header.Height} is too large");
        if (rawLength / MaxDeflateRatio > compressed.Length)
            throw new ImageFormatException(name,
                $"IDAT data truncated: {compressed.Length} bytes of zlib data cannot hold the {rawLength} bytes of a {header.Width}×{header.Height} image");
        byte[] raw = Inflate(compressed, (int)rawLength, name);

        int channels = header.SamplesPerPixel;
        long count = (long)header.Width * header.Height * channels;
        var bytes = header.BitDepth == 16 ? [] : new byte[count];
        var words = header.BitDepth == 16 ? new ushort[count] : [];
        int position = 0;
        for (int pass = 0; pass < passes.Length; pass++)
        {
            var (x0, y0, dx, dy) = passes[pass];
            int passWidth = PassExtent(header.Width, x0, dx), passHeight = PassExtent(header.Height, y0, dy);
            if (passWidth == 0 || passHeight == 0)
                continue;
            int rowBytes = (int)header.RowBytes(passWidth);
            int filterStride = Math.Max(1, header.BitsPerPixel / 8);
            for (int row = 0; row < passHeight; row++)
            {
                int filter = raw[position];
                var current = raw.AsSpan(position + 1, rowBytes);
                var previous = row == 0 ? default : raw.AsSpan(position - rowBytes, rowBytes);
                if (filter > 4)
                    throw new ImageFormatException(name, $"invalid filter type {filter} in row {row} of {(header.Interlaced ? $"Adam7 pass {pass + 1}" : "the image")}");
                Unfilter(filter, current, previous, filterStride);
                int pixelRowStart = (y0 + row * dy) * header.Width;
                if (header.BitDepth == 16)
                    UnpackWords(current, words, channels, pixelRowStart, x0, dx, passWidth);
                else
                    UnpackBytes(current, bytes, channels, header.BitDepth, pixelRowStart, x0, dx, passWidth);
                position += 1 + rowBytes;
            }
        }
        if (header.ColourType == 3 && (options.Palette == PaletteMode.Rgb || options.ForceRgb))
            return ExpandPalette(bytes, header, palette!, name, options);
        if (!options.ForceRgb)
            return header.BitDepth == 16 ? Finish(words, header, options) : Finish(bytes, header, options);

        if (header.BitDepth == 16)
            bytes = Array.ConvertAll(words, w => (byte)(w >> 8));
        else if (header.BitDepth < 8)
            ScaleToByteRange(bytes, header.BitDepth);
        return ColourConversion.ToThreeChannels(Finish(bytes, header, options));
    }

    private static int PassExtent(int size, int start, int step) => size <= start ? 0 : (size - start + step - 1) / step;

    private static byte[] Inflate(MemoryStream compressed, int length, string name)
    {
        // PNG forbids zlib's preset dictionary (FDICT, bit 5 of the second byte); the runtime's inflater would stop
        // at it with a bare ZLibException.
        if (compressed.Length >= 2 && (compressed.GetBuffer()[1] & 0x20) != 0)
            throw new ImageFormatException(name, "the zlib data in IDAT asks for a preset dictionary, which PNG does not allow");
        var raw = new byte[length];
        compressed.Position = 0;
        int read = 0;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress, leaveOpen: true);
            while (read < length)
            {
                int n = zlib.Read(raw, read, length - read);
                if (n == 0)
                    break;
                read += n;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new ImageFormatException(name, $"corrupt zlib data in IDAT after {read} of {length} pixel-data bytes: {e.Message}", e);
        }
        if (read < length)
            throw new ImageFormatException(name, $"IDAT data truncated: inflated {read} of {length} pixel-data bytes");
        return raw;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unfilter(int filter, Span<byte> row, ReadOnlySpan<byte> previous, int stride)
    {
        if (previous.IsEmpty && filter is 2 or 3 or 4)
        {
            // On a pass's first row "up" is zero: Up is None, Average halves Left, Paeth picks Left.
            if (filter == 3)
                for (int i = stride; i < row.Length; i++)
                    row[i] += (byte)(row[i - stride] >> 1);
            else if (filter == 4)
                filter = 1;
            else
                return;
        }
        switch (filter)
        {
            case 1:
                for (int i = stride; i < row.Length; i++)
                    row[i] += row[i - stride];
                break;
            case 2:
                for (int i = 0; i < row.Length; i++)
                    row[i] += previous[i];
                break;
            case 3 when !previous.IsEmpty:
                for (int i = 0; i < stride; i++)
                    row[i] += (byte)(previous[i] >> 1);
                for (int i = stride; i < row.Length; i++)
                    row[i] += (byte)((row[i - stride] + previous[i]) >> 1);
                break;
            case 4:
                for (int i = 0; i < stride; i++)
                    row[i] += previous[i];
                for (int i = stride; i < row.Length; i++)
                    row[i] += (byte)Paeth(row[i - stride], previous[i], previous[i - stride]);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Paeth(int left, int up, int upLeft)
    {
        int p = left + up - upLeft;
        int pa = Math.Abs(p - left), pb = Math.Abs(p - up), pc = Math.Abs(p - upLeft);
        return pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnpackBytes(ReadOnlySpan<byte> row, byte[] samples, int channels, int bitDepth, int pixelRowStart, int x0, int dx, int count)
    {
        if (bitDepth == 8)
        {
            if (dx == 1)
            {
                row[..(count * channels)].CopyTo(samples.AsSpan((pixelRowStart + x0) * channels));
                return;
            }
            for (int i = 0; i < count; i++)
                row.Slice(i * channels, channels).CopyTo(samples.AsSpan((pixelRowStart + x0 + i * dx) * channels));
            return;
        }
        int mask = (1 << bitDepth) - 1;
        for (int i = 0; i < count; i++)
        {
            int bit = i * bitDepth;
            samples[pixelRowStart + x0 + i * dx] = (byte)((row[bit >> 3] >> (8 - bitDepth - (bit & 7))) & mask);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnpackWords(ReadOnlySpan<byte> row, ushort[] samples, int channels, int pixelRowStart, int x0, int dx, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var target = samples.AsSpan((pixelRowStart + x0 + i * dx) * channels, channels);
            for (int c = 0; c < channels; c++)
                target[c] = BinaryPrimitives.ReadUInt16BigEndian(row[((i * channels + c) * 2)..]);
        }
    }

    // libpng's png_set_expand_gray_1_2_4_to_8 (and Pillow's "L;2"/"L;4" modes): a value times 255 / (2^depth - 1).
    private static void ScaleToByteRange(byte[] samples, int bitDepth)
    {
        int scale = 255 / ((1 << bitDepth) - 1);
        for (int i = 0; i < samples.Length; i++)
            samples[i] = (byte)(samples[i] * scale);
    }

    private static Image ExpandPalette(byte[] indices, Header header, byte[] palette, string name, ImageReadOptions options)
    {
        bool swap = options.ChannelOrder == ChannelOrder.Bgr;
        int entries = palette.Length / 3;
        var rgb = new byte[indices.Length * 3];
        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            if (index >= entries)
                throw new ImageFormatException(name,
                    $"palette index {index} at row {i / header.Width}, column {i % header.Width} is outside the {entries}-entry PLTE");
            rgb[3 * i] = palette[3 * index + (swap ? 2 : 0)];
            rgb[3 * i + 1] = palette[3 * index + 1];
            rgb[3 * i + 2] = palette[3 * index + (swap ? 0 : 2)];
        }
        return new Image<byte>(header.Height, header.Width, 3, rgb);
    }

    private static Image<T> Finish<T>(T[] samples, Header header, ImageReadOptions options)
        where T : unmanaged, System.Numerics.INumber<T>
    {
        int channels = header.SamplesPerPixel;
        if (options.ChannelOrder == ChannelOrder.Bgr && channels >= 3)
            for (int i = 0; i < samples.Length; i += channels)
                (samples[i], samples[i + 2]) = (samples[i + 2], samples[i]);
        return new Image<T>(header.Height, header.Width, channels, samples);
    }
}
