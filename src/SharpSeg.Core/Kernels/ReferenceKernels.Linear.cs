namespace SharpSeg.Kernels;

internal sealed partial class ReferenceKernels
{
    public void Gemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c[i * ldc + j] : 0.0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                c[i * ldc + j] = (float)sum;
            }
        }
    }

    public void Conv2dForward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        int outH = g.OutH, outW = g.OutW, cinG = g.InChannelsPerGroup, coutG = g.OutChannelsPerGroup;
        for (int n = 0; n < g.Batch; n++)
        for (int co = 0; co < g.OutChannels; co++)
        {
            int group = co / coutG;
            for (int oy = 0; oy < outH; oy++)
            for (int ox = 0; ox < outW; ox++)
            {
                double sum = bias.IsEmpty ? 0.0 : bias[co];
                for (int ci = 0; ci < cinG; ci++)
                for (int ky = 0; ky < g.KernelH; ky++)
                for (int kx = 0; kx < g.KernelW; kx++)
                {
                    int iy = oy * g.StrideH - g.PadH + ky * g.DilationH;
                    int ix = ox * g.StrideW - g.PadW + kx * g.DilationW;
                    if (iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW) continue;
                    float xv = x[((n * g.InChannels + group * cinG + ci) * g.InH + iy) * g.InW + ix];
                    float wv = w[((co * cinG + ci) * g.KernelH + ky) * g.KernelW + kx];
                    sum += (double)xv * wv;
                }
                y[((n * g.OutChannels + co) * outH + oy) * outW + ox] = (float)sum;
            }
        }
    }

    public object? PrepareConv2dWeight(in Conv2dGeometry g, ReadOnlySpan<float> w, object? reuse) => null;

    public void Conv2dForwardFused(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, FusedActivation activation, Span<float> y, object? prepared)
    {
        Conv2dForward(g, x, w, bias, y);
        for (int i = 0; i < y.Length; i++)
        {
            float v = residual.IsEmpty ? y[i] : y[i] + residual[i];
            y[i] = activation switch
            {
                FusedActivation.Relu => Math.Max(v, 0f),
                FusedActivation.Relu6 => Math.Min(Math.Max(v, 0f), 6f),
                FusedActivation.Hardswish => ScalarMath.Unary(UnaryOp.Hardswish, v),
                _ => v,
            };
        }
    }

    public void Conv2dBackwardInput(in Conv2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        // Scatter every output gradient back through the taps that produced it, summed in double per input element.
        int outH = g.OutH, outW = g.OutW, cinG = g.InChannelsPerGroup, coutG = g.OutChannelsPerGroup;
        var sums = new double[g.InputLength];
        for (int n = 0; n < g.Batch; n++)
        for (int co = 0; co < g.OutChannels; co++)
        {
            int group = co / coutG;
            for (int oy = 0; oy < outH; oy++)
            for (int ox = 0; ox < outW; ox++)
            {
                float dyv = dy[((n * g.OutChannels + co) * outH + oy) * outW + ox];
                for (int ci = 0; ci < cinG; ci++)
                for (int ky = 0; ky < g.KernelH; ky++)
                for (int kx = 0; kx < g.KernelW; kx++)
                {
                    int iy = oy * g.StrideH - g.PadH + ky * g.DilationH;
                    int ix = ox * g.StrideW - g.PadW + kx * g.DilationW;
                    if (iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW) continue;
                    float wv = w[((co * cinG + ci) * g.KernelH + ky) * g.KernelW + kx];
                    sums[((n * g.InChannels + group * cinG + ci) * g.InH + iy) * g.InW + ix] += (double)dyv * wv;
                }
            }
        }
        for (int i = 0; i < sums.Length; i++) dx[i] = (float)sums[i];
    }

    public void Conv2dBackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw, Span<float> dbias)
    {
        int outH = g.OutH, outW = g.OutW, cinG = g.InChannelsPerGroup, coutG = g.OutChannelsPerGroup;
        for (int co = 0; co < g.OutChannels; co++)
        {
            int group = co / coutG;
            for (int ci = 0; ci < cinG; ci++)
            for (int ky = 0; ky < g.KernelH; ky++)
            for (int kx = 0; kx < g.KernelW; kx++)
            {
                double sum = 0.0;
                for (int n = 0; n < g.Batch; n++)
                for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy = oy * g.StrideH - g.PadH + ky * g.DilationH;
                    int ix = ox * g.StrideW - g.PadW + kx * g.DilationW;
                    if (iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW) continue;
                    float xv = x[((n * g.InChannels + group * cinG + ci) * g.InH + iy) * g.InW + ix];
                    sum += (double)xv * dy[((n * g.OutChannels + co) * outH + oy) * outW + ox];
                }
                dw[((co * cinG + ci) * g.KernelH + ky) * g.KernelW + kx] = (float)sum;
            }
        }
        if (dbias.IsEmpty) return;
        for (int co = 0; co < g.OutChannels; co++)
        {
            double sum = 0.0;
            for (int n = 0; n < g.Batch; n++)
            for (int p = 0; p < outH * outW; p++)
                sum += dy[(n * g.OutChannels + co) * outH * outW + p];
            dbias[co] = (float)sum;
        }
    }
}
