namespace SharpSeg.Kernels;

/// <summary>Output sizes of pooling windows, with torch's rules.</summary>
internal static class PoolShape
{
    /// <summary>
    /// torch's pooling_output_shape: floor (or ceil) of (in + 2·pad − dilation·(k − 1) − 1) / stride + 1, where in ceil
    /// mode a last window that would start in the right padding is dropped.
    /// </summary>
    public static int OutputSize(int input, int kernel, int stride, int pad, int dilation, bool ceilMode)
    {
        int span = input + 2 * pad - dilation * (kernel - 1) - 1;
        int output = (int)Math.Floor((span + (ceilMode ? stride - 1 : 0)) / (double)stride) + 1;
        if (ceilMode && (long)(output - 1) * stride >= input + pad) output--;
        return output;
    }
}
