using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels;

internal sealed partial class CpuKernels
{
    // Columns of the inner axis per work item: the unit of thread splitting, and the span each pass of the
    // TensorPrimitives fallback covers while its dim rows stay in L1/L2.
    private const int SoftmaxTile = 512;

    public unsafe void SoftmaxForward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.IsEmpty) return;
        int tiles = (inner + SoftmaxTile - 1) / SoftmaxTile;
        long work = (long)outer * tiles;
        long perItem = (long)dim * Math.Min(inner, SoftmaxTile);
        fixed (float* px = x, py = y)
        {
            nint xp = (nint)px, yp = (nint)py;
            Parallelism.ForRange(work, Math.Max(1, StreamingGrain / perItem), (s, e) =>
            {
                var max = new float[Math.Min(inner, SoftmaxTile)];
                var sum = new float[max.Length];
                var scratch = new float[max.Length];
                var block = Vector512.IsHardwareAccelerated && inner > 1 ? new float[dim * 16] : [];
                for (long item = s; item < e; item++)
                {
                    long o = item / tiles;
                    int first = (int)(item % tiles) * SoftmaxTile;
                    int width = Math.Min(SoftmaxTile, inner - first);
                    float* xs = (float*)xp + o * dim * inner + first;
                    float* ys = (float*)yp + o * dim * inner + first;
                    if (inner == 1)
                    {
                        SoftmaxRow(xs, ys, dim, log);
                        continue;
                    }
                    int vectorWidth = Vector512.IsHardwareAccelerated ? width / 16 * 16 : 0;
                    if (vectorWidth > 0)
                        fixed (float* pb = block) SoftmaxColumnsVector(xs, ys, dim, inner, vectorWidth, log, pb);
                    if (vectorWidth < width)
                    {
                        int rest = width - vectorWidth;
                        SoftmaxColumns(xs + vectorWidth, ys + vectorWidth, dim, inner, rest, log, max.AsSpan(0, rest), sum.AsSpan(0, rest), scratch.AsSpan(0, rest));
                    }
                }
            });
        }
    }

    private static unsafe void SoftmaxRow(float* x, float* y, int dim, bool log)
    {
        var xs = new ReadOnlySpan<float>(x, dim);
        var ys = new Span<float>(y, dim);
        float max = TensorPrimitives.Max(xs);
        TensorPrimitives.Subtract(xs, max, ys);
        if (log)
        {
            float logSum = MathF.Log(SumOfExp(ys));
            TensorPrimitives.Subtract(ys, logSum, ys);
        }
        else
        {
            TensorPrimitives.Exp(ys, ys);
            TensorPrimitives.Multiply(ys, 1f / TensorPrimitives.Sum(ys), ys);
        }
    }

    private static float SumOfExp(ReadOnlySpan<float> shifted)
    {
        Span<float> buffer = stackalloc float[256];
        float sum = 0;
        for (int i = 0; i < shifted.Length; i += buffer.Length)
        {
            var part = shifted.Slice(i, Math.Min(buffer.Length, shifted.Length - i));
            var exp = buffer[..part.Length];
            TensorPrimitives.Exp(part, exp);
            sum += TensorPrimitives.Sum(exp);
        }
        return sum;
    }

    /// <summary>
    /// Softmax down the columns of a [dim, width] tile whose rows are <paramref name="stride"/> apart. Each row of y is
    /// written only after the same row of x was last read, so y may alias x.
    /// </summary>
    private static unsafe void SoftmaxColumns(float* x, float* y, int dim, int stride, int width, bool log,
        Span<float> max, Span<float> sum, Span<float> scratch)
    {
        new ReadOnlySpan<float>(x, width).CopyTo(max);
        for (int d = 1; d < dim; d++) TensorPrimitives.Max(max, new ReadOnlySpan<float>(x + (long)d * stride, width), max);

        sum.Clear();
        for (int d = 0; d < dim; d++)
        {
            // log-softmax needs x again after the sum, so its exp values go to scratch rather than y.
            var exp = log ? scratch : new Span<float>(y + (long)d * stride, width);
            TensorPrimitives.Subtract(new ReadOnlySpan<float>(x + (long)d * stride, width), max, exp);
            TensorPrimitives.Exp(exp, exp);
            TensorPrimitives.Add(sum, exp, sum);
        }

        if (log)
        {
            // log-softmax = (x − max) − log Σ exp(x − max); subtracting max first keeps the small results exact.
            TensorPrimitives.Log(sum, sum);
            for (int d = 0; d < dim; d++)
            {
                var yd = new Span<float>(y + (long)d * stride, width);
                TensorPrimitives.Subtract(new ReadOnlySpan<float>(x + (long)d * stride, width), max, yd);
                TensorPrimitives.Subtract(yd, sum, yd);
            }
        }
        else
        {
            TensorPrimitives.Reciprocal(sum, sum);
            for (int d = 0; d < dim; d++)
            {
                var yd = new Span<float>(y + (long)d * stride, width);
                TensorPrimitives.Multiply(yd, sum, yd);
            }
        }
    }

    /// <summary>
    /// <see cref="SoftmaxColumns"/> for a width that is a multiple of 16, fused per 16-column block: the block's column of
    /// x is read once into <paramref name="block"/> (dim × 16 contiguous floats), the exp-sum runs there, and y is written
    /// once. Reading x twice in place would thrash L1 and L2 sets whenever the row pitch is a power of two (image planes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SoftmaxColumnsVector(float* x, float* y, int dim, long stride, int width, bool log, float* block)
    {
        for (int j = 0; j < width; j += 16)
        {
            float* xs = x + j, ys = y + j;
            var max = Vector512.Create(float.NegativeInfinity);
            for (int d = 0; d < dim; d++)
            {
                var v = Vector512.Load(xs + d * stride);
                v.Store(block + d * 16);
                max = Vector512.Max(max, v);
            }

            var sum = Vector512<float>.Zero;
            if (log)
            {
                for (int d = 0; d < dim; d++) sum += VectorMathF.Exp(Vector512.Load(block + d * 16) - max);
                var logSum = VectorMathF.LogOfPositive(sum);
                for (int d = 0; d < dim; d++) (Vector512.Load(block + d * 16) - max - logSum).Store(ys + d * stride);
            }
            else
            {
                for (int d = 0; d < dim; d++)
                {
                    var e = VectorMathF.Exp(Vector512.Load(block + d * 16) - max);
                    sum += e;
                    e.Store(block + d * 16);
                }
                var inverse = Vector512<float>.One / sum;
                for (int d = 0; d < dim; d++) (Vector512.Load(block + d * 16) * inverse).Store(ys + d * stride);
            }
        }
    }

    public unsafe void SoftmaxBackward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.IsEmpty) return;
        int tiles = (inner + SoftmaxTile - 1) / SoftmaxTile;
        long work = (long)outer * tiles;
        long perItem = (long)dim * Math.Min(inner, SoftmaxTile);
        fixed (float* py = y, pdy = dy, pdx = dx)
        {
            nint yp = (nint)py, dyp = (nint)pdy, dxp = (nint)pdx;
            Parallelism.ForRange(work, Math.Max(1, StreamingGrain / perItem), (s, e) =>
            {
                var dot = new float[Math.Min(inner, SoftmaxTile)];
                var scratch = new float[dot.Length];
                var block = Vector512.IsHardwareAccelerated && inner > 1 ? new float[2 * dim * 16] : [];
                for (long item = s; item < e; item++)
                {
                    long o = item / tiles;
                    int first = (int)(item % tiles) * SoftmaxTile;
                    int width = Math.Min(SoftmaxTile, inner - first);
                    long at = o * dim * inner + first;
                    if (inner == 1)
                    {
                        SoftmaxBackwardRow((float*)yp + at, (float*)dyp + at, (float*)dxp + at, dim, log);
                        continue;
                    }
                    int vectorWidth = Vector512.IsHardwareAccelerated ? width / 16 * 16 : 0;
                    if (vectorWidth > 0)
                        fixed (float* pb = block) SoftmaxBackwardColumnsVector((float*)yp + at, (float*)dyp + at, (float*)dxp + at, dim, inner, vectorWidth, log, pb);
                    if (vectorWidth < width)
                    {
                        int rest = width - vectorWidth;
                        at += vectorWidth;
                        SoftmaxBackwardColumns((float*)yp + at, (float*)dyp + at, (float*)dxp + at, dim, inner, rest, log, dot.AsSpan(0, rest), scratch.AsSpan(0, rest));
                    }
                }
            });
        }
    }

    /// <summary>
    /// <see cref="SoftmaxBackwardColumns"/> for a width that is a multiple of 16, fused per 16-column block; y and dy are
    /// read once into <paramref name="block"/> (2 · dim × 16 floats) for the same reason as in <see cref="SoftmaxColumnsVector"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SoftmaxBackwardColumnsVector(float* y, float* dy, float* dx, int dim, long stride, int width, bool log, float* block)
    {
        float* blockGrad = block + dim * 16;
        for (int j = 0; j < width; j += 16)
        {
            float* ys = y + j, dys = dy + j, dxs = dx + j;
            var total = Vector512<float>.Zero;
            for (int d = 0; d < dim; d++)
            {
                var yv = Vector512.Load(ys + d * stride);
                var gv = Vector512.Load(dys + d * stride);
                yv.Store(block + d * 16);
                gv.Store(blockGrad + d * 16);
                total = log ? total + gv : Vector512.FusedMultiplyAdd(gv, yv, total);
            }
            if (log)
            {
                for (int d = 0; d < dim; d++)
                    (Vector512.Load(blockGrad + d * 16) - VectorMathF.Exp(Vector512.Load(block + d * 16)) * total).Store(dxs + d * stride);
            }
            else
            {
                for (int d = 0; d < dim; d++)
                    (Vector512.Load(block + d * 16) * (Vector512.Load(blockGrad + d * 16) - total)).Store(dxs + d * stride);
            }
        }
    }

    private static unsafe void SoftmaxBackwardRow(float* y, float* dy, float* dx, int dim, bool log)
    {
        var ys = new ReadOnlySpan<float>(y, dim);
        var dys = new ReadOnlySpan<float>(dy, dim);
        var dxs = new Span<float>(dx, dim);
        if (log)
        {
            float total = TensorPrimitives.Sum(dys);
            for (int d = 0; d < dim; d++) dx[d] = dy[d] - MathF.Exp(y[d]) * total;
        }
        else
        {
            float total = TensorPrimitives.Dot(dys, ys);
            TensorPrimitives.Subtract(dys, total, dxs);
            TensorPrimitives.Multiply(dxs, ys, dxs);
        }
    }

    /// <summary>softmax: dx = y·(dy − Σdy·y); log-softmax: dx = dy − exp(y)·Σdy, down the columns of a [dim, width] tile.</summary>
    private static unsafe void SoftmaxBackwardColumns(float* y, float* dy, float* dx, int dim, int stride, int width, bool log,
        Span<float> dot, Span<float> scratch)
    {
        dot.Clear();
        for (int d = 0; d < dim; d++)
        {
            var dyd = new ReadOnlySpan<float>(dy + (long)d * stride, width);
            if (log) TensorPrimitives.Add(dot, dyd, dot);
            else TensorPrimitives.MultiplyAdd(dyd, new ReadOnlySpan<float>(y + (long)d * stride, width), dot, dot);
        }
        for (int d = 0; d < dim; d++)
        {
            var yd = new ReadOnlySpan<float>(y + (long)d * stride, width);
            var dyd = new ReadOnlySpan<float>(dy + (long)d * stride, width);
            var dxd = new Span<float>(dx + (long)d * stride, width);
            if (log)
            {
                TensorPrimitives.Exp(yd, scratch);
                TensorPrimitives.Multiply(scratch, dot, scratch);
                TensorPrimitives.Subtract(dyd, scratch, dxd);
            }
            else
            {
                TensorPrimitives.Subtract(dyd, dot, dxd);
                TensorPrimitives.Multiply(dxd, yd, dxd);
            }
        }
    }
}
