namespace SharpSeg.Kernels;

internal sealed partial class ReferenceKernels
{
    public void BilinearForward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<float> x, Span<float> y)
    {
        for (int p = 0; p < planes; p++)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                var (h0, h1, lh) = LinearSource(oh, inH, outH, alignCorners, scaleH);
                for (int ow = 0; ow < outW; ow++)
                {
                    var (w0, w1, lw) = LinearSource(ow, inW, outW, alignCorners, scaleW);
                    double top = (1 - lw) * (double)x[(p * inH + h0) * inW + w0] + lw * (double)x[(p * inH + h0) * inW + w1];
                    double bottom = (1 - lw) * (double)x[(p * inH + h1) * inW + w0] + lw * (double)x[(p * inH + h1) * inW + w1];
                    y[(p * outH + oh) * outW + ow] = (float)((1 - lh) * top + lh * bottom);
                }
            }
        }
    }

    public void BilinearBackward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<float> dy, Span<float> dx)
    {
        var acc = new double[dx.Length];
        for (int p = 0; p < planes; p++)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                var (h0, h1, lh) = LinearSource(oh, inH, outH, alignCorners, scaleH);
                for (int ow = 0; ow < outW; ow++)
                {
                    var (w0, w1, lw) = LinearSource(ow, inW, outW, alignCorners, scaleW);
                    double g = dy[(p * outH + oh) * outW + ow];
                    acc[(p * inH + h0) * inW + w0] += (1 - lh) * (1 - lw) * g;
                    acc[(p * inH + h0) * inW + w1] += (1 - lh) * lw * g;
                    acc[(p * inH + h1) * inW + w0] += lh * (1 - lw) * g;
                    acc[(p * inH + h1) * inW + w1] += lh * lw * g;
                }
            }
        }
        for (int i = 0; i < dx.Length; i++) dx[i] = (float)acc[i];
    }

    /// <summary>
    /// torch's <c>area_pixel_compute_source_index</c> for linear modes, in float as torch computes it for float tensors:
    /// the two source taps and the weight of the second.
    /// </summary>
    private static (int Lo, int Hi, double Weight) LinearSource(int dst, int input, int output, bool alignCorners, double scale)
    {
        float ratio = alignCorners
            ? (output > 1 ? (float)(input - 1) / (output - 1) : 0f)
            : (scale > 0 ? (float)scale : (float)input / output);
        float src = alignCorners ? ratio * dst : ratio * (dst + 0.5f) - 0.5f;
        if (src < 0) src = 0;
        int lo = Math.Min((int)MathF.Floor(src), input - 1);
        float weight = Math.Clamp(src - lo, 0f, 1f);
        int hi = lo < input - 1 ? lo + 1 : lo;
        return (lo, hi, weight);
    }

    public void NearestForward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                    y[(p * outH + oh) * outW + ow] = x[(p * inH + NearestSource(oh, inH, outH, scaleH)) * inW + NearestSource(ow, inW, outW, scaleW)];
    }

    public void NearestBackward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> dy, Span<float> dx)
    {
        var acc = new double[dx.Length];
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                    acc[(p * inH + NearestSource(oh, inH, outH, scaleH)) * inW + NearestSource(ow, inW, outW, scaleW)] += dy[(p * outH + oh) * outW + ow];
        for (int i = 0; i < dx.Length; i++) dx[i] = (float)acc[i];
    }

    /// <summary>torch's legacy <c>nearest_idx</c>: identity for equal sizes, halving for exact 2×, else ⌊dst·scale⌋ in float.</summary>
    private static int NearestSource(int dst, int input, int output, double scale)
    {
        if (output == input) return dst;
        if (output == 2 * input) return dst >> 1;
        float ratio = scale > 0 ? (float)scale : (float)input / output;
        return Math.Min((int)MathF.Floor(dst * ratio), input - 1);
    }
}
