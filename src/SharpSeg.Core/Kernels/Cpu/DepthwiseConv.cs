using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// Direct depthwise convolution (groups = in_channels, channel multiplier = out / in), one plane at a time. Each
/// input plane is first copied into a zero-bordered scratch plane so every tap reads in bounds: the inner loops are
/// then plain vector multiply-adds over output rows (stride 1) or scalar loops (other strides).
/// </summary>
internal static unsafe class DepthwiseConv
{
    private const int MinPlanesPerThread = 4;

    /// <summary>y[b, co] = bias[co] + Σ taps w[co] · x[b, co / multiplier] (torch conv2d with groups = in_channels).</summary>
    public static void Forward(SimdLevel level, Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        fixed (float* px = x, pw = w, pbias = bias, py = y)
        {
            nint xp = (nint)px, wp = (nint)pw, bp = bias.IsEmpty ? 0 : (nint)pbias, yp = (nint)py;
            Parallelism.ForRange((long)g.Batch * g.OutChannels, MinPlanesPerThread,
                (p0, p1) => ForwardPlanes(level, g, (float*)xp, (float*)wp, (float*)bp, (float*)yp, p0, p1));
        }
    }

    /// <summary>dx[b, ci] = Σ over the multiplier's output channels of the transposed convolution of dy.</summary>
    public static void BackwardInput(SimdLevel level, Conv2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        fixed (float* pdy = dy, pw = w, pdx = dx)
        {
            nint dyp = (nint)pdy, wp = (nint)pw, dxp = (nint)pdx;
            Parallelism.ForRange((long)g.Batch * g.InChannels, MinPlanesPerThread,
                (p0, p1) => BackwardInputPlanes(level, g, (float*)dyp, (float*)wp, (float*)dxp, p0, p1));
        }
    }

    /// <summary>dw[co, tap] = Σ over batch and pixels of dy · shifted x; each channel summed by one thread, images in order.</summary>
    public static void BackwardWeight(SimdLevel level, Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        fixed (float* px = x, pdy = dy, pdw = dw)
        {
            nint xp = (nint)px, dyp = (nint)pdy, dwp = (nint)pdw;
            Parallelism.ForRange(g.OutChannels, MinPlanesPerThread,
                (c0, c1) => BackwardWeightChannels(level, g, (float*)xp, (float*)dyp, (float*)dwp, (int)c0, (int)c1));
        }
    }

    private static int PaddedPitch(in Conv2dGeometry g) => g.InW + 2 * g.PadW;

    private static int PaddedRows(in Conv2dGeometry g) => g.InH + 2 * g.PadH;

    /// <summary>Copies one input plane into the interior of a zero-bordered plane.</summary>
    private static void PadPlane(in Conv2dGeometry g, float* plane, float* padded)
    {
        int pitch = PaddedPitch(g);
        Panels.Zero(padded, g.PadH * pitch);
        for (int iy = 0; iy < g.InH; iy++)
        {
            float* row = padded + (long)(iy + g.PadH) * pitch;
            Panels.Zero(row, g.PadW);
            Panels.Copy(plane + (long)iy * g.InW, row + g.PadW, g.InW);
            Panels.Zero(row + g.PadW + g.InW, g.PadW);
        }
        Panels.Zero(padded + (long)(g.InH + g.PadH) * pitch, g.PadH * pitch);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlanes(SimdLevel level, in Conv2dGeometry g, float* x, float* w, float* bias, float* y, long p0, long p1)
    {
        int multiplier = g.OutChannels / g.InChannels, taps = g.KernelH * g.KernelW;
        int outH = g.OutH, outW = g.OutW, pitch = PaddedPitch(g), kernelW = g.KernelW;
        int strideH = g.StrideH, strideW = g.StrideW, dilH = g.DilationH, dilW = g.DilationW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)outH * outW;
        float* padded = Scratch.Get(Scratch.Slot.Staging, (long)PaddedRows(g) * pitch);
        long paddedSource = -1;
        bool vector = strideW == 1 && level != SimdLevel.Scalar;

        for (long p = p0; p < p1; p++)
        {
            long source = p / multiplier;
            if (source != paddedSource)
            {
                PadPlane(g, x + source * inPlane, padded);
                paddedSource = source;
            }
            int co = (int)(p % g.OutChannels);
            float* wk = w + (long)co * taps;
            float b0 = bias == null ? 0f : bias[co];
            float* yPlane = y + p * outPlane;
            for (int oy = 0; oy < outH; oy++)
            {
                float* yRow = yPlane + (long)oy * outW;
                float* top = padded + (long)oy * strideH * pitch;
                int ox = 0;
                if (vector && level == SimdLevel.Vector512)
                {
                    for (; ox + 64 <= outW; ox += 64)
                    {
                        var a0 = Vector512.Create(b0);
                        var a1 = a0;
                        var a2 = a0;
                        var a3 = a0;
                        for (int ky = 0; ky < g.KernelH; ky++)
                        {
                            float* src = top + (long)ky * dilH * pitch + ox;
                            for (int kx = 0; kx < kernelW; kx++)
                            {
                                var wv = Vector512.Create(wk[ky * kernelW + kx]);
                                float* s = src + kx * dilW;
                                a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s), a0);
                                a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 16), a1);
                                a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 32), a2);
                                a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 48), a3);
                            }
                        }
                        a0.Store(yRow + ox);
                        a1.Store(yRow + ox + 16);
                        a2.Store(yRow + ox + 32);
                        a3.Store(yRow + ox + 48);
                    }
                    for (; ox + 16 <= outW; ox += 16)
                    {
                        var a0 = Vector512.Create(b0);
                        for (int ky = 0; ky < g.KernelH; ky++)
                        {
                            float* src = top + (long)ky * dilH * pitch + ox;
                            for (int kx = 0; kx < kernelW; kx++)
                                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(wk[ky * kernelW + kx]), Vector512.Load(src + kx * dilW), a0);
                        }
                        a0.Store(yRow + ox);
                    }
                }
                else if (vector)
                {
                    for (; ox + 8 <= outW; ox += 8)
                    {
                        var a0 = Vector256.Create(b0);
                        for (int ky = 0; ky < g.KernelH; ky++)
                        {
                            float* src = top + (long)ky * dilH * pitch + ox;
                            for (int kx = 0; kx < kernelW; kx++)
                                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(wk[ky * kernelW + kx]), Vector256.Load(src + kx * dilW), a0);
                        }
                        a0.Store(yRow + ox);
                    }
                }
                for (; ox < outW; ox++)
                {
                    float sum = b0;
                    for (int ky = 0; ky < g.KernelH; ky++)
                    {
                        float* src = top + (long)ky * dilH * pitch + (long)ox * strideW;
                        for (int kx = 0; kx < kernelW; kx++) sum += wk[ky * kernelW + kx] * src[kx * dilW];
                    }
                    yRow[ox] = sum;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardInputPlanes(SimdLevel level, in Conv2dGeometry g, float* dy, float* w, float* dx, long p0, long p1)
    {
        int multiplier = g.OutChannels / g.InChannels, taps = g.KernelH * g.KernelW;
        int outH = g.OutH, outW = g.OutW, pitch = PaddedPitch(g), rows = PaddedRows(g), kernelW = g.KernelW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)outH * outW;
        float* padded = Scratch.Get(Scratch.Slot.Staging, (long)rows * pitch);

        for (long p = p0; p < p1; p++)
        {
            // Scatter into the zero-bordered plane, then keep its interior: the border collects taps that fell in padding.
            Panels.Zero(padded, rows * pitch);
            for (int j = 0; j < multiplier; j++)
            {
                long outChannelPlane = p * multiplier + j;
                float* wk = w + outChannelPlane % g.OutChannels * taps;
                float* dyPlane = dy + outChannelPlane * outPlane;
                for (int oy = 0; oy < outH; oy++)
                {
                    float* dyRow = dyPlane + (long)oy * outW;
                    for (int ky = 0; ky < g.KernelH; ky++)
                    {
                        float* dst = padded + (long)(oy * g.StrideH + ky * g.DilationH) * pitch;
                        for (int kx = 0; kx < kernelW; kx++)
                        {
                            float wv = wk[ky * kernelW + kx];
                            float* d = dst + kx * g.DilationW;
                            if (g.StrideW == 1)
                                MultiplyAdd(level, dyRow, wv, d, outW);
                            else
                                for (int ox = 0; ox < outW; ox++) d[(long)ox * g.StrideW] += wv * dyRow[ox];
                        }
                    }
                }
            }
            float* dxPlane = dx + p * inPlane;
            for (int iy = 0; iy < g.InH; iy++)
                Panels.Copy(padded + (long)(iy + g.PadH) * pitch + g.PadW, dxPlane + (long)iy * g.InW, g.InW);
        }
    }

    /// <summary>d[i] += s · src[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(SimdLevel level, float* src, float s, float* d, int n)
    {
        int i = 0;
        if (level == SimdLevel.Vector512)
        {
            var sv = Vector512.Create(s);
            for (; i + 16 <= n; i += 16)
                Vector512.FusedMultiplyAdd(sv, Vector512.Load(src + i), Vector512.Load(d + i)).Store(d + i);
        }
        else if (level == SimdLevel.Vector256)
        {
            var sv = Vector256.Create(s);
            for (; i + 8 <= n; i += 8)
                Vector256.FusedMultiplyAdd(sv, Vector256.Load(src + i), Vector256.Load(d + i)).Store(d + i);
        }
        for (; i < n; i++) d[i] += s * src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardWeightChannels(SimdLevel level, in Conv2dGeometry g, float* x, float* dy, float* dw, int c0, int c1)
    {
        int multiplier = g.OutChannels / g.InChannels, taps = g.KernelH * g.KernelW;
        int outH = g.OutH, outW = g.OutW, pitch = PaddedPitch(g), kernelW = g.KernelW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)outH * outW;
        float* padded = Scratch.Get(Scratch.Slot.Staging, (long)PaddedRows(g) * pitch);
        float* imageSums = stackalloc float[taps];
        float* totals = stackalloc float[taps];

        for (int co = c0; co < c1; co++)
        {
            new Span<float>(totals, taps).Clear();
            for (int b = 0; b < g.Batch; b++)
            {
                PadPlane(g, x + ((long)b * g.InChannels + co / multiplier) * inPlane, padded);
                float* dyPlane = dy + ((long)b * g.OutChannels + co) * outPlane;
                new Span<float>(imageSums, taps).Clear();
                for (int oy = 0; oy < outH; oy++)
                {
                    float* dyRow = dyPlane + (long)oy * outW;
                    for (int ky = 0; ky < g.KernelH; ky++)
                    {
                        float* src = padded + (long)(oy * g.StrideH + ky * g.DilationH) * pitch;
                        for (int kx = 0; kx < kernelW; kx++)
                        {
                            float* s = src + kx * g.DilationW;
                            imageSums[ky * kernelW + kx] += g.StrideW == 1
                                ? Dot(level, dyRow, s, outW)
                                : StridedDot(dyRow, s, g.StrideW, outW);
                        }
                    }
                }
                for (int t = 0; t < taps; t++) totals[t] += imageSums[t];
            }
            for (int t = 0; t < taps; t++) dw[(long)co * taps + t] = totals[t];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(SimdLevel level, float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0f;
        if (level == SimdLevel.Vector512)
        {
            var acc0 = Vector512<float>.Zero;
            var acc1 = Vector512<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), acc1);
            }
            for (; i + 16 <= n; i += 16)
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (level == SimdLevel.Vector256)
        {
            var acc0 = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
            sum = Vector256.Sum(acc0);
        }
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    private static float StridedDot(float* a, float* b, int stride, int n)
    {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += a[i] * b[(long)i * stride];
        return sum;
    }
}
