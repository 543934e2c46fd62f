namespace SharpSeg.Data;

/// <summary>
/// Reads and writes image files with the managed codecs. <see cref="Read(string)"/> picks the decoder from the
/// file's first bytes, not its extension, so a mislabelled file still decodes. Equivalent to
/// <c>PIL.Image.open(p)</c> / <c>cv2.imread(p)</c> and <c>PIL.Image.save</c> in PaddleSeg's data pipeline.
/// </summary>
/// <remarks>
/// What each format returns: PNG its own channels (gray 1, gray+alpha 2, RGB 3, RGBA 4; palette indices as
/// 1 channel unless <see cref="PaletteMode.Rgb"/>), bytes for 1–8-bit and ushort for 16-bit samples;
/// JPEG RGB bytes (grayscale 1 channel); BMP RGB bytes (RGBA with an alpha mask, indices on request);
/// NPY the stored array (see <see cref="Npy"/> for how its shape maps to an image), ignoring the options;
/// TIFF/GeoTIFF its first image with every band in file order, as bytes, ushorts or floats, ignoring the options
/// (read with the managed BitMiracle LibTiff.NET, like <c>tifffile.imread</c>).
/// Every reader checks the sizes a file declares against the bytes it holds and against <see cref="ImageLimits"/>
/// before allocating, so <see cref="ImageFormatException"/> is the only exception bad data raises.
/// All methods are thread-safe.
/// </remarks>
public static class ImageFile
{
    /// <summary>Decodes the image at <paramref name="path"/> with the default <see cref="ImageReadOptions"/>.</summary>
    /// <exception cref="ImageFormatException">The file is corrupt, truncated, of an unknown format or beyond <see cref="ImageLimits"/>.</exception>
    public static Image Read(string path) => Read(path, ImageReadOptions.Default);

    /// <summary>Decodes the image at <paramref name="path"/>.</summary>
    /// <exception cref="ImageFormatException">The file is corrupt, truncated, of an unknown format or beyond <see cref="ImageLimits"/>.</exception>
    public static Image Read(string path, ImageReadOptions options) => Decode(File.ReadAllBytes(path), path, options);

    /// <summary>Decodes an image from the rest of <paramref name="stream"/>.</summary>
    /// <param name="stream">Read to its end; not closed.</param>
    /// <param name="nameForErrors">Named in exception messages (usually the file or archive entry name).</param>
    /// <exception cref="ImageFormatException">The data is corrupt, truncated, of an unknown format or beyond <see cref="ImageLimits"/>.</exception>
    public static Image Read(Stream stream, string nameForErrors) => Read(stream, nameForErrors, ImageReadOptions.Default);

    /// <summary>Decodes an image from the rest of <paramref name="stream"/> with the given options.</summary>
    /// <exception cref="ImageFormatException">The data is corrupt, truncated, of an unknown format or beyond <see cref="ImageLimits"/>.</exception>
    public static Image Read(Stream stream, string nameForErrors, ImageReadOptions options)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), nameForErrors, options);
    }

    /// <summary>Decodes an image held in memory, choosing the codec by its first bytes.</summary>
    /// <exception cref="ImageFormatException">The data is corrupt, truncated, of an unknown format or beyond <see cref="ImageLimits"/>.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions? options = null) =>
        Decode(data, nameForErrors, options ?? ImageReadOptions.Default, ReadLimits.Current);

    internal static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions options, ReadLimits limits)
    {
        if (data.IsEmpty)
            throw new ImageFormatException(nameForErrors, "file is empty");
        if (PngDecoder.IsPng(data))
            return PngDecoder.Decode(data, nameForErrors, options, limits);
        if (JpegDecoder.IsJpeg(data))
            return JpegDecoder.Decode(data, nameForErrors, options, limits);
        if (BmpDecoder.IsBmp(data))
            return BmpDecoder.Decode(data, nameForErrors, options, limits);
        if (Npy.IsNpy(data))
            return Npy.Decode(data, nameForErrors, limits);
        if (TiffDecoder.IsTiff(data))
            return TiffDecoder.Decode(data, nameForErrors, limits);
        string first = Convert.ToHexString(data[..Math.Min(8, data.Length)]);
        throw new ImageFormatException(nameForErrors, $"unrecognised image format (first bytes {first}); PNG, JPEG, BMP, NPY and TIFF are supported");
    }

    /// <summary>
    /// Writes <paramref name="image"/> as a PNG file (see <see cref="PngEncoder"/> for the accepted images).
    /// The data goes to a temporary file in the same folder that is then renamed over <paramref name="path"/>,
    /// so readers never see a half-written file.
    /// </summary>
    public static void WritePng(string path, Image image) => WritePng(path, image, PngWriteOptions.Default);

    /// <summary>Writes <paramref name="image"/> as a PNG file atomically, with a palette or compression level.</summary>
    public static void WritePng(string path, Image image, PngWriteOptions options) =>
        AtomicFile.Write(path, stream => PngEncoder.Encode(image, stream, options));

    /// <summary>
    /// Writes <paramref name="image"/> as a NumPy <c>.npy</c> file atomically (see <see cref="Npy.Write"/>);
    /// a 1-channel image becomes a 2-D array. Equivalent to <c>np.save</c>.
    /// </summary>
    public static void WriteNpy(string path, Image image) =>
        AtomicFile.Write(path, stream => Npy.Write(image, stream));
}
