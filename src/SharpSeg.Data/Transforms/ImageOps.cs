using System.Numerics;

namespace SharpSeg.Data.Transforms;

/// <summary>Resampling modes of <see cref="Resize"/>; the OpenCV <c>cv2.INTER_*</c> flag of the same name.</summary>
public enum Interpolation
{
    /// <summary><c>cv2.INTER_NEAREST</c>: source index <c>floor(dst * src/dst)</c> (not half-pixel).</summary>
    Nearest,
    /// <summary><c>cv2.INTER_LINEAR</c>: bilinear with half-pixel centres, edges replicated.</summary>
    Linear,
    /// <summary><c>cv2.INTER_CUBIC</c>: bicubic (a = −0.75) with half-pixel centres, edges replicated.</summary>
    Cubic,
}

/// <summary>
/// The pixel operations behind the transforms, written to give OpenCV's results on float images
/// (PaddleSeg runs its transforms through cv2 on float32 arrays).
/// </summary>
internal static class ImageOps
{
    /// <summary><c>cv2.resize(im, (width, height), interpolation)</c>.</summary>
    public static Image<float> Resize(Image<float> src, int height, int width, Interpolation interpolation)
    {
        CheckSize(height, width, "Resize");
        return interpolation switch
        {
            Interpolation.Nearest => ResizeNearest(src, height, width),
            Interpolation.Linear => ResizeSeparable(src, height, width, taps: 2),
            Interpolation.Cubic => ResizeSeparable(src, height, width, taps: 4),
            _ => throw new ArgumentOutOfRangeException(nameof(interpolation), interpolation, "Unknown interpolation."),
        };
    }

    /// <summary><c>cv2.resize(label, (width, height), interpolation=cv2.INTER_NEAREST)</c>.</summary>
    public static Image<T> ResizeNearest<T>(Image<T> src, int height, int width) where T : unmanaged, INumber<T>
    {
        CheckSize(height, width, "Resize");
        int channels = src.Channels;
        var dst = new Image<T>(height, width, channels);
        var xOffsets = NearestOffsets(src.Width, width);
        var yOffsets = NearestOffsets(src.Height, height);
        for (int y = 0; y < height; y++)
        {
            int srcRow = yOffsets[y] * src.Width;
            for (int x = 0; x < width; x++)
            {
                int s = (srcRow + xOffsets[x]) * channels, d = (y * width + x) * channels;
                for (int c = 0; c < channels; c++)
                    dst.Pixels[d + c] = src.Pixels[s + c];
            }
        }
        return dst;
    }

    private static int[] NearestOffsets(int srcSize, int dstSize)
    {
        // OpenCV computes the inverse scale in double from the integer sizes, then floors dst * (1 / scale).
        double inverseScale = 1.0 / ((double)dstSize / srcSize);
        var offsets = new int[dstSize];
        for (int i = 0; i < dstSize; i++)
            offsets[i] = Math.Min((int)Math.Floor(i * inverseScale), srcSize - 1);
        return offsets;
    }

    private static void CheckSize(int height, int width, string op)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentException($"{op}: target size must be positive, got {height}×{width}.");
    }

    private readonly record struct Taps(int[] Index, float[] Weight);

    /// <summary>Source indices and weights per destination index, as OpenCV's resize tables.</summary>
    private static Taps ResizeTaps(int srcSize, int dstSize, int taps)
    {
        double scale = 1.0 / ((double)dstSize / srcSize);
        var index = new int[dstSize * taps];
        var weight = new float[dstSize * taps];
        for (int d = 0; d < dstSize; d++)
        {
            float f = (float)((d + 0.5) * scale - 0.5);
            int s = (int)MathF.Floor(f);
            f -= s;
            if (taps == 2)
            {
                if (s < 0) (f, s) = (0f, 0);
                if (s >= srcSize - 1) (f, s) = (0f, srcSize - 1);
                index[2 * d] = s;
                index[2 * d + 1] = Math.Min(s + 1, srcSize - 1);
                weight[2 * d] = 1f - f;
                weight[2 * d + 1] = f;
            }
            else
            {
                const float a = -0.75f;
                float w0 = ((a * (f + 1) - 5 * a) * (f + 1) + 8 * a) * (f + 1) - 4 * a;
                float w1 = ((a + 2) * f - (a + 3)) * f * f + 1;
                float w2 = ((a + 2) * (1 - f) - (a + 3)) * (1 - f) * (1 - f) + 1;
                float w3 = 1f - w0 - w1 - w2;
                ReadOnlySpan<float> w = [w0, w1, w2, w3];
                for (int k = 0; k < 4; k++)
                {
                    index[4 * d + k] = Math.Clamp(s - 1 + k, 0, srcSize - 1);
                    weight[4 * d + k] = w[k];
                }
            }
        }
        return new Taps(index, weight);
    }

    /// <summary>Horizontal pass into float rows, then vertical pass, in OpenCV's order of operations.</summary>
    private static Image<float> ResizeSeparable(Image<float> src, int height, int width, int taps)
    {
        int channels = src.Channels;
        var xt = ResizeTaps(src.Width, width, taps);
        var yt = ResizeTaps(src.Height, height, taps);
        int rowLength = width * channels;

        var rows = new float[src.Height][];
        float[] HorizontalRow(int sy)
        {
            if (rows[sy] is { } cached)
                return cached;
            var row = new float[rowLength];
            int srcRow = sy * src.Width * channels;
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    float sum = 0;
                    for (int k = 0; k < taps; k++)
                        sum += src.Pixels[srcRow + xt.Index[x * taps + k] * channels + c] * xt.Weight[x * taps + k];
                    row[x * channels + c] = sum;
                }
            return rows[sy] = row;
        }

        var dst = new Image<float>(height, width, channels);
        for (int y = 0; y < height; y++)
        {
            var outRow = dst.Pixels.AsSpan(y * rowLength, rowLength);
            for (int k = 0; k < taps; k++)
            {
                float w = yt.Weight[y * taps + k];
                var row = HorizontalRow(yt.Index[y * taps + k]);
                for (int i = 0; i < rowLength; i++)
                    outRow[i] += w * row[i];
            }
        }
        return dst;
    }

    /// <summary>Pads bottom and right with a constant (<c>cv2.copyMakeBorder(…, 0, padH, 0, padW, BORDER_CONSTANT)</c>).</summary>
    public static Image<T> PadBottomRight<T>(Image<T> src, int padHeight, int padWidth, T value)
        where T : unmanaged, INumber<T>
    {
        if (padHeight == 0 && padWidth == 0)
            return src;
        int channels = src.Channels, width = src.Width + padWidth;
        var dst = new Image<T>(src.Height + padHeight, width, channels);
        dst.Pixels.AsSpan().Fill(value);
        for (int y = 0; y < src.Height; y++)
            src.Pixels.AsSpan(y * src.Width * channels, src.Width * channels).CopyTo(dst.Pixels.AsSpan(y * width * channels));
        return dst;
    }

    /// <summary>The sub-image <c>im[top:top+height, left:left+width]</c>.</summary>
    public static Image<T> Crop<T>(Image<T> src, int top, int left, int height, int width) where T : unmanaged, INumber<T>
    {
        if (top < 0 || left < 0 || height <= 0 || width <= 0 || top + height > src.Height || left + width > src.Width)
            throw new ArgumentException(
                $"Crop [{top}:{top + height}, {left}:{left + width}] is outside the {src.Height}×{src.Width} image.");
        int channels = src.Channels;
        var dst = new Image<T>(height, width, channels);
        for (int y = 0; y < height; y++)
            src.Pixels.AsSpan(((top + y) * src.Width + left) * channels, width * channels)
                .CopyTo(dst.Pixels.AsSpan(y * width * channels));
        return dst;
    }

    /// <summary><c>im[:, ::-1]</c>.</summary>
    public static Image<T> FlipHorizontal<T>(Image<T> src) where T : unmanaged, INumber<T>
    {
        int channels = src.Channels;
        var dst = new Image<T>(src.Height, src.Width, channels);
        for (int y = 0; y < src.Height; y++)
            for (int x = 0; x < src.Width; x++)
                src.Pixels.AsSpan((y * src.Width + x) * channels, channels)
                    .CopyTo(dst.Pixels.AsSpan((y * src.Width + src.Width - 1 - x) * channels));
        return dst;
    }

    /// <summary><c>im[::-1, :]</c>.</summary>
    public static Image<T> FlipVertical<T>(Image<T> src) where T : unmanaged, INumber<T>
    {
        int rowLength = src.Width * src.Channels;
        var dst = new Image<T>(src.Height, src.Width, src.Channels);
        for (int y = 0; y < src.Height; y++)
            src.Pixels.AsSpan(y * rowLength, rowLength).CopyTo(dst.Pixels.AsSpan((src.Height - 1 - y) * rowLength));
        return dst;
    }

    /// <summary>
    /// <c>cv2.warpAffine(im, m, (width, height), flags, borderMode=BORDER_CONSTANT, borderValue)</c>: each
    /// destination pixel samples the source at the inverse of the 2×3 matrix <paramref name="m"/>.
    /// Bilinear when <paramref name="linear"/>, else nearest (coordinates rounded half up).
    /// </summary>
    public static Image<T> WarpAffine<T>(Image<T> src, double[] m, int height, int width, bool linear, T border)
        where T : unmanaged, INumber<T>
    {
        double det = m[0] * m[4] - m[1] * m[3];
        double i00 = m[4] / det, i01 = -m[1] / det, i10 = -m[3] / det, i11 = m[0] / det;
        double i02 = -(i00 * m[2] + i01 * m[5]), i12 = -(i10 * m[2] + i11 * m[5]);
        int channels = src.Channels;
        var dst = new Image<T>(height, width, channels);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double sx = i00 * x + i01 * y + i02, sy = i10 * x + i11 * y + i12;
                int d = (y * width + x) * channels;
                if (!linear)
                {
                    int nx = (int)Math.Floor(sx + 0.5), ny = (int)Math.Floor(sy + 0.5);
                    bool inside = nx >= 0 && ny >= 0 && nx < src.Width && ny < src.Height;
                    for (int c = 0; c < channels; c++)
                        dst.Pixels[d + c] = inside ? src.Pixels[(ny * src.Width + nx) * channels + c] : border;
                    continue;
                }
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                double fx = sx - x0, fy = sy - y0;
                for (int c = 0; c < channels; c++)
                {
                    double p00 = SampleOr(src, y0, x0, c, border), p01 = SampleOr(src, y0, x0 + 1, c, border);
                    double p10 = SampleOr(src, y0 + 1, x0, c, border), p11 = SampleOr(src, y0 + 1, x0 + 1, c, border);
                    double v = (1 - fy) * ((1 - fx) * p00 + fx * p01) + fy * ((1 - fx) * p10 + fx * p11);
                    dst.Pixels[d + c] = T.CreateTruncating(v);
                }
            }
        return dst;
    }

    private static double SampleOr<T>(Image<T> src, int y, int x, int c, T border) where T : unmanaged, INumber<T> =>
        double.CreateTruncating(y >= 0 && x >= 0 && y < src.Height && x < src.Width ? src[y, x, c] : border);

    /// <summary>Index of <paramref name="i"/> reflected into [0, n) without repeating the edge (BORDER_REFLECT_101).</summary>
    public static int Reflect101(int i, int n)
    {
        if (n == 1)
            return 0;
        while (i < 0 || i >= n)
            i = i < 0 ? -i : 2 * n - 2 - i;
        return i;
    }

    /// <summary>Separable filter with a symmetric 1-D kernel, BORDER_REFLECT_101 (as cv2.sepFilter2D).</summary>
    public static Image<float> SeparableFilter(Image<float> src, ReadOnlySpan<float> kernel)
    {
        int radius = kernel.Length / 2, channels = src.Channels, h = src.Height, w = src.Width;
        var tmp = new float[src.Pixels.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                {
                    float sum = 0;
                    for (int k = 0; k < kernel.Length; k++)
                        sum += kernel[k] * src.Pixels[(y * w + Reflect101(x + k - radius, w)) * channels + c];
                    tmp[(y * w + x) * channels + c] = sum;
                }
        var dst = new Image<float>(h, w, channels);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                {
                    float sum = 0;
                    for (int k = 0; k < kernel.Length; k++)
                        sum += kernel[k] * tmp[(Reflect101(y + k - radius, h) * w + x) * channels + c];
                    dst.Pixels[(y * w + x) * channels + c] = sum;
                }
        return dst;
    }

    /// <summary>Median of each k×k window per channel, edges replicated (as cv2.medianBlur).</summary>
    public static Image<float> MedianFilter(Image<float> src, int size)
    {
        int radius = size / 2, channels = src.Channels, h = src.Height, w = src.Width;
        var dst = new Image<float>(h, w, channels);
        var window = new float[size * size];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                {
                    int n = 0;
                    for (int dy = -radius; dy <= radius; dy++)
                        for (int dx = -radius; dx <= radius; dx++)
                            window[n++] = src[Math.Clamp(y + dy, 0, h - 1), Math.Clamp(x + dx, 0, w - 1), c];
                    Array.Sort(window);
                    dst[y, x, c] = window[window.Length / 2];
                }
        return dst;
    }

    /// <summary>Values truncated into 0–255 whole numbers, as numpy's <c>astype('uint8')</c> on in-range floats.</summary>
    public static Image<float> TruncateToByteRange(Image<float> src)
    {
        var dst = new Image<float>(src.Height, src.Width, src.Channels);
        for (int i = 0; i < src.Pixels.Length; i++)
            dst.Pixels[i] = MathF.Truncate(Math.Clamp(src.Pixels[i], 0f, 255f));
        return dst;
    }
}
