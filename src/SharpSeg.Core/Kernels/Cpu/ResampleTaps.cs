namespace SharpSeg.Kernels;

/// <summary>
/// Per-output-index source taps of one resampling axis, computed once per call with torch's float arithmetic
/// (upsample_bilinear2d's <c>compute_indices_weights_linear</c>, upsample_nearest2d's <c>nearest_idx</c>).
/// </summary>
internal sealed class ResampleTaps
{
    /// <summary>First source index of each output index.</summary>
    public int[] Low { get; }

    /// <summary>Second source index (equal to <see cref="Low"/> at the last input index).</summary>
    public int[] High { get; }

    /// <summary>Weights of the two taps; they sum to 1.</summary>
    public float[] LowWeight { get; }

    /// <inheritdoc cref="LowWeight"/>
    public float[] HighWeight { get; }

    private ResampleTaps(int outputs)
    {
        Low = new int[outputs];
        High = new int[outputs];
        LowWeight = new float[outputs];
        HighWeight = new float[outputs];
    }

    /// <summary>
    /// Linear taps. align_corners: src = dst·(in − 1)/(out − 1) (0 when out = 1); otherwise
    /// src = max((dst + 0.5)·ratio − 0.5, 0) with ratio = <paramref name="scale"/> when &gt; 0, else in/out.
    /// </summary>
    public static ResampleTaps Linear(int input, int output, bool alignCorners, double scale)
    {
        var taps = new ResampleTaps(output);
        float ratio = alignCorners
            ? (output > 1 ? (float)(input - 1) / (output - 1) : 0f)
            : (scale > 0 ? (float)scale : (float)input / output);
        for (int o = 0; o < output; o++)
        {
            float src = alignCorners ? ratio * o : Math.Max(ratio * (o + 0.5f) - 0.5f, 0f);
            int low = Math.Min((int)MathF.Floor(src), input - 1);
            float high = Math.Clamp(src - low, 0f, 1f);
            taps.Low[o] = low;
            taps.High[o] = low < input - 1 ? low + 1 : low;
            taps.HighWeight[o] = high;
            taps.LowWeight[o] = 1f - high;
        }
        return taps;
    }

    /// <summary>Nearest source index of each output index (torch's legacy "nearest").</summary>
    public static int[] Nearest(int input, int output, double scale)
    {
        var source = new int[output];
        float ratio = scale > 0 ? (float)scale : (float)input / output;
        for (int o = 0; o < output; o++)
        {
            // torch's nearest_idx short-cuts equal sizes and exact doubling before the float formula.
            source[o] = output == input ? o
                : output == 2 * input ? o >> 1
                : Math.Min((int)MathF.Floor(o * ratio), input - 1);
        }
        return source;
    }

    /// <summary>
    /// For a non-decreasing map of output index to source index, the output indices [Start[i], End[i]) that read source
    /// index i: backward passes gather over these instead of scattering, which keeps their adds free of store-to-load chains.
    /// </summary>
    public static (int[] Start, int[] End) Preimages(int[] source, int input)
    {
        var start = new int[input];
        var end = new int[input];
        int j = 0;
        for (int i = 0; i < input; i++)
        {
            while (j < source.Length && source[j] < i) j++;
            start[i] = j;
            while (j < source.Length && source[j] == i) j++;
            end[i] = j;
        }
        if (j != source.Length) throw new InvalidOperationException("resampling taps must be non-decreasing in the output index");
        return (start, end);
    }
}
