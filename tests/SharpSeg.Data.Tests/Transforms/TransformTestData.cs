using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Tests.Transforms;

internal static class TransformTestData
{
    /// <summary>An image whose sample at (y, x, c) is 100 y + 10 x + c, so any displacement is visible.</summary>
    public static Image<float> Coded(int height, int width, int channels)
    {
        var image = new Image<float>(height, width, channels);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    image[y, x, c] = 100 * y + 10 * x + c;
        return image;
    }

    /// <summary>A label whose value at (y, x) is 10 y + x.</summary>
    public static Image<int> CodedLabel(int height, int width)
    {
        var label = new Image<int>(height, width, 1);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                label[y, x] = 10 * y + x;
        return label;
    }

    public static SegSample Sample(int height, int width, int channels = 3) =>
        new(Coded(height, width, channels), CodedLabel(height, width), "mem.png");

    public static Image<float> Gray(int height, int width, params float[] values) => new(height, width, 1, values);
}
