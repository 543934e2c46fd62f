using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels;

/// <summary>
/// exp and log of 16 floats, inlinable into kernel loops (a call in a loop makes the JIT spill its vectors), after
/// Cephes <c>expf</c> / <c>logf</c>. Both are within a few ulp of the exact values.
/// </summary>
internal static class VectorMathF
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;
    private const float Lowest = -87.33654f;
    private const float Highest = 88.72283f;

    /// <summary>e^x: x = n·ln 2 + r with |r| ≤ ln 2 / 2, a degree-6 polynomial in r, 2ⁿ built in the exponent bits; results below 2⁻¹²⁶ flush to 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var clamped = Vector512.Min(Vector512.Max(x, Vector512.Create(Lowest)), Vector512.Create(Highest));
        var n = Vector512.Floor(Vector512.FusedMultiplyAdd(clamped, Vector512.Create(Log2E), Vector512.Create(0.5f)));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), clamped);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);

        var p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        var e = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);

        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        var result = e * scale;
        // Below the clamp the true value is under the smallest normal float: flush it, as the clamp would overstate it.
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(Lowest)), Vector512<float>.Zero, result);
    }

    /// <summary>
    /// ln x for positive normal x (the softmax sums, which lie in [1, dim]): x = m·2ᵉ with m in [√½, √2), a degree-8
    /// polynomial in m − 1. Zero, negative, subnormal and non-finite inputs are not handled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LogOfPositive(Vector512<float> x)
    {
        var bits = x.AsInt32();
        var exponent = Vector512.ConvertToSingle(Vector512.ShiftRightArithmetic(bits, 23) - Vector512.Create(126));
        var mantissa = ((bits & Vector512.Create(unchecked((int)0x807FFFFF))) | Vector512.Create(0x3F000000)).AsSingle();

        // Fold m in [0.5, √½) to [1, √2) so the polynomial argument stays within ±0.3.
        var small = Vector512.LessThan(mantissa, Vector512.Create(0.707106781186547524f));
        exponent -= Vector512.ConditionalSelect(small, Vector512<float>.One, Vector512<float>.Zero);
        var m = mantissa + Vector512.ConditionalSelect(small, mantissa, Vector512<float>.Zero) - Vector512<float>.One;

        var z = m * m;
        var p = Vector512.Create(7.0376836292e-2f);
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(-1.1514610310e-1f));
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(1.1676998740e-1f));
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(-1.2420140846e-1f));
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(1.4249322787e-1f));
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(-1.6668057665e-1f));
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(2.0000714765e-1f));
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(-2.4999993993e-1f));
        p = Vector512.FusedMultiplyAdd(p, m, Vector512.Create(3.3333331174e-1f));
        var y = p * m * z;
        y = Vector512.FusedMultiplyAdd(exponent, Vector512.Create(Ln2Low), y);
        y = Vector512.FusedMultiplyAdd(z, Vector512.Create(-0.5f), y);
        return Vector512.FusedMultiplyAdd(exponent, Vector512.Create(Ln2High), m + y);
    }
}
