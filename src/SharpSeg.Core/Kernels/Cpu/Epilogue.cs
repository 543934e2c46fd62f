using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// The convolution epilogue: c = act(c + residual) over a block of rows, applied to a GEMM tile right after its last k
/// block (or over a whole output where no GEMM runs). The add comes first and the activation last, the order of the
/// separate ops it replaces, so the result is bit-identical to them.
/// </summary>
internal static unsafe class Epilogue
{
    /// <summary>
    /// Applies the epilogue to <paramref name="rows"/> rows of <paramref name="columns"/> floats, <paramref name="pitch"/> apart
    /// in both <paramref name="c"/> and <paramref name="residual"/> (null for none).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(float* c, float* residual, long pitch, int rows, int columns, FusedActivation activation)
    {
        if (residual == null && activation == FusedActivation.None) return;
        if (activation == FusedActivation.Hardswish)
        {
            ApplyHardswish(c, residual, pitch, rows, columns);
            return;
        }
        float upper = activation == FusedActivation.Relu6 ? 6f : float.PositiveInfinity;
        float lower = activation == FusedActivation.None ? float.NegativeInfinity : 0f;
        var low = Vector512.Create(lower);
        var high = Vector512.Create(upper);
        for (int r = 0; r < rows; r++)
        {
            float* row = c + r * pitch;
            float* add = residual == null ? null : residual + r * pitch;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + 16 <= columns; j += 16)
                {
                    var v = Vector512.Load(row + j);
                    if (add != null) v += Vector512.Load(add + j);
                    Vector512.Min(Vector512.Max(v, low), high).Store(row + j);
                }
            }
            for (; j < columns; j++)
            {
                float v = row[j];
                if (add != null) v += add[j];
                row[j] = Math.Min(Math.Max(v, lower), upper);
            }
        }
    }

    /// <summary>
    /// c = hardswish(c + residual) with the operations of the elementwise op (x / 6, + 1/2, clamp to [0, 1], × x), each
    /// rounded once in both the vector and the scalar loop (no contraction into an FMA), so the values are bit-identical
    /// to <see cref="Tensor.Hardswish"/> after the add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyHardswish(float* c, float* residual, long pitch, int rows, int columns)
    {
        var six = Vector512.Create(6f);
        var half = Vector512.Create(0.5f);
        var zero = Vector512<float>.Zero;
        var one = Vector512<float>.One;
        for (int r = 0; r < rows; r++)
        {
            float* row = c + r * pitch;
            float* add = residual == null ? null : residual + r * pitch;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + 16 <= columns; j += 16)
                {
                    var v = Vector512.Load(row + j);
                    if (add != null) v += Vector512.Load(add + j);
                    var gate = Vector512.Min(Vector512.Max(v / six + half, zero), one);
                    (v * gate).Store(row + j);
                }
            }
            for (; j < columns; j++)
            {
                float v = row[j];
                if (add != null) v += add[j];
                row[j] = ScalarMath.Unary(UnaryOp.Hardswish, v);
            }
        }
    }
}
