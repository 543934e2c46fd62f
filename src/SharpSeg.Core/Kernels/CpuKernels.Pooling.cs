using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels;

internal sealed partial class CpuKernels
{
    public unsafe void MaxPool2dForward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmax)
    {
        if (y.IsEmpty) return;
        var geometry = g;
        var rows = PoolWindow.Dilated(g.OutH, g.InH, g.KernelH, g.StrideH, g.PadH, g.DilationH);
        var columns = PoolWindow.Dilated(g.OutW, g.InW, g.KernelW, g.StrideW, g.PadW, g.DilationW);
        long work = (long)g.OutH * g.OutW * g.KernelH * g.KernelW;
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            nint xp = (nint)px, yp = (nint)py, ap = (nint)pa;
            Parallelism.ForRange((long)g.Batch * g.Channels, Math.Max(1, StreamingGrain / Math.Max(1, work)), (s, e) =>
                MaxPoolPlanes(geometry, rows, columns, (float*)xp, (float*)yp, (int*)ap, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPoolPlanes(in Pool2dGeometry g, PoolWindow rows, PoolWindow columns, float* x, float* y, int* argmax,
        long firstPlane, long endPlane)
    {
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW;
        var (vectorBegin, vectorEnd) = StridedColumns.IsSupported
            ? StridedColumns.Interior(g.OutW, g.InW, g.KernelW, g.StrideW, g.PadW, g.DilationW)
            : (0, 0);
        fixed (int* rowStart = rows.Start, rowEnd = rows.End, columnStart = columns.Start, columnEnd = columns.End)
        {
            for (long p = firstPlane; p < endPlane; p++)
            {
                float* plane = x + p * inPlane;
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    float* output = y + p * outPlane + oh * g.OutW;
                    int* index = argmax == null ? null : argmax + p * outPlane + oh * g.OutW;
                    int h0 = rowStart[oh], h1 = rowEnd[oh];
                    int ow = 0;
                    if (vectorEnd - vectorBegin >= StridedColumns.Lanes)
                    {
                        MaxPoolColumns(plane, output, index, g, h0, h1, 0, vectorBegin, columnStart, columnEnd);
                        MaxPoolVectorColumns(plane, output, index, g, h0, h1, vectorBegin, vectorEnd);
                        ow = vectorEnd;
                    }
                    MaxPoolColumns(plane, output, index, g, h0, h1, ow, g.OutW, columnStart, columnEnd);
                }
            }
        }
    }

    /// <summary>Scalar max pooling of output columns [first, end) of one row: torch's rule, strict '&gt;' keeps the first of equal maxima, NaN wins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void MaxPoolColumns(float* plane, float* output, int* index, in Pool2dGeometry g, int h0, int h1,
        int first, int end, int* columnStart, int* columnEnd)
    {
        int width = g.InW, dh = g.DilationH, dw = g.DilationW;
        for (int ow = first; ow < end; ow++)
        {
            int w0 = columnStart[ow], w1 = columnEnd[ow];
            float best = float.NegativeInfinity;
            int bestIndex = h0 * width + w0;
            for (int ih = h0; ih < h1; ih += dh)
            {
                float* row = plane + ih * width;
                for (int iw = w0; iw < w1; iw += dw)
                {
                    float v = row[iw];
                    if (v > best || float.IsNaN(v))
                    {
                        best = v;
                        bestIndex = ih * width + iw;
                    }
                }
            }
            output[ow] = best;
            if (index != null) index[ow] = bestIndex;
        }
    }

    /// <summary>
    /// Interior output columns [begin, end) (at least 16) in blocks of 16, the same tap order and comparison as
    /// <see cref="MaxPoolColumns"/> per lane.
    /// </summary>
    private static unsafe void MaxPoolVectorColumns(float* plane, float* output, int* index, in Pool2dGeometry g, int h0, int h1, int begin, int end)
    {
        switch (g.StrideW)
        {
            case 1: MaxPoolVectorColumns<UnitStrideLoad>(plane, output, index, g, h0, h1, begin, end); break;
            case 2: MaxPoolVectorColumns<DoubleStrideLoad>(plane, output, index, g, h0, h1, begin, end); break;
            default: MaxPoolVectorColumns<GatherLoad>(plane, output, index, g, h0, h1, begin, end); break;
        }
    }

    // NoInlining: inlined into the stride switch, the three loops share one frame and spill their accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void MaxPoolVectorColumns<TLoad>(float* plane, float* output, int* index, in Pool2dGeometry g, int h0, int h1, int begin, int end)
        where TLoad : struct, IColumnLoad
    {
        int width = g.InW, stride = g.StrideW, kernel = g.KernelW, dh = g.DilationH, dw = g.DilationW, pad = g.PadW;
        var offsets = StridedColumns.LaneOffsets(stride);
        for (int block = begin; block < end; block += StridedColumns.Lanes)
        {
            // The last block is shifted left to end exactly at `end`: it recomputes a few outputs instead of leaving a scalar tail.
            int ow = Math.Min(block, end - StridedColumns.Lanes);
            int w0 = ow * stride - pad;
            var best = Vector512.Create(float.NegativeInfinity);
            var bestIndex = offsets + Vector512.Create(h0 * width + w0);
            for (int ih = h0; ih < h1; ih += dh)
            {
                int rowFirst = ih * width + w0;
                for (int kw = 0; kw < kernel; kw++)
                {
                    int tap = rowFirst + kw * dw;
                    var v = TLoad.Load(plane + tap, offsets);
                    var take = Vector512.GreaterThan(v, best) | ~Vector512.Equals(v, v);
                    best = Vector512.ConditionalSelect(take, v, best);
                    bestIndex = Vector512.ConditionalSelect(take.AsInt32(), offsets + Vector512.Create(tap), bestIndex);
                }
            }
            best.Store(output + ow);
            if (index != null) bestIndex.Store(index + ow);
        }
    }

    public unsafe void MaxPool2dBackward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx)
    {
        if (dx.IsEmpty) return;
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW;
        fixed (float* pdy = dy, pdx = dx)
        fixed (int* pa = argmax)
        {
            nint dyp = (nint)pdy, dxp = (nint)pdx, ap = (nint)pa;
            Parallelism.ForRange((long)g.Batch * g.Channels, Math.Max(1, StreamingGrain / (inPlane + outPlane)), (s, e) =>
                MaxPoolBackwardPlanes((float*)dyp, (int*)ap, (float*)dxp, inPlane, outPlane, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPoolBackwardPlanes(float* dy, int* argmax, float* dx, int inPlane, int outPlane, long firstPlane, long endPlane)
    {
        for (long p = firstPlane; p < endPlane; p++)
        {
            float* plane = dx + p * inPlane;
            float* grad = dy + p * outPlane;
            int* index = argmax + p * outPlane;
            new Span<float>(plane, inPlane).Clear();
            for (int o = 0; o < outPlane; o++)
            {
                // The indices come from the caller: check them rather than write through a wild pointer.
                int at = index[o];
                if ((uint)at >= (uint)inPlane) ThrowArgmaxOutOfRange(at, inPlane, p * outPlane + o);
                plane[at] += grad[o];
            }
        }
    }

    private static void ThrowArgmaxOutOfRange(int index, int inPlane, long position) =>
        throw new ArgumentOutOfRangeException("argmax", $"max_pool2d backward: argmax[{position}] = {index} is outside the input plane of {inPlane} elements");

    public unsafe void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y)
    {
        Pool2dChecks.RequireUndilated(g);
        if (y.IsEmpty) return;
        var rows = PoolWindow.Average(g.OutH, g.InH, g.KernelH, g.StrideH, g.PadH);
        var columns = PoolWindow.Average(g.OutW, g.InW, g.KernelW, g.StrideW, g.PadW);
        var geometry = g;
        long work = (long)g.OutH * g.OutW * g.KernelH * g.KernelW;
        fixed (float* px = x, py = y)
        {
            nint xp = (nint)px, yp = (nint)py;
            Parallelism.ForRange((long)g.Batch * g.Channels, Math.Max(1, StreamingGrain / Math.Max(1, work)), (s, e) =>
                AvgPoolPlanes(geometry, countIncludePad, rows, columns, (float*)xp, (float*)yp, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AvgPoolPlanes(in Pool2dGeometry g, bool countIncludePad, PoolWindow rows, PoolWindow columns,
        float* x, float* y, long firstPlane, long endPlane)
    {
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW;
        var (vectorBegin, vectorEnd) = StridedColumns.IsSupported
            ? StridedColumns.Interior(g.OutW, g.InW, g.KernelW, g.StrideW, g.PadW, 1)
            : (0, 0);
        for (long p = firstPlane; p < endPlane; p++)
        {
            float* plane = x + p * inPlane;
            for (int oh = 0; oh < g.OutH; oh++)
            {
                float* output = y + p * outPlane + oh * g.OutW;
                int h0 = rows.Start[oh], h1 = rows.End[oh];
                int rowDivisor = countIncludePad ? rows.PaddedCount[oh] : h1 - h0;
                int ow = 0;
                if (vectorEnd - vectorBegin >= StridedColumns.Lanes)
                {
                    AvgPoolColumns(plane, output, g, countIncludePad, rows, columns, oh, 0, vectorBegin);
                    // Interior columns cover the whole kernel width, so padding and clipping agree on kernelW columns.
                    AvgPoolVectorColumns(plane, output, g, h0, h1, rowDivisor * g.KernelW, vectorBegin, vectorEnd);
                    ow = vectorEnd;
                }
                AvgPoolColumns(plane, output, g, countIncludePad, rows, columns, oh, ow, g.OutW);
            }
        }
    }

    /// <summary>Scalar average pooling of output columns [first, end) of row <paramref name="oh"/>, summed in torch's order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AvgPoolColumns(float* plane, float* output, in Pool2dGeometry g, bool countIncludePad,
        PoolWindow rows, PoolWindow columns, int oh, int first, int end)
    {
        int h0 = rows.Start[oh], h1 = rows.End[oh], width = g.InW;
        for (int ow = first; ow < end; ow++)
        {
            int w0 = columns.Start[ow], w1 = columns.End[ow];
            float sum = 0;
            for (int ih = h0; ih < h1; ih++)
            {
                float* row = plane + ih * width;
                for (int iw = w0; iw < w1; iw++) sum += row[iw];
            }
            int divisor = countIncludePad ? rows.PaddedCount[oh] * columns.PaddedCount[ow] : (h1 - h0) * (w1 - w0);
            output[ow] = sum / divisor;
        }
    }

    private static unsafe void AvgPoolVectorColumns(float* plane, float* output, in Pool2dGeometry g, int h0, int h1, int divisor, int begin, int end)
    {
        switch (g.StrideW)
        {
            case 1: AvgPoolVectorColumns<UnitStrideLoad>(plane, output, g, h0, h1, divisor, begin, end); break;
            case 2: AvgPoolVectorColumns<DoubleStrideLoad>(plane, output, g, h0, h1, divisor, begin, end); break;
            default: AvgPoolVectorColumns<GatherLoad>(plane, output, g, h0, h1, divisor, begin, end); break;
        }
    }

    /// <summary>Interior output columns [begin, end) (at least 16) in blocks of 16, summed per lane in the scalar order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void AvgPoolVectorColumns<TLoad>(float* plane, float* output, in Pool2dGeometry g, int h0, int h1, int divisor, int begin, int end)
        where TLoad : struct, IColumnLoad
    {
        int width = g.InW, stride = g.StrideW, kernel = g.KernelW, pad = g.PadW;
        var offsets = StridedColumns.LaneOffsets(stride);
        var divisors = Vector512.Create((float)divisor);
        for (int block = begin; block < end; block += StridedColumns.Lanes)
        {
            int ow = Math.Min(block, end - StridedColumns.Lanes);
            float* first = plane + ow * stride - pad;
            var sum = Vector512<float>.Zero;
            for (int ih = h0; ih < h1; ih++)
            {
                float* row = first + ih * width;
                for (int kw = 0; kw < kernel; kw++) sum += TLoad.Load(row + kw, offsets);
            }
            (sum / divisors).Store(output + ow);
        }
    }

    public unsafe void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Pool2dChecks.RequireUndilated(g);
        if (dx.IsEmpty) return;
        var rows = PoolWindow.Average(g.OutH, g.InH, g.KernelH, g.StrideH, g.PadH);
        var columns = PoolWindow.Average(g.OutW, g.InW, g.KernelW, g.StrideW, g.PadW);
        var geometry = g;
        long work = (long)g.OutH * g.OutW * g.KernelH * g.KernelW;
        fixed (float* pdy = dy, pdx = dx)
        {
            nint dyp = (nint)pdy, dxp = (nint)pdx;
            Parallelism.ForRange((long)g.Batch * g.Channels, Math.Max(1, StreamingGrain / Math.Max(1, work)), (s, e) =>
                AvgPoolBackwardPlanes(geometry, countIncludePad, rows, columns, (float*)dyp, (float*)dxp, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AvgPoolBackwardPlanes(in Pool2dGeometry g, bool countIncludePad, PoolWindow rows, PoolWindow columns,
        float* dy, float* dx, long firstPlane, long endPlane)
    {
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW, width = g.InW;
        for (long p = firstPlane; p < endPlane; p++)
        {
            float* plane = dx + p * inPlane;
            float* grad = dy + p * outPlane;
            new Span<float>(plane, inPlane).Clear();
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int h0 = rows.Start[oh], h1 = rows.End[oh];
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    int w0 = columns.Start[ow], w1 = columns.End[ow];
                    int divisor = countIncludePad ? rows.PaddedCount[oh] * columns.PaddedCount[ow] : (h1 - h0) * (w1 - w0);
                    float share = grad[oh * g.OutW + ow] / divisor;
                    for (int ih = h0; ih < h1; ih++)
                    {
                        float* row = plane + ih * width;
                        for (int iw = w0; iw < w1; iw++) row[iw] += share;
                    }
                }
            }
        }
    }

    public unsafe void AdaptiveAvgPool2dForward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.IsEmpty) return;
        var rows = PoolWindow.Adaptive(outH, inH);
        var columns = PoolWindow.Adaptive(outW, inW);
        int inPlane = inH * inW, outPlane = outH * outW;
        fixed (float* px = x, py = y)
        {
            nint xp = (nint)px, yp = (nint)py;
            Parallelism.ForRange((long)batch * channels, Math.Max(1, StreamingGrain / Math.Max(inPlane, outPlane)), (s, e) =>
                AdaptiveAvgPoolPlanes((float*)xp, (float*)yp, inH, inW, outH, outW, rows, columns, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AdaptiveAvgPoolPlanes(float* x, float* y, int inH, int inW, int outH, int outW,
        PoolWindow rows, PoolWindow columns, long firstPlane, long endPlane)
    {
        int inPlane = inH * inW, outPlane = outH * outW;
        var bandSum = new float[inW];
        for (long p = firstPlane; p < endPlane; p++)
        {
            float* plane = x + p * inPlane;
            float* output = y + p * outPlane;
            if (outPlane == 1)
            {
                // Global average pooling: one vectorised sum of the plane.
                output[0] = TensorPrimitives.Sum(new ReadOnlySpan<float>(plane, inPlane)) / inPlane;
                continue;
            }
            // Rows of a band are summed with vector adds first; each output then sums a short stretch of that row.
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = rows.Start[oh], h1 = rows.End[oh];
                new ReadOnlySpan<float>(plane + (long)h0 * inW, inW).CopyTo(bandSum);
                for (int ih = h0 + 1; ih < h1; ih++) TensorPrimitives.Add(bandSum, new ReadOnlySpan<float>(plane + (long)ih * inW, inW), bandSum);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = columns.Start[ow], w1 = columns.End[ow];
                    float sum = 0;
                    for (int iw = w0; iw < w1; iw++) sum += bandSum[iw];
                    output[oh * outW + ow] = sum / ((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    public unsafe void AdaptiveAvgPool2dBackward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.IsEmpty) return;
        var rows = PoolWindow.Adaptive(outH, inH);
        var columns = PoolWindow.Adaptive(outW, inW);
        int inPlane = inH * inW, outPlane = outH * outW;
        fixed (float* pdy = dy, pdx = dx)
        {
            nint dyp = (nint)pdy, dxp = (nint)pdx;
            Parallelism.ForRange((long)batch * channels, Math.Max(1, StreamingGrain / Math.Max(inPlane, outPlane)), (s, e) =>
                AdaptiveAvgPoolBackwardPlanes((float*)dyp, (float*)dxp, inH, inW, outH, outW, rows, columns, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AdaptiveAvgPoolBackwardPlanes(float* dy, float* dx, int inH, int inW, int outH, int outW,
        PoolWindow rows, PoolWindow columns, long firstPlane, long endPlane)
    {
        int inPlane = inH * inW, outPlane = outH * outW;
        var bandShare = new float[inW];
        for (long p = firstPlane; p < endPlane; p++)
        {
            float* plane = dx + p * inPlane;
            float* grad = dy + p * outPlane;
            if (outPlane == 1)
            {
                new Span<float>(plane, inPlane).Fill(grad[0] / inPlane);
                continue;
            }
            // Each band's shares are spread along one row first, then added with vector adds to every row of the band.
            new Span<float>(plane, inPlane).Clear();
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = rows.Start[oh], h1 = rows.End[oh];
                Array.Clear(bandShare);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = columns.Start[ow], w1 = columns.End[ow];
                    float share = grad[oh * outW + ow] / ((h1 - h0) * (w1 - w0));
                    for (int iw = w0; iw < w1; iw++) bandShare[iw] += share;
                }
                for (int ih = h0; ih < h1; ih++)
                {
                    var row = new Span<float>(plane + (long)ih * inW, inW);
                    TensorPrimitives.Add(row, bandShare, row);
                }
            }
        }
    }
}
