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
}
