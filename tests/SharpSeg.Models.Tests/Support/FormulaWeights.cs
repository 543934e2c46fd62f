using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Support;

/// <summary>
/// Deterministic weights and inputs computable in both C# and Python, so golden tests commit only small outputs, never
/// weights. The Python twin is <c>fill_one</c>/<c>formula_input</c> in <c>tools/gen_models_golden_backbones.py</c>: for
/// the k-th state-dict entry (k counts every entry, buffers included, in state-dict order) and its flat element i,
/// s = sin(0.37 i + 1.7 k) and
/// <list type="bullet">
/// <item><c>*.num_batches_tracked</c> → 0; <c>*.running_var</c> → 1 + 0.5|s|; <c>*.running_mean</c> → 0.1 s;</item>
/// <item>rank ≥ 2 (conv/linear weight) → 2 s / √(numel / shape[0]) (Kaiming scale, so activations neither vanish nor explode);</item>
/// <item>other <c>*.weight</c> (norm scale) → 1 + 0.2 s; anything else (biases) → 0.1 s;</item>
/// </list>
/// computed in double and rounded to float32. Inputs: element i is sin(0.71 i) + 0.5 cos(0.13 i).
/// </summary>
public static class FormulaWeights
{
    /// <summary>
    /// Fills every state-dict entry of <paramref name="module"/> in place. <paramref name="formulaKey"/> renames a key
    /// before its rule is chosen (when the reference names it differently); the index k is always the entry's position.
    /// </summary>
    public static void Fill(Module module, Func<string, string>? formulaKey = null)
    {
        int k = 0;
        foreach (var (key, tensor) in module.StateDict())
        {
            string name = formulaKey?.Invoke(key) ?? key;
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                tensor.CopyFrom(Tensor.Zeros(tensor.Shape, tensor.DType));
            else
                tensor.CopyFrom(Tensor.FromArray(Values(name, k, tensor.Shape), tensor.Shape.ToArray()));
            k++;
        }
    }

    /// <summary>The values of the k-th state-dict entry called <paramref name="key"/> with shape <paramref name="shape"/>.</summary>
    public static float[] Values(string key, int k, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(key);
        Func<double, double> rule =
            key.EndsWith("running_var", StringComparison.Ordinal) ? s => 1 + 0.5 * Math.Abs(s)
            : key.EndsWith("running_mean", StringComparison.Ordinal) ? s => 0.1 * s
            : shape.Rank >= 2 ? ConvScale(2 / Math.Sqrt(shape.Numel / shape[0]))
            : key.EndsWith("weight", StringComparison.Ordinal) ? s => 1 + 0.2 * s
            : s => 0.1 * s;
        var values = new float[shape.Numel];
        for (int i = 0; i < values.Length; i++) values[i] = (float)rule(Math.Sin(0.37 * i + 1.7 * k));
        return values;
    }

    private static Func<double, double> ConvScale(double scale) => s => scale * s;

    /// <summary>The formula input of the given shape: element i is sin(0.71 i) + 0.5 cos(0.13 i).</summary>
    public static Tensor Input(params int[] shape)
    {
        var values = new float[new Shape(shape).Numel];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(Math.Sin(0.71 * i) + 0.5 * Math.Cos(0.13 * i));
        return Tensor.FromArray(values, shape);
    }
}
