namespace SharpSeg.Models;

/// <summary>Channel counts of width-scaled networks (MobileNetV2/V3, EfficientNet), rounded as their references round them.</summary>
public static class ChannelRounding
{
    /// <summary>
    /// <paramref name="value"/> rounded to the nearest multiple of <paramref name="divisor"/> (at least the divisor), one step
    /// up when rounding lost more than 10 %. Equivalent to torchvision's and PaddleSeg's <c>_make_divisible(value, 8)</c>.
    /// </summary>
    public static int MakeDivisible(double value, int divisor = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(divisor, 1);
        int rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }
}
