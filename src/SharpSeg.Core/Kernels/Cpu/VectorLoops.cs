using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeg.Kernels;

/// <summary>
/// The streaming inner loops of the memory-bound spatial and normalisation kernels: one pass over one row or plane,
/// Vector512 where the hardware has it, else Vector256, else scalar. Callers pass pinned pointers and valid lengths.
/// </summary>
internal static unsafe class VectorLoops
{
    /// <summary>y = x·scale + shift, then max(·, 0) when <paramref name="relu"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleShift(float* x, float* y, int n, float scale, float shift, bool relu)
    {
        int i = 0;
        // Max against −∞ is the identity (NaN included, Vector.Max propagates it), so one loop serves both cases.
        float floor = relu ? 0f : float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(scale);
            var t = Vector512.Create(shift);
            var f = Vector512.Create(floor);
            for (; i <= n - 64; i += 64)
            {
                var a = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), s, t);
                var b = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 16), s, t);
                var c = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 32), s, t);
                var d = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 48), s, t);
                Vector512.Max(a, f).Store(y + i);
                Vector512.Max(b, f).Store(y + i + 16);
                Vector512.Max(c, f).Store(y + i + 32);
                Vector512.Max(d, f).Store(y + i + 48);
            }
            for (; i <= n - 16; i += 16)
                Vector512.Max(Vector512.FusedMultiplyAdd(Vector512.Load(x + i), s, t), f).Store(y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            var t = Vector256.Create(shift);
            var f = Vector256.Create(floor);
            for (; i <= n - 8; i += 8)
                Vector256.Max(Vector256.FusedMultiplyAdd(Vector256.Load(x + i), s, t), f).Store(y + i);
        }
        for (; i < n; i++)
        {
            float v = MathF.FusedMultiplyAdd(x[i], scale, shift);
            y[i] = v < floor ? floor : v;
        }
    }

    /// <summary><see cref="ScaleShift"/> writing y with non-temporal stores where AVX-512 allows (see <see cref="BlendStreaming"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleShiftStreaming(float* x, float* y, int n, float scale, float shift, bool relu)
    {
        int head = (int)(((64 - ((nint)y & 63)) & 63) / sizeof(float));
        if (!Avx512F.IsSupported || ((nint)y & 3) != 0 || head + 16 > n)
        {
            ScaleShift(x, y, n, scale, shift, relu);
            return;
        }
        ScaleShift(x, y, head, scale, shift, relu);
        float floor = relu ? 0f : float.NegativeInfinity;
        var s = Vector512.Create(scale);
        var t = Vector512.Create(shift);
        var f = Vector512.Create(floor);
        int i = head;
        for (; i <= n - 16; i += 16)
            Avx512F.StoreAlignedNonTemporal(y + i, Vector512.Max(Vector512.FusedMultiplyAdd(Vector512.Load(x + i), s, t), f));
        ScaleShift(x + i, y + i, n - i, scale, shift, relu);
    }

    /// <summary>Σ(x − shift) and Σ(x − shift)², accumulated in double (the shift keeps the second sum free of cancellation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double Sum, double Squares) ShiftedSums(float* x, int n, float shift)
    {
        int i = 0;
        double sum = 0, squares = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var sh = Vector512.Create(shift);
            Vector512<double> s0 = default, s1 = default, q0 = default, q1 = default;
            for (; i <= n - 32; i += 32)
            {
                var (a0, a1) = Vector512.Widen(Vector512.Load(x + i) - sh);
                var (b0, b1) = Vector512.Widen(Vector512.Load(x + i + 16) - sh);
                s0 += a0 + a1;
                s1 += b0 + b1;
                q0 = Vector512.FusedMultiplyAdd(a0, a0, Vector512.FusedMultiplyAdd(a1, a1, q0));
                q1 = Vector512.FusedMultiplyAdd(b0, b0, Vector512.FusedMultiplyAdd(b1, b1, q1));
            }
            sum = Vector512.Sum(s0 + s1);
            squares = Vector512.Sum(q0 + q1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var sh = Vector256.Create(shift);
            Vector256<double> s0 = default, q0 = default;
            for (; i <= n - 8; i += 8)
            {
                var (a0, a1) = Vector256.Widen(Vector256.Load(x + i) - sh);
                s0 += a0 + a1;
                q0 = Vector256.FusedMultiplyAdd(a0, a0, Vector256.FusedMultiplyAdd(a1, a1, q0));
            }
            sum = Vector256.Sum(s0);
            squares = Vector256.Sum(q0);
        }
        for (; i < n; i++)
        {
            double d = x[i] - shift;
            sum += d;
            squares += d * d;
        }
        return (sum, squares);
    }

    /// <summary>Σdy and Σdy·(x − center), accumulated in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double SumDy, double SumDyCentered) GradientSums(float* dy, float* x, int n, float center)
    {
        int i = 0;
        double sumDy = 0, sumDyCentered = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(center);
            Vector512<double> s0 = default, s1 = default, p0 = default, p1 = default;
            for (; i <= n - 16; i += 16)
            {
                var (g0, g1) = Vector512.Widen(Vector512.Load(dy + i));
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
                var (g0, g1) = Vector256.Widen(Vector256.Load(dy + i));
                var (c0, c1) = Vector256.Widen(Vector256.Load(x + i) - m);
                s0 += g0 + g1;
                p0 = Vector256.FusedMultiplyAdd(g0, c0, Vector256.FusedMultiplyAdd(g1, c1, p0));
            }
            sumDy = Vector256.Sum(s0);
            sumDyCentered = Vector256.Sum(p0);
        }
        for (; i < n; i++)
        {
            sumDy += dy[i];
            sumDyCentered += (double)dy[i] * (x[i] - center);
        }
        return (sumDy, sumDyCentered);
    }

    /// <summary>dx = a·dy + b·x + c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AffineOfTwo(float* dy, float* x, float* dx, int n, float a, float b, float c)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            var vb = Vector512.Create(b);
            var vc = Vector512.Create(c);
            for (; i <= n - 16; i += 16)
                Vector512.FusedMultiplyAdd(Vector512.Load(dy + i), va, Vector512.FusedMultiplyAdd(Vector512.Load(x + i), vb, vc)).Store(dx + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            var vb = Vector256.Create(b);
            var vc = Vector256.Create(c);
            for (; i <= n - 8; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.Load(dy + i), va, Vector256.FusedMultiplyAdd(Vector256.Load(x + i), vb, vc)).Store(dx + i);
        }
        for (; i < n; i++) dx[i] = MathF.FusedMultiplyAdd(dy[i], a, MathF.FusedMultiplyAdd(x[i], b, c));
    }

    /// <summary><see cref="AffineOfTwo"/> writing dx with non-temporal stores where AVX-512 allows (see <see cref="BlendStreaming"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AffineOfTwoStreaming(float* dy, float* x, float* dx, int n, float a, float b, float c)
    {
        int head = (int)(((64 - ((nint)dx & 63)) & 63) / sizeof(float));
        if (!Avx512F.IsSupported || ((nint)dx & 3) != 0 || head + 16 > n)
        {
            AffineOfTwo(dy, x, dx, n, a, b, c);
            return;
        }
        AffineOfTwo(dy, x, dx, head, a, b, c);
        var va = Vector512.Create(a);
        var vb = Vector512.Create(b);
        var vc = Vector512.Create(c);
        int i = head;
        for (; i <= n - 16; i += 16)
            Avx512F.StoreAlignedNonTemporal(dx + i, Vector512.FusedMultiplyAdd(Vector512.Load(dy + i), va, Vector512.FusedMultiplyAdd(Vector512.Load(x + i), vb, vc)));
        AffineOfTwo(dy + i, x + i, dx + i, n - i, a, b, c);
    }

    /// <summary>y = a·wa + b·wb.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Blend(float* a, float* b, float* y, int n, float wa, float wb)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(wa);
            var vb = Vector512.Create(wb);
            for (; i <= n - 32; i += 32)
            {
                Vector512.FusedMultiplyAdd(Vector512.Load(b + i), vb, Vector512.Load(a + i) * va).Store(y + i);
                Vector512.FusedMultiplyAdd(Vector512.Load(b + i + 16), vb, Vector512.Load(a + i + 16) * va).Store(y + i + 16);
            }
            for (; i <= n - 16; i += 16)
                Vector512.FusedMultiplyAdd(Vector512.Load(b + i), vb, Vector512.Load(a + i) * va).Store(y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(wa);
            var vb = Vector256.Create(wb);
            for (; i <= n - 8; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.Load(b + i), vb, Vector256.Load(a + i) * va).Store(y + i);
        }
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(b[i], wb, a[i] * wa);
    }

    /// <summary>
    /// <see cref="Blend"/> writing y with non-temporal stores where AVX-512 allows: for outputs far larger than the cache,
    /// it saves the read-for-ownership of every output line. The caller issues a store fence before publishing y.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BlendStreaming(float* a, float* b, float* y, int n, float wa, float wb)
    {
        if (!Avx512F.IsSupported)
        {
            Blend(a, b, y, n, wa, wb);
            return;
        }
        int head = (int)(((64 - ((nint)y & 63)) & 63) / sizeof(float));
        if (((nint)y & 3) != 0 || head >= n)
        {
            Blend(a, b, y, n, wa, wb);
            return;
        }
        for (int j = 0; j < head; j++) y[j] = MathF.FusedMultiplyAdd(b[j], wb, a[j] * wa);
        var va = Vector512.Create(wa);
        var vb = Vector512.Create(wb);
        int i = head;
        for (; i <= n - 16; i += 16)
            Avx512F.StoreAlignedNonTemporal(y + i, Vector512.FusedMultiplyAdd(Vector512.Load(b + i), vb, Vector512.Load(a + i) * va));
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(b[i], wb, a[i] * wa);
    }

    /// <summary>Orders the non-temporal stores of this thread before its later stores (they are weakly ordered on x86).</summary>
    public static void FenceStreamingStores()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }

    /// <summary>y += x·w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(float* x, float* y, int n, float w)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vw = Vector512.Create(w);
            for (; i <= n - 16; i += 16)
                Vector512.FusedMultiplyAdd(Vector512.Load(x + i), vw, Vector512.Load(y + i)).Store(y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vw = Vector256.Create(w);
            for (; i <= n - 8; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.Load(x + i), vw, Vector256.Load(y + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(x[i], w, y[i]);
    }
}
