using System.Numerics;
using System.Numerics.Tensors;

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
    /// <summary><c>cv2.INTER_AREA</c>: pixel-area averaging when shrinking; OpenCV's area-linear blend when enlarging.</summary>
    Area,
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
            Interpolation.Linear => ResizeSeparable(src, ResizeTaps(src.Height, height, 2), ResizeTaps(src.Width, width, 2)),
            Interpolation.Cubic => ResizeSeparable(src, ResizeTaps(src.Height, height, 4), ResizeTaps(src.Width, width, 4)),
            Interpolation.Area => ResizeArea(src, height, width),
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

    /// <summary>For each destination index, <see cref="Count"/> source indices and weights.</summary>
    private readonly record struct Taps(int[] Index, float[] Weight, int Count);

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
        return new Taps(index, weight, taps);
    }

    /// <summary>
    /// <c>cv2.INTER_AREA</c>: exact block means for integer shrink factors, coverage-weighted means
    /// (OpenCV's <c>computeResizeAreaTab</c>) for other shrinks, and OpenCV's area-mode linear weights when
    /// either side grows.
    /// </summary>
    private static Image<float> ResizeArea(Image<float> src, int height, int width)
    {
        const double machineEpsilon = 2.220446049250313e-16;   // C's DBL_EPSILON, which OpenCV compares with
        double scaleY = 1.0 / ((double)height / src.Height), scaleX = 1.0 / ((double)width / src.Width);
        if (scaleX < 1 || scaleY < 1)
            return ResizeSeparable(src, AreaLinearTaps(src.Height, height), AreaLinearTaps(src.Width, width));
        int blockY = (int)Math.Round(scaleY), blockX = (int)Math.Round(scaleX);
        if (Math.Abs(scaleY - blockY) < machineEpsilon && Math.Abs(scaleX - blockX) < machineEpsilon)
            return BlockMean(src, height, width, blockY, blockX);
        return ResizeSeparable(src, AreaTaps(src.Height, height), AreaTaps(src.Width, width));
    }

    private static Image<float> BlockMean(Image<float> src, int height, int width, int blockY, int blockX)
    {
        int channels = src.Channels;
        float scale = 1f / (blockY * blockX);
        var dst = new Image<float>(height, width, channels);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    float sum = 0;
                    for (int dy = 0; dy < blockY; dy++)
                        for (int dx = 0; dx < blockX; dx++)
                            sum += src.Pixels[((y * blockY + dy) * src.Width + x * blockX + dx) * channels + c];
                    dst.Pixels[(y * width + x) * channels + c] = sum * scale;
                }
        return dst;
    }

    private static Taps AreaLinearTaps(int srcSize, int dstSize)
    {
        double inverseScale = (double)dstSize / srcSize, scale = 1.0 / inverseScale;
        var index = new int[dstSize * 2];
        var weight = new float[dstSize * 2];
        for (int d = 0; d < dstSize; d++)
        {
            int s = (int)Math.Floor(d * scale);
            float f = (float)((d + 1) - (s + 1) * inverseScale);
            f = f <= 0 ? 0f : f - MathF.Floor(f);
            if (s < 0) (f, s) = (0f, 0);
            if (s >= srcSize - 1) (f, s) = (0f, srcSize - 1);
            index[2 * d] = s;
            index[2 * d + 1] = Math.Min(s + 1, srcSize - 1);
            weight[2 * d] = 1f - f;
            weight[2 * d + 1] = f;
        }
        return new Taps(index, weight, 2);
    }

    private static Taps AreaTaps(int srcSize, int dstSize)
    {
        double scale = 1.0 / ((double)dstSize / srcSize);
        var perDestination = new List<(int Index, float Weight)>[dstSize];
        for (int d = 0; d < dstSize; d++)
        {
            var list = perDestination[d] = [];
            double from = d * scale, to = from + scale, cellWidth = Math.Min(scale, srcSize - from);
            int first = (int)Math.Ceiling(from), last = Math.Min((int)Math.Floor(to), srcSize - 1);
            first = Math.Min(first, last);
            if (first - from > 1e-3)
                list.Add((first - 1, (float)((first - from) / cellWidth)));
            for (int s = first; s < last; s++)
                list.Add((s, (float)(1.0 / cellWidth)));
            if (to - last > 1e-3)
                list.Add((last, (float)(Math.Min(Math.Min(to - last, 1.0), cellWidth) / cellWidth)));
        }
        // Pad every destination to the same tap count with zero weights, so the separable pass can run.
        int taps = perDestination.Max(l => l.Count);
        var index = new int[dstSize * taps];
        var weight = new float[dstSize * taps];
        for (int d = 0; d < dstSize; d++)
            for (int k = 0; k < taps; k++)
                (index[d * taps + k], weight[d * taps + k]) = k < perDestination[d].Count ? perDestination[d][k] : (perDestination[d][^1].Index, 0f);
        return new Taps(index, weight, taps);
    }

    /// <summary>Horizontal pass into float rows, then vertical pass, in OpenCV's order of operations.</summary>
    private static Image<float> ResizeSeparable(Image<float> src, Taps yt, Taps xt)
    {
        int height = yt.Index.Length / yt.Count, width = xt.Index.Length / xt.Count;
        int channels = src.Channels, rowLength = width * channels;

        // Per output sample (x, c): the source sample offsets within a row and their weights, tap by tap.
        var offsets = new int[xt.Count][];
        var weights = new float[xt.Count][];
        for (int k = 0; k < xt.Count; k++)
        {
            offsets[k] = new int[rowLength];
            weights[k] = new float[rowLength];
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                {
                    offsets[k][x * channels + c] = xt.Index[x * xt.Count + k] * channels + c;
                    weights[k][x * channels + c] = xt.Weight[x * xt.Count + k];
                }
        }

        var rows = new float[src.Height][];
        float[] HorizontalRow(int sy)
        {
            if (rows[sy] is { } cached)
                return cached;
            var row = new float[rowLength];
            var srcRow = src.Pixels.AsSpan(sy * src.Width * channels, src.Width * channels);
            for (int k = 0; k < xt.Count; k++)
            {
                var offset = offsets[k];
                var weight = weights[k];
                for (int i = 0; i < rowLength; i++)
                    row[i] += srcRow[offset[i]] * weight[i];
            }
            return rows[sy] = row;
        }

        var dst = new Image<float>(height, width, channels);
        for (int y = 0; y < height; y++)
        {
            var outRow = dst.Pixels.AsSpan(y * rowLength, rowLength);
            int taps = yt.Count;
            TensorPrimitives.Multiply(HorizontalRow(yt.Index[y * taps]), yt.Weight[y * taps], outRow);
            for (int k = 1; k < taps; k++)
                TensorPrimitives.MultiplyAdd(HorizontalRow(yt.Index[y * taps + k]), yt.Weight[y * taps + k], outRow, outRow);
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
        int channels = src.Channels, width = src.Width;
        var dst = new Image<T>(src.Height, width, channels);
        var from = src.Pixels;
        var to = dst.Pixels;
        for (int y = 0; y < src.Height; y++)
        {
            int row = y * width * channels;
            for (int x = 0; x < width; x++)
            {
                int s = row + x * channels, d = row + (width - 1 - x) * channels;
                for (int c = 0; c < channels; c++)
                    to[d + c] = from[s + c];
            }
        }
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
    /// destination pixel samples the source at the inverse of the 2×3 matrix <paramref name="m"/>. Like OpenCV,
    /// source positions are computed in 1/1024-pixel fixed point; bilinear sampling rounds them to 1/32 pixel and
    /// treats each out-of-image neighbour as <paramref name="border"/>; nearest rounds them to the closest pixel.
    /// </summary>
    public static Image<T> WarpAffine<T>(Image<T> src, double[] m, int height, int width, bool linear, T border)
        where T : unmanaged, INumber<T>
    {
        double det = m[0] * m[4] - m[1] * m[3];
        det = det != 0 ? 1.0 / det : 0;
        double i00 = m[4] * det, i01 = -m[1] * det, i10 = -m[3] * det, i11 = m[0] * det;
        double i02 = -i00 * m[2] - i01 * m[5], i12 = -i10 * m[2] - i11 * m[5];
        const int fixedBits = 10, tableBits = 5, tableSize = 1 << tableBits;
        int roundDelta = linear ? 1 << (fixedBits - tableBits - 1) : 1 << (fixedBits - 1);
        int shift = linear ? fixedBits - tableBits : fixedBits;
        var xTerms = new long[width];
        for (int x = 0; x < width; x++)
            xTerms[x] = (long)Math.Round(i00 * x * (1 << fixedBits));
        var yTerms = new long[width];
        for (int x = 0; x < width; x++)
            yTerms[x] = (long)Math.Round(i10 * x * (1 << fixedBits));

        int channels = src.Channels;
        var dst = new Image<T>(height, width, channels);
        for (int y = 0; y < height; y++)
        {
            long rowX = (long)Math.Round((i01 * y + i02) * (1 << fixedBits)) + roundDelta;
            long rowY = (long)Math.Round((i11 * y + i12) * (1 << fixedBits)) + roundDelta;
            for (int x = 0; x < width; x++)
            {
                long sx = (rowX + xTerms[x]) >> shift, sy = (rowY + yTerms[x]) >> shift;
                int d = (y * width + x) * channels;
                if (!linear)
                {
                    bool inside = sx >= 0 && sy >= 0 && sx < src.Width && sy < src.Height;
                    for (int c = 0; c < channels; c++)
                        dst.Pixels[d + c] = inside ? src.Pixels[((int)sy * src.Width + (int)sx) * channels + c] : border;
                    continue;
                }
                int x0 = (int)(sx >> tableBits), y0 = (int)(sy >> tableBits);
                float fx = (sx & (tableSize - 1)) / (float)tableSize, fy = (sy & (tableSize - 1)) / (float)tableSize;
                float w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
                for (int c = 0; c < channels; c++)
                {
                    float v = SampleOr(src, y0, x0, c, border) * w00 + SampleOr(src, y0, x0 + 1, c, border) * w01
                        + SampleOr(src, y0 + 1, x0, c, border) * w10 + SampleOr(src, y0 + 1, x0 + 1, c, border) * w11;
                    dst.Pixels[d + c] = T.CreateTruncating(v);
                }
            }
        }
        return dst;
    }

    private static float SampleOr<T>(Image<T> src, int y, int x, int c, T border) where T : unmanaged, INumber<T> =>
        float.CreateTruncating(y >= 0 && x >= 0 && y < src.Height && x < src.Width ? src[y, x, c] : border);

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
        var padded = new float[(w + 2 * radius) * channels];
        var horizontal = new float[src.Pixels.Length];
        for (int y = 0; y < h; y++)
        {
            for (int px = 0; px < w + 2 * radius; px++)
                src.Pixels.AsSpan((y * w + Reflect101(px - radius, w)) * channels, channels).CopyTo(padded.AsSpan(px * channels));
            var outRow = horizontal.AsSpan(y * w * channels, w * channels);
            for (int k = 0; k < kernel.Length; k++)
                TensorPrimitives.MultiplyAdd(padded.AsSpan(k * channels, w * channels), kernel[k], outRow, outRow);
        }
        var dst = new Image<float>(h, w, channels);
        int rowLength = w * channels;
        for (int y = 0; y < h; y++)
        {
            var outRow = dst.Pixels.AsSpan(y * rowLength, rowLength);
            for (int k = 0; k < kernel.Length; k++)
                TensorPrimitives.MultiplyAdd(horizontal.AsSpan(Reflect101(y + k - radius, h) * rowLength, rowLength), kernel[k], outRow, outRow);
        }
        return dst;
    }

    /// <summary>
    /// Separable 8-bit filter in OpenCV's fixed point (<c>GaussianBlurFixedPoint</c>): integer kernel in 1/256
    /// units, exact integer sums in both passes, the result rounded half up; BORDER_REFLECT_101.
    /// </summary>
    public static Image<float> FixedPointFilter(Image<float> src, int[] kernel)
    {
        int radius = kernel.Length / 2, channels = src.Channels, h = src.Height, w = src.Width, rowLength = w * channels;
        var padded = new int[(w + 2 * radius) * channels];
        var horizontal = new int[src.Pixels.Length];
        for (int y = 0; y < h; y++)
        {
            for (int px = 0; px < w + 2 * radius; px++)
                for (int c = 0; c < channels; c++)
                    padded[px * channels + c] = (int)src.Pixels[(y * w + Reflect101(px - radius, w)) * channels + c];
            var outRow = horizontal.AsSpan(y * rowLength, rowLength);
            for (int k = 0; k < kernel.Length; k++)
            {
                int weight = kernel[k];
                var taps = padded.AsSpan(k * channels, rowLength);
                for (int i = 0; i < rowLength; i++)
                    outRow[i] += weight * taps[i];
            }
        }
        var dst = new Image<float>(h, w, channels);
        var sums = new int[rowLength];   // ≤ 255 · 256 · 256, fits an int
        for (int y = 0; y < h; y++)
        {
            Array.Clear(sums);
            for (int k = 0; k < kernel.Length; k++)
            {
                int weight = kernel[k];
                var row = horizontal.AsSpan(Reflect101(y + k - radius, h) * rowLength, rowLength);
                for (int i = 0; i < rowLength; i++)
                    sums[i] += weight * row[i];
            }
            var outRow = dst.Pixels.AsSpan(y * rowLength, rowLength);
            for (int i = 0; i < rowLength; i++)
                outRow[i] = Math.Min(255, (sums[i] + (1 << 15)) >> 16);
        }
        return dst;
    }

    /// <summary>
    /// Median of each k×k window per channel, edges replicated (as cv2.medianBlur), for whole-number samples
    /// in 0–255: a sliding 256-bin histogram per row (Huang's algorithm).
    /// </summary>
    public static Image<float> MedianFilter(Image<float> src, int size)
    {
        int radius = size / 2, channels = src.Channels, h = src.Height, w = src.Width, below = size * size / 2;
        var dst = new Image<float>(h, w, channels);
        var histogram = new int[256];
        int Sample(int y, int x, int c) => (int)src.Pixels[(Math.Clamp(y, 0, h - 1) * w + Math.Clamp(x, 0, w - 1)) * channels + c];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < h; y++)
            {
                Array.Clear(histogram);
                for (int dy = -radius; dy <= radius; dy++)
                    for (int dx = -radius; dx <= radius; dx++)
                        histogram[Sample(y + dy, dx, c)]++;
                int median = 0, lessThanMedian = 0;
                for (int x = 0; x < w; x++)
                {
                    if (x > 0)
                        for (int dy = -radius; dy <= radius; dy++)
                        {
                            int leaving = Sample(y + dy, x - 1 - radius, c), entering = Sample(y + dy, x + radius, c);
                            histogram[leaving]--;
                            histogram[entering]++;
                            lessThanMedian += (entering < median ? 1 : 0) - (leaving < median ? 1 : 0);
                        }
                    while (lessThanMedian > below)
                        lessThanMedian -= histogram[--median];
                    while (lessThanMedian + histogram[median] <= below)
                        lessThanMedian += histogram[median++];
                    dst.Pixels[(y * w + x) * channels + c] = median;
                }
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
