using SharpSeg.Data;

namespace SharpSeg.Training.Inference;

/// <summary>Copies windows of an HWC image into one NCHW batch, each window given by its source rows and columns.</summary>
internal static class WindowCutter
{
    /// <summary>
    /// A [count, C, rows, columns] tensor whose window n reads image pixel (rows[y], columns[x]) at (y, x), where
    /// <paramref name="sources"/>(n) gives those index arrays (plain ranges, or mirrored ones past the edges).
    /// </summary>
    public static Tensor Cut(Image<float> image, int count, int windowHeight, int windowWidth, Func<int, (int[] Rows, int[] Columns)> sources)
    {
        int channels = image.Channels, plane = windowHeight * windowWidth;
        var data = new float[count * channels * plane];
        var pixels = image.Pixels;
        for (int n = 0; n < count; n++)
        {
            var (rows, columns) = sources(n);
            int windowBase = n * channels * plane;
            for (int y = 0; y < windowHeight; y++)
            {
                int sourceRow = rows[y] * image.Width;
                for (int x = 0; x < windowWidth; x++)
                {
                    int source = (sourceRow + columns[x]) * channels;
                    for (int c = 0; c < channels; c++) data[windowBase + c * plane + y * windowWidth + x] = pixels[source + c];
                }
            }
        }
        return Tensor.FromArray(data, count, channels, windowHeight, windowWidth);
    }
}
