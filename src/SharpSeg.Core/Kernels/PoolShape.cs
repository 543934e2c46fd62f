namespace SharpSeg.Kernels;

/// <summary>Output extents of max and average pooling, with torch's rule (<c>pooling_output_shape</c>).</summary>
internal static class PoolShape
{
    /// <summary>
    /// ⌊(input + 2·pad − dilation·(kernel − 1) − 1) / stride⌋ + 1, rounded up instead in <paramref name="ceilMode"/>,
    /// where the last window must still start inside the input or the left padding (torch drops it otherwise).
    /// </summary>
    /// <exception cref="ArgumentException">A hyperparameter is out of range or the output would be empty.</exception>
    public static int OutputSize(int input, int kernel, int stride, int pad, int dilation, bool ceilMode)
    {
        if (input < 1) throw new ArgumentException($"pooling input size must be positive, got {input}", nameof(input));
        if (kernel < 1) throw new ArgumentException($"pooling kernel size must be positive, got {kernel}", nameof(kernel));
        if (stride < 1) throw new ArgumentException($"pooling stride must be positive, got {stride}", nameof(stride));
        if (dilation < 1) throw new ArgumentException($"pooling dilation must be positive, got {dilation}", nameof(dilation));
        if (pad < 0 || pad > kernel / 2)
            throw new ArgumentException($"pooling padding must be in [0, kernel / 2] (torch's rule), got padding {pad} for kernel {kernel}", nameof(pad));

        long span = (long)input + 2L * pad - (long)dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
        long output = (long)Math.Floor((double)span / stride) + 1;
        if (ceilMode && (output - 1) * stride >= (long)input + pad) output--;
        if (output < 1)
            throw new ArgumentException(
                $"pooling output would be empty ({output}): input {input}, kernel {kernel}, stride {stride}, padding {pad}, dilation {dilation}");
        return (int)output;
    }
}
