namespace SharpSeg.Training;

/// <summary>
/// Multi-scale and flip test-time augmentation, as PaddleSeg's <c>aug_inference</c> (<c>predict.py --aug_pred --scales …
/// --flip_horizontal --flip_vertical</c>): for every scale the (transformed) input is resized bilinearly to
/// round(size · scale), for every flip combination it is flipped, the model's logits are flipped back, resized bilinearly
/// to the input size and turned into probabilities, and the probabilities of all passes are averaged (PaddleSeg sums them;
/// the argmax is the same). The label is the argmax of the averaged probabilities.
/// </summary>
public sealed class TestTimeAugmentation
{
    /// <summary>Creates an augmentation.</summary>
    /// <param name="scales">Input scales (PaddleSeg's <c>scales</c>); null = [1.0].</param>
    /// <param name="flipHorizontal">Also predict the left-right mirror image (<c>flip_horizontal</c>).</param>
    /// <param name="flipVertical">Also predict the upside-down image, and with <paramref name="flipHorizontal"/> the image flipped both ways (<c>flip_vertical</c>).</param>
    /// <exception cref="ArgumentException">No scales, or a scale that is not finite and positive.</exception>
    public TestTimeAugmentation(IReadOnlyList<double>? scales = null, bool flipHorizontal = false, bool flipVertical = false)
    {
        Scales = scales is null ? [1.0] : [.. scales];
        if (Scales.Count == 0) throw new ArgumentException("TestTimeAugmentation: give at least one scale.", nameof(scales));
        foreach (double scale in Scales)
            if (!double.IsFinite(scale) || scale <= 0)
                throw new ArgumentOutOfRangeException(nameof(scales), scale, "TestTimeAugmentation: every scale must be finite and positive.");
        FlipHorizontal = flipHorizontal;
        FlipVertical = flipVertical;
        List<int[]> axes = [[]];
        if (flipHorizontal) axes.Add([3]);
        if (flipVertical) axes.Add([2]);
        if (flipVertical && flipHorizontal) axes.Add([2, 3]);
        FlipAxes = axes;
    }

    /// <summary>Input scales, each predicted once per flip combination.</summary>
    public IReadOnlyList<double> Scales { get; }

    /// <summary>Whether the left-right mirror image is predicted too.</summary>
    public bool FlipHorizontal { get; }

    /// <summary>Whether the upside-down image (and, with <see cref="FlipHorizontal"/>, the image flipped both ways) is predicted too.</summary>
    public bool FlipVertical { get; }

    /// <summary>Forward passes per image: scales × flip combinations.</summary>
    public int PassCount => Scales.Count * FlipAxes.Count;

    /// <summary>
    /// The NCHW axes flipped in each pass, in PaddleSeg's <c>flip_combination</c> order: none, width, height, both.
    /// </summary>
    internal IReadOnlyList<int[]> FlipAxes { get; }

    /// <summary>The pixel size of an input of <paramref name="size"/> pixels at <paramref name="scale"/>: PaddleSeg's int(size · scale + 0.5), at least 1.</summary>
    internal static int ScaledSize(int size, double scale) => Math.Max(1, (int)(size * scale + 0.5));
}
