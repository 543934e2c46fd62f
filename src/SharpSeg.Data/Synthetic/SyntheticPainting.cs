namespace SharpSeg.Data.Synthetic;

/// <summary>
/// The pixel painting the synthetic datasets share (segmentation's <see cref="SyntheticDataset"/> and detection's
/// synthetic set): HSV colours, clamped RGB writes into an HWC float image of 0–255 values, and seeded Gaussian noise.
/// </summary>
public static class SyntheticPainting
{
    /// <summary>Adds N(0, <paramref name="std"/>²) noise to every value, rounded and clamped to 0–255, drawing from <paramref name="random"/>.</summary>
    public static void AddGaussianNoise(Image<float> image, double std, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        var pixels = image.Pixels;
        for (int i = 0; i < pixels.Length; i += 2)
        {
            // Box–Muller gives two independent normals per pair of uniforms; 1 − NextDouble() keeps the log finite.
            double magnitude = std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
            var (sin, cos) = Math.SinCos(2 * Math.PI * random.NextDouble());
            pixels[i] = Math.Clamp(MathF.Round((float)(pixels[i] + magnitude * cos)), 0, 255);
            if (i + 1 < pixels.Length)
                pixels[i + 1] = Math.Clamp(MathF.Round((float)(pixels[i + 1] + magnitude * sin)), 0, 255);
        }
    }

    /// <summary>Writes one RGB pixel of a three-channel HWC image, each value clamped to 0–255.</summary>
    public static void SetPixel(Image<float> image, int y, int x, double r, double g, double b)
    {
        int i = (y * image.Width + x) * 3;
        image.Pixels[i] = (float)Math.Clamp(r, 0, 255);
        image.Pixels[i + 1] = (float)Math.Clamp(g, 0, 255);
        image.Pixels[i + 2] = (float)Math.Clamp(b, 0, 255);
    }

    /// <summary>RGB (0–255) of a colour given as hue in degrees (any value, taken modulo 360), saturation and value in 0–1.</summary>
    public static (double R, double G, double B) HsvToRgb(double hue, double saturation, double value)
    {
        hue = ((hue % 360) + 360) % 360;
        double c = value * saturation, x = c * (1 - Math.Abs(hue / 60 % 2 - 1)), m = value - c;
        var (r, g, b) = (int)(hue / 60) switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        return (255 * (r + m), 255 * (g + m), 255 * (b + m));
    }
}
