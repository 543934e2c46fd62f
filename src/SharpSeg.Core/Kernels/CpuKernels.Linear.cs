using SharpSeg.Kernels.Cpu;

namespace SharpSeg.Kernels;

internal sealed partial class CpuKernels
{
    public void Gemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
        => LinearKernels.Best.Gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

    public void Conv2dForward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
        => LinearKernels.Best.Conv2dForward(g, x, w, bias, y);

    public object? PrepareConv2dWeight(in Conv2dGeometry g, ReadOnlySpan<float> w, object? reuse)
    {
        if (g.IsDepthwise) return null;
        var packed = reuse as PackedConvWeight ?? new PackedConvWeight();
        packed.Pack(g, w, channelPanels: LinearKernels.Best.RunsAsPixelRows(g));
        return packed;
    }

    public void Conv2dForwardFused(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, FusedActivation activation, Span<float> y, object? prepared)
        => LinearKernels.Best.Conv2dForward(g, x, w, bias, residual, activation, y, prepared as PackedConvWeight);

    public void Conv2dBackwardInput(in Conv2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
        => LinearKernels.Best.Conv2dBackwardInput(g, dy, w, dx);

    public void Conv2dBackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw, Span<float> dbias)
        => LinearKernels.Best.Conv2dBackwardWeight(g, x, dy, dw, dbias);
}
