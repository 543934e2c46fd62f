using System.Runtime.Intrinsics.X86;

namespace SharpSeg.Kernels.Cpu;

/// <summary>The instruction set a kernel instance uses. Tests force each level; the engine uses <see cref="SimdLevels.Best"/>.</summary>
internal enum SimdLevel
{
    /// <summary>Plain scalar code.</summary>
    Scalar,

    /// <summary>AVX2 + FMA, 256-bit vectors.</summary>
    Vector256,

    /// <summary>AVX-512F, 512-bit vectors.</summary>
    Vector512,
}

/// <summary>Start-up detection of the best <see cref="SimdLevel"/> and the per-level GEMM panel width.</summary>
internal static class SimdLevels
{
    /// <summary>The best level this CPU supports, detected once.</summary>
    public static readonly SimdLevel Best =
        Avx512F.IsSupported ? SimdLevel.Vector512
        : Avx2.IsSupported && Fma.IsSupported ? SimdLevel.Vector256
        : SimdLevel.Scalar;

    /// <summary>True when this CPU can run <paramref name="level"/>.</summary>
    public static bool IsSupported(SimdLevel level) => level <= Best;

    /// <summary>Columns of C per micro-kernel tile (NR): 4 × Vector512 or 2 × Vector256 (scalar mirrors the latter).</summary>
    public static int PanelWidth(SimdLevel level) => level == SimdLevel.Vector512 ? 64 : 16;
}
