using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeg.Kernels;

internal sealed partial class CpuKernels
{
    // Outputs of at least this many floats (32 MB, a large L3) cannot stay in cache for the next op anyway: they are
    // written with non-temporal stores, which skip reading every output line before overwriting it.
    private const long StreamingStoreThreshold = 8L << 20;

    public void BilinearForward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<float> x, Span<float> y) =>
        BilinearForward(planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, x, y, y.Length >= StreamingStoreThreshold);

    /// <summary><see cref="BilinearForward(int, int, int, int, int, bool, double, double, ReadOnlySpan{float}, Span{float})"/> with the store kind chosen by the caller (tests).</summary>
    internal unsafe void BilinearForward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<float> x, Span<float> y, bool streaming)
    {
        if (y.IsEmpty) return;
        var rows = ResampleTaps.Linear(inH, outH, alignCorners, scaleH);
        var columns = ResampleTaps.Linear(inW, outW, alignCorners, scaleW);
        long perPlane = (long)outH * outW + (long)inH * inW;
        fixed (float* px = x, py = y)
        {
            nint xp = (nint)px, yp = (nint)py;
            Parallelism.ForRange(planes, Math.Max(1, StreamingGrain / perPlane), (s, e) =>
            {
                // Two horizontally resampled input rows, tagged with their row index: consecutive output rows share them.
                var buffer = ArrayPool<float>.Shared.Rent(2 * outW);
                try
                {
                    fixed (float* rowBuffer = buffer)
                        for (long p = s; p < e; p++)
                            BilinearPlane((float*)xp + p * inH * inW, (float*)yp + p * outH * outW, inH, inW, outH, outW, rows, columns, rowBuffer, streaming);
                    if (streaming) VectorLoops.FenceStreamingStores();
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(buffer);
                }
            });
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BilinearPlane(float* x, float* y, int inH, int inW, int outH, int outW,
        ResampleTaps rows, ResampleTaps columns, float* rowBuffer, bool streaming)
    {
        float* slotA = rowBuffer, slotB = rowBuffer + outW;
        int tagA = -1, tagB = -1;
        fixed (int* low = columns.Low, high = columns.High)
        fixed (float* lowWeight = columns.LowWeight, highWeight = columns.HighWeight)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                int top = rows.Low[oh], bottom = rows.High[oh];
                if (tagA != top && tagB != top)
                {
                    // Replace the slot that does not hold the bottom row.
                    if (tagA == bottom)
                    {
                        float* slot = slotA;
                        slotA = slotB;
                        slotB = slot;
                        tagB = tagA;
                    }
                    ResampleRow(x + (long)top * inW, slotA, outW, low, high, lowWeight, highWeight);
                    tagA = top;
                }
                if (tagA != bottom && tagB != bottom)
                {
                    float* slot = tagA == top ? slotB : slotA;
                    ResampleRow(x + (long)bottom * inW, slot, outW, low, high, lowWeight, highWeight);
                    if (tagA == top) tagB = bottom; else tagA = bottom;
                }
                float* topRow = tagA == top ? slotA : slotB;
                float* bottomRow = tagA == bottom ? slotA : slotB;
                if (streaming) VectorLoops.BlendStreaming(topRow, bottomRow, y + (long)oh * outW, outW, rows.LowWeight[oh], rows.HighWeight[oh]);
                else VectorLoops.Blend(topRow, bottomRow, y + (long)oh * outW, outW, rows.LowWeight[oh], rows.HighWeight[oh]);
            }
        }
    }

    /// <summary>dst[j] = src[low[j]]·lowWeight[j] + src[high[j]]·highWeight[j], with AVX2 gathers where available (.NET has no AVX-512 gather).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ResampleRow(float* src, float* dst, int n, int* low, int* high, float* lowWeight, float* highWeight)
    {
        int j = 0;
        if (Avx2.IsSupported)
        {
            for (; j <= n - 8; j += 8)
            {
                var a = Avx2.GatherVector256(src, Vector256.Load(low + j), 4);
                var b = Avx2.GatherVector256(src, Vector256.Load(high + j), 4);
                Vector256.FusedMultiplyAdd(b, Vector256.Load(highWeight + j), a * Vector256.Load(lowWeight + j)).Store(dst + j);
            }
        }
        for (; j < n; j++) dst[j] = MathF.FusedMultiplyAdd(src[high[j]], highWeight[j], src[low[j]] * lowWeight[j]);
    }

    public unsafe void BilinearBackward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.IsEmpty) return;
        var rows = ResampleTaps.Linear(inH, outH, alignCorners, scaleH);
        var columns = ResampleTaps.Linear(inW, outW, alignCorners, scaleW);
        var taps = new BilinearPreimages(
            ResampleTaps.Preimages(rows.Low, inH), ResampleTaps.Preimages(rows.High, inH),
            ResampleTaps.Preimages(columns.Low, inW), ResampleTaps.Preimages(columns.High, inW),
            ColumnBands.Build(columns, inW));
        long perPlane = (long)outH * outW + (long)inH * inW;
        fixed (float* pdy = dy, pdx = dx)
        {
            nint dyp = (nint)pdy, dxp = (nint)pdx;
            Parallelism.ForRange(planes, Math.Max(1, StreamingGrain / perPlane), (s, e) =>
            {
                // Zero padding past outW: a band read at the row's end multiplies it by zero weights.
                var rowSum = new float[outW + ColumnBands.Width];
                fixed (float* pr = rowSum)
                    for (long p = s; p < e; p++)
                        BilinearBackwardPlane((float*)dyp + p * outH * outW, (float*)dxp + p * inH * inW, inH, inW, outW, rows, columns, taps, pr);
            });
        }
    }

    /// <summary>For each input row and column, the output rows and columns that read it through their low and high taps.</summary>
    private sealed record BilinearPreimages(
        (int[] Start, int[] End) LowRows, (int[] Start, int[] End) HighRows,
        (int[] Start, int[] End) LowColumns, (int[] Start, int[] End) HighColumns, ColumnBands? Bands);

    /// <summary>
    /// One input row at a time: the weighted dy rows that read it are summed into one output-width row (in L1), which the
    /// columns' preimages then reduce into the dx row. Gathering instead of scattering writes each dx element once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BilinearBackwardPlane(float* dy, float* dx, int inH, int inW, int outW,
        ResampleTaps rows, ResampleTaps columns, BilinearPreimages taps, float* rowSum)
    {
        fixed (int* lowStart = taps.LowColumns.Start, lowEnd = taps.LowColumns.End, highStart = taps.HighColumns.Start, highEnd = taps.HighColumns.End)
        fixed (float* lowWeight = columns.LowWeight, highWeight = columns.HighWeight)
        fixed (int* bandStart = taps.Bands?.Start)
        fixed (float* bandWeights = taps.Bands?.Weights)
        {
            for (int ih = 0; ih < inH; ih++)
            {
                float* row = dx + (long)ih * inW;
                bool empty = true;
                for (int oh = taps.LowRows.Start[ih]; oh < taps.LowRows.End[ih]; oh++)
                {
                    AccumulateRow(dy + (long)oh * outW, rowSum, outW, rows.LowWeight[oh], empty);
                    empty = false;
                }
                for (int oh = taps.HighRows.Start[ih]; oh < taps.HighRows.End[ih]; oh++)
                {
                    AccumulateRow(dy + (long)oh * outW, rowSum, outW, rows.HighWeight[oh], empty);
                    empty = false;
                }
                if (empty)
                {
                    new Span<float>(row, inW).Clear();
                    continue;
                }

                if (bandStart != null)
                {
                    for (int w = 0; w < inW; w++)
                    {
                        // Lanes outside the band are dropped, not multiplied by zero, so a NaN or ∞ gradient stays in its taps.
                        var weights = Vector512.Load(bandWeights + w * ColumnBands.Width);
                        var products = Vector512.Load(rowSum + bandStart[w]) * weights;
                        row[w] = Vector512.Sum(Vector512.ConditionalSelect(Vector512.Equals(weights, Vector512<float>.Zero), Vector512<float>.Zero, products));
                    }
                    continue;
                }
                for (int w = 0; w < inW; w++)
                {
                    // Two sums, two dependency chains.
                    float low = 0, high = 0;
                    for (int j = lowStart[w]; j < lowEnd[w]; j++) low = MathF.FusedMultiplyAdd(rowSum[j], lowWeight[j], low);
                    for (int j = highStart[w]; j < highEnd[w]; j++) high = MathF.FusedMultiplyAdd(rowSum[j], highWeight[j], high);
                    row[w] = low + high;
                }
            }
        }
    }

    /// <summary>sum = grad·weight when <paramref name="first"/>, else sum += grad·weight.</summary>
    private static unsafe void AccumulateRow(float* grad, float* sum, int n, float weight, bool first)
    {
        if (first) TensorPrimitives.Multiply(new ReadOnlySpan<float>(grad, n), weight, new Span<float>(sum, n));
        else VectorLoops.AddScaled(grad, sum, n, weight);
    }

    public unsafe void NearestForward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.IsEmpty) return;
        var rows = ResampleTaps.Nearest(inH, outH, scaleH);
        var columns = ResampleTaps.Nearest(inW, outW, scaleW);
        long perPlane = (long)outH * outW + (long)inH * inW;
        fixed (float* px = x, py = y)
        {
            nint xp = (nint)px, yp = (nint)py;
            Parallelism.ForRange(planes, Math.Max(1, StreamingGrain / perPlane), (s, e) =>
                NearestPlanes((float*)xp, (float*)yp, inH, inW, outH, outW, rows, columns, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void NearestPlanes(float* x, float* y, int inH, int inW, int outH, int outW, int[] rows, int[] columns,
        long firstPlane, long endPlane)
    {
        fixed (int* source = columns)
        {
            for (long p = firstPlane; p < endPlane; p++)
            {
                float* plane = x + p * inH * inW;
                float* output = y + p * outH * outW;
                for (int oh = 0; oh < outH; oh++)
                {
                    // Upsampling repeats source rows: copy the previous output row instead of gathering again.
                    float* dst = output + (long)oh * outW;
                    if (oh > 0 && rows[oh] == rows[oh - 1])
                        new ReadOnlySpan<float>(dst - outW, outW).CopyTo(new Span<float>(dst, outW));
                    else
                        GatherRow(plane + (long)rows[oh] * inW, dst, outW, source);
                }
            }
        }
    }

    /// <summary>dst[j] = src[index[j]].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GatherRow(float* src, float* dst, int n, int* index)
    {
        int j = 0;
        if (Avx2.IsSupported)
            for (; j <= n - 8; j += 8) Avx2.GatherVector256(src, Vector256.Load(index + j), 4).Store(dst + j);
        for (; j < n; j++) dst[j] = src[index[j]];
    }

    public unsafe void NearestBackward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.IsEmpty) return;
        var rows = ResampleTaps.Nearest(inH, outH, scaleH);
        var (columnStart, columnEnd) = ResampleTaps.Preimages(ResampleTaps.Nearest(inW, outW, scaleW), inW);
        long perPlane = (long)outH * outW + (long)inH * inW;
        fixed (float* pdy = dy, pdx = dx)
        {
            nint dyp = (nint)pdy, dxp = (nint)pdx;
            Parallelism.ForRange(planes, Math.Max(1, StreamingGrain / perPlane), (s, e) =>
                NearestBackwardPlanes((float*)dyp, (float*)dxp, inH, inW, outH, outW, rows, columnStart, columnEnd, s, e));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void NearestBackwardPlanes(float* dy, float* dx, int inH, int inW, int outH, int outW,
        int[] rows, int[] columnStart, int[] columnEnd, long firstPlane, long endPlane)
    {
        for (long p = firstPlane; p < endPlane; p++)
        {
            float* grad = dy + p * outH * outW;
            float* plane = dx + p * inH * inW;
            new Span<float>(plane, inH * inW).Clear();
            for (int oh = 0; oh < outH; oh++)
            {
                float* row = plane + (long)rows[oh] * inW;
                float* g = grad + (long)oh * outW;
                for (int w = 0; w < inW; w++)
                {
                    float acc = 0;
                    for (int j = columnStart[w]; j < columnEnd[w]; j++) acc += g[j];
                    row[w] += acc;
                }
            }
        }
    }
}
