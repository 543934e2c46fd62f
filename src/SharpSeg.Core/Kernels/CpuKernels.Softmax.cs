using System.Numerics.Tensors;

namespace SharpSeg.Kernels;

internal sealed partial class CpuKernels
{
    // Columns of the inner axis processed together: dim rows of this many floats stay in L1/L2 across the three passes.
    private const int SoftmaxTile = 512;

    public unsafe void SoftmaxForward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> x, Span<float> y)
    {
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
                for (long item = s; item < e; item++)
                {
                    long o = item / tiles;
                    int first = (int)(item % tiles) * SoftmaxTile;
                    int width = Math.Min(SoftmaxTile, inner - first);
                    float* xs = (float*)xp + o * dim * inner + first;
                    float* ys = (float*)yp + o * dim * inner + first;
                    if (inner == 1) SoftmaxRow(xs, ys, dim, log);
                    else SoftmaxColumns(xs, ys, dim, inner, width, log, max.AsSpan(0, width), sum.AsSpan(0, width), scratch.AsSpan(0, width));
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

    public unsafe void SoftmaxBackward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
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
                for (long item = s; item < e; item++)
                {
                    long o = item / tiles;
                    int first = (int)(item % tiles) * SoftmaxTile;
                    int width = Math.Min(SoftmaxTile, inner - first);
                    long at = o * dim * inner + first;
                    if (inner == 1) SoftmaxBackwardRow((float*)yp + at, (float*)dyp + at, (float*)dxp + at, dim, log);
                    else SoftmaxBackwardColumns((float*)yp + at, (float*)dyp + at, (float*)dxp + at, dim, inner, width, log, dot.AsSpan(0, width), scratch.AsSpan(0, width));
                }
            });
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
