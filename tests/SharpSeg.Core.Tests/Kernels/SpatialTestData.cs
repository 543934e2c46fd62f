namespace SharpSeg.Tests.Kernels;

/// <summary>Seeded inputs and tolerant comparisons for the spatial kernel tests.</summary>
internal static class SpatialTestData
{
    public static float[] Random(int length, int seed, float scale = 1f, float offset = 0f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = offset + scale * (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| element-wise, naming the first offending index.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float rtol = 1e-5f, float atol = 1e-6f, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(expected[i]) && float.IsNaN(actual[i])) continue;
            float bound = atol + rtol * Math.Abs(expected[i]);
            if (!(Math.Abs(actual[i] - expected[i]) <= bound))
                Assert.Fail($"{what}: element {i} of {expected.Length}: expected {expected[i]:R}, got {actual[i]:R} (bound {bound:G3})");
        }
    }
}
