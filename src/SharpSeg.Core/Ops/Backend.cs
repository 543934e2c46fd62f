using SharpSeg.Kernels;

namespace SharpSeg.Ops;

/// <summary>The kernels every op runs on. A future device backend is another <see cref="IKernels"/>.</summary>
internal static class Backend
{
    public static IKernels Kernel { get; } = CpuKernels.Instance;

    /// <summary>A new float tensor whose elements the caller will all write.</summary>
    public static Tensor NewFloat(Shape shape) => new(Storage.AllocateUninitialized(DType.Float32, shape.Numel), shape);

    /// <summary>The contiguous float data of <paramref name="t"/> without recording a graph node.</summary>
    public static Tensor Dense(Tensor t) => t.IsContiguous ? t : t.Detach().Contiguous();
}
