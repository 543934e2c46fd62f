namespace SharpSeg.Kernels;

/// <summary>
/// Obvious nested loops, single-threaded, in double precision where accumulation order matters: the oracle that
/// the kernel parity tests compare <see cref="CpuKernels"/> against. Never used by the engine for speed.
/// </summary>
internal sealed partial class ReferenceKernels : IKernels
{
    /// <summary>The shared instance.</summary>
    public static readonly ReferenceKernels Instance = new();
}
