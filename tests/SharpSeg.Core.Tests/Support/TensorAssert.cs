namespace SharpSeg.Core.Tests.Support;

internal static class TensorAssert
{
    /// <summary>Asserts |actual − expected| ≤ tol·max(1, |expected|) elementwise and equal shapes.</summary>
    public static void Close(float[] expected, Tensor actual, double tol = 1e-5, string what = "tensor")
    {
        var a = actual.ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - expected[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]}, got {a[i]}");
    }

    public static void Equal(float[] expected, Tensor actual) => Assert.Equal(expected, actual.ToArray());
}
