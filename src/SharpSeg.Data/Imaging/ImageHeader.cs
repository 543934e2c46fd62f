using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpSeg.Data;

/// <summary>An image file's size and channels as its header gives them; see <see cref="ImageHeader.Read"/>.</summary>
/// <param name="Format"><c>PNG</c>, <c>JPEG</c>, <c>BMP</c>, <c>NPY</c> or <c>TIFF</c>.</param>
/// <param name="Width">Columns of the image <see cref="ImageFile.Read(string, ImageReadOptions)"/> returns.</param>
/// <param name="Height">Rows of that image.</param>
/// <param name="Channels">Channels of that image, with the same options.</param>
public readonly record struct ImageInfo(string Format, int Width, int Height, int Channels);

/// <summary>
/// Reads an image file's size and channel count without decoding its pixels, to check a whole dataset in seconds before
/// training. Equivalent to Pillow's lazy <c>PIL.Image.open(p).size</c>. Besides the header it checks that the file holds
/// as many bytes as the header promises: PNG chunk headers are walked to <c>IEND</c>, BMP and NPY pixel data must be
/// present; compressed data itself is not decoded, so damage inside it shows only when <see cref="ImageFile"/> reads the
/// file. A header this probe does not interpret (an NPY array of another rank) is decoded in full instead, so the answer
/// is always the decoder's.
/// </summary>
public static partial class ImageHeader
{
    /// <summary>
    /// The size and channels <see cref="ImageFile.Read(string, ImageReadOptions)"/> would return for <paramref name="path"/>
    /// with <paramref name="options"/> (palette mode, <see cref="ImageReadOptions.ForceRgb"/>, EXIF orientation).
    /// </summary>
    /// <exception cref="ImageFormatException">The file is empty, truncated, of an unknown format, or its header is invalid.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static ImageInfo Read(string path, ImageReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= ImageReadOptions.Default;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess);
        var reader = new HeaderReader(stream, path);
        Span<byte> prefix = stackalloc byte[32];
        int have = reader.ReadUpTo(0, prefix);
        prefix = prefix[..have];
        if (have == 0)
            throw new ImageFormatException(path, "file is empty");
        ImageInfo? info = PngDecoder.IsPng(prefix) ? ReadPng(reader, options)
            : JpegDecoder.IsJpeg(prefix) ? ReadJpeg(reader, options)
            : BmpDecoder.IsBmp(prefix) ? ReadBmp(reader, options)
            : Npy.IsNpy(prefix) ? ReadNpy(reader, path, options)
            : TiffDecoder.IsTiff(prefix) ? ReadTiff(stream, path)
            : null;
        if (info is { } found)
        {
            // The decoder would refuse the same size; saying so here keeps the up-front check truthful.
            if ((long)found.Width * found.Height > ImageLimits.MaxPixels)
                throw new ImageFormatException(path,
                    $"{found.Format} is {found.Width}×{found.Height} = {(long)found.Width * found.Height} pixels, more than the limit of {ImageLimits.MaxPixels} (ImageLimits.MaxPixels)");
            return found;
        }
        string first = Convert.ToHexString(prefix[..Math.Min(8, have)]);
        throw new ImageFormatException(path, $"unrecognised image format (first bytes {first}); PNG, JPEG, BMP, NPY and TIFF are supported");
    }

    private static ImageInfo ReadPng(HeaderReader reader, ImageReadOptions options)
    {
        Span<byte> chunk = stackalloc byte[8];
        Span<byte> ihdr = stackalloc byte[13];
        long offset = PngDecoder.Signature.Length;
        reader.ReadExactly(offset, chunk, "PNG IHDR chunk");
        if (BinaryPrimitives.ReadUInt32BigEndian(chunk) != 13 || !chunk[4..].SequenceEqual("IHDR"u8))
            throw reader.Error($"first chunk is {Encoding.ASCII.GetString(chunk[4..])} of {BinaryPrimitives.ReadUInt32BigEndian(chunk)} bytes, expected a 13-byte IHDR");
        reader.ReadExactly(offset + 8, ihdr, "PNG IHDR chunk");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(ihdr), height = BinaryPrimitives.ReadUInt32BigEndian(ihdr[4..]);
        int bitDepth = ihdr[8], colourType = ihdr[9];
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw reader.Error($"invalid PNG size {width}×{height}");
        bool depthAllowed = colourType switch
        {
            0 => bitDepth is 1 or 2 or 4 or 8 or 16,
            3 => bitDepth is 1 or 2 or 4 or 8,
            _ => bitDepth is 8 or 16,
        };
        if (!depthAllowed && colourType is 0 or 2 or 3 or 4 or 6)
            throw reader.Error($"bit depth {bitDepth} is not allowed for PNG colour type {colourType}");
        if (ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] > 1)
            throw reader.Error($"unsupported PNG compression method {ihdr[10]}, filter method {ihdr[11]} or interlace method {ihdr[12]}");
        int channels = colourType switch
        {
            0 => 1,
            2 => 3,
            3 => options.Palette == PaletteMode.Rgb ? 3 : 1,
            4 => 2,
            6 => 4,
            _ => throw reader.Error($"invalid PNG colour type {colourType}"),
        };

        // Each step moves at least 12 bytes, so the walk is bounded by the file length.
        bool sawData = false;
        offset += 12 + 13;
        while (true)
        {
            if (reader.Length - offset < 12)
                throw reader.Error($"truncated at offset {offset}: chunk header missing (no IEND)");
            reader.ReadExactly(offset, chunk, "PNG chunk header");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(chunk);
            if (length > int.MaxValue || length > reader.Length - offset - 12)
                throw reader.Error(
                    $"truncated at offset {offset}: chunk {Encoding.ASCII.GetString(chunk[4..])} declares {length} bytes, {Math.Max(0, reader.Length - offset - 12)} remain");
            if (chunk[4..].SequenceEqual("IEND"u8))
                break;
            sawData |= chunk[4..].SequenceEqual("IDAT"u8);
            offset += 12 + length;
        }
        if (!sawData)
            throw reader.Error("no IDAT chunk: the file holds no pixel data");
        return new ImageInfo("PNG", (int)width, (int)height, options.ForceRgb ? 3 : channels);
    }

    private static ImageInfo ReadJpeg(HeaderReader reader, ImageReadOptions options)
    {
        Span<byte> two = stackalloc byte[2];
        int orientation = 1;
        long position = 2;
        while (true)
        {
            long markerOffset = reader.FindJpegMarker(position);
            if (markerOffset < 0)
                throw reader.Error($"truncated at offset {reader.Length}: no frame header (SOF)");
            reader.ReadExactly(markerOffset, two, "JPEG marker");
            int marker = two[1];
            position = markerOffset + 2;
            if (marker is >= 0xD0 and <= 0xD7 or 0x01)
                continue;
            if (marker == 0xD9)
                throw reader.Error($"EOI at offset {markerOffset} before any frame header (SOF)");
            if (marker == 0xDA)
                throw reader.Error($"scan at offset {markerOffset} before any frame header (SOF)");
            reader.ReadExactly(position, two, $"length of JPEG segment FF{marker:X2}");
            int length = BinaryPrimitives.ReadUInt16BigEndian(two);
            if (length < 2 || position + length > reader.Length)
                throw reader.Error($"truncated at offset {markerOffset}: segment FF{marker:X2} declares {length} bytes, {reader.Length - position} remain");
            switch (marker)
            {
                case 0xC0 or 0xC1 or 0xC2:
                    return JpegFrame(reader, position + 2, length - 2, markerOffset, orientation, options);
                case 0xC3 or (>= 0xC5 and <= 0xC7) or (>= 0xC9 and <= 0xCB) or (>= 0xCD and <= 0xCF):
                    throw reader.Error($"unsupported JPEG process SOF{marker - 0xC0} at offset {markerOffset}");
                case 0xE1 when options.ApplyExifOrientation && orientation == 1:
                    var app1 = new byte[length - 2];
                    reader.ReadExactly(position + 2, app1, "JPEG APP1 segment");
                    orientation = ExifOrientation.Read(app1);
                    break;
            }
            position += length;
        }
    }

    private static ImageInfo JpegFrame(HeaderReader reader, long start, int length, long markerOffset, int orientation, ImageReadOptions options)
    {
        if (length < 6)
            throw reader.Error($"SOF segment at offset {markerOffset} is too short");
        Span<byte> frame = stackalloc byte[6];
        reader.ReadExactly(start, frame, "JPEG frame header");
        if (frame[0] != 8)
            throw reader.Error($"unsupported JPEG process: {frame[0]}-bit samples (only 8-bit is supported)");
        int height = BinaryPrimitives.ReadUInt16BigEndian(frame[1..]), width = BinaryPrimitives.ReadUInt16BigEndian(frame[3..]);
        int components = frame[5];
        if (height == 0)
            throw reader.Error("JPEG height 0 (DNL marker) is not supported");
        if (width == 0)
            throw reader.Error("JPEG width is 0");
        if (components is not (1 or 3))
            throw reader.Error($"JPEG with {components} components is not supported (only grayscale and YCbCr/RGB)");
        if (orientation >= 5)
            (width, height) = (height, width);
        return new ImageInfo("JPEG", width, height, components == 1 && !options.ForceRgb ? 1 : 3);
    }

    private static ImageInfo ReadBmp(HeaderReader reader, ImageReadOptions options)
    {
        Span<byte> fileHeader = stackalloc byte[18];
        reader.ReadExactly(0, fileHeader, "BMP file header");
        uint pixelOffset = BinaryPrimitives.ReadUInt32LittleEndian(fileHeader[10..]);
        int headerSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(fileHeader[14..]);
        var header = new byte[headerSize];
        reader.ReadExactly(14, header, "BMP header");
        int width, height, bitsPerPixel, compression = 0, colours = 0, paletteEntrySize;
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(4));
            height = BinaryPrimitives.ReadInt16LittleEndian(header.AsSpan(6));
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(10));
            paletteEntrySize = 3;
        }
        else
        {
            width = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
            height = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(14));
            compression = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(16));
            colours = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(32));
            paletteEntrySize = 4;
        }
        if (height == int.MinValue || width <= 0 || height == 0)
            throw reader.Error($"invalid BMP size {width}×{height}");
        height = Math.Abs(height);
        if (bitsPerPixel is not (1 or 4 or 8 or 16 or 24 or 32))
            throw reader.Error($"unsupported BMP bit depth {bitsPerPixel}");
        if (compression is not (0 or 3 or 6))
            throw reader.Error($"unsupported BMP compression {compression} (only uncompressed and bit-field BMPs are read)");

        long afterHeader = 14 + headerSize;
        uint alphaMask = 0;
        if (compression != 0)
        {
            if (bitsPerPixel is not (16 or 32))
                throw reader.Error($"BI_BITFIELDS needs 16 or 32 bits per pixel, the file has {bitsPerPixel}");
            if (headerSize >= 56)
                alphaMask = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(52));
            else if (headerSize < 52)
            {
                int maskCount = compression == 6 ? 4 : 3;
                Span<byte> masks = stackalloc byte[16];
                reader.ReadExactly(afterHeader, masks[..(4 * maskCount)], "BMP colour masks");
                if (maskCount == 4)
                    alphaMask = BinaryPrimitives.ReadUInt32LittleEndian(masks[12..]);
                afterHeader += 4 * maskCount;
            }
        }
        if (bitsPerPixel <= 8)
        {
            long entries = colours > 0 ? Math.Min(colours, 1 << bitsPerPixel) : 1 << bitsPerPixel;
            long available = Math.Min(pixelOffset, reader.Length) - afterHeader;
            if (Math.Min(entries, Math.Max(0, available) / paletteEntrySize) == 0)
                throw reader.Error($"{bitsPerPixel}-bit BMP has no colour table");
        }
        if (pixelOffset < afterHeader)
            throw reader.Error($"BMP pixel data offset {pixelOffset} points into the {afterHeader}-byte header");
        long stride = ((long)width * bitsPerPixel + 31) / 32 * 4;
        long needed = pixelOffset + stride * height;
        if (needed > reader.Length)
            throw reader.Error($"truncated at offset {reader.Length}: {width}×{height} {bitsPerPixel}-bit pixel data needs {needed} bytes from offset {pixelOffset}");

        int channels = bitsPerPixel switch
        {
            <= 8 => options.Palette == PaletteMode.Index ? 1 : 3,
            24 => 3,
            _ => alphaMask != 0 ? 4 : 3,
        };
        return new ImageInfo("BMP", width, height, options.ForceRgb ? 3 : channels);
    }

    private static ImageInfo ReadNpy(HeaderReader reader, string path, ImageReadOptions options)
    {
        Span<byte> preamble = stackalloc byte[12];
        reader.ReadExactly(0, preamble[..10], "NPY header length");
        int major = preamble[6];
        long headerStart, headerLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..]);
            headerStart = 10;
        }
        else if (major is 2 or 3)
        {
            reader.ReadExactly(0, preamble, "NPY header length");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..]);
            headerStart = 12;
        }
        else
            throw reader.Error($"unsupported NPY format version {major}.{preamble[7]}");
        if (reader.Length - headerStart < headerLength)
            throw reader.Error($"truncated at offset {reader.Length}: NPY header needs {headerLength} bytes from offset {headerStart}");
        var text = new byte[headerLength];
        reader.ReadExactly(headerStart, text, "NPY header");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(text);

        // Anything but a C-order 2-D or 3-D array of a common dtype goes to the decoder, which reads it or says why not.
        var shapeMatch = ShapePattern().Match(header);
        var dtypeMatch = DtypePattern().Match(header);
        long[]? shape = shapeMatch.Success ? ParseShape(shapeMatch.Groups[1].Value) : null;
        string dtype = dtypeMatch.Success ? dtypeMatch.Groups[1].Value : "";
        if (shape is not { Length: 2 or 3 } || FortranPattern().IsMatch(header) || dtype is not ("u1" or "b1" or "u2" or "i1" or "i2" or "i4" or "i8" or "f4" or "f8"))
            return Decoded(path, "NPY", options);
        int itemSize = dtype[1] - '0';
        long elements = 1;
        foreach (long dimension in shape)
        {
            if (dimension is < 1 or > int.MaxValue || elements > long.MaxValue / 16 / dimension)
                return Decoded(path, "NPY", options);
            elements *= dimension;
        }
        long needed = headerStart + headerLength + elements * itemSize;
        if (needed > reader.Length)
            throw reader.Error($"truncated at offset {reader.Length}: NPY array of shape ({string.Join(", ", shape)}) needs {needed} bytes");
        return new ImageInfo("NPY", (int)shape[1], (int)shape[0], shape.Length == 3 ? (int)shape[2] : 1);
    }

    private static ImageInfo ReadTiff(FileStream stream, string path)
    {
        // LibTiff.NET reads only the directory here; strips and tiles are decoded by ImageFile.
        stream.Position = 0;
        var layout = TiffDecoder.Probe(stream, path, ReadLimits.Current);
        return new ImageInfo("TIFF", layout.Width, layout.Height, layout.Bands);
    }

    private static long[]? ParseShape(string tuple)
    {
        var items = tuple.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var shape = new long[items.Length];
        for (int i = 0; i < items.Length; i++)
            if (!long.TryParse(items[i].TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                return null;
        return shape;
    }

    private static ImageInfo Decoded(string path, string format, ImageReadOptions options)
    {
        var image = ImageFile.Read(path, options);
        return new ImageInfo(format, image.Width, image.Height, image.Channels);
    }

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""][<|=]?([a-z]\d+)['""]")]
    private static partial Regex DtypePattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*True")]
    private static partial Regex FortranPattern();

    /// <summary>Positioned reads of a seekable file with errors naming it.</summary>
    private sealed class HeaderReader(FileStream stream, string name)
    {
        public long Length { get; } = stream.Length;

        public ImageFormatException Error(string problem) => new(name, problem);

        public int ReadUpTo(long offset, Span<byte> buffer)
        {
            stream.Position = offset;
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }

        public void ReadExactly(long offset, Span<byte> buffer, string what)
        {
            if (offset < 0 || Length - offset < buffer.Length)
                throw Error($"truncated at offset {Length}: {what} needs {buffer.Length} bytes from offset {offset}");
            stream.Position = offset;
            stream.ReadExactly(buffer);
        }

        /// <summary>The offset of the next marker (0xFF then a byte other than 0x00 and 0xFF) from <paramref name="position"/>, or −1.</summary>
        public long FindJpegMarker(long position)
        {
            stream.Position = position;
            int previous = -1;
            for (int value; (value = stream.ReadByte()) >= 0; previous = value)
                if (previous == 0xFF && value is not (0x00 or 0xFF))
                    return stream.Position - 2;
            return -1;
        }
    }
}
