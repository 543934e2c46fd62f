namespace SharpSeg.Detection.Models;

/// <summary>
/// A padded batch [N, C, H, W] and the (height, width) of each image inside it before padding. Equivalent to
/// <c>torchvision.models.detection.image_list.ImageList</c>.
/// </summary>
public sealed record ImageList(Tensor Tensors, IReadOnlyList<(int H, int W)> ImageSizes);

/// <summary>
/// The input side of R-CNN models: each [C, H, W] image (floats in [0, 1]) is normalised by mean and standard
/// deviation, resized bilinearly (align_corners false) by s = min(minSize / shorter side, maxSize / longer side) to
/// ⌊side·s⌋, and the batch is zero-padded at the bottom and right to a multiple of <see cref="SizeDivisible"/>.
/// <see cref="Postprocess"/> maps boxes back to the original images. Test-time path: the last of torchvision's
/// <c>min_size</c> values. Equivalent to <c>torchvision.models.detection.transform.GeneralizedRCNNTransform</c> in eval mode.
/// </summary>
/// <param name="minSize">Target shorter side (800 in torchvision's detectors).</param>
/// <param name="maxSize">Cap on the longer side (1333).</param>
/// <param name="imageMean">Per-channel mean (ImageNet's 0.485, 0.456, 0.406).</param>
/// <param name="imageStd">Per-channel standard deviation (0.229, 0.224, 0.225).</param>
/// <param name="sizeDivisible">The padded batch's height and width are multiples of this (32).</param>
public sealed class GeneralizedRcnnTransform(int minSize, int maxSize, float[] imageMean, float[] imageStd, int sizeDivisible = 32)
{
    /// <summary>Target shorter side.</summary>
    public int MinSize { get; } = minSize;

    /// <summary>Cap on the longer side.</summary>
    public int MaxSize { get; } = maxSize;

    /// <summary>Padding multiple.</summary>
    public int SizeDivisible { get; } = sizeDivisible;

    /// <summary>Normalises, resizes and batches <paramref name="images"/>. Equivalent to <c>GeneralizedRCNNTransform.forward</c> without targets.</summary>
    public ImageList Forward(IReadOnlyList<Tensor> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("GeneralizedRcnnTransform: no images.", nameof(images));
        var resized = new Tensor[images.Count];
        bool recordsGradients = images.Any(i => i.RequiresGrad) && GradMode.IsEnabled;
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            if (image.Rank != 3 || image.Shape[0] != imageMean.Length)
                throw new ShapeMismatchException("GeneralizedRcnnTransform", $"image {i} must be [{imageMean.Length}, H, W], got {image.Shape}");
            resized[i] = Resize(recordsGradients ? Normalized(image) : NormalizedInOnePass(image));
        }
        int channels = images[0].Shape[0];
        int batchH = PadTo(resized.Max(r => r.Shape[1])), batchW = PadTo(resized.Max(r => r.Shape[2]));
        var sizes = resized.Select(r => (r.Shape[1], r.Shape[2])).ToArray();
        if (recordsGradients)
            return new ImageList(Tensor.Cat([.. resized.Select(r => Functional.Pad(r.Unsqueeze(0), [0, batchW - r.Shape[2], 0, batchH - r.Shape[1]]))]), sizes);

        // Inference and training on plain images: each resized image is copied row by row into one zeroed batch, instead
        // of a padded copy per image and their concatenation (at 800×1088 each full-size copy is 10 MB).
        var batch = Tensor.Zeros(images.Count, channels, batchH, batchW);
        var destination = batch.AsSpan();
        for (int i = 0; i < resized.Length; i++)
        {
            var source = resized[i].Contiguous().AsSpan();
            var (h, w) = sizes[i];
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < h; y++)
                    source.Slice((c * h + y) * w, w).CopyTo(destination.Slice(((i * channels + c) * batchH + y) * batchW, w));
        }
        return new ImageList(batch, sizes);
    }

    /// <summary>
    /// The resized size of an H×W image: ⌊H·s⌋×⌊W·s⌋ with s = min(minSize / min(H, W), maxSize / max(H, W)) in float32, as
    /// torchvision's <c>_resize_image_and_masks</c>.
    /// </summary>
    public (int H, int W) ResizedSize(int height, int width)
    {
        float scale = MathF.Min(MinSize / (float)Math.Min(height, width), MaxSize / (float)Math.Max(height, width));
        return ((int)Math.Floor(height * (double)scale), (int)Math.Floor(width * (double)scale));
    }

    /// <summary>
    /// Maps detections from the resized images (<paramref name="imageSizes"/>) back to the originals
    /// (<paramref name="originalSizes"/>): x scaled by original width / resized width, y likewise; Mask R-CNN's [K, 1, M, M]
    /// mask probabilities are pasted into the original image at the mapped boxes (<see cref="MaskOps.PasteMasksInImage"/>).
    /// Equivalent to <c>GeneralizedRCNNTransform.postprocess</c> (its <c>resize_boxes</c> and <c>paste_masks_in_image</c>).
    /// </summary>
    public static IReadOnlyList<DetectionResult> Postprocess(IReadOnlyList<DetectionResult> detections, IReadOnlyList<(int H, int W)> imageSizes,
        IReadOnlyList<(int H, int W)> originalSizes)
    {
        ArgumentNullException.ThrowIfNull(detections);
        var mapped = new DetectionResult[detections.Count];
        for (int i = 0; i < detections.Count; i++)
        {
            var boxes = ResizeBoxes(detections[i].Boxes, imageSizes[i], originalSizes[i]);
            mapped[i] = detections[i] with
            {
                Boxes = boxes,
                Masks = detections[i].Masks is { } masks ? MaskOps.PasteMasksInImage(masks, boxes, originalSizes[i]) : null,
            };
        }
        return mapped;
    }

    /// <summary>
    /// Boxes [K, 4] of an image of size <paramref name="from"/> scaled to size <paramref name="to"/> (x by the width ratio,
    /// y by the height ratio, in float32). Equivalent to <c>torchvision.models.detection.transform.resize_boxes</c>.
    /// </summary>
    public static Tensor ResizeBoxes(Tensor boxes, (int H, int W) from, (int H, int W) to)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        float ratioH = to.H / (float)from.H, ratioW = to.W / (float)from.W;
        var values = boxes.ToArray();
        for (int k = 0; k < values.Length; k++) values[k] *= (k & 1) == 0 ? ratioW : ratioH;
        return Tensor.FromArray(values, values.Length / 4, 4);
    }

    /// <summary>
    /// Instance masks [K, H, W] resized to <paramref name="size"/> by nearest neighbour (source index ⌊i·in/out⌋), as float32
    /// 0/1 values; the size is the one <see cref="ResizedSize"/> gave the image, so masks stay aligned with it. Equivalent to
    /// the mask step of torchvision's <c>_resize_image_and_masks</c> (<c>interpolate(mask[:, None].float(), …)</c>).
    /// </summary>
    public static Tensor ResizeMasks(Tensor masks, (int H, int W) size)
    {
        ArgumentNullException.ThrowIfNull(masks);
        if (masks.Rank != 3) throw new ShapeMismatchException("GeneralizedRcnnTransform", $"masks must be [K, H, W], got {masks.Shape}");
        var values = masks.To(DType.Float32);
        if (masks.Shape[0] == 0) return Tensor.Zeros(0, size.H, size.W);
        return Functional.Interpolate(values.Unsqueeze(1), new Size2(size.H, size.W), mode: InterpolationMode.Nearest).Squeeze(1);
    }

    private Tensor Normalized(Tensor image) =>
        (image - Tensor.FromArray(imageMean, imageMean.Length, 1, 1)) / Tensor.FromArray(imageStd, imageStd.Length, 1, 1);

    // (x − mean) / std in one pass, the same two float operations per element as the broadcast version.
    private Tensor NormalizedInOnePass(Tensor image)
    {
        int channels = image.Shape[0], plane = image.Shape[1] * image.Shape[2];
        var result = Tensor.Zeros(image.Shape);
        var source = (image.IsContiguous && image.DType == DType.Float32 ? image : image.Contiguous().To(DType.Float32)).AsSpan();
        var destination = result.AsSpan();
        for (int c = 0; c < channels; c++)
        {
            float mean = imageMean[c], std = imageStd[c];
            var from = source.Slice(c * plane, plane);
            var to = destination.Slice(c * plane, plane);
            for (int k = 0; k < plane; k++) to[k] = (from[k] - mean) / std;
        }
        return result;
    }

    private Tensor Resize(Tensor image)
    {
        var (h, w) = ResizedSize(image.Shape[1], image.Shape[2]);
        return Functional.Interpolate(image.Unsqueeze(0), new Size2(h, w), mode: InterpolationMode.Bilinear, alignCorners: false).Squeeze(0);
    }

    private int PadTo(int size) => (int)(Math.Ceiling(size / (double)SizeDivisible) * SizeDivisible);
}
