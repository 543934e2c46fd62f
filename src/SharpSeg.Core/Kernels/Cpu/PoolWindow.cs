namespace SharpSeg.Kernels;

/// <summary>
/// The input range [Start, End) that each output index of one pooling axis reads, computed once per call so the
/// plane loops do no clipping. <see cref="PaddedCount"/> is avg_pool's count_include_pad divisor along the axis.
/// </summary>
internal sealed class PoolWindow
{
    public int[] Start { get; }
    public int[] End { get; }
    public int[] PaddedCount { get; }

    private PoolWindow(int outputs)
    {
        Start = new int[outputs];
        End = new int[outputs];
        PaddedCount = new int[outputs];
    }

    /// <summary>
    /// Max pooling: taps start·stride − pad + k·dilation, restricted to the input. Start is the first tap inside the
    /// input (a dilation step past the padding), End one past the last, so a loop stepping by dilation from Start visits
    /// exactly the in-range taps.
    /// </summary>
    public static PoolWindow Dilated(int outputs, int input, int kernel, int stride, int pad, int dilation)
    {
        var window = new PoolWindow(outputs);
        for (int o = 0; o < outputs; o++)
        {
            int start = o * stride - pad;
            int end = Math.Min(start + (kernel - 1) * dilation + 1, input);
            while (start < 0) start += dilation;
            window.Start[o] = start;
            window.End[o] = end;
            window.PaddedCount[o] = kernel;
        }
        return window;
    }

    /// <summary>
    /// avg_pool: the window clipped to the padded extent [−pad, input + pad) gives the divisor that counts padding,
    /// the window clipped to the input gives the cells summed.
    /// </summary>
    public static PoolWindow Average(int outputs, int input, int kernel, int stride, int pad)
    {
        var window = new PoolWindow(outputs);
        for (int o = 0; o < outputs; o++)
        {
            int start = o * stride - pad;
            int end = Math.Min(start + kernel, input + pad);
            window.PaddedCount[o] = end - start;
            window.Start[o] = Math.Max(start, 0);
            window.End[o] = Math.Min(end, input);
        }
        return window;
    }

    /// <summary>adaptive_avg_pool: [⌊o·input/outputs⌋, ⌈(o + 1)·input/outputs⌉).</summary>
    public static PoolWindow Adaptive(int outputs, int input)
    {
        var window = new PoolWindow(outputs);
        for (int o = 0; o < outputs; o++)
        {
            window.Start[o] = (int)((long)o * input / outputs);
            window.End[o] = (int)(((long)(o + 1) * input + outputs - 1) / outputs);
            window.PaddedCount[o] = window.End[o] - window.Start[o];
        }
        return window;
    }
}
