namespace SharpSeg.Kernels;

internal sealed partial class ReferenceKernels
{
    public void MaxPool2dForward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmax)
    {
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW;
        for (int p = 0; p < g.Batch * g.Channels; p++)
        {
            for (int oh = 0; oh < g.OutH; oh++)
            {
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    float best = float.NegativeInfinity;
                    int bestIndex = -1;
                    for (int kh = 0; kh < g.KernelH; kh++)
                    {
                        int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                        if (ih < 0 || ih >= g.InH) continue;
                        for (int kw = 0; kw < g.KernelW; kw++)
                        {
                            int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                            if (iw < 0 || iw >= g.InW) continue;
                            float v = x[p * inPlane + ih * g.InW + iw];
                            // torch keeps the first of equal maxima and lets NaN win.
                            if (bestIndex < 0 || v > best || float.IsNaN(v))
                            {
                                best = v;
                                bestIndex = ih * g.InW + iw;
                            }
                        }
                    }
                    y[p * outPlane + oh * g.OutW + ow] = best;
                    if (!argmax.IsEmpty) argmax[p * outPlane + oh * g.OutW + ow] = bestIndex;
                }
            }
        }
    }

    public void MaxPool2dBackward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx)
    {
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW;
        dx.Clear();
        for (int p = 0; p < g.Batch * g.Channels; p++)
            for (int o = 0; o < outPlane; o++)
            {
                int at = argmax[p * outPlane + o];
                if (at < 0 || at >= inPlane)
                    throw new ArgumentOutOfRangeException(nameof(argmax), $"max_pool2d backward: argmax[{p * outPlane + o}] = {at} is outside the input plane of {inPlane} elements");
                dx[p * inPlane + at] += dy[p * outPlane + o];
            }
    }

    public void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y)
    {
        Pool2dChecks.RequireUndilated(g);
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW;
        for (int p = 0; p < g.Batch * g.Channels; p++)
        {
            for (int oh = 0; oh < g.OutH; oh++)
            {
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    var (h0, h1, w0, w1, divisor) = AvgWindow(g, countIncludePad, oh, ow);
                    double sum = 0;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                            sum += x[p * inPlane + ih * g.InW + iw];
                    y[p * outPlane + oh * g.OutW + ow] = (float)(sum / divisor);
                }
            }
        }
    }

    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Pool2dChecks.RequireUndilated(g);
        int inPlane = g.InH * g.InW, outPlane = g.OutH * g.OutW;
        var acc = new double[dx.Length];
        for (int p = 0; p < g.Batch * g.Channels; p++)
        {
            for (int oh = 0; oh < g.OutH; oh++)
            {
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    var (h0, h1, w0, w1, divisor) = AvgWindow(g, countIncludePad, oh, ow);
                    double share = dy[p * outPlane + oh * g.OutW + ow] / (double)divisor;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                            acc[p * inPlane + ih * g.InW + iw] += share;
                }
            }
        }
        for (int i = 0; i < dx.Length; i++) dx[i] = (float)acc[i];
    }

    /// <summary>
    /// torch's avg_pool2d window: the divisor counts the window clipped to the padded extent [−pad, in + pad)
    /// when padding counts, else the window clipped to the input; the summed cells are always the latter.
    /// </summary>
    private static (int H0, int H1, int W0, int W1, int Divisor) AvgWindow(in Pool2dGeometry g, bool countIncludePad, int oh, int ow)
    {
        int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
        int h1 = Math.Min(h0 + g.KernelH, g.InH + g.PadH), w1 = Math.Min(w0 + g.KernelW, g.InW + g.PadW);
        int padded = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0);
        w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, g.InH);
        w1 = Math.Min(w1, g.InW);
        return (h0, h1, w0, w1, countIncludePad ? padded : (h1 - h0) * (w1 - w0));
    }

    public void AdaptiveAvgPool2dForward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int p = 0; p < batch * channels; p++)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = AdaptiveStart(oh, inH, outH), h1 = AdaptiveEnd(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = AdaptiveStart(ow, inW, outW), w1 = AdaptiveEnd(ow, inW, outW);
                    double sum = 0;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                            sum += x[(p * inH + ih) * inW + iw];
                    y[(p * outH + oh) * outW + ow] = (float)(sum / ((h1 - h0) * (w1 - w0)));
                }
            }
        }
    }

    public void AdaptiveAvgPool2dBackward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> dy, Span<float> dx)
    {
        var acc = new double[dx.Length];
        for (int p = 0; p < batch * channels; p++)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = AdaptiveStart(oh, inH, outH), h1 = AdaptiveEnd(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = AdaptiveStart(ow, inW, outW), w1 = AdaptiveEnd(ow, inW, outW);
                    double share = dy[(p * outH + oh) * outW + ow] / (double)((h1 - h0) * (w1 - w0));
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                            acc[(p * inH + ih) * inW + iw] += share;
                }
            }
        }
        for (int i = 0; i < dx.Length; i++) dx[i] = (float)acc[i];
    }

    private static int AdaptiveStart(int i, int input, int output) => (int)Math.Floor((double)i * input / output);

    private static int AdaptiveEnd(int i, int input, int output) => (int)Math.Ceiling((double)(i + 1) * input / output);
}
