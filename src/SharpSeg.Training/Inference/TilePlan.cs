using System.Numerics;
using SharpSeg.Data;

namespace SharpSeg.Training.Inference;

/// <summary>
/// The windows of an overlap-tile prediction: tile (ty, tx) keeps output rows ty·tile … ty·tile + t (t = the tile,
/// cut short at the image's last row) and reads input rows ty·tile − pad … ty·tile + t + pad, where rows outside the
/// image are mirrored with the edge repeated (−1 → 0, −2 → 1, H → H − 1), as PaddleX's <c>cv2.flip</c> padding. Like
/// PaddleX, a window never reaches past the padded image, so an image smaller than a tile is one window of image +
/// 2·pad. Tiles run row by row.
/// </summary>
internal sealed class TilePlan
{
    public TilePlan(int height, int width, int tileHeight, int tileWidth, int padHeight, int padWidth)
    {
        Height = height;
        Width = width;
        TileHeight = tileHeight;
        TileWidth = tileWidth;
        PadHeight = padHeight;
        PadWidth = padWidth;
        Rows = (height + tileHeight - 1) / tileHeight;
        Columns = (width + tileWidth - 1) / tileWidth;
    }

    public int Height { get; }
    public int Width { get; }
    public int TileHeight { get; }
    public int TileWidth { get; }
    public int PadHeight { get; }
    public int PadWidth { get; }
    public int Rows { get; }
    public int Columns { get; }
    public int Count => Rows * Columns;

    /// <summary>The size of window <paramref name="index"/>: its tile, cut short at the image edge, plus the pad on each side.</summary>
    public (int Height, int Width) WindowSize(int index)
    {
        var (top, left) = Origin(index);
        return (Math.Min(TileHeight, Height - top) + 2 * PadHeight, Math.Min(TileWidth, Width - left) + 2 * PadWidth);
    }

    /// <summary>Top-left output pixel of tile <paramref name="index"/>.</summary>
    public (int Top, int Left) Origin(int index) => (index / Columns * TileHeight, index % Columns * TileWidth);

    /// <summary>
    /// Window <paramref name="index"/> of the HWC image, mirrored past its edges, as a new float image (samples converted
    /// as <see cref="Image.ToFloat"/> does, so no float copy of the whole image is needed).
    /// </summary>
    public Image<float> CutWindow(Image image, int index) => image switch
    {
        Image<byte> bytes => CutWindow(bytes, index),
        Image<ushort> words => CutWindow(words, index),
        Image<int> ints => CutWindow(ints, index),
        Image<float> floats => CutWindow(floats, index),
        _ => throw new NotSupportedException($"TilePlan: images of {image.SampleType} samples are not supported."),
    };

    private Image<float> CutWindow<T>(Image<T> image, int index) where T : unmanaged, INumber<T>
    {
        var (top, left) = Origin(index);
        var (windowHeight, windowWidth) = WindowSize(index);
        int channels = image.Channels;
        var window = new Image<float>(windowHeight, windowWidth, channels);
        var columns = new int[windowWidth];
        for (int x = 0; x < columns.Length; x++) columns[x] = Mirror(left - PadWidth + x, Width);
        var source = image.Pixels;
        var destination = window.Pixels;
        for (int y = 0; y < windowHeight; y++)
        {
            int sourceRow = Mirror(top - PadHeight + y, Height) * image.Width, destinationRow = y * windowWidth;
            for (int x = 0; x < windowWidth; x++)
            {
                int from = (sourceRow + columns[x]) * channels, to = (destinationRow + x) * channels;
                for (int c = 0; c < channels; c++) destination[to + c] = float.CreateTruncating(source[from + c]);
            }
        }
        return window;
    }

    /// <summary>Symmetric reflection with the edge repeated, periodic with period 2·size for any distance.</summary>
    internal static int Mirror(int index, int size)
    {
        int period = 2 * size;
        int m = ((index % period) + period) % period;
        return m < size ? m : period - 1 - m;
    }
}
