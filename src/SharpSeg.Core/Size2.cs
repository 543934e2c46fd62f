namespace SharpSeg;

/// <summary>
/// A (height, width) pair for kernel sizes, strides, paddings and dilations. Converts from one int (both equal)
/// or an (int, int) tuple, as PyTorch's <c>_pair</c> arguments do.
/// </summary>
public readonly record struct Size2(int H, int W)
{
    /// <summary>The same value for height and width.</summary>
    public static implicit operator Size2(int both) => new(both, both);

    /// <summary>From a (height, width) tuple.</summary>
    public static implicit operator Size2((int H, int W) pair) => new(pair.H, pair.W);

    /// <inheritdoc />
    public override string ToString() => $"({H}, {W})";
}
