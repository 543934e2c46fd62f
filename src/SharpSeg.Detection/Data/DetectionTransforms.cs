using SharpSeg.Data;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Detection.Data;

/// <summary>
/// One step of a detection pipeline: it changes the image and keeps boxes, masks and areas aligned with it. Random steps
/// draw only from the <see cref="Random"/> passed in; an implementation keeps no mutable state. Equivalent to a
/// transform of torchvision's detection references (<c>__call__(image, target)</c>).
/// </summary>
public interface IDetectionTransform
{
    /// <summary>Transforms <paramref name="sample"/> in place.</summary>
    void Apply(DetectionSample sample, Random random);
}

/// <summary>Applies transforms in order. Equivalent to the references' <c>Compose</c>.</summary>
public sealed class DetectionCompose(IReadOnlyList<IDetectionTransform> transforms) : IDetectionTransform
{
    /// <summary>The steps.</summary>
    public IReadOnlyList<IDetectionTransform> Transforms { get; } = transforms;

    /// <inheritdoc />
    public void Apply(DetectionSample sample, Random random)
    {
        foreach (var transform in Transforms)
        {
            transform.Apply(sample, random);
            sample.CheckMasks(transform.GetType().Name);
        }
    }
}

/// <summary>The geometry shared by the transforms: resampling image and masks together and scaling boxes.</summary>
internal static class DetectionGeometry
{
    /// <summary>
    /// Resizes the image (bilinear, as <c>cv2.resize</c>), the masks (nearest, <c>torch.nn.functional.interpolate(mode="nearest")</c>)
    /// and scales boxes by <c>new / old</c> per axis as torchvision's <c>resize_boxes</c>; areas scale by both ratios,
    /// except that with masks they are recounted.
    /// </summary>
    public static void Resize(DetectionSample sample, int height, int width)
    {
        int oldHeight = sample.Image.Height, oldWidth = sample.Image.Width;
        if (height == oldHeight && width == oldWidth)
            return;
        var image = new SegSample(sample.Image, null);
        new Resize(width, height, interpolation: Interpolation.Linear).Apply(image, new Random(0));
        sample.Image = image.Image;

        var target = sample.Target;
        // torchvision computes the ratios in float32 (torch.tensor(s) / torch.tensor(s_orig)).
        float ratioX = (float)width / oldWidth, ratioY = (float)height / oldHeight;
        var boxes = new float[target.Boxes.Length];
        for (int i = 0; i < target.Count; i++)
        {
            boxes[4 * i] = target.Boxes[4 * i] * ratioX;
            boxes[4 * i + 1] = target.Boxes[4 * i + 1] * ratioY;
            boxes[4 * i + 2] = target.Boxes[4 * i + 2] * ratioX;
            boxes[4 * i + 3] = target.Boxes[4 * i + 3] * ratioY;
        }
        var masks = target.Masks is { } m ? ResizeMasksNearest(m, height, width) : null;
        var area = new float[target.Count];
        for (int i = 0; i < target.Count; i++)
            area[i] = masks is not null ? masks.Area(i) : target.Area[i] * ratioX * ratioY;
        sample.Target = target.With(boxes, masks, area);
    }

    /// <summary>Nearest-neighbour resize with source index <c>floor(dst · in / out)</c>, as torch's <c>mode="nearest"</c>.</summary>
    public static InstanceMasks ResizeMasksNearest(InstanceMasks masks, int height, int width)
    {
        var result = new InstanceMasks(masks.Count, height, width);
        var rows = NearestIndices(masks.Height, height);
        var columns = NearestIndices(masks.Width, width);
        for (int n = 0; n < masks.Count; n++)
        {
            var source = masks[n];
            var destination = result[n];
            for (int y = 0; y < height; y++)
            {
                int sourceRow = rows[y] * masks.Width;
                for (int x = 0; x < width; x++)
                    destination[y * width + x] = source[sourceRow + columns[x]];
            }
        }
        return result;
    }

    private static int[] NearestIndices(int input, int output)
    {
        // torch's nearest kernel: scale = in / out in float, source = min(floor(dst · scale), in − 1).
        float scale = (float)input / output;
        var indices = new int[output];
        for (int i = 0; i < output; i++)
            indices[i] = Math.Min((int)MathF.Floor(i * scale), input - 1);
        return indices;
    }

    /// <summary>Crops the window <c>[top, top + height) × [left, left + width)</c>; see <see cref="DetectionRandomCrop"/> for the boxes.</summary>
    public static void Crop(DetectionSample sample, int top, int left, int height, int width)
    {
        var image = sample.Image;
        int channels = image.Channels;
        var pixels = new float[height * width * channels];
        for (int y = 0; y < height; y++)
            image.Pixels.AsSpan(((top + y) * image.Width + left) * channels, width * channels)
                .CopyTo(pixels.AsSpan(y * width * channels));
        sample.Image = new Image<float>(height, width, channels, pixels);

        var target = sample.Target;
        var keep = new List<int>();
        var boxes = new List<float>();
        var areas = new List<float>();
        for (int i = 0; i < target.Count; i++)
        {
            var (x1, y1, x2, y2) = target.Box(i);
            float cx1 = Math.Clamp(x1 - left, 0, width), cy1 = Math.Clamp(y1 - top, 0, height);
            float cx2 = Math.Clamp(x2 - left, 0, width), cy2 = Math.Clamp(y2 - top, 0, height);
            if (!(cx2 > cx1 && cy2 > cy1))
                continue;
            keep.Add(i);
            boxes.AddRange([cx1, cy1, cx2, cy2]);
            // Without masks the area shrinks with the visible part of the box.
            float boxArea = (x2 - x1) * (y2 - y1);
            areas.Add(boxArea > 0 ? target.Area[i] * (cx2 - cx1) * (cy2 - cy1) / boxArea : 0);
        }
        InstanceMasks? masks = null;
        if (target.Masks is { } m)
        {
            masks = new InstanceMasks(keep.Count, height, width);
            for (int k = 0; k < keep.Count; k++)
            {
                var source = m[keep[k]];
                var destination = masks[k];
                for (int y = 0; y < height; y++)
                    source.Slice((top + y) * m.Width + left, width).CopyTo(destination.Slice(y * width, width));
                areas[k] = masks.Area(k);
            }
        }
        sample.Target = target.Select(keep).With([.. boxes], masks, [.. areas]);
    }
}

/// <summary>
/// Resizes to a fixed size: image bilinear, masks nearest, boxes scaled per axis (torchvision's <c>resize_boxes</c>).
/// Equivalent to <c>torchvision.transforms.v2.Resize((height, width))</c> on an image with boxes and masks.
/// </summary>
public sealed class DetectionResize : IDetectionTransform
{
    /// <summary>Creates the transform.</summary>
    public DetectionResize(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        Height = height;
        Width = width;
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public void Apply(DetectionSample sample, Random random) => DetectionGeometry.Resize(sample, Height, Width);
}

/// <summary>
/// Mirrors left–right with probability <see cref="Probability"/>: boxes become <c>[W − x2, y1, W − x1, y2]</c> and masks
/// are mirrored. Equivalent to the detection references' <c>RandomHorizontalFlip(prob)</c>.
/// </summary>
public sealed class DetectionRandomHorizontalFlip : IDetectionTransform
{
    /// <summary>Creates the transform.</summary>
    public DetectionRandomHorizontalFlip(double probability = 0.5)
    {
        if (!(probability is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "probability must be in [0, 1].");
        Probability = probability;
    }

    /// <summary>Chance of flipping.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public void Apply(DetectionSample sample, Random random)
    {
        if (!(random.NextDouble() < Probability))
            return;
        var image = sample.Image;
        int width = image.Width, channels = image.Channels;
        var pixels = new float[image.Pixels.Length];
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < width; x++)
                image.Pixels.AsSpan((y * width + x) * channels, channels)
                    .CopyTo(pixels.AsSpan((y * width + width - 1 - x) * channels));
        sample.Image = new Image<float>(image.Height, width, channels, pixels);

        var target = sample.Target;
        var boxes = (float[])target.Boxes.Clone();
        for (int i = 0; i < target.Count; i++)
        {
            boxes[4 * i] = width - target.Boxes[4 * i + 2];
            boxes[4 * i + 2] = width - target.Boxes[4 * i];
        }
        InstanceMasks? masks = null;
        if (target.Masks is { } m)
        {
            masks = new InstanceMasks(m.Count, m.Height, m.Width);
            for (int n = 0; n < m.Count; n++)
            {
                var source = m[n];
                var destination = masks[n];
                for (int y = 0; y < m.Height; y++)
                    for (int x = 0; x < width; x++)
                        destination[y * width + width - 1 - x] = source[y * width + x];
            }
        }
        sample.Target = target.With(boxes, masks, (float[])target.Area.Clone());
    }
}

/// <summary>
/// Cuts a random window of <see cref="Height"/> × <see cref="Width"/> (the whole side when the image is smaller). Boxes
/// are shifted and clipped to the window, and objects whose clipped box is empty — wholly outside the window — are
/// <b>removed</b> with their masks, labels and flags: the standard detection behaviour (torchvision's <c>RandomIoUCrop</c>
/// and <c>SanitizeBoundingBoxes</c>, mmdetection's <c>RandomCrop</c>), because a model cannot be asked to find an object it
/// cannot see. Areas follow the visible part (the mask's pixels, or the box's share without masks).
/// </summary>
public sealed class DetectionRandomCrop : IDetectionTransform
{
    /// <summary>Creates the transform.</summary>
    public DetectionRandomCrop(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        Height = height;
        Width = width;
    }

    /// <summary>Window height.</summary>
    public int Height { get; }

    /// <summary>Window width.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public void Apply(DetectionSample sample, Random random)
    {
        int height = Math.Min(Height, sample.Image.Height), width = Math.Min(Width, sample.Image.Width);
        int top = random.Next(sample.Image.Height - height + 1), left = random.Next(sample.Image.Width - width + 1);
        DetectionGeometry.Crop(sample, top, left, height, width);
    }
}

/// <summary>
/// Large-scale jitter: scales the image so it fits <see cref="TargetHeight"/> × <see cref="TargetWidth"/> times a factor drawn
/// uniformly from [<see cref="MinScale"/>, <see cref="MaxScale"/>], keeping the aspect ratio; boxes and masks follow.
/// Equivalent to the detection references' <c>ScaleJitter(target_size, scale_range)</c> (Ghiasi et al., "Simple Copy-Paste").
/// </summary>
public sealed class ScaleJitter : IDetectionTransform
{
    /// <summary>Creates the transform.</summary>
    public ScaleJitter(int targetHeight, int targetWidth, double minScale = 0.1, double maxScale = 2.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetWidth);
        if (!(minScale > 0 && maxScale >= minScale))
            throw new ArgumentException($"ScaleJitter needs 0 < minScale ≤ maxScale, got {minScale}, {maxScale}.");
        TargetHeight = targetHeight;
        TargetWidth = targetWidth;
        MinScale = minScale;
        MaxScale = maxScale;
    }

    /// <summary>Height the image is fitted to before the random factor.</summary>
    public int TargetHeight { get; }

    /// <summary>Width the image is fitted to before the random factor.</summary>
    public int TargetWidth { get; }

    /// <summary>Smallest factor.</summary>
    public double MinScale { get; }

    /// <summary>Largest factor.</summary>
    public double MaxScale { get; }

    /// <inheritdoc />
    public void Apply(DetectionSample sample, Random random)
    {
        int height = sample.Image.Height, width = sample.Image.Width;
        double scale = MinScale + (MaxScale - MinScale) * random.NextDouble();
        double r = Math.Min((double)TargetHeight / height, (double)TargetWidth / width) * scale;
        // int() truncation as the references; at least one pixel so a tiny draw cannot empty the image.
        DetectionGeometry.Resize(sample, Math.Max(1, (int)(height * r)), Math.Max(1, (int)(width * r)));
    }
}
