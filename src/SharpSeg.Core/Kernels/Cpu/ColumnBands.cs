using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels;

/// <summary>
/// The transpose of linear resampling along one axis, as one 16-wide band per input index: input i receives
/// Σₖ Weights[16·i + k] · g[Start[i] + k] from the output gradient g. A band is a vector load, a multiply and a
/// horizontal sum, where scattering the two taps of every output would chain dependent adds.
/// </summary>
internal sealed class ColumnBands
{
    public const int Width = 16;

    /// <summary>First output index of each input index's band.</summary>
    public int[] Start { get; }

    /// <summary>Band weights, <see cref="Width"/> per input index, zero where an output does not read the input.</summary>
    public float[] Weights { get; }

    private ColumnBands(int inputs)
    {
        Start = new int[inputs];
        Weights = new float[inputs * Width];
    }

    /// <summary>Bands of <paramref name="taps"/>, or null where some input is read by outputs spread wider than a band.</summary>
    public static ColumnBands? Build(ResampleTaps taps, int input)
    {
        if (!Vector512.IsHardwareAccelerated) return null;
        var bands = new ColumnBands(input);
        var (lowStart, lowEnd) = ResampleTaps.Preimages(taps.Low, input);
        var (highStart, highEnd) = ResampleTaps.Preimages(taps.High, input);
        for (int i = 0; i < input; i++)
        {
            bool anyLow = lowEnd[i] > lowStart[i], anyHigh = highEnd[i] > highStart[i];
            if (!anyLow && !anyHigh) continue;
            int first = Math.Min(anyLow ? lowStart[i] : int.MaxValue, anyHigh ? highStart[i] : int.MaxValue);
            int end = Math.Max(lowEnd[i], highEnd[i]);
            if (end - first > Width) return null;
            bands.Start[i] = first;
            for (int j = lowStart[i]; j < lowEnd[i]; j++) bands.Weights[i * Width + j - first] += taps.LowWeight[j];
            for (int j = highStart[i]; j < highEnd[i]; j++) bands.Weights[i * Width + j - first] += taps.HighWeight[j];
        }
        return bands;
    }
}
