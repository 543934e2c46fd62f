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
            Rows(c, residual, pitch, rows, columns, default(Hardswish));
            return;
        }
        float upper = activation == FusedActivation.Relu6 ? 6f : float.PositiveInfinity;
        float lower = activation == FusedActivation.None ? float.NegativeInfinity : 0f;
        Rows(c, residual, pitch, rows, columns, new Clamp(lower, upper));
    }

    /// <summary>
    /// The one row/vector/tail loop of every activation: c = op(c + residual). <typeparamref name="TOp"/> is a struct, so
    /// the JIT compiles a copy of the loop per activation with the operator inlined (no call per element).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TOp>(float* c, float* residual, long pitch, int rows, int columns, TOp op)
        where TOp : struct, IActivation
    {
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
                    op.Apply(v).Store(row + j);
                }
            }
            for (; j < columns; j++)
            {
                float v = row[j];
                if (add != null) v += add[j];
                row[j] = op.Apply(v);
            }
        }
    }

    /// <summary>An elementwise activation in a vector and a scalar form that give the same bits lane for lane.</summary>
    private interface IActivation
    {
        Vector512<float> Apply(Vector512<float> v);

        float Apply(float v);
    }

    /// <summary>min(max(v, lower), upper): identity (±∞), ReLU (0, ∞) and ReLU6 (0, 6).</summary>
    private readonly struct Clamp(float lower, float upper) : IActivation
    {
        private readonly Vector512<float> _low = Vector512.Create(lower), _high = Vector512.Create(upper);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Apply(Vector512<float> v) => Vector512.Min(Vector512.Max(v, _low), _high);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Apply(float v) => Math.Min(Math.Max(v, lower), upper);
    }

    /// <summary>
    /// hardswish with the operations of the elementwise op (x / 6, + 1/2, clamp to [0, 1], × x), each rounded once in both
    /// forms (no contraction into an FMA), so the values are bit-identical to <see cref="Tensor.Hardswish"/>.
    /// </summary>
    private readonly struct Hardswish : IActivation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Apply(Vector512<float> v) =>
            v * Vector512.Min(Vector512.Max(v / Vector512.Create(6f) + Vector512.Create(0.5f), Vector512<float>.Zero), Vector512<float>.One);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Apply(float v) => ScalarMath.Unary(UnaryOp.Hardswish, v);
    }
}
