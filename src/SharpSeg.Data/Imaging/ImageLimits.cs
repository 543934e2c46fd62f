namespace SharpSeg.Data;

/// <summary>
/// Limits every image reader (<see cref="ImageFile"/>, <see cref="PngDecoder"/>, <see cref="JpegDecoder"/>,
/// <see cref="BmpDecoder"/>, <see cref="Npy"/>) checks against a file's header before it allocates pixel memory or
/// decodes a scan, so a corrupt or hostile file fails fast with an <see cref="ImageFormatException"/> that names the
/// limit, instead of exhausting memory or time. The limits are process-wide, like Pillow's
/// <c>PIL.Image.MAX_IMAGE_PIXELS</c>; set them once at start-up (reads and writes are thread-safe).
/// </summary>
public static class ImageLimits
{
    /// <summary>
    /// 178,956,970 pixels: the size at which Pillow refuses an image (<c>PIL.Image.DecompressionBombError</c>, twice
    /// its <c>MAX_IMAGE_PIXELS</c> of 1024·1024·1024 / 4 / 3), about a 13,400 × 13,400 image.
    /// </summary>
    public const long DefaultMaxPixels = 178_956_970;

    /// <summary>
    /// 32 scans. libjpeg's standard progressive script writes 10 scans for a colour image and 6 for a gray one;
    /// a file with many more is almost always a decompression bomb (each scan passes over the whole frame).
    /// </summary>
    public const int DefaultMaxJpegScans = 32;

    private static long s_maxPixels = DefaultMaxPixels;
    private static int s_maxJpegScans = DefaultMaxJpegScans;

    /// <summary>
    /// The most pixels (width × height, whatever the channel count) an image may have; a larger header is refused
    /// before anything is allocated. Default <see cref="DefaultMaxPixels"/>. Equivalent to
    /// <c>PIL.Image.MAX_IMAGE_PIXELS</c> (raise it, up to <see cref="long.MaxValue"/>, for trusted huge images;
    /// an image must still fit one .NET array).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static long MaxPixels
    {
        get => Volatile.Read(ref s_maxPixels);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref s_maxPixels, value);
        }
    }

    /// <summary>
    /// The most scans (SOS markers) a JPEG file may hold; a file with more is refused before its first scan is
    /// decoded. Default <see cref="DefaultMaxJpegScans"/>. Equivalent to libjpeg-turbo's scan limit
    /// (<c>djpeg -maxscans</c>, <c>TJPARAM_SCANLIMIT</c>), the guard against progressive files that repeat a scan
    /// over a large frame.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxJpegScans
    {
        get => Volatile.Read(ref s_maxJpegScans);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref s_maxJpegScans, value);
        }
    }
}

/// <summary>The <see cref="ImageLimits"/> one decode runs under (tests pass their own, the public API the current ones).</summary>
internal readonly record struct ReadLimits(long MaxPixels, int MaxJpegScans)
{
    public static ReadLimits Current => new(ImageLimits.MaxPixels, ImageLimits.MaxJpegScans);

    /// <summary>
    /// Refuses a <paramref name="width"/> × <paramref name="height"/> × <paramref name="channels"/> image above the pixel
    /// limit or too large for one array; the products are exact for any 32-bit dimensions.
    /// </summary>
    public void CheckSize(long width, long height, long channels, string name, string what)
    {
        var pixels = (UInt128)(ulong)width * (ulong)height;
        if (pixels > (ulong)MaxPixels)
            throw new ImageFormatException(name,
                $"{what} is {width}×{height} = {pixels} pixels, more than the limit of {MaxPixels} " +
                "(ImageLimits.MaxPixels, like PIL's MAX_IMAGE_PIXELS; raise it to read trusted huge images)");
        if (pixels * (ulong)channels > (ulong)Array.MaxLength)
            throw new ImageFormatException(name,
                $"{what} has {width}×{height}×{channels} = {pixels * (ulong)channels} samples, more than one array can hold ({Array.MaxLength})");
    }
}
