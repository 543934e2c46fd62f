using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;

namespace SharpSeg.Data;

/// <summary>
/// Reads TIFF and GeoTIFF rasters (the first image of the file) with the managed BitMiracle LibTiff.NET library:
/// strips or tiles, any compression LibTiff.NET decodes (none, LZW, Deflate, PackBits, ...), with or without a
/// predictor, 8/16-bit unsigned or 32-bit float samples, any number of bands, chunky or planar. Equivalent to
/// <c>tifffile.imread</c> / GDAL's <c>ReadAsArray</c> transposed to H×W×C, which is how PaddleX's remote-sensing
/// readers hand bands to the transforms.
/// </summary>
/// <remarks>
/// Samples keep their stored values and type (<see cref="Image{T}"/> of byte, ushort or float); bands stay in file
/// order, so a 4-band image is never read as RGB(A). Palette images give their indices (1 band). GeoTIFF tags are
/// ignored: the raster is read as pixels. LibTiff.NET reports problems to a process-wide handler; SharpSeg installs one
/// that collects them per read, so nothing is printed and any error becomes an <see cref="ImageFormatException"/>.
/// </remarks>
internal static class TiffDecoder
{
    /// <summary>Whether <paramref name="data"/> starts with a classic or BigTIFF byte-order mark and magic number.</summary>
    public static bool IsTiff(ReadOnlySpan<byte> data) =>
        data.Length >= 4 && ((data[0] == 'I' && data[1] == 'I' && data[2] is 42 or 43 && data[3] == 0) ||
                             (data[0] == 'M' && data[1] == 'M' && data[2] == 0 && data[3] is 42 or 43));

    /// <summary>The first image's layout, read from its directory without decoding pixels.</summary>
    internal readonly record struct Layout(int Width, int Height, int Bands, int Bits, SampleFormat Format, bool Planar, bool Tiled,
        int TileWidth, int TileHeight, int RowsPerStrip)
    {
        public SampleType SampleType => Bits == 8 ? SampleType.UInt8 : Bits == 16 ? SampleType.UInt16 : SampleType.Float32;
    }

    public static Image Decode(ReadOnlySpan<byte> data, string name, ReadLimits limits)
    {
        using var stream = new MemoryStream(data.ToArray(), writable: false);
        return WithTiff(stream, name, tiff =>
        {
            var layout = ReadLayout(tiff, name, limits);
            return layout.SampleType switch
            {
                SampleType.UInt8 => Read<byte>(tiff, layout, name),
                SampleType.UInt16 => Read<ushort>(tiff, layout, name),
                _ => (Image)Read<float>(tiff, layout, name),
            };
        });
    }

    /// <summary>The header probe: the layout's size and bands, checked against <paramref name="limits"/>.</summary>
    public static Layout Probe(Stream stream, string name, ReadLimits limits) => WithTiff(stream, name, tiff => ReadLayout(tiff, name, limits));

    private static T WithTiff<T>(Stream stream, string name, Func<Tiff, T> read)
    {
        var previous = Collector.Messages;
        var messages = new List<string>();
        Collector.Messages = messages;
        try
        {
            CheckFirstDirectory(stream, name);
            using var tiff = Tiff.ClientOpen(name, "r", stream, new TiffStream());
            if (tiff is null)
                throw new ImageFormatException(name, "not a readable TIFF: " + Describe(messages, "the header is invalid"));
            var result = read(tiff);
            if (messages.Count > 0)
                throw new ImageFormatException(name, "corrupt TIFF: " + Describe(messages, ""));
            return result;
        }
        catch (ImageFormatException)
        {
            throw;
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // LibTiff.NET signals some damage (bad offsets, short codes) with ordinary exceptions; they all mean a bad file.
            throw new ImageFormatException(name, $"corrupt TIFF: {Describe(messages, error.Message)}", error);
        }
        finally
        {
            Collector.Messages = previous;
        }
    }

    /// <summary>
    /// Checks that every entry of the first directory fits in the file before LibTiff.NET reads it: the library sizes its
    /// arrays from an entry's count before comparing it with the file length, so a damaged count would otherwise ask for
    /// gigabytes (found by the fuzz test).
    /// </summary>
    private static void CheckFirstDirectory(Stream stream, string name)
    {
        long length = stream.Length;
        Span<byte> header = stackalloc byte[16];
        stream.Position = 0;
        int have = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (have < 8)
            throw new ImageFormatException(name, $"truncated TIFF header ({have} bytes)");
        bool big = header[0] == 'M', bigTiff = (big ? header[3] : header[2]) == 43;
        ulong Read(ReadOnlySpan<byte> bytes, int size) => size switch
        {
            2 => big ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes),
            4 => big ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes),
            _ => big ? BinaryPrimitives.ReadUInt64BigEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        };
        if (bigTiff && have < 16)
            throw new ImageFormatException(name, $"truncated BigTIFF header ({have} bytes)");
        ulong directory = bigTiff ? Read(header[8..], 8) : Read(header[4..], 4);
        int countSize = bigTiff ? 8 : 2, entrySize = bigTiff ? 20 : 12, inline = bigTiff ? 8 : 4;
        if (directory < 8 || directory > (ulong)length || (ulong)length - directory < (ulong)countSize)
            throw new ImageFormatException(name, $"TIFF directory offset {directory} is outside the {length}-byte file");
        Span<byte> word = stackalloc byte[8];
        stream.Position = (long)directory;
        stream.ReadExactly(word[..countSize]);
        ulong entries = Read(word, countSize);
        if (entries == 0 || entries > ((ulong)length - directory - (ulong)countSize) / (ulong)entrySize)
            throw new ImageFormatException(name, $"TIFF directory at offset {directory} declares {entries} entries, which the {length}-byte file cannot hold");
        Span<byte> entry = stackalloc byte[20];
        for (ulong i = 0; i < entries; i++)
        {
            stream.Position = (long)(directory + (ulong)countSize + i * (ulong)entrySize);
            stream.ReadExactly(entry[..entrySize]);
            int type = (int)Read(entry[2..], 2);
            ulong count = bigTiff ? Read(entry[4..], 8) : Read(entry[4..], 4);
            int itemSize = type switch
            {
                1 or 2 or 6 or 7 => 1,
                3 or 8 => 2,
                4 or 9 or 11 or 13 => 4,
                5 or 10 or 12 or 16 or 17 or 18 => 8,
                _ => 0, // unknown types are skipped by LibTiff.NET
            };
            if (itemSize == 0 || count <= (ulong)(inline / itemSize))
                continue;
            ulong offset = bigTiff ? Read(entry[(4 + 8)..], 8) : Read(entry[8..], 4);
            if (count > (ulong)length / (ulong)itemSize || offset > (ulong)length - count * (ulong)itemSize)
                throw new ImageFormatException(name,
                    $"TIFF tag {Read(entry, 2)} declares {count} values of {itemSize} bytes at offset {offset}, beyond the end of the {length}-byte file");
        }
        stream.Position = 0;
    }

    private static string Describe(List<string> messages, string fallback) =>
        messages.Count == 0 ? fallback : string.Join("; ", messages.Take(3)) + (messages.Count > 3 ? $" (and {messages.Count - 3} more)" : "");

    private static int Int(Tiff tiff, TiffTag tag, int fallback)
    {
        var field = tiff.GetField(tag);
        return field is { Length: > 0 } ? field[0].ToInt() : fallback;
    }

    private static Layout ReadLayout(Tiff tiff, string name, ReadLimits limits)
    {
        int width = Int(tiff, TiffTag.IMAGEWIDTH, 0), height = Int(tiff, TiffTag.IMAGELENGTH, 0);
        if (width <= 0 || height <= 0)
            throw new ImageFormatException(name, $"invalid TIFF size {width}×{height}");
        int bands = Int(tiff, TiffTag.SAMPLESPERPIXEL, 1);
        if (bands is < 1 or > 65535)
            throw new ImageFormatException(name, $"invalid TIFF SamplesPerPixel {bands}");
        limits.CheckSize(width, height, bands, name, $"TIFF with {bands} bands");
        int bits = Int(tiff, TiffTag.BITSPERSAMPLE, 1);
        var format = (SampleFormat)Int(tiff, TiffTag.SAMPLEFORMAT, (int)SampleFormat.UINT);
        bool supported = (bits is 8 or 16 && format == SampleFormat.UINT) || (bits == 32 && format == SampleFormat.IEEEFP);
        if (!supported)
            throw new ImageFormatException(name,
                $"unsupported TIFF samples: {bits}-bit {format} (8/16-bit unsigned and 32-bit float are read)");
        int photometric = Int(tiff, TiffTag.PHOTOMETRIC, 1);
        if (photometric == 6)
            throw new ImageFormatException(name, "YCbCr TIFF is not supported (store the bands as RGB or separate samples)");
        bool planar = Int(tiff, TiffTag.PLANARCONFIG, (int)PlanarConfig.CONTIG) == (int)PlanarConfig.SEPARATE && bands > 1;
        bool tiled = tiff.IsTiled();
        int tileWidth = 0, tileHeight = 0, rowsPerStrip = 0;
        if (tiled)
        {
            tileWidth = Int(tiff, TiffTag.TILEWIDTH, 0);
            tileHeight = Int(tiff, TiffTag.TILELENGTH, 0);
            if (tileWidth <= 0 || tileHeight <= 0)
                throw new ImageFormatException(name, $"invalid TIFF tile size {tileWidth}×{tileHeight}");
            // A tile larger than the limit would be allocated before anything else could refuse it.
            limits.CheckSize(tileWidth, tileHeight, bands, name, "TIFF tile");
        }
        else
        {
            rowsPerStrip = Int(tiff, TiffTag.ROWSPERSTRIP, height);
            if (rowsPerStrip <= 0 || rowsPerStrip > height)
                rowsPerStrip = height;
        }
        return new Layout(width, height, bands, bits, format, planar, tiled, tileWidth, tileHeight, rowsPerStrip);
    }

    private static Image<T> Read<T>(Tiff tiff, Layout layout, string name) where T : unmanaged, System.Numerics.INumber<T>
    {
        var image = new Image<T>(layout.Height, layout.Width, layout.Bands);
        var pixels = image.Pixels;
        int bytesPerSample = layout.Bits / 8;
        int planes = layout.Planar ? layout.Bands : 1;
        int samplesPerPixelInBlock = layout.Planar ? 1 : layout.Bands;
        int blockWidth = layout.Tiled ? layout.TileWidth : layout.Width;
        int blockHeight = layout.Tiled ? layout.TileHeight : layout.RowsPerStrip;
        long blockBytes = (long)blockWidth * blockHeight * samplesPerPixelInBlock * bytesPerSample;
        var buffer = new byte[blockBytes];
        for (short plane = 0; plane < planes; plane++)
            for (int y0 = 0; y0 < layout.Height; y0 += blockHeight)
                for (int x0 = 0; x0 < layout.Width; x0 += blockWidth)
                {
                    int block = layout.Tiled ? tiff.ComputeTile(x0, y0, 0, plane) : tiff.ComputeStrip(y0, plane);
                    int rows = Math.Min(blockHeight, layout.Height - y0);
                    // A strip's last block holds only its remaining rows; a tile is always whole (padded at the edges).
                    int wanted = layout.Tiled ? (int)blockBytes : rows * blockWidth * samplesPerPixelInBlock * bytesPerSample;
                    int got = layout.Tiled ? tiff.ReadEncodedTile(block, buffer, 0, wanted) : tiff.ReadEncodedStrip(block, buffer, 0, wanted);
                    if (got < wanted)
                        throw new ImageFormatException(name,
                            $"corrupt TIFF: {(layout.Tiled ? "tile" : "strip")} {block} gave {Math.Max(got, 0)} of {wanted} bytes" +
                            (Collector.Messages is { Count: > 0 } m ? $" ({Describe(m, "")})" : ""));
                    // LibTiff.NET returns samples in the machine's byte order, so the buffer can be viewed as T directly.
                    var samples = MemoryMarshal.Cast<byte, T>(buffer.AsSpan(0, wanted));
                    int columns = Math.Min(blockWidth, layout.Width - x0);
                    for (int row = 0; row < rows; row++)
                    {
                        var source = samples.Slice(row * blockWidth * samplesPerPixelInBlock, columns * samplesPerPixelInBlock);
                        int target = ((y0 + row) * layout.Width + x0) * layout.Bands;
                        if (!layout.Planar)
                            source.CopyTo(pixels.AsSpan(target, source.Length));
                        else
                            for (int x = 0; x < columns; x++)
                                pixels[target + x * layout.Bands + plane] = source[x];
                    }
                }
        return image;
    }

    /// <summary>Collects LibTiff.NET's errors and warnings for the read on this thread instead of printing them.</summary>
    private sealed class Collector : TiffErrorHandler
    {
        [ThreadStatic]
        private static List<string>? t_messages;

        static Collector() => Tiff.SetErrorHandler(new Collector());

        public static List<string>? Messages
        {
            get => t_messages;
            set => t_messages = value;
        }

        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) =>
            t_messages?.Add(Format(method, format, args));

        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        // Warnings (unknown GeoTIFF tags, odd but readable fields) do not make a file unreadable; they are dropped.
        public override void WarningHandler(Tiff tif, string method, string format, params object[] args)
        {
        }

        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        private static string Format(string method, string format, object[] args)
        {
            string text;
            try
            {
                text = string.Format(CultureInfo.InvariantCulture, format, args);
            }
            catch (FormatException)
            {
                text = format;
            }
            return string.IsNullOrEmpty(method) ? text : $"{method}: {text}";
        }
    }
}
