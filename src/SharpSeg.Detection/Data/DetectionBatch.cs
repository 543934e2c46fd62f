using SharpSeg.Data;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Detection.Data;

/// <summary>
/// Detection samples gathered for a model step. Images may differ in size and each target keeps its own number of
/// objects, so nothing is stacked: the batch is the list of images and the list of targets, as torchvision's detection
/// references collate (<c>collate_fn = lambda batch: tuple(zip(*batch))</c>). <see cref="PaddedImages"/> stacks the
/// images into one zero-padded tensor the way <c>GeneralizedRCNNTransform.batch_images</c> does.
/// </summary>
public sealed class DetectionBatch
{
    private DetectionBatch(IReadOnlyList<Image<float>> images, IReadOnlyList<DetectionTarget> targets, IReadOnlyList<int> indices,
        IReadOnlyList<string> sources, IReadOnlyList<(int Height, int Width)> originalSizes)
    {
        Images = images;
        Targets = targets;
        Indices = indices;
        Sources = sources;
        OriginalSizes = originalSizes;
    }

    /// <summary>Samples in the batch.</summary>
    public int Count => Images.Count;

    /// <summary>The transformed images (HWC float), each of its own size.</summary>
    public IReadOnlyList<Image<float>> Images { get; }

    /// <summary>The targets, each with its own number of objects, in its image's pixels.</summary>
    public IReadOnlyList<DetectionTarget> Targets { get; }

    /// <summary>Dataset index of each sample.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>Image file (or other source name) of each sample.</summary>
    public IReadOnlyList<string> Sources { get; }

    /// <summary>Each image's size as loaded, before the transforms (to map predictions back).</summary>
    public IReadOnlyList<(int Height, int Width)> OriginalSizes { get; }

    /// <summary>Each image's size after the transforms (torchvision's <c>ImageList.image_sizes</c>).</summary>
    public IReadOnlyList<(int Height, int Width)> ImageSizes => [.. Images.Select(i => (i.Height, i.Width))];

    /// <summary>Gathers samples; they must share a channel count.</summary>
    public static DetectionBatch Collate(IReadOnlyList<DetectionSample> samples, IReadOnlyList<int> indices)
    {
        if (samples.Count == 0)
            throw new ArgumentException("Cannot collate an empty batch.", nameof(samples));
        if (indices.Count != samples.Count)
            throw new ArgumentException($"Collate got {samples.Count} samples but {indices.Count} indices.", nameof(indices));
        int channels = samples[0].Image.Channels;
        foreach (var sample in samples)
            if (sample.Image.Channels != channels)
                throw new InvalidDataException(
                    $"Cannot batch {sample.Source} ({sample.Image.Channels} channels) with {samples[0].Source} ({channels} channels).");
        return new DetectionBatch([.. samples.Select(s => s.Image)], [.. samples.Select(s => s.Target)], [.. indices],
            [.. samples.Select(s => s.Source)], [.. samples.Select(s => s.OriginalSize)]);
    }

    /// <summary>
    /// The images as one [N, C, H, W] float32 tensor, each copied to the top-left corner and zero-padded, with H and W the
    /// largest height and width rounded up to a multiple of <paramref name="sizeDivisible"/>. Equivalent to
    /// <c>GeneralizedRCNNTransform.batch_images(images, size_divisible=32)</c>.
    /// </summary>
    public Tensor PaddedImages(int sizeDivisible = 32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sizeDivisible);
        int channels = Images[0].Channels;
        int height = RoundUp(Images.Max(i => i.Height), sizeDivisible), width = RoundUp(Images.Max(i => i.Width), sizeDivisible);
        var values = new float[checked(Count * channels * height * width)];
        for (int n = 0; n < Count; n++)
        {
            var image = Images[n];
            var chw = ToTensor.ToChw(image);
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < image.Height; y++)
                    chw.AsSpan((c * image.Height + y) * image.Width, image.Width)
                        .CopyTo(values.AsSpan(((n * channels + c) * height + y) * width));
        }
        return Tensor.FromArray(values, Count, channels, height, width);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
