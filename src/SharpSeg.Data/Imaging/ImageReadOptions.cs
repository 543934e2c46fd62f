namespace SharpSeg.Data;

/// <summary>What a decoder returns for a palette (indexed-colour) image.</summary>
public enum PaletteMode
{
    /// <summary>The format's usual choice: indices for PNG (VOC-style label masks), RGB for BMP.</summary>
    FormatDefault,
    /// <summary>The palette indices as a 1-channel byte image, as PIL's mode <c>"P"</c> holds them.</summary>
    Index,
    /// <summary>The palette colours as a 3-channel RGB image, as PIL's <c>convert("RGB")</c> gives.</summary>
    Rgb,
}

/// <summary>Order of the colour samples of 3- and 4-channel images.</summary>
public enum ChannelOrder
{
    /// <summary>Red, green, blue (and alpha): PIL's order and PaddleSeg's after <c>to_rgb=True</c>.</summary>
    Rgb,
    /// <summary>Blue, green, red (and alpha): the order <c>cv2.imread</c> returns.</summary>
    Bgr,
}

/// <summary>
/// Options for <see cref="ImageFile.Read(string, ImageReadOptions)"/>. Equivalent to choosing between
/// <c>PIL.Image.open(p)</c>, <c>.convert("RGB")</c> and <c>cv2.imread(p)</c> in a PaddleSeg pipeline.
/// </summary>
public sealed record ImageReadOptions
{
    /// <summary>The defaults: palette as the format usually returns it, RGB order.</summary>
    public static ImageReadOptions Default { get; } = new();

    /// <summary>What palette images decode to.</summary>
    public PaletteMode Palette { get; init; } = PaletteMode.FormatDefault;

    /// <summary>
    /// Always returns 3-channel 8-bit colour: gray is repeated, alpha dropped, palettes expanded, 1/2/4-bit gray
    /// scaled to 0..255 and 16-bit samples cut to their high byte. Equivalent to <c>cv2.imread(p, cv2.IMREAD_COLOR)</c>
    /// (followed by BGR→RGB unless <see cref="ChannelOrder"/> is <see cref="ChannelOrder.Bgr"/>), the way
    /// PaddleSeg's <c>Compose</c> reads training images. Leave it off for label masks.
    /// </summary>
    public bool ForceRgb { get; init; }

    /// <summary>Order of colour samples in 3- and 4-channel results.</summary>
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    /// <summary>
    /// Turns JPEG images upright as their EXIF Orientation tag asks (<c>PIL.ImageOps.exif_transpose</c>, what
    /// <c>cv2.imread</c> does). Off by default, like <c>PIL.Image.open</c>: label masks are never rotated, so
    /// rotating only the image would misalign the pair.
    /// </summary>
    public bool ApplyExifOrientation { get; init; }
}
