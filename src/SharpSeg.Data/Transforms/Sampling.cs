namespace SharpSeg.Data.Transforms;

/// <summary>The numpy/Python random draws PaddleSeg's transforms make, on a <see cref="Random"/>.</summary>
internal static class Sampling
{
    /// <summary><c>np.random.uniform(low, high)</c>.</summary>
    public static double Uniform(this Random random, double low, double high) => low + (high - low) * random.NextDouble();

    /// <summary><c>np.random.randint(high)</c>: an integer in [0, high).</summary>
    public static int RandInt(this Random random, int high) => random.Next(high);

    /// <summary><c>random.random() &lt; probability</c>, with 0 never and 1 always true.</summary>
    public static bool Chance(this Random random, double probability) => random.NextDouble() < probability;

    /// <summary>Python's <c>round()</c> (half to even) to an int.</summary>
    public static int RoundHalfEven(double value) => (int)Math.Round(value, MidpointRounding.ToEven);

    public static void CheckProbability(double probability, string name)
    {
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentOutOfRangeException(name, probability, $"{name} must be a probability in [0, 1].");
    }
}
