using System.Buffers.Binary;
using System.Numerics;

namespace SharpSeg.Data;

/// <summary>
/// Decodes uncompressed Windows BMP files: 1-, 4- and 8-bit palette, 16-bit, 24-bit and 32-bit (plain or
/// BI_BITFIELDS), bottom-up or top-down, any header version from BITMAPCOREHEADER to BITMAPV5HEADER.
/// Returns RGB (RGBA when the file declares an alpha mask); palette images give RGB unless
/// <see cref="PaletteMode.Index"/> asks for the indices. Matches <c>PIL.Image.open(p).convert("RGB")</c>.
/// </summary>
public static class BmpDecoder
{
    private const int BiRgb = 0, BiBitfields = 3, BiAlphaBitfields = 6;

    /// <summary>True when <paramref name="data"/> starts with the "BM" signature and a known header size.</summary>
    public static bool IsBmp(ReadOnlySpan<byte> data) =>
        data.Length >= 18 && data[0] == 'B' && data[1] == 'M' &&
        BinaryPrimitives.ReadUInt32LittleEndian(data[14..]) is 12 or 40 or 52 or 56 or 64 or 108 or 124;

    /// <summary>Decodes a whole BMP file held in memory.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <param name="nameForErrors">Named in every exception message.</param>
    /// <param name="options">Palette handling (RGB by default) and channel order; null for the defaults.</param>
    /// <exception cref="ImageFormatException">The data is corrupt, truncated, compressed (RLE, JPEG, PNG) or beyond <see cref="ImageLimits"/>.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions? options = null) =>
        Decode(data, nameForErrors, options ?? ImageReadOptions.Default, ReadLimits.Current);

    internal static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions options, ReadLimits limits)
    {
        string name = nameForErrors;
        if (data.Length < 18 || data[0] != 'B' || data[1] != 'M')
            throw new ImageFormatException(name, "bad BMP signature");
        uint pixelOffset = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        int headerSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data[14..]), int.MaxValue);
        if (headerSize is not (12 or 40 or 52 or 56 or 64 or 108 or 124))
            throw new ImageFormatException(name, $"unsupported BMP header size {headerSize}");
        if (data.Length < 14 + headerSize)
            throw new ImageFormatException(name, $"truncated at offset {data.Length}: BMP header needs {14 + headerSize} bytes");
        var header = data.Slice(14, headerSize);

        int width, height, bitsPerPixel, compression = BiRgb, colours = 0, paletteEntrySize;
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
            height = BinaryPrimitives.ReadInt16LittleEndian(header[6..]);
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
            paletteEntrySize = 3;
        }
        else
        {
            width = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
            height = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(header[14..]);
            compression = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
            colours = BinaryPrimitives.ReadInt32LittleEndian(header[32..]);
            paletteEntrySize = 4;
        }
        bool topDown = height < 0;
        if (height == int.MinValue || width <= 0 || height == 0)
            throw new ImageFormatException(name, $"invalid BMP size {width}×{height}");
        height = Math.Abs(height);
        if (bitsPerPixel is not (1 or 4 or 8 or 16 or 24 or 32))
            throw new ImageFormatException(name, $"unsupported BMP bit depth {bitsPerPixel}");
        if (compression is not (BiRgb or BiBitfields or BiAlphaBitfields))
            throw new ImageFormatException(name, $"unsupported BMP compression {CompressionName(compression)}");

        int afterHeader = 14 + headerSize;
        uint[] masks = bitsPerPixel switch
        {
            16 => [0x7C00, 0x03E0, 0x001F, 0],
            32 => [0xFF0000, 0xFF00, 0xFF, 0],
            _ => [0, 0, 0, 0],
        };
        if (compression != BiRgb)
        {
            if (bitsPerPixel is not (16 or 32))
                throw new ImageFormatException(name, $"BI_BITFIELDS needs 16 or 32 bits per pixel, the file has {bitsPerPixel}");
            int maskCount = compression == BiAlphaBitfields ? 4 : 3;
            ReadOnlySpan<byte> maskBytes;
            if (headerSize >= 52)
            {
                maskBytes = header.Slice(40, headerSize >= 56 ? 16 : 12);
                maskCount = headerSize >= 56 ? 4 : 3;
            }
            else
            {
                if (data.Length < afterHeader + 4 * maskCount)
                    throw new ImageFormatException(name, $"truncated at offset {data.Length}: BMP colour masks missing");
                maskBytes = data.Slice(afterHeader, 4 * maskCount);
                afterHeader += 4 * maskCount;
            }
            masks = new uint[4];
            for (int i = 0; i < maskCount; i++)
                masks[i] = BinaryPrimitives.ReadUInt32LittleEndian(maskBytes[(4 * i)..]);
        }

        byte[]? palette = null;
        if (bitsPerPixel <= 8)
        {
            int entries = colours > 0 ? Math.Min(colours, 1 << bitsPerPixel) : 1 << bitsPerPixel;
            int available = (int)Math.Min(pixelOffset, (uint)data.Length) - afterHeader;
            entries = Math.Min(entries, Math.Max(0, available) / paletteEntrySize);
            if (entries == 0)
                throw new ImageFormatException(name, $"{bitsPerPixel}-bit BMP has no colour table");
            palette = new byte[entries * 3];
            for (int i = 0; i < entries; i++)
            {
                var entry = data.Slice(afterHeader + i * paletteEntrySize, 3);
                (palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]) = (entry[2], entry[1], entry[0]);
            }
        }

        bool indexOnly = palette is not null && options.Palette == PaletteMode.Index && !options.ForceRgb;
        int channels = indexOnly ? 1 : palette is null && bitsPerPixel != 24 && masks[3] != 0 ? 4 : 3;
        // Limits first: they bound width × height, so the stride and size products below cannot overflow.
        limits.CheckSize(width, height, channels, name, "BMP");
        long stride = ((long)width * bitsPerPixel + 31) / 32 * 4;
        long needed = pixelOffset + stride * height;
        if (pixelOffset < afterHeader)
            throw new ImageFormatException(name, $"BMP pixel data offset {pixelOffset} points into the {afterHeader}-byte header");
        if (needed > data.Length)
            throw new ImageFormatException(name,
                $"truncated at offset {data.Length}: {width}×{height} {bitsPerPixel}-bit pixel data needs {needed} bytes from offset {pixelOffset}");

        bool bgr = options.ChannelOrder == ChannelOrder.Bgr;
        var pixels = data[(int)pixelOffset..];
        if (palette is not null)
            return DecodeIndexed(pixels, width, height, topDown, (int)stride, bitsPerPixel, palette, indexOnly, bgr, name);
        var image = DecodeMasked(pixels, width, height, topDown, (int)stride, bitsPerPixel, masks, bgr);
        return options.ForceRgb ? ColourConversion.ToThreeChannels(image) : image;
    }

    private static string CompressionName(int compression) => compression switch
    {
        1 => "BI_RLE8",
        2 => "BI_RLE4",
        4 => "BI_JPEG",
        5 => "BI_PNG",
        _ => compression.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static Image DecodeIndexed(ReadOnlySpan<byte> pixels, int width, int height, bool topDown, int stride,
        int bitsPerPixel, byte[] palette, bool indexOnly, bool bgr, string name)
    {
        var output = new byte[(long)width * height * (indexOnly ? 1 : 3)];
        int entries = palette.Length / 3, mask = (1 << bitsPerPixel) - 1;
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice((topDown ? y : height - 1 - y) * stride, stride);
            for (int x = 0; x < width; x++)
            {
                int bit = x * bitsPerPixel;
                int index = (row[bit >> 3] >> (8 - bitsPerPixel - (bit & 7))) & mask;
                int target = y * width + x;
                if (indexOnly)
                {
                    output[target] = (byte)index;
                    continue;
                }
                if (index >= entries)
                    throw new ImageFormatException(name, $"palette index {index} at row {y}, column {x} is outside the {entries}-entry colour table");
                output[3 * target] = palette[3 * index + (bgr ? 2 : 0)];
                output[3 * target + 1] = palette[3 * index + 1];
                output[3 * target + 2] = palette[3 * index + (bgr ? 0 : 2)];
            }
        }
        return new Image<byte>(height, width, indexOnly ? 1 : 3, output);
    }

    private static Image<byte> DecodeMasked(ReadOnlySpan<byte> pixels, int width, int height, bool topDown, int stride,
        int bitsPerPixel, uint[] masks, bool bgr)
    {
        int channels = bitsPerPixel != 24 && masks[3] != 0 ? 4 : 3;
        var output = new byte[(long)width * height * channels];
        int bytesPerPixel = bitsPerPixel / 8;
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice((topDown ? y : height - 1 - y) * stride, stride);
            for (int x = 0; x < width; x++)
            {
                int target = (y * width + x) * channels;
                var pixel = row.Slice(x * bytesPerPixel, bytesPerPixel);
                byte r, g, b;
                if (bitsPerPixel == 24)
                {
                    (r, g, b) = (pixel[2], pixel[1], pixel[0]);
                }
                else
                {
                    uint value = bitsPerPixel == 16 ? BinaryPrimitives.ReadUInt16LittleEndian(pixel) : BinaryPrimitives.ReadUInt32LittleEndian(pixel);
                    r = Extract(value, masks[0]);
                    g = Extract(value, masks[1]);
                    b = Extract(value, masks[2]);
                    if (channels == 4)
                        output[target + 3] = Extract(value, masks[3]);
                }
                output[target] = bgr ? b : r;
                output[target + 1] = g;
                output[target + 2] = bgr ? r : b;
            }
        }
        return new Image<byte>(height, width, channels, output);
    }

    // Scales a masked field to 8 bits the way Pillow does for 5- and 6-bit fields: value * 255 / max, rounded down.
    private static byte Extract(uint value, uint mask)
    {
        if (mask == 0)
            return 0;
        int shift = BitOperations.TrailingZeroCount(mask);
        uint max = mask >> shift;
        uint field = (value & mask) >> shift;
        return max == 255 ? (byte)field : (byte)(field * 255 / max);
    }
}
