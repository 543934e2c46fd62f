namespace SharpSeg.Models.Tests.Support;

/// <summary>Element-wise comparisons of our outputs with a PyTorch reference's (float64 reference, float32 ours).</summary>
public static class GoldenAssert
{
    /// <summary>
    /// |actual − expected| ≤ <paramref name="tolerance"/> · (|expected| + max|expected|) at every element: relative on large
    /// values, on the scale of the whole output near zero.
    /// </summary>
    public static void Close(Tensor expected, Tensor actual, string what, float tolerance = 1e-4f)
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: expected shape {expected.Shape}, got {actual.Shape}");
        var e = expected.ToArray();
        var a = actual.ToArray();
        float scale = e.Max(MathF.Abs);
        for (int i = 0; i < e.Length; i++)
            Assert.True(MathF.Abs(a[i] - e[i]) <= tolerance * (MathF.Abs(e[i]) + scale),
                $"{what}: element {i} is {a[i]}, expected {e[i]} (scale {scale})");
    }

    /// <summary>
    /// |actual − expected| ≤ <paramref name="relative"/> · max(|expected|) at every element (a relative tolerance on the scale
    /// of the output); an all-zero <paramref name="expected"/> fails, as it would prove nothing.
    /// </summary>
    public static void CloseToScale(Tensor expected, Tensor actual, double relative, string what)
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape}, expected {expected.Shape}");
        var e = expected.ToArray();
        var a = actual.ToArray();
        double scale = e.Max(v => Math.Abs((double)v));
        Assert.True(scale > 0, $"{what}: expected output is all zeros, the fixture proves nothing");
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= relative * scale, $"{what}[{i}]: got {a[i]}, expected {e[i]} (tolerance {relative * scale})");
    }
}
