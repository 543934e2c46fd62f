namespace SharpSeg.Kernels;

/// <summary>
/// The fast CPU implementation of <see cref="IKernels"/>: SIMD (Vector512 where the CPU has AVX-512, else
/// Vector256 or scalar, chosen once at start-up) and threaded over <see cref="Engine.Threads"/>.
/// One partial file per family of kernels.
/// </summary>
internal sealed partial class CpuKernels : IKernels
{
    /// <summary>The shared instance.</summary>
    public static readonly CpuKernels Instance = new();
}
