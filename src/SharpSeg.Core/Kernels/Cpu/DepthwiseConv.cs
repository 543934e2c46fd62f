using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// Direct depthwise convolution (groups = in_channels, channel multiplier = out / in), one plane at a time. Each
/// input plane is first copied into a zero-bordered scratch plane so every tap reads in bounds: the inner loops are
/// then plain vector multiply-adds over output rows (stride 1), vector multiplies and adds over even lanes (stride 2,
/// AVX-512) or scalar loops (other strides).
/// </summary>
internal static unsafe class DepthwiseConv
{
    private const int MinPlanesPerPiece = 4;

    /// <summary>
    /// Runs body(start, end) over [0, count) in up to four pieces per thread, taken by whichever thread is free (planes
    /// and channels are independent, so results do not depend on who runs them).
    /// </summary>
    private static void ForPieces(long count, Action<long, long> body)
    {
        long pieces = Math.Clamp(count / MinPlanesPerPiece, 1, 4L * Engine.Threads);
        if (pieces == 1 || Engine.Threads == 1)
        {
            body(0, count);
            return;
        }
        Parallelism.Run((int)pieces, p => body(count * p / pieces, count * (p + 1) / pieces));
    }

    /// <summary>y[b, co] = bias[co] + Σ taps w[co] · x[b, co / multiplier] (torch conv2d with groups = in_channels).</summary>
    public static void Forward(SimdLevel level, Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
        => Forward(level, g, x, w, bias, default, FusedActivation.None, y);

    /// <summary>
    /// y = act(depthwise conv(x, w) + bias + residual) (residual may be empty): the epilogue runs on each output plane right
    /// after it is computed, while the plane is still in cache, instead of as a second pass over the whole output. It is
    /// elementwise, so the values are those of the separate pass.
    /// </summary>
    public static void Forward(SimdLevel level, Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, FusedActivation activation, Span<float> y)
    {
        fixed (float* px = x, pw = w, pbias = bias, py = y, pr = residual)
        {
            nint xp = (nint)px, wp = (nint)pw, bp = bias.IsEmpty ? 0 : (nint)pbias, yp = (nint)py, rp = residual.IsEmpty ? 0 : (nint)pr;
            ForPieces((long)g.Batch * g.OutChannels,
                (p0, p1) => ForwardPlanes(level, g, (float*)xp, (float*)wp, (float*)bp, (float*)rp, activation, (float*)yp, p0, p1));
        }
    }

    /// <summary>dx[b, ci] = Σ over the multiplier's output channels of the transposed convolution of dy.</summary>
    public static void BackwardInput(SimdLevel level, Conv2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        fixed (float* pdy = dy, pw = w, pdx = dx)
        {
            nint dyp = (nint)pdy, wp = (nint)pw, dxp = (nint)pdx;
            ForPieces((long)g.Batch * g.InChannels,
                (p0, p1) => BackwardInputPlanes(level, g, (float*)dyp, (float*)wp, (float*)dxp, p0, p1));
        }
    }

    /// <summary>dw[co, tap] = Σ over batch and pixels of dy · shifted x; each channel summed by one thread, images in order.</summary>
    public static void BackwardWeight(SimdLevel level, Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        fixed (float* px = x, pdy = dy, pdw = dw)
        {
            nint xp = (nint)px, dyp = (nint)pdy, dwp = (nint)pdw;
            ForPieces(g.OutChannels,
                (c0, c1) => BackwardWeightChannels(level, g, (float*)xp, (float*)dyp, (float*)dwp, (int)c0, (int)c1));
        }
    }

    private static int PaddedPitch(in Conv2dGeometry g) => g.InW + 2 * g.PadW;

    private static int PaddedRows(in Conv2dGeometry g) => g.InH + 2 * g.PadH;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlanes(SimdLevel level, in Conv2dGeometry g, float* x, float* w, float* bias, float* residual,
        FusedActivation activation, float* y, long p0, long p1)
    {
        int multiplier = g.OutChannels / g.InChannels, taps = g.KernelH * g.KernelW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)g.OutH * g.OutW;
        float* padded = Scratch.Get(Scratch.Slot.Staging, (long)PaddedRows(g) * PaddedPitch(g));
        long paddedSource = -1;
        for (long p = p0; p < p1; p++)
        {
            long source = p / multiplier;
            if (source != paddedSource)
            {
                Panels.PadPlane(x + source * inPlane, g.InH, g.InW, g.PadH, g.PadW, padded);
                paddedSource = source;
            }
            int co = (int)(p % g.OutChannels);
            Correlate(level, padded, PaddedPitch(g), w + (long)co * taps, g.KernelH, g.KernelW, g.StrideH, g.StrideW,
                g.DilationH, g.DilationW, g.OutH, g.OutW, bias == null ? 0f : bias[co], false, y + p * outPlane);
            Epilogue.Apply(y + p * outPlane, residual == null ? null : residual + p * outPlane, outPlane, 1, (int)outPlane, activation);
        }
    }

    /// <summary>
    /// output[oy, ox] (= start | +=) Σ taps[ky, kx] · padded[oy·strideH + ky·dilH, ox·strideW + kx·dilW]. Stride-1 columns
    /// run 8 output rows × one vector at a time: eight independent FMA chains hide the FMA latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Correlate(SimdLevel level, float* padded, int pitch, float* taps, int kernelH, int kernelW,
        int strideH, int strideW, int dilH, int dilW, int outH, int outW, float start, bool accumulate, float* output)
    {
        long rowStep = (long)strideH * pitch;
        int oy = 0;
        if (level == SimdLevel.Vector512 && strideW == 1)
        {
            for (; oy + 8 <= outH; oy += 8)
            {
                float* o = output + (long)oy * outW;
                int ox = 0;
                for (; ox + 16 <= outW; ox += 16)
                {
                    Vector512<float> a0, a1, a2, a3, a4, a5, a6, a7;
                    if (accumulate)
                    {
                        a0 = Vector512.Load(o + ox); a1 = Vector512.Load(o + outW + ox);
                        a2 = Vector512.Load(o + 2 * outW + ox); a3 = Vector512.Load(o + 3 * outW + ox);
                        a4 = Vector512.Load(o + 4 * outW + ox); a5 = Vector512.Load(o + 5 * outW + ox);
                        a6 = Vector512.Load(o + 6 * outW + ox); a7 = Vector512.Load(o + 7 * outW + ox);
                    }
                    else
                    {
                        a0 = Vector512.Create(start);
                        a1 = a0; a2 = a0; a3 = a0; a4 = a0; a5 = a0; a6 = a0; a7 = a0;
                    }
                    float* top = padded + oy * rowStep + ox;
                    for (int ky = 0; ky < kernelH; ky++)
                    {
                        float* row = top + (long)ky * dilH * pitch;
                        for (int kx = 0; kx < kernelW; kx++)
                        {
                            var wv = Vector512.Create(taps[ky * kernelW + kx]);
                            float* s = row + kx * dilW;
                            a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s), a0);
                            a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + rowStep), a1);
                            a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 2 * rowStep), a2);
                            a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 3 * rowStep), a3);
                            a4 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 4 * rowStep), a4);
                            a5 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 5 * rowStep), a5);
                            a6 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 6 * rowStep), a6);
                            a7 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(s + 7 * rowStep), a7);
                        }
                    }
                    a0.Store(o + ox); a1.Store(o + outW + ox); a2.Store(o + 2 * outW + ox); a3.Store(o + 3 * outW + ox);
                    a4.Store(o + 4 * outW + ox); a5.Store(o + 5 * outW + ox); a6.Store(o + 6 * outW + ox); a7.Store(o + 7 * outW + ox);
                }
                for (int r = 0; r < 8; r++)
                    CorrelateScalar(padded + (oy + r) * rowStep, pitch, taps, kernelH, kernelW, strideW, dilH, dilW, ox, outW, start, accumulate, o + (long)r * outW);
            }
        }
        for (; oy < outH; oy++)
        {
            float* o = output + (long)oy * outW;
            float* top = padded + oy * rowStep;
            int ox = 0;
            if (level == SimdLevel.Vector512 && strideW == 1)
            {
                for (; ox + 16 <= outW; ox += 16)
                {
                    var a0 = accumulate ? Vector512.Load(o + ox) : Vector512.Create(start);
                    for (int ky = 0; ky < kernelH; ky++)
                    {
                        float* row = top + (long)ky * dilH * pitch + ox;
                        for (int kx = 0; kx < kernelW; kx++)
                            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(taps[ky * kernelW + kx]), Vector512.Load(row + kx * dilW), a0);
                    }
                    a0.Store(o + ox);
                }
            }
            else if (level == SimdLevel.Vector512 && strideW == 2 && StridedColumns.IsSupported)
            {
                ox = CorrelateStride2Row(top, pitch, taps, kernelH, kernelW, dilH, dilW, outW, start, accumulate, o);
            }
            else if (level == SimdLevel.Vector256 && strideW == 1)
            {
                for (; ox + 8 <= outW; ox += 8)
                {
                    var a0 = accumulate ? Vector256.Load(o + ox) : Vector256.Create(start);
                    for (int ky = 0; ky < kernelH; ky++)
                    {
                        float* row = top + (long)ky * dilH * pitch + ox;
                        for (int kx = 0; kx < kernelW; kx++)
                            a0 = Vector256.FusedMultiplyAdd(Vector256.Create(taps[ky * kernelW + kx]), Vector256.Load(row + kx * dilW), a0);
                    }
                    a0.Store(o + ox);
                }
            }
            CorrelateScalar(top, pitch, taps, kernelH, kernelW, strideW, dilH, dilW, ox, outW, start, accumulate, o);
        }
    }

    /// <summary>
    /// Column stride 2: blocks of 16 outputs of one row, each tap's 16 inputs the even lanes of two loads, with the
    /// product and the sum rounded separately in the scalar loop's order (no FMA), so every column is bit-identical to
    /// <see cref="CorrelateScalar"/>, which did all of them before. Stops at the first block whose second load would
    /// leave the padded row; returns the first column left for the scalar loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CorrelateStride2Row(float* top, int pitch, float* taps, int kernelH, int kernelW, int dilH, int dilW,
        int outW, float start, bool accumulate, float* o)
    {
        int ox = 0;
        int reach = (kernelW - 1) * dilW;
        for (; ox + 16 <= outW && 2 * ox + 32 + reach <= pitch; ox += 16)
        {
            var sum = accumulate ? Vector512.Load(o + ox) : Vector512.Create(start);
            for (int ky = 0; ky < kernelH; ky++)
            {
                float* row = top + (long)ky * dilH * pitch + 2 * ox;
                for (int kx = 0; kx < kernelW; kx++)
                {
                    var product = Vector512.Create(taps[ky * kernelW + kx]) * DoubleStrideLoad.Load(row + kx * dilW, default);
                    sum += product;
                }
            }
            sum.Store(o + ox);
        }
        return ox;
    }

    /// <summary>Columns [ox0, outW) of one output row of <see cref="Correlate"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CorrelateScalar(float* top, int pitch, float* taps, int kernelH, int kernelW, int strideW, int dilH, int dilW,
        int ox0, int outW, float start, bool accumulate, float* o)
    {
        for (int ox = ox0; ox < outW; ox++)
        {
            float sum = accumulate ? o[ox] : start;
            for (int ky = 0; ky < kernelH; ky++)
            {
                float* src = top + (long)ky * dilH * pitch + (long)ox * strideW;
                for (int kx = 0; kx < kernelW; kx++) sum += taps[ky * kernelW + kx] * src[kx * dilW];
            }
            o[ox] = sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardInputPlanes(SimdLevel level, in Conv2dGeometry g, float* dy, float* w, float* dx, long p0, long p1)
    {
        int multiplier = g.OutChannels / g.InChannels, taps = g.KernelH * g.KernelW;
        int outH = g.OutH, outW = g.OutW, pitch = PaddedPitch(g), rows = PaddedRows(g), kernelW = g.KernelW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)outH * outW;

        // Stride 1 with padding inside the kernel's reach: dx is a correlation of dy, zero-padded by reach − padding,
        // with the flipped kernel (the gather form: no scatter, same inner loop as the forward pass).
        int flipPadH = g.DilationH * (g.KernelH - 1) - g.PadH, flipPadW = g.DilationW * (g.KernelW - 1) - g.PadW;
        bool gather = g.StrideH == 1 && g.StrideW == 1 && flipPadH >= 0 && flipPadW >= 0;
        int gatherPitch = outW + 2 * flipPadW;
        long scratch = gather ? (long)(outH + 2 * flipPadH) * gatherPitch : (long)rows * pitch;
        float* padded = Scratch.Get(Scratch.Slot.Staging, scratch);
        float* flipped = stackalloc float[taps];

        for (long p = p0; p < p1; p++)
        {
            float* dxPlane = dx + p * inPlane;
            if (gather)
            {
                for (int j = 0; j < multiplier; j++)
                {
                    long outChannelPlane = p * multiplier + j;
                    float* wk = w + outChannelPlane % g.OutChannels * taps;
                    for (int t = 0; t < taps; t++) flipped[t] = wk[taps - 1 - t];
                    Panels.PadPlane(dy + outChannelPlane * outPlane, outH, outW, flipPadH, flipPadW, padded);
                    Correlate(level, padded, gatherPitch, flipped, g.KernelH, g.KernelW, 1, 1, g.DilationH, g.DilationW,
                        g.InH, g.InW, 0f, j > 0, dxPlane);
                }
                continue;
            }

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
        int outH = g.OutH, outW = g.OutW, pitch = PaddedPitch(g), kernelH = g.KernelH, kernelW = g.KernelW;
        int dilH = g.DilationH, dilW = g.DilationW, strideW = g.StrideW;
        long inPlane = (long)g.InH * g.InW, outPlane = (long)outH * outW, rowStep = (long)g.StrideH * pitch;
        float* padded = Scratch.Get(Scratch.Slot.Staging, (long)PaddedRows(g) * pitch);
        float* imageSums = stackalloc float[taps];
        float* totals = stackalloc float[taps];
        Vector512<float>* lanes = stackalloc Vector512<float>[taps];
        bool wideVectors = level == SimdLevel.Vector512 && strideW == 1;
        bool threeByThree = wideVectors && kernelH == 3 && kernelW == 3;

        for (int co = c0; co < c1; co++)
        {
            new Span<float>(totals, taps).Clear();
            for (int b = 0; b < g.Batch; b++)
            {
                Panels.PadPlane(x + ((long)b * g.InChannels + co / multiplier) * inPlane, g.InH, g.InW, g.PadH, g.PadW, padded);
                float* dyPlane = dy + ((long)b * g.OutChannels + co) * outPlane;
                new Span<float>(imageSums, taps).Clear();
                for (int t = 0; t < taps; t++) lanes[t] = Vector512<float>.Zero;
                if (threeByThree) Lanes3x3(dyPlane, padded, pitch, rowStep, dilH, dilW, outH, outW, lanes);
                for (int oy = 0; oy < outH; oy++)
                {
                    float* dyRow = dyPlane + (long)oy * outW;
                    float* top = padded + oy * rowStep;
                    int ox0 = 0;
                    if (wideVectors)
                    {
                        // One vector accumulator per tap for the whole plane, reduced across lanes once per image.
                        ox0 = outW & ~15;
                        for (int ky = 0; ky < kernelH && !threeByThree; ky++)
                        {
                            float* row = top + (long)ky * dilH * pitch;
                            for (int kx = 0; kx < kernelW; kx++)
                                lanes[ky * kernelW + kx] += DotLanes(dyRow, row + kx * dilW, ox0);
                        }
                        if (ox0 == outW) continue;
                    }
                    for (int ky = 0; ky < kernelH; ky++)
                    {
                        float* row = top + (long)ky * dilH * pitch;
                        for (int kx = 0; kx < kernelW; kx++)
                        {
                            float* s = row + kx * dilW;
                            imageSums[ky * kernelW + kx] += strideW == 1
                                ? Dot(level, dyRow + ox0, s + ox0, outW - ox0)
                                : StridedDot(dyRow, s, strideW, outW);
                        }
                    }
                }
                for (int t = 0; t < taps; t++) totals[t] += imageSums[t] + Vector512.Sum(lanes[t]);
            }
            for (int t = 0; t < taps; t++) dw[(long)co * taps + t] = totals[t];
        }
    }

    /// <summary>
    /// The 3 × 3 case of the weight gradient over whole 16-column chunks: nine accumulators stay in registers for the
    /// whole plane (ten loads and nine FMAs per chunk), added to <paramref name="lanes"/> at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lanes3x3(float* dyPlane, float* padded, int pitch, long rowStep, int dilH, int dilW, int outH, int outW,
        Vector512<float>* lanes)
    {
        int full = outW & ~15;
        long rowGap = (long)dilH * pitch;
        Vector512<float> a0 = lanes[0], a1 = lanes[1], a2 = lanes[2], a3 = lanes[3], a4 = lanes[4], a5 = lanes[5];
        Vector512<float> a6 = lanes[6], a7 = lanes[7], a8 = lanes[8];
        for (int oy = 0; oy < outH; oy++)
        {
            float* dyRow = dyPlane + (long)oy * outW;
            float* r0 = padded + oy * rowStep;
            float* r1 = r0 + rowGap;
            float* r2 = r1 + rowGap;
            for (int ox = 0; ox < full; ox += 16)
            {
                var d = Vector512.Load(dyRow + ox);
                a0 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r0 + ox), a0);
                a1 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r0 + ox + dilW), a1);
                a2 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r0 + ox + 2 * dilW), a2);
                a3 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r1 + ox), a3);
                a4 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r1 + ox + dilW), a4);
                a5 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r1 + ox + 2 * dilW), a5);
                a6 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r2 + ox), a6);
                a7 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r2 + ox + dilW), a7);
                a8 = Vector512.FusedMultiplyAdd(d, Vector512.Load(r2 + ox + 2 * dilW), a8);
            }
        }
        lanes[0] = a0; lanes[1] = a1; lanes[2] = a2; lanes[3] = a3; lanes[4] = a4;
        lanes[5] = a5; lanes[6] = a6; lanes[7] = a7; lanes[8] = a8;
    }

    /// <summary>Lane-wise Σ a[i]·b[i] over n (a multiple of 16) floats, two independent chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> DotLanes(float* a, float* b, int n)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), acc1);
        }
        if (i < n) acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
        return acc0 + acc1;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float StridedDot(float* a, float* b, int stride, int n)
    {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += a[i] * b[(long)i * stride];
        return sum;
    }
}
