namespace SharpSeg.Core.Tests.Support;

/// <summary>
/// Finite-difference gradient checks: compares the gradients Backward() accumulates into each input with central
/// differences of L = Σ f(inputs) · R, where R is a fixed random weighting (so every output element matters with a
/// different weight and a gradient routed to the wrong element is caught).
/// </summary>
internal static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, 1e-2f, 2e-3, 2e-2, inputs);

    public static void Check(Func<Tensor[], Tensor> f, float eps, double absTol, double relTol, params Tensor[] inputs)
    {
        foreach (var t in inputs) t.RequiresGrad = true;
        var output = f(inputs);
        var weights = Tensor.Randn(output.Shape, new Random(1234));
        (output * weights).Sum().Backward();

        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            var analytic = x.Grad?.ToArray() ?? new float[x.Numel];
            var data = x.Data;
            for (int i = 0; i < data.Length; i++)
            {
                float original = data[i];
                data[i] = original + eps;
                double plus = Loss(f, inputs, weights);
                data[i] = original - eps;
                double minus = Loss(f, inputs, weights);
                data[i] = original;
                double numeric = (plus - minus) / (2 * eps);
                double diff = Math.Abs(numeric - analytic[i]);
                Assert.True(diff <= absTol + relTol * Math.Abs(numeric),
                    $"input {k} element {i}: analytic {analytic[i]} vs numeric {numeric} (diff {diff})");
            }
        }
    }

    private static double Loss(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor weights)
    {
        using var _ = GradMode.NoGrad();
        var y = f(inputs).ToArray();
        var w = weights.ToArray();
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += (double)y[i] * w[i];
        return sum;
    }

    /// <summary>Random values in [lo, hi) with a fixed seed, shaped.</summary>
    public static Tensor Uniform(int seed, float lo, float hi, params int[] shape)
    {
        var r = new Random(seed);
        var n = shape.Aggregate(1, (a, b) => a * b);
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = lo + (hi - lo) * r.NextSingle();
        return Tensor.FromArray(data, shape);
    }

    /// <summary>Values in [lo, hi) kept at least <paramref name="margin"/> away from each kink (for relu-like ops).</summary>
    public static Tensor AwayFrom(int seed, float lo, float hi, float margin, float[] kinks, params int[] shape)
    {
        var t = Uniform(seed, lo, hi, shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++)
            foreach (float k in kinks)
                if (Math.Abs(d[i] - k) < margin) d[i] = k + (d[i] >= k ? margin : -margin);
        return t;
    }
}
