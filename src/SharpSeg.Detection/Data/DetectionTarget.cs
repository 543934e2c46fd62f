using SharpSeg.Data;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Detection.Data;

/// <summary>
/// N binary instance masks of one image, stored as one row-major N×H×W byte array (0 or 1). Equivalent to the
/// <c>masks</c> UInt8Tensor[N, H, W] of a torchvision detection target.
/// </summary>
public sealed class InstanceMasks
{
    /// <summary>Wraps N×H×W bytes (not copied); any non-zero byte counts as foreground.</summary>
    public InstanceMasks(int count, int height, int width, byte[] data)
    {
        if (count < 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Instance masks need count ≥ 0 and a positive size, got {count}×{height}×{width}.");
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length != (long)count * height * width)
            throw new ArgumentException($"Instance masks {count}×{height}×{width} need {(long)count * height * width} bytes, got {data.Length}.");
        Count = count;
        Height = height;
        Width = width;
        Data = data;
    }

    /// <summary>Zero-filled masks.</summary>
    public InstanceMasks(int count, int height, int width)
        : this(count, height, width, new byte[checked(count * height * width)])
    {
    }

    /// <summary>Number of masks (N).</summary>
    public int Count { get; }

    /// <summary>Rows (H), the image's height.</summary>
    public int Height { get; }

    /// <summary>Columns (W), the image's width.</summary>
    public int Width { get; }

    /// <summary>The masks, index <c>(n·H + y)·W + x</c>.</summary>
    public byte[] Data { get; }

    /// <summary>Mask <paramref name="index"/>, row-major H×W.</summary>
    public Span<byte> this[int index] => Data.AsSpan(checked(index * Height * Width), Height * Width);

    /// <summary>Decodes COCO RLEs of one size into masks. Equivalent to <c>pycocotools.mask.decode</c> stacked.</summary>
    public static InstanceMasks FromRles(IReadOnlyList<CocoRle> rles, int height, int width)
    {
        var masks = new InstanceMasks(rles.Count, height, width);
        for (int i = 0; i < rles.Count; i++)
        {
            if (rles[i].Height != height || rles[i].Width != width)
                throw new ArgumentException($"RLE {i} is {rles[i].Height}×{rles[i].Width} but the masks are {height}×{width}.");
            rles[i].Decode().CopyTo(masks[i]);
        }
        return masks;
    }

    /// <summary>Mask <paramref name="index"/> as a COCO RLE (for <see cref="Evaluation.CocoEvaluator"/>).</summary>
    public CocoRle ToRle(int index) => CocoRle.Encode(this[index], Height, Width);

    /// <summary>Foreground pixels of mask <paramref name="index"/>.</summary>
    public int Area(int index)
    {
        int area = 0;
        foreach (byte value in this[index])
            if (value != 0)
                area++;
        return area;
    }

    /// <summary>The masks whose indices are listed, in that order (a copy).</summary>
    public InstanceMasks Select(IReadOnlyList<int> indices)
    {
        var result = new InstanceMasks(indices.Count, Height, Width);
        for (int i = 0; i < indices.Count; i++)
            this[indices[i]].CopyTo(result[i]);
        return result;
    }

    /// <summary>The masks as an [N, H, W] float32 tensor of 0s and 1s (what Mask R-CNN's loss reads).</summary>
    public Tensor ToTensor()
    {
        var values = new float[Data.Length];
        for (int i = 0; i < values.Length; i++)
            values[i] = Data[i] != 0 ? 1 : 0;
        return Tensor.FromArray(values, Count, Height, Width);
    }
}

/// <summary>
/// The annotations of one image for detection and instance segmentation, in torchvision's target convention: boxes
/// <c>[x1, y1, x2, y2]</c> in pixels (float, x2/y2 exclusive edges as COCO's <c>x + w</c>), labels as contiguous class
/// ids with 0 the background (so the first object class is 1), optional instance masks, <c>iscrowd</c>, <c>area</c>
/// and the image id. Equivalent to the <c>target</c> dict torchvision's detection models take
/// (<c>boxes</c>, <c>labels</c>, <c>masks</c>, <c>image_id</c>, <c>area</c>, <c>iscrowd</c>).
/// </summary>
public sealed class DetectionTarget
{
    /// <summary>Creates a target; every per-object array must have one entry per box.</summary>
    /// <param name="boxes">N×4 floats, <c>x1, y1, x2, y2</c> per object.</param>
    /// <param name="labels">N class ids (≥ 1; 0 is the background).</param>
    /// <param name="masks">N instance masks of the image's size, or null for box-only data.</param>
    /// <param name="isCrowd">N crowd flags, or null for none.</param>
    /// <param name="area">N areas (COCO's stored <c>area</c>, else mask or box area), or null to compute them.</param>
    /// <param name="imageId">The image's id (COCO <c>image_id</c>, or the dataset index).</param>
    /// <param name="difficult">N Pascal VOC <c>difficult</c> flags, or null.</param>
    public DetectionTarget(float[] boxes, int[] labels, InstanceMasks? masks = null, bool[]? isCrowd = null,
        float[]? area = null, long imageId = 0, bool[]? difficult = null)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(labels);
        int count = labels.Length;
        if (boxes.Length != count * 4)
            throw new ArgumentException($"Detection target has {count} labels but {boxes.Length} box values (needs {count * 4}).");
        if (masks is not null && masks.Count != count)
            throw new ArgumentException($"Detection target has {count} labels but {masks.Count} masks.");
        if (isCrowd is not null && isCrowd.Length != count)
            throw new ArgumentException($"Detection target has {count} labels but {isCrowd.Length} iscrowd flags.");
        if (area is not null && area.Length != count)
            throw new ArgumentException($"Detection target has {count} labels but {area.Length} areas.");
        if (difficult is not null && difficult.Length != count)
            throw new ArgumentException($"Detection target has {count} labels but {difficult.Length} difficult flags.");
        Boxes = boxes;
        Labels = labels;
        Masks = masks;
        IsCrowd = isCrowd ?? new bool[count];
        Area = area ?? ComputeArea(boxes, masks);
        ImageId = imageId;
        Difficult = difficult;
    }

    /// <summary>Number of objects (N).</summary>
    public int Count => Labels.Length;

    /// <summary>N×4 floats, <c>x1, y1, x2, y2</c> per object, in pixels of the current image.</summary>
    public float[] Boxes { get; }

    /// <summary>Contiguous class ids, 1 … classes − 1 (0 is the background, as torchvision's models expect).</summary>
    public int[] Labels { get; }

    /// <summary>Instance masks of the image's size, or null for box-only data.</summary>
    public InstanceMasks? Masks { get; }

    /// <summary>COCO's <c>iscrowd</c>: the object is a crowd region (RLE), which evaluation ignores instead of counting as missed.</summary>
    public bool[] IsCrowd { get; }

    /// <summary>Object areas in pixels (COCO's stored <c>area</c>, or the mask/box area), used by COCO's area ranges.</summary>
    public float[] Area { get; }

    /// <summary>The image's id (COCO <c>image_id</c>).</summary>
    public long ImageId { get; }

    /// <summary>
    /// Pascal VOC's <c>difficult</c> flags (or a COCO file's <c>ignore</c> flags), or null when the data has none. Training
    /// keeps these objects, as PaddleDetection does; evaluation ignores them (<see cref="Evaluation.CocoGroundTruth.Ignore"/>,
    /// <see cref="Evaluation.VocEvaluator"/>).
    /// </summary>
    public bool[]? Difficult { get; }

    /// <summary>Box <paramref name="index"/> as <c>(x1, y1, x2, y2)</c>.</summary>
    public (float X1, float Y1, float X2, float Y2) Box(int index) =>
        (Boxes[4 * index], Boxes[4 * index + 1], Boxes[4 * index + 2], Boxes[4 * index + 3]);

    /// <summary>A target without objects for an image of no annotations.</summary>
    public static DetectionTarget Empty(long imageId = 0, InstanceMasks? masks = null) =>
        new([], [], masks, imageId: imageId);

    /// <summary>The objects whose indices are listed, in that order.</summary>
    public DetectionTarget Select(IReadOnlyList<int> indices) => new(
        [.. indices.SelectMany(i => new[] { Boxes[4 * i], Boxes[4 * i + 1], Boxes[4 * i + 2], Boxes[4 * i + 3] })],
        [.. indices.Select(i => Labels[i])], Masks?.Select(indices), [.. indices.Select(i => IsCrowd[i])],
        [.. indices.Select(i => Area[i])], ImageId, Difficult is null ? null : [.. indices.Select(i => Difficult[i])]);

    /// <summary>
    /// The objects that are not crowd regions. torchvision's detection references train without crowds
    /// (<c>ConvertCocoPolysToMask</c> keeps <c>iscrowd == 0</c>) while evaluation keeps them as regions to ignore.
    /// </summary>
    public DetectionTarget WithoutCrowds() => Select([.. Enumerable.Range(0, Count).Where(i => !IsCrowd[i])]);

    /// <summary>The same objects with new boxes, masks and areas (what a geometric transform produces).</summary>
    public DetectionTarget With(float[] boxes, InstanceMasks? masks, float[] area) =>
        new(boxes, Labels, masks, IsCrowd, area, ImageId, Difficult);

    /// <summary>The boxes as an [N, 4] float32 tensor. Equivalent to <c>target["boxes"]</c>.</summary>
    public Tensor BoxTensor() => Tensor.FromArray(Boxes, Count, 4);

    /// <summary>The labels as an [N] int64 tensor. Equivalent to <c>target["labels"]</c>.</summary>
    public Tensor LabelTensor() => Tensor.FromArray(Labels.Select(l => (long)l).ToArray(), Count);

    private static float[] ComputeArea(float[] boxes, InstanceMasks? masks)
    {
        var area = new float[boxes.Length / 4];
        for (int i = 0; i < area.Length; i++)
            area[i] = masks is not null
                ? masks.Area(i)
                : (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]);
        return area;
    }
}

/// <summary>
/// An image with its detection target, flowing through <see cref="IDetectionTransform"/>s: the image as float samples
/// (HWC, as stored: 0–255 for 8-bit files), the target in the image's current pixel coordinates. Equivalent to the
/// <c>(image, target)</c> pair of torchvision's detection references.
/// </summary>
public sealed class DetectionSample
{
    /// <summary>Creates a sample; masks, if any, must have the image's size.</summary>
    public DetectionSample(Image<float> image, DetectionTarget target, string imagePath = "")
    {
        Image = image;
        Target = target;
        ImagePath = imagePath;
        OriginalSize = (image.Height, image.Width);
        CheckMasks(nameof(DetectionSample));
    }

    /// <summary>The image, HWC float samples.</summary>
    public Image<float> Image { get; set; }

    /// <summary>The annotations, in the current image's pixels.</summary>
    public DetectionTarget Target { get; set; }

    /// <summary>Where the image came from (for error messages); empty for in-memory samples.</summary>
    public string ImagePath { get; }

    /// <summary>The size of the image as loaded, before any transform (to map predictions back).</summary>
    public (int Height, int Width) OriginalSize { get; init; }

    /// <summary>A name for error messages: the image path, or "in-memory sample".</summary>
    public string Source => ImagePath.Length > 0 ? ImagePath : "in-memory sample";

    /// <summary>
    /// The image as the R-CNN models take it: [C, H, W] float32 with every value divided by <paramref name="maxValue"/>
    /// (0–255 pixels to 0–1, as torchvision's <c>to_tensor</c> on an 8-bit image; pass 65535 for 16-bit data). The
    /// models' <c>GeneralizedRcnnTransform</c> then normalises with ImageNet's mean and standard deviation.
    /// </summary>
    public Tensor ModelInput(float maxValue = 255f)
    {
        if (!(maxValue > 0) || !float.IsFinite(maxValue))
            throw new ArgumentOutOfRangeException(nameof(maxValue), maxValue, $"{Source}: the value that maps to 1 must be positive and finite.");
        var chw = ToTensor.ToChw(Image);
        float scale = 1f / maxValue;
        for (int i = 0; i < chw.Length; i++) chw[i] *= scale;
        return Tensor.FromArray(chw, Image.Channels, Image.Height, Image.Width);
    }

    /// <summary>Throws unless the masks have the image's size (called after every transform).</summary>
    internal void CheckMasks(string transformName)
    {
        if (Target.Masks is { } masks && (masks.Height != Image.Height || masks.Width != Image.Width))
            throw new InvalidDataException(
                $"{transformName}: masks of {Source} are {masks.Height}×{masks.Width} but the image is {Image.Height}×{Image.Width}.");
    }
}
