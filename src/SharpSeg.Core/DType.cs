namespace SharpSeg;

/// <summary>Element type of a <see cref="Tensor"/>. Equivalent to <c>torch.dtype</c> (float32, int32, int64 only).</summary>
public enum DType
{
    /// <summary>32-bit float: activations, weights, gradients.</summary>
    Float32,
    /// <summary>32-bit signed integer: indices.</summary>
    Int32,
    /// <summary>64-bit signed integer: class labels (torch's <c>long</c>), counters such as <c>num_batches_tracked</c>.</summary>
    Int64,
}

internal static class DTypeExtensions
{
    public static DType Of<T>() => typeof(T) == typeof(float) ? DType.Float32
        : typeof(T) == typeof(int) ? DType.Int32
        : typeof(T) == typeof(long) ? DType.Int64
        : throw new NotSupportedException($"Tensors hold float, int or long elements, not {typeof(T).Name}.");

    /// <summary>Bytes per element: 8 for int64, 4 for float32 and int32.</summary>
    public static int ElementSize(this DType t) => t == DType.Int64 ? 8 : 4;

    public static string Name(this DType t) => t switch
    {
        DType.Float32 => "float32",
        DType.Int32 => "int32",
        _ => "int64",
    };
}
