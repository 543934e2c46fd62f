using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Loading;

/// <summary>
/// Samples stacked for a model: images as one N×C×H×W float32 array, labels as one N×H×W int32 array, plus
/// what is needed to map predictions back (sources and shape steps). Plain arrays and sizes, converted to
/// tensors by the training code. Equivalent to the <c>(img, label)</c> batch of PaddleSeg's
/// <c>paddle.io.DataLoader</c> (<c>default_collate_fn</c>).
/// </summary>
public sealed class Batch
{
    private Batch(float[] images, int[]? labels, int count, int channels, int height, int width,
        int[] indices, string[] sources, IReadOnlyList<ShapeStep>[] shapeSteps)
    {
        Images = images;
        Labels = labels;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        Indices = indices;
        Sources = sources;
        ShapeSteps = shapeSteps;
    }

    /// <summary>Image samples, index <c>((n·C + c)·H + y)·W + x</c>.</summary>
    public float[] Images { get; }

    /// <summary>Class ids, index <c>(n·H + y)·W + x</c>; null when the samples have no labels (test mode).</summary>
    public int[]? Labels { get; }

    /// <summary>Samples in the batch (N).</summary>
    public int Count { get; }

    /// <summary>Image channels (C).</summary>
    public int Channels { get; }

    /// <summary>Rows (H).</summary>
    public int Height { get; }

    /// <summary>Columns (W).</summary>
    public int Width { get; }

    /// <summary><c>[N, C, H, W]</c>.</summary>
    public int[] ImageShape => [Count, Channels, Height, Width];

    /// <summary><c>[N, H, W]</c>.</summary>
    public int[] LabelShape => [Count, Height, Width];

    /// <summary>Dataset index of each sample.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>Image file (or other source name) of each sample.</summary>
    public IReadOnlyList<string> Sources { get; }

    /// <summary>Resize and padding steps of each sample, to map predictions back to the original size.</summary>
    public IReadOnlyList<IReadOnlyList<ShapeStep>> ShapeSteps { get; }

    /// <summary>The images as an [N, C, H, W] float32 tensor (a copy). Equivalent to the <c>img</c> tensor of a PaddleSeg batch.</summary>
    public Tensor ImageTensor() => Tensor.FromArray(Images, ImageShape);

    /// <summary>
    /// The labels as an [N, H, W] int64 tensor, the type <see cref="Functional.CrossEntropy"/> and torch expect.
    /// Throws for a batch without labels.
    /// </summary>
    public Tensor LabelTensor()
    {
        var labels = Labels ?? throw new InvalidOperationException($"This batch of {Count} samples has no labels (test mode).");
        var ids = new long[labels.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = labels[i];
        return Tensor.FromArray(ids, LabelShape);
    }

    /// <summary>Stacks transformed samples; they must share one size and all have labels or none.</summary>
    public static Batch Collate(IReadOnlyList<SegSample> samples, int[] indices)
    {
        if (samples.Count == 0)
            throw new ArgumentException("Cannot collate an empty batch.", nameof(samples));
        if (indices.Length != samples.Count)
            throw new ArgumentException($"Collate got {samples.Count} samples but {indices.Length} indices.", nameof(indices));
        var first = samples[0];
        int channels = first.Image.Channels, height = first.Image.Height, width = first.Image.Width;
        bool labelled = first.Label is not null;
        foreach (var sample in samples)
        {
            var image = sample.Image;
            if (image.Channels != channels || image.Height != height || image.Width != width)
                throw new InvalidDataException(
                    $"Cannot batch {sample.Source} ({image.Height}×{image.Width}×{image.Channels}) with {first.Source} " +
                    $"({height}×{width}×{channels}): samples in a batch need one size; add a crop, resize or padding transform.");
            if ((sample.Label is not null) != labelled)
                throw new InvalidDataException(
                    $"Cannot batch {sample.Source} with {first.Source}: one has a label and the other does not.");
        }

        int plane = height * width;
        var images = new float[checked(samples.Count * channels * plane)];
        var labels = labelled ? new int[samples.Count * plane] : null;
        for (int n = 0; n < samples.Count; n++)
        {
            ToTensor.WriteChw(samples[n].Image, images.AsSpan(n * channels * plane, channels * plane));
            if (labels is not null)
                samples[n].Label!.Pixels.CopyTo(labels.AsSpan(n * plane, plane));
        }
        return new Batch(images, labels, samples.Count, channels, height, width, indices,
            [.. samples.Select(s => s.Source)], [.. samples.Select(s => (IReadOnlyList<ShapeStep>)[.. s.ShapeSteps])]);
    }
}
