using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeg.Kernels;

/// <summary>
/// The batch-norm backward loops of <see cref="VectorLoops.GradientSums"/> and <see cref="VectorLoops.AffineOfTwo"/>
/// with the ReLU that followed the normalisation folded in: they read the upstream gradient g and the ReLU's output
/// r, and use dy = r &gt; 0 ? g : 0 — exactly what the ReLU backward would have written (a bitwise AND with the
/// comparison mask, as <c>UnaryBackward</c> does) — in the same lanes and the same order, so every sum and output is
/// bit-identical to running the two backwards one after the other, without writing or re-reading that dy.
/// </summary>
internal static unsafe class ReluMaskedLoops
{
    /// <summary><see cref="VectorLoops.GradientSums"/> of dy = (relu &gt; 0 ? g : 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double SumDy, double SumDyCentered) GradientSums(float* g, float* relu, float* x, int n, float center)
    {
        int i = 0;
        double sumDy = 0, sumDyCentered = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(center);
            Vector512<double> s0 = default, s1 = default, p0 = default, p1 = default;
            for (; i <= n - 16; i += 16)
            {
                var dy = Vector512.BitwiseAnd(Vector512.GreaterThan(Vector512.Load(relu + i), Vector512<float>.Zero), Vector512.Load(g + i));
                var (g0, g1) = Vector512.Widen(dy);
                var (c0, c1) = Vector512.Widen(Vector512.Load(x + i) - m);
                s0 += g0;
                s1 += g1;
                p0 = Vector512.FusedMultiplyAdd(g0, c0, p0);
                p1 = Vector512.FusedMultiplyAdd(g1, c1, p1);
            }
            sumDy = Vector512.Sum(s0 + s1);
            sumDyCentered = Vector512.Sum(p0 + p1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(center);
            Vector256<double> s0 = default, p0 = default;
            for (; i <= n - 8; i += 8)
            {
                var dy = Vector256.BitwiseAnd(Vector256.GreaterThan(Vector256.Load(relu + i), Vector256<float>.Zero), Vector256.Load(g + i));
                var (g0, g1) = Vector256.Widen(dy);
                var (c0, c1) = Vector256.Widen(Vector256.Load(x + i) - m);
                s0 += g0 + g1;
                p0 = Vector256.FusedMultiplyAdd(g0, c0, Vector256.FusedMultiplyAdd(g1, c1, p0));
            }
            sumDy = Vector256.Sum(s0);
            sumDyCentered = Vector256.Sum(p0);
        }
        for (; i < n; i++)
        {
            float dy = relu[i] > 0f ? g[i] : 0f;
            sumDy += dy;
            sumDyCentered += (double)dy * (x[i] - center);
        }
        return (sumDy, sumDyCentered);
    }

    /// <summary><see cref="VectorLoops.AffineOfTwo"/> of dy = (relu &gt; 0 ? g : 0): dx = a·dy + b·x + c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AffineOfTwo(float* g, float* relu, float* x, float* dx, int n, float a, float b, float c)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            var vb = Vector512.Create(b);
            var vc = Vector512.Create(c);
            for (; i <= n - 16; i += 16)
                Vector512.FusedMultiplyAdd(Masked512(g, relu, i), va, Vector512.FusedMultiplyAdd(Vector512.Load(x + i), vb, vc)).Store(dx + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            var vb = Vector256.Create(b);
            var vc = Vector256.Create(c);
            for (; i <= n - 8; i += 8)
            {
                var dy = Vector256.BitwiseAnd(Vector256.GreaterThan(Vector256.Load(relu + i), Vector256<float>.Zero), Vector256.Load(g + i));
                Vector256.FusedMultiplyAdd(dy, va, Vector256.FusedMultiplyAdd(Vector256.Load(x + i), vb, vc)).Store(dx + i);
            }
        }
        for (; i < n; i++) dx[i] = MathF.FusedMultiplyAdd(relu[i] > 0f ? g[i] : 0f, a, MathF.FusedMultiplyAdd(x[i], b, c));
    }

    /// <summary><see cref="AffineOfTwo"/> writing dx with non-temporal stores where AVX-512 allows (as <see cref="VectorLoops.AffineOfTwoStreaming"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AffineOfTwoStreaming(float* g, float* relu, float* x, float* dx, int n, float a, float b, float c)
    {
        int head = (int)(((64 - ((nint)dx & 63)) & 63) / sizeof(float));
        if (!Avx512F.IsSupported || ((nint)dx & 3) != 0 || head + 16 > n)
        {
            AffineOfTwo(g, relu, x, dx, n, a, b, c);
            return;
        }
        AffineOfTwo(g, relu, x, dx, head, a, b, c);
        var va = Vector512.Create(a);
        var vb = Vector512.Create(b);
        var vc = Vector512.Create(c);
        int i = head;
        for (; i <= n - 16; i += 16)
            Avx512F.StoreAlignedNonTemporal(dx + i, Vector512.FusedMultiplyAdd(Masked512(g, relu, i), va, Vector512.FusedMultiplyAdd(Vector512.Load(x + i), vb, vc)));
        AffineOfTwo(g + i, relu + i, x + i, dx + i, n - i, a, b, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Masked512(float* g, float* relu, int i) =>
        Vector512.BitwiseAnd(Vector512.GreaterThan(Vector512.Load(relu + i), Vector512<float>.Zero), Vector512.Load(g + i));
}
