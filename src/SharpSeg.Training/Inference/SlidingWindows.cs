namespace SharpSeg.Training.Inference;

/// <summary>
/// The windows of PaddleSeg's averaged sliding-window inference (<c>slide_inference</c>): along each axis,
/// ⌊max(size − crop + stride − 1, 0) / stride⌋ + 1 windows start every <c>stride</c> pixels, the last ones shifted
/// back so they end at the image edge; a crop larger than the image shrinks to it. Every window has the same size.
/// </summary>
internal sealed class SlidingWindows
{
    public SlidingWindows(int height, int width, int cropHeight, int cropWidth, int strideHeight, int strideWidth)
    {
        Height = height;
        Width = width;
        WindowHeight = Math.Min(cropHeight, height);
        WindowWidth = Math.Min(cropWidth, width);
        Tops = Starts(height, cropHeight, strideHeight);
        Lefts = Starts(width, cropWidth, strideWidth);
    }

    public int Height { get; }
    public int Width { get; }
    public int WindowHeight { get; }
    public int WindowWidth { get; }
    public int[] Tops { get; }
    public int[] Lefts { get; }
    public int Count => Tops.Length * Lefts.Length;

    /// <summary>Top-left pixel of window <paramref name="index"/> (windows run row by row).</summary>
    public (int Top, int Left) Origin(int index) => (Tops[index / Lefts.Length], Lefts[index % Lefts.Length]);

    /// <summary>PaddleSeg's window starts along one axis.</summary>
    internal static int[] Starts(int size, int crop, int stride)
    {
        int count = Math.Max(size - crop + stride - 1, 0) / stride + 1;
        var starts = new int[count];
        for (int i = 0; i < count; i++)
        {
            int end = Math.Min(i * stride + crop, size);
            starts[i] = Math.Max(end - crop, 0);
        }
        return starts;
    }

    /// <summary>Windows <paramref name="first"/> … first + count − 1 of the input [1, C, H, W] as one [count, C, h, w] tensor.</summary>
    public Tensor Cut(Tensor input, int first, int count)
    {
        var windows = new Tensor[count];
        for (int n = 0; n < count; n++)
        {
            var (top, left) = Origin(first + n);
            windows[n] = input.Narrow(2, top, WindowHeight).Narrow(3, left, WindowWidth);
        }
        return Tensor.Cat(windows);
    }

    /// <summary>Adds window <paramref name="n"/> of the [N, C, h, w] logits into the full-image sums and counts.</summary>
    public void Accumulate(float[] windowLogits, int n, int classes, int index, float[] sums, int[] counts)
    {
        var (top, left) = Origin(index);
        int plane = WindowHeight * WindowWidth, imagePlane = Height * Width;
        for (int c = 0; c < classes; c++)
            for (int y = 0; y < WindowHeight; y++)
                for (int x = 0; x < WindowWidth; x++)
                    sums[c * imagePlane + (top + y) * Width + left + x] += windowLogits[(n * classes + c) * plane + y * WindowWidth + x];
        for (int y = 0; y < WindowHeight; y++)
            for (int x = 0; x < WindowWidth; x++)
                counts[(top + y) * Width + left + x]++;
    }
}
