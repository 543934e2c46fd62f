namespace SharpSeg.Nn;

/// <summary>
/// Resizes [N, C, H, W] to a size or by a scale factor (exactly one of them). Equivalent to <c>torch.nn.Upsample</c>
/// (mode nearest by default).
/// </summary>
public sealed class Upsample : TensorModule
{
    /// <summary>Creates the layer. Equivalent to <c>nn.Upsample(size, scale_factor, mode, align_corners)</c>.</summary>
    public Upsample(Size2? size = null, double? scaleFactor = null, InterpolationMode mode = InterpolationMode.Nearest, bool? alignCorners = null)
    {
        if ((size is null) == (scaleFactor is null))
            throw new ArgumentException("Upsample needs exactly one of size and scaleFactor.");
        Size = size;
        ScaleFactor = scaleFactor;
        Mode = mode;
        AlignCorners = alignCorners;
    }

    /// <summary>Output height and width, or null when scaling.</summary>
    public Size2? Size { get; }

    /// <summary>Scale factor, or null when resizing to <see cref="Size"/>.</summary>
    public double? ScaleFactor { get; }

    /// <summary>Interpolation mode.</summary>
    public InterpolationMode Mode { get; }

    /// <summary>torch's <c>align_corners</c> (for the linear modes).</summary>
    public bool? AlignCorners { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Interpolate(x, Size, ScaleFactor, Mode, AlignCorners);
}
