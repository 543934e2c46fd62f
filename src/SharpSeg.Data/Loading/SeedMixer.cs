namespace SharpSeg.Data.Loading;

/// <summary>
/// Derives independent, well-spread seeds from tuples of integers (SplitMix64 finalizer chained). Loaders seed each
/// sample's augmentation with <c>Mix(seed, epoch, index)</c>, so a sample's randomness depends on neither worker count nor
/// rank; detection's loader uses the same rule.
/// </summary>
public static class SeedMixer
{
    /// <summary>A non-negative seed that is a well-mixed function of (<paramref name="seed"/>, <paramref name="a"/>, <paramref name="b"/>).</summary>
    public static int Mix(int seed, int a, int b = 0)
    {
        ulong z = Step((ulong)(uint)seed);
        z = Step(z ^ (uint)a);
        z = Step(z ^ (uint)b);
        return (int)(z & int.MaxValue);
    }

    private static ulong Step(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
