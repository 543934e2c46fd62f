namespace SharpSeg.Kernels;

internal sealed partial class ReferenceKernels
{
    public void Unary(UnaryOp op, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = ScalarMath.Unary(op, x[i]);
    }

    public void Binary(BinaryOp op, ReadOnlySpan<float> a, bool aScalar, ReadOnlySpan<float> b, bool bScalar, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++)
            y[i] = ScalarMath.Binary(op, a[aScalar ? 0 : i], b[bScalar ? 0 : i]);
    }

    public void UnaryBackward(UnaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < dx.Length; i++)
            dx[i] = ScalarMath.UnaryDerivative(op, x.IsEmpty ? 0f : x[i], y.IsEmpty ? 0f : y[i], dy[i]);
    }

    public void Reduce(ReduceOp op, int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double acc = op == ReduceOp.Sum ? 0.0 : x[o * dim * inner + i];
                for (int d = 0; d < dim; d++)
                {
                    float v = x[(o * dim + d) * inner + i];
                    acc = op switch
                    {
                        ReduceOp.Sum => acc + v,
                        ReduceOp.Max => float.IsNaN(v) || v > acc ? v : acc,
                        _ => float.IsNaN(v) || v < acc ? v : acc,
                    };
                }
                y[o * inner + i] = (float)acc;
            }
    }

    public void ArgReduce(bool max, int outer, int dim, int inner, ReadOnlySpan<float> x, Span<long> indices)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                float bestValue = x[o * dim * inner + i];
                for (int d = 1; d < dim && !float.IsNaN(bestValue); d++)
                {
                    float v = x[(o * dim + d) * inner + i];
                    if (float.IsNaN(v) || (max ? v > bestValue : v < bestValue))
                    {
                        best = d;
                        bestValue = v;
                    }
                }
                indices[o * inner + i] = best;
            }
    }

    public void AddReluInPlace(Span<float> y, ReadOnlySpan<float> residual)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Math.Max(y[i] + residual[i], 0f);
    }
}
