namespace SharpSeg.Data.Transforms;

/// <summary>
/// Runs transforms in order and checks after each that the label still matches the image.
/// Equivalent to <c>paddleseg.transforms.Compose</c> (whose final HWC→CHW step is <see cref="ToTensor"/>).
/// </summary>
public sealed class Compose : ISegTransform
{
    /// <summary>Creates the pipeline.</summary>
    public Compose(params IEnumerable<ISegTransform> transforms)
    {
        Transforms = [.. transforms];
        for (int i = 0; i < Transforms.Count; i++)
            ArgumentNullException.ThrowIfNull(Transforms[i], $"transforms[{i}]");
    }

    /// <summary>The steps, in application order.</summary>
    public IReadOnlyList<ISegTransform> Transforms { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        foreach (var transform in Transforms)
        {
            transform.Apply(sample, random);
            sample.CheckLabelShape(transform.GetType().Name);
        }
    }
}

/// <summary>
/// The final step of a pipeline: HWC samples to a CHW float array, as the <c>np.transpose(img, (2, 0, 1))</c>
/// at the end of PaddleSeg's <c>Compose</c> (or <c>torchvision.transforms.ToTensor</c> without the /255).
/// </summary>
public static class ToTensor
{
    /// <summary>The image's samples in CHW order: index <c>(c * Height + y) * Width + x</c>.</summary>
    public static float[] ToChw(Image<float> image)
    {
        var result = new float[image.Pixels.Length];
        WriteChw(image, result);
        return result;
    }

    /// <summary>Writes the image's samples in CHW order into <paramref name="destination"/>.</summary>
    public static void WriteChw(Image<float> image, Span<float> destination)
    {
        int plane = image.Height * image.Width, channels = image.Channels;
        if (destination.Length < plane * channels)
            throw new ArgumentException(
                $"ToTensor: destination holds {destination.Length} values, the {image.Height}×{image.Width}×{channels} image needs {plane * channels}.");
        var pixels = image.Pixels;
        for (int c = 0; c < channels; c++)
        {
            var outPlane = destination.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++)
                outPlane[i] = pixels[i * channels + c];
        }
    }
}
