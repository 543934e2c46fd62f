using System.Buffers.Binary;
using System.Numerics;

namespace SharpSeg.Data;

/// <summary>
/// The EXIF Orientation tag (0x0112) and the flips and rotations that display an image upright. Equivalent to
/// <c>PIL.ImageOps.exif_transpose</c>; <c>cv2.imread</c> applies the same by default.
/// </summary>
public static class ExifOrientation
{
    /// <summary>
    /// Reads the orientation (1–8) from an APP1 "Exif" segment's payload, or returns 1 (upright) when the
    /// segment is not EXIF, has no orientation tag or is malformed: a broken tag must not make an image unreadable.
    /// </summary>
    public static int Read(ReadOnlySpan<byte> app1)
    {
        if (!app1.StartsWith("Exif\0\0"u8) || app1.Length < 14)
            return 1;
        var tiff = app1[6..];
        bool little = tiff[0] == 'I' && tiff[1] == 'I';
        if (!little && !(tiff[0] == 'M' && tiff[1] == 'M'))
            return 1;
        uint ifd = ReadUInt32(tiff[4..], little);
        if (ifd > tiff.Length - 2)
            return 1;
        int entries = ReadUInt16(tiff[(int)ifd..], little);
        for (int i = 0; i < entries; i++)
        {
            long entry = ifd + 2 + 12L * i;
            if (entry + 12 > tiff.Length)
                return 1;
            var field = tiff.Slice((int)entry, 12);
            if (ReadUInt16(field, little) == 0x0112 && ReadUInt16(field[2..], little) == 3)
            {
                int orientation = ReadUInt16(field[8..], little);
                return orientation is >= 1 and <= 8 ? orientation : 1;
            }
        }
        return 1;
    }

    /// <summary>Flips and rotates <paramref name="image"/> as EXIF <paramref name="orientation"/> asks (1 returns it unchanged).</summary>
    public static Image<T> Apply<T>(Image<T> image, int orientation) where T : unmanaged, INumber<T>
    {
        if (orientation is < 1 or > 8)
            throw new ArgumentOutOfRangeException(nameof(orientation), orientation, "EXIF orientation is 1 to 8.");
        if (orientation == 1)
            return image;
        int h = image.Height, w = image.Width, channels = image.Channels;
        bool swapsAxes = orientation >= 5;
        var result = swapsAxes ? new Image<T>(w, h, channels) : new Image<T>(h, w, channels);
        for (int y = 0; y < result.Height; y++)
            for (int x = 0; x < result.Width; x++)
            {
                var (sourceY, sourceX) = orientation switch
                {
                    2 => (y, w - 1 - x),
                    3 => (h - 1 - y, w - 1 - x),
                    4 => (h - 1 - y, x),
                    5 => (x, y),
                    6 => (h - 1 - x, y),
                    7 => (h - 1 - x, w - 1 - y),
                    _ => (x, w - 1 - y),
                };
                image.Pixels.AsSpan((sourceY * w + sourceX) * channels, channels)
                    .CopyTo(result.Pixels.AsSpan((y * result.Width + x) * channels));
            }
        return result;
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> data, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(data) : BinaryPrimitives.ReadUInt16BigEndian(data);

    private static uint ReadUInt32(ReadOnlySpan<byte> data, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(data) : BinaryPrimitives.ReadUInt32BigEndian(data);
}
