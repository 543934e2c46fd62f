using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Synthetic;

namespace SharpSeg.Detection.Data;

/// <summary>Settings of a <see cref="SyntheticDetectionDataset"/>.</summary>
/// <param name="Count">Number of samples.</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="Seed">Fixes every sample: the same seed and index always give the same pixels and objects.</param>
/// <param name="MinObjects">Fewest objects drawn per image.</param>
/// <param name="MaxObjects">Most objects drawn per image.</param>
/// <param name="NoiseStd">Standard deviation of the per-pixel Gaussian noise, in 0–255 units.</param>
/// <param name="MinVisiblePixels">An object that later objects or the image edge leave with fewer visible pixels is not
/// part of the scene's annotations (it is painted over, so nothing visible goes unannotated).</param>
public sealed record SyntheticDetectionOptions(int Count = 64, int Height = 128, int Width = 128, int Seed = 0,
    int MinObjects = 1, int MaxObjects = 4, double NoiseStd = 5, int MinVisiblePixels = 24);

/// <summary>
/// A generated detection and instance-segmentation dataset that needs no download: on a textured background, each
/// image holds a few rotated rectangles, ellipses and triangles (classes 1, 2, 3), each with its own colour in its
/// class's hue band, partly overlapping, plus pixel noise. Every object has its visible-pixel mask and the tight box
/// around it (<c>[min x, min y, max x + 1, max y + 1]</c>). Sample <c>i</c> depends only on (seed, i). SharpSeg's
/// embedded default detection dataset (the counterpart of the segmentation demo's
/// <see cref="SharpSeg.Data.Synthetic.SyntheticDataset"/>), for demos and training tests.
/// </summary>
public sealed class SyntheticDetectionDataset : DetectionDataset
{
    /// <summary>Shape classes in label order (label 1 = rectangle).</summary>
    public static IReadOnlyList<string> ShapeClasses { get; } = ["rectangle", "ellipse", "triangle"];

    /// <summary>Creates the dataset.</summary>
    public SyntheticDetectionDataset(SyntheticDetectionOptions? options = null, IDetectionTransform? transforms = null)
        : base(["background", .. ShapeClasses], transforms)
    {
        Options = Check(options ?? new SyntheticDetectionOptions());
    }

    /// <summary>The settings.</summary>
    public SyntheticDetectionOptions Options { get; }

    /// <inheritdoc />
    public override int Count => Options.Count;

    /// <inheritdoc />
    public override string SourceName(int index) => $"synthetic detection sample {index} (seed {Options.Seed})";

    /// <inheritdoc />
    protected override DetectionSample LoadUnchecked(int index) =>
        new ShapeDetectionScene(Options, new Random(SeedMixer.Mix(Options.Seed, index, -2))).Render(index, SourceName(index));

    /// <summary>
    /// Writes samples as a COCO dataset: <c>images/NNNNNN.png</c>, <c>annotations/instances_train.json</c> (samples
    /// 0 … trainCount − 1) and <c>annotations/instances_val.json</c> (the next <paramref name="valCount"/>), masks as
    /// compressed RLE, boxes as <c>[x, y, w, h]</c>, category ids 1…3. Every file is written atomically.
    /// </summary>
    public static void WriteCoco(string root, SyntheticDetectionOptions options, int trainCount, int valCount)
    {
        if (trainCount < 0 || valCount < 0)
            throw new ArgumentException($"Sample counts must be ≥ 0, got train {trainCount}, val {valCount}.");
        var generator = new SyntheticDetectionDataset(options with { Count = trainCount + valCount });
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(Path.Combine(root, "annotations"));
        var samples = Enumerable.Range(0, trainCount + valCount).Select(i =>
        {
            var sample = generator.Load(i);
            string name = $"{i:D6}.png";
            ImageFile.WritePng(Path.Combine(root, "images", name), ToBytes(sample.Image));
            return (Name: name, sample.Target, sample.Image.Height, sample.Image.Width);
        }).ToList();
        AtomicFile.WriteAllText(Path.Combine(root, "annotations", "instances_train.json"), CocoJson(samples.Take(trainCount)));
        AtomicFile.WriteAllText(Path.Combine(root, "annotations", "instances_val.json"), CocoJson(samples.Skip(trainCount)));
    }

    private static string CocoJson(IEnumerable<(string Name, DetectionTarget Target, int Height, int Width)> samples)
    {
        var images = new List<string>();
        var annotations = new List<string>();
        foreach (var (name, target, height, width) in samples)
        {
            images.Add(Invariant($"{{\"id\":{target.ImageId},\"file_name\":\"{name}\",\"height\":{height},\"width\":{width}}}"));
            for (int i = 0; i < target.Count; i++)
            {
                var (x1, y1, x2, y2) = target.Box(i);
                var rle = target.Masks!.ToRle(i);
                annotations.Add(Invariant(
                    $"{{\"id\":{annotations.Count + 1},\"image_id\":{target.ImageId},\"category_id\":{target.Labels[i]},\"iscrowd\":0,") +
                    Invariant($"\"area\":{target.Area[i]},\"bbox\":[{x1},{y1},{x2 - x1},{y2 - y1}],") +
                    Invariant($"\"segmentation\":{{\"size\":[{height},{width}],\"counts\":{JsonSerializer.Serialize(rle.ToCompressedString())}}}}}"));
            }
        }
        var categories = ShapeClasses.Select((c, i) => Invariant($"{{\"id\":{i + 1},\"name\":\"{c}\"}}"));
        var text = new StringBuilder("{\n\"images\": [\n");
        text.AppendJoin(",\n", images).Append("\n],\n\"categories\": [\n").AppendJoin(",\n", categories)
            .Append("\n],\n\"annotations\": [\n").AppendJoin(",\n", annotations).Append("\n]\n}\n");
        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static Image<byte> ToBytes(Image<float> image)
    {
        var bytes = new byte[image.Pixels.Length];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)Math.Clamp(MathF.Round(image.Pixels[i]), 0, 255);
        return new Image<byte>(image.Height, image.Width, image.Channels, bytes);
    }

    private static SyntheticDetectionOptions Check(SyntheticDetectionOptions options)
    {
        if (options.Count < 0 || options.Height < 8 || options.Width < 8)
            throw new ArgumentException($"Synthetic detection set needs Count ≥ 0 and images of at least 8×8, got {options}.");
        if (options.MinObjects < 0 || options.MaxObjects < options.MinObjects)
            throw new ArgumentException($"Synthetic detection set needs 0 ≤ MinObjects ≤ MaxObjects, got {options.MinObjects}, {options.MaxObjects}.");
        if (!(options.NoiseStd >= 0) || options.MinVisiblePixels < 1)
            throw new ArgumentException($"Synthetic detection set needs NoiseStd ≥ 0 and MinVisiblePixels ≥ 1, got {options}.");
        return options;
    }
}

/// <summary>Renders one synthetic detection sample; all randomness comes from the <see cref="Random"/> it is given.</summary>
internal sealed class ShapeDetectionScene(SyntheticDetectionOptions options, Random random)
{
    private readonly int _height = options.Height, _width = options.Width;

    public DetectionSample Render(int imageId, string source)
    {
        var image = new Image<float>(_height, _width, 3);
        PaintBackground(image);
        // owner[p] is the object painted last at pixel p (−1: background), so occluded parts leave earlier masks.
        var owner = new int[_height * _width];
        Array.Fill(owner, -1);
        int objects = random.Next(options.MinObjects, options.MaxObjects + 1);
        var labels = new int[objects];
        for (int n = 0; n < objects; n++)
        {
            labels[n] = random.Next(1, SyntheticDetectionDataset.ShapeClasses.Count + 1);
            PaintShape(image, owner, n, labels[n]);
        }
        SyntheticPainting.AddGaussianNoise(image, options.NoiseStd, random);

        var pixels = new int[objects];
        foreach (int o in owner)
            if (o >= 0)
                pixels[o]++;
        var kept = Enumerable.Range(0, objects).Where(n => pixels[n] >= options.MinVisiblePixels).ToArray();
        var masks = new InstanceMasks(kept.Length, _height, _width);
        var boxes = new float[kept.Length * 4];
        for (int k = 0; k < kept.Length; k++)
        {
            var mask = masks[k];
            int x1 = _width, y1 = _height, x2 = -1, y2 = -1;
            for (int p = 0; p < owner.Length; p++)
            {
                if (owner[p] != kept[k])
                    continue;
                mask[p] = 1;
                int y = p / _width, x = p % _width;
                x1 = Math.Min(x1, x);
                y1 = Math.Min(y1, y);
                x2 = Math.Max(x2, x);
                y2 = Math.Max(y2, y);
            }
            boxes[4 * k] = x1;
            boxes[4 * k + 1] = y1;
            boxes[4 * k + 2] = x2 + 1;
            boxes[4 * k + 3] = y2 + 1;
        }
        var target = new DetectionTarget(boxes, [.. kept.Select(n => labels[n])], masks, imageId: imageId);
        return new DetectionSample(image, target, source);
    }

    private void PaintBackground(Image<float> image)
    {
        var (r, g, b) = SyntheticPainting.HsvToRgb(random.NextDouble() * 360, random.NextDouble() * 0.25, 0.3 + random.NextDouble() * 0.4);
        double angle = random.NextDouble() * 2 * Math.PI, strength = 50 * random.NextDouble();
        double gx = Math.Cos(angle) * strength / _width, gy = Math.Sin(angle) * strength / _height;
        double period = 6 + 10 * random.NextDouble(), ripple = 8 * random.NextDouble();
        for (int y = 0; y < _height; y++)
            for (int x = 0; x < _width; x++)
            {
                double shift = gx * x + gy * y - strength / 2 + ripple * Math.Sin((x + 0.7 * y) / period);
                SyntheticPainting.SetPixel(image, y, x, r + shift, g + shift, b + shift);
            }
    }

    private void PaintShape(Image<float> image, int[] owner, int index, int label)
    {
        int minSide = Math.Min(_height, _width);
        double radius = minSide * (0.1 + random.NextDouble() * 0.18);
        double cx = radius * 0.5 + random.NextDouble() * (_width - radius), cy = radius * 0.5 + random.NextDouble() * (_height - radius);
        double aspect = 0.5 + random.NextDouble() * 0.5;
        var (sin, cos) = Math.SinCos(random.NextDouble() * 2 * Math.PI);
        // Classes own hue bands a third of the wheel apart; each object jitters within its band.
        double hue = 120.0 * (label - 1) + (random.NextDouble() - 0.5) * 40;
        var colour = SyntheticPainting.HsvToRgb(hue, 0.55 + 0.4 * random.NextDouble(), 0.55 + 0.45 * random.NextDouble());
        double shading = 0.25 * random.NextDouble();

        int extent = (int)Math.Ceiling(radius * 1.5);
        int x0 = Math.Max(0, (int)cx - extent), x1 = Math.Min(_width - 1, (int)cx + extent);
        int y0 = Math.Max(0, (int)cy - extent), y1 = Math.Min(_height - 1, (int)cy + extent);
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                double dx = (x + 0.5 - cx) / radius, dy = (y + 0.5 - cy) / radius;
                double u = dx * cos + dy * sin, v = (-dx * sin + dy * cos) / aspect;
                bool inside = label switch
                {
                    1 => Math.Abs(u) <= 1 && Math.Abs(v) <= 1,
                    2 => u * u + v * v <= 1,
                    _ => v <= 0.5 && v >= -1 + 1.7320508 * Math.Abs(u),
                };
                if (!inside)
                    continue;
                double shade = 1 - shading * (u + 1) / 2;
                SyntheticPainting.SetPixel(image, y, x, colour.R * shade, colour.G * shade, colour.B * shade);
                owner[y * _width + x] = index;
            }
    }
}
