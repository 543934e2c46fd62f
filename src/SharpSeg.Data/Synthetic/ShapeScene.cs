using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Synthetic;

/// <summary>Renders one synthetic sample; all randomness comes from the <see cref="Random"/> it is given.</summary>
internal sealed class ShapeScene(SyntheticOptions options, Random random)
{
    private readonly int _height = options.Height, _width = options.Width;

    private enum Texture { Flat, Stripes, Checker, Speckle }

    public SegSample Render(string source)
    {
        var image = new Image<float>(_height, _width, 3);
        var label = new Image<int>(_height, _width, 1);
        PaintBackground(image);

        int shapes = random.Next(options.MinShapes, options.MaxShapes + 1);
        for (int s = 0; s < shapes; s++)
            PaintShape(image, label, classId: random.Next(1, options.NumClasses));
        if (random.NextDouble() < options.OccluderProbability)
            PaintOccluder(image, label);
        SyntheticPainting.AddGaussianNoise(image, options.NoiseStd, random);
        return new SegSample(image, label, source);
    }

    /// <summary>Low-saturation colour with a gradient and two sinusoidal ripples, so class 0 is not flat.</summary>
    private void PaintBackground(Image<float> image)
    {
        var (r, g, b) = SyntheticPainting.HsvToRgb(random.NextDouble() * 360, random.NextDouble() * 0.2, 0.35 + random.NextDouble() * 0.4);
        double gradientAngle = random.NextDouble() * Math.PI, gradient = 40 * random.NextDouble();
        double f1 = 0.05 + random.NextDouble() * 0.25, a1 = random.NextDouble() * Math.PI, p1 = random.NextDouble() * 6.3;
        double f2 = 0.05 + random.NextDouble() * 0.25, a2 = random.NextDouble() * Math.PI, p2 = random.NextDouble() * 6.3;
        double ripple = 10 + 15 * random.NextDouble();

        // sin(f·(x cos a + y sin a) + p) = sin(X) cos(Y) + cos(X) sin(Y): per-column and per-row tables.
        var (sinX1, cosX1) = Table(_width, i => f1 * i * Math.Cos(a1));
        var (sinY1, cosY1) = Table(_height, i => f1 * i * Math.Sin(a1) + p1);
        var (sinX2, cosX2) = Table(_width, i => f2 * i * Math.Cos(a2));
        var (sinY2, cosY2) = Table(_height, i => f2 * i * Math.Sin(a2) + p2);
        double scale = 1.0 / Math.Max(_height, _width);
        double gx = Math.Cos(gradientAngle) * scale * gradient, gy = Math.Sin(gradientAngle) * scale * gradient;
        for (int y = 0; y < _height; y++)
            for (int x = 0; x < _width; x++)
            {
                double wave = sinX1[x] * cosY1[y] + cosX1[x] * sinY1[y] + sinX2[x] * cosY2[y] + cosX2[x] * sinY2[y];
                double shift = gx * x + gy * y - gradient / 2 + ripple * wave / 2;
                SyntheticPainting.SetPixel(image, y, x, r + shift, g + shift, b + shift);
            }
    }

    private static (double[] Sin, double[] Cos) Table(int length, Func<int, double> angle)
    {
        var sin = new double[length];
        var cos = new double[length];
        for (int i = 0; i < length; i++)
            (sin[i], cos[i]) = Math.SinCos(angle(i));
        return (sin, cos);
    }

    private void PaintShape(Image<float> image, Image<int> label, int classId)
    {
        int kind = (classId - 1) % SyntheticDataset.ShapeKinds.Count;
        int minSide = Math.Min(_height, _width);
        double radius = minSide * (0.08 + random.NextDouble() * 0.17);
        double cx = random.NextDouble() * _width, cy = random.NextDouble() * _height;
        double rotation = random.NextDouble() * 2 * Math.PI, cos = Math.Cos(rotation), sin = Math.Sin(rotation);

        // Classes share hue bands spread round the wheel; the instance jitters within its band.
        double hue = 360.0 * (classId - 1) / Math.Max(1, options.NumClasses - 1) + (random.NextDouble() - 0.5) * 30;
        var colour = SyntheticPainting.HsvToRgb(hue, 0.55 + 0.4 * random.NextDouble(), 0.5 + 0.5 * random.NextDouble());
        var texture = (Texture)random.Next(4);
        double period = 3 + random.NextDouble() * 6;
        var (textureSin, textureCos) = Math.SinCos(random.NextDouble() * Math.PI);
        double contrast = 0.15 + 0.2 * random.NextDouble();

        int x0 = Math.Max(0, (int)(cx - 1.5 * radius)), x1 = Math.Min(_width - 1, (int)(cx + 1.5 * radius));
        int y0 = Math.Max(0, (int)(cy - 1.5 * radius)), y1 = Math.Min(_height - 1, (int)(cy + 1.5 * radius));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                double dx = (x + 0.5 - cx) / radius, dy = (y + 0.5 - cy) / radius;
                double u = dx * cos + dy * sin, v = -dx * sin + dy * cos;
                if (!Inside(kind, u, v))
                    continue;
                double shade = texture switch
                {
                    Texture.Stripes => ((x * textureCos + y * textureSin) / period % 1 + 1) % 1 < 0.5 ? 1 + contrast : 1 - contrast,
                    Texture.Checker => (((int)Math.Floor(x / period) + (int)Math.Floor(y / period)) & 1) == 0 ? 1 + contrast : 1 - contrast,
                    Texture.Speckle => 1 + contrast * (2 * random.NextDouble() - 1),
                    _ => 1,
                };
                SyntheticPainting.SetPixel(image, y, x, colour.R * shade, colour.G * shade, colour.B * shade);
                label[y, x] = classId;
            }
    }

    private static bool Inside(int kind, double u, double v) => kind switch
    {
        0 => u * u + v * v <= 1,
        1 => Math.Abs(u) <= 1 && Math.Abs(v) <= 0.6,
        2 => v <= 0.5 && v >= -1 + 1.7320508 * Math.Abs(u),
        3 => u * u + v * v <= 1 && u * u + v * v >= 0.3,
        4 => u * u + v * v / 0.3 <= 1,
        _ => (Math.Abs(u) <= 1 && Math.Abs(v) <= 0.3) || (Math.Abs(u) <= 0.3 && Math.Abs(v) <= 1),
    };

    /// <summary>One or two grey bars across the scene, labelled background, hiding parts of the shapes.</summary>
    private void PaintOccluder(Image<float> image, Image<int> label)
    {
        int bars = random.Next(1, 3);
        for (int bar = 0; bar < bars; bar++)
        {
            double angle = random.NextDouble() * Math.PI, nx = Math.Cos(angle), ny = Math.Sin(angle);
            // The bar is the band |x·n − centre| ≤ half-thickness; centre ranges over the image's projections on n.
            double lowest = Math.Min(0, nx * _width), highest = Math.Max(0, nx * _width) + ny * _height;
            double centre = lowest + random.NextDouble() * (highest - lowest);
            double halfThickness = 1 + random.NextDouble() * Math.Min(_height, _width) * 0.03;
            double grey = 60 + random.NextDouble() * 120;
            for (int y = 0; y < _height; y++)
                for (int x = 0; x < _width; x++)
                {
                    if (Math.Abs(x * nx + y * ny - centre) > halfThickness)
                        continue;
                    SyntheticPainting.SetPixel(image, y, x, grey, grey, grey);
                    label[y, x] = 0;
                }
        }
    }
}
