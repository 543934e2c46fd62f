using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>
/// Deterministic weights computed identically by tools/gen_models_golden_segmentation.py, so golden tests commit only
/// inputs and logits. Tensor k of the state dict (every entry counted), element i: a = 43758.5453·sin(0.37·i + 1.7·k),
/// s = 2·(a − ⌊a⌋) − 1; running_var 1 + 0.5·|s|, running_mean 0.05·s, weights of rank ≥ 2 s·√(6/fan) with
/// fan = numel/shape[0], other weights 1 + 0.25·s, biases 0.05·s, num_batches_tracked 0. Scaled so activations stay
/// of order one through deep networks (see the script's docstring).
/// </summary>
internal static class ScaledFormulaWeights
{
    public static void Fill(Module model)
    {
        int k = 0;
        foreach (var (key, tensor) in model.StateDict())
        {
            if (tensor.DType == DType.Int64)
            {
                tensor.CopyFrom(Tensor.Zeros(tensor.Shape, DType.Int64));
                k++;
                continue;
            }
            int n = checked((int)tensor.Shape.Numel);
            var values = new float[n];
            for (int i = 0; i < n; i++)
            {
                double a = 43758.5453 * Math.Sin(0.37 * i + 1.7 * k);
                double s = 2 * (a - Math.Floor(a)) - 1;
                values[i] = (float)(key.EndsWith("running_var", StringComparison.Ordinal) ? 1 + 0.5 * Math.Abs(s)
                    : key.EndsWith("running_mean", StringComparison.Ordinal) ? 0.05 * s
                    : key.EndsWith("weight", StringComparison.Ordinal) && tensor.Rank >= 2 ? s * Math.Sqrt(6.0 / (n / tensor.Shape[0]))
                    : key.EndsWith("weight", StringComparison.Ordinal) ? 1 + 0.25 * s
                    : 0.05 * s);
            }
            tensor.CopyFrom(Tensor.FromArray(values, tensor.Shape.ToArray()));
            k++;
        }
    }

    /// <summary>The script's <c>formula_input</c>: element i of the flattened tensor is sin(0.11·i + 0.3).</summary>
    public static Tensor Input(int n, int c, int h, int w)
    {
        var values = new float[n * c * h * w];
        for (int i = 0; i < values.Length; i++) values[i] = (float)Math.Sin(0.11 * i + 0.3);
        return Tensor.FromArray(values, n, c, h, w);
    }
}
