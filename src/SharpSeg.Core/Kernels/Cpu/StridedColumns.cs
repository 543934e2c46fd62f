using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeg.Kernels;

/// <summary>
/// Sixteen pooling outputs of one row at a time: the input cells a kernel tap reads for 16 consecutive output
/// columns lie <c>stride</c> apart. Kernels are generic over an <see cref="IColumnLoad"/> struct so the JIT compiles one
/// branch-free loop per stride kind (a branch or a static field in the loop makes it spill the accumulators).
/// Requires AVX-512 (see <see cref="IsSupported"/>).
/// </summary>
internal static class StridedColumns
{
    public const int Lanes = 16;

    public static bool IsSupported => Avx512F.IsSupported && Avx2.IsSupported;

    /// <summary>
    /// Output columns [Begin, End) whose taps all lie inside the input row, with room for the stride-2 shuffle's
    /// extra trailing element, so vector blocks need no clipping and never read past the row.
    /// </summary>
    public static (int Begin, int End) Interior(int outputs, int input, int kernel, int stride, int pad, int dilation)
    {
        int begin = (pad + stride - 1) / stride;
        long lastTap = (long)(kernel - 1) * dilation + (stride == 2 ? 1 : 0) - pad;
        long room = input - 1 - lastTap;
        if (room < 0) return (begin, begin);
        int end = (int)Math.Min(outputs, room / stride + 1);
        return (begin, Math.Max(begin, end));
    }

    /// <summary>Lane offsets 0, stride, 2·stride, … (the gather indices, and the argmax offsets of the lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> LaneOffsets(int stride) =>
        Vector512.Create(stride) * Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

/// <summary>Loads p[0], p[stride], …, p[15·stride] given the lane offsets of <see cref="StridedColumns.LaneOffsets"/>.</summary>
internal unsafe interface IColumnLoad
{
    static abstract Vector512<float> Load(float* p, Vector512<int> offsets);
}

/// <summary>Stride 1: one load.</summary>
internal readonly unsafe struct UnitStrideLoad : IColumnLoad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p, Vector512<int> offsets) => Vector512.Load(p);
}

/// <summary>Stride 2: the even lanes of two loads (reads one element past the last used one).</summary>
internal readonly unsafe struct DoubleStrideLoad : IColumnLoad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p, Vector512<int> offsets) =>
        Avx512F.PermuteVar16x32x2(Vector512.Load(p), Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), Vector512.Load(p + 16));
}

/// <summary>Any stride: two AVX2 gathers (.NET exposes no AVX-512 gather).</summary>
internal readonly unsafe struct GatherLoad : IColumnLoad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p, Vector512<int> offsets) =>
        Vector512.Create(Avx2.GatherVector256(p, offsets.GetLower(), 4), Avx2.GatherVector256(p, offsets.GetUpper(), 4));
}
