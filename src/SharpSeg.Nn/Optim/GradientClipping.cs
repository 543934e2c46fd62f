using System.Numerics.Tensors;

namespace SharpSeg.Nn.Optim;

/// <summary>Rescaling and clamping of parameter gradients in place, between <c>Backward()</c> and <c>Step()</c>.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales every gradient by max_norm / (total + 1e-6) when that is below 1, total being the norm of all gradients
    /// taken together (the norm of the per-tensor norms); parameters without a gradient are skipped. Returns the total
    /// norm before clipping. <paramref name="normType"/> is p of the p-norm, <see cref="double.PositiveInfinity"/> for
    /// the largest absolute value. Equivalent to <c>torch.nn.utils.clip_grad_norm_</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A bad argument, or (with <paramref name="errorIfNonfinite"/>) a NaN or infinite total norm.</exception>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2.0, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0) || double.IsInfinity(maxNorm)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max_norm must be finite and ≥ 0.");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "norm_type must be > 0 (or +∞).");
        var gradients = Gradients(parameters);
        if (gradients.Count == 0) return 0f;

        double combined = 0;
        foreach (var g in gradients)
        {
            float norm = Norm(g.AsSpan(), normType);
            combined = double.IsPositiveInfinity(normType) ? Math.Max(combined, norm) : combined + Math.Pow(norm, normType);
        }
        float total = double.IsPositiveInfinity(normType) ? (float)combined : (float)Math.Pow(combined, 1 / normType);
        if (errorIfNonfinite && !float.IsFinite(total))
            throw new ArgumentException($"The total norm of order {normType} of the gradients is {total}; clip_grad_norm_ refuses to scale by it (errorIfNonfinite).");

        // torch computes max_norm / (total + 1e-6) as a float tensor: reciprocal, then times max_norm.
        float coefficient = 1f / (total + 1e-6f) * (float)maxNorm;
        if (coefficient < 1f)
            foreach (var g in gradients) TensorPrimitives.Multiply(g.AsSpan(), coefficient, g.AsSpan());
        return total;
    }

    /// <summary>
    /// Clamps every gradient element into [−clipValue, clipValue]; parameters without a gradient are skipped.
    /// Equivalent to <c>torch.nn.utils.clip_grad_value_</c>.
    /// </summary>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "clip_value must be ≥ 0.");
        float limit = (float)clipValue;
        foreach (var g in Gradients(parameters))
        {
            var data = g.AsSpan();
            TensorPrimitives.Min(data, limit, data);
            TensorPrimitives.Max(data, -limit, data);
        }
    }

    /// <summary>The gradients, each made contiguous (and stored back) so they can be scaled in place.</summary>
    private static List<Tensor> Gradients(IEnumerable<Tensor> parameters)
    {
        var gradients = new List<Tensor>();
        int index = 0;
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentException($"Parameter {index} is null.", nameof(parameters));
            if (p.Grad is { } g)
            {
                if (g.DType != DType.Float32) throw new ArgumentException($"The gradient of parameter {index} is {g.DType}, not float32.", nameof(parameters));
                if (!g.IsContiguous) p.Grad = g = g.Detach().Contiguous();
                gradients.Add(g);
            }
            index++;
        }
        return gradients;
    }

    private static float Norm(ReadOnlySpan<float> values, double normType)
    {
        if (double.IsPositiveInfinity(normType)) return values.IsEmpty ? 0f : MathF.Abs(TensorPrimitives.MaxMagnitude(values));
        if (normType == 2.0) return (float)Math.Sqrt(SumOfSquares(values));
        double sum = 0;
        foreach (float v in values) sum += Math.Pow(Math.Abs(v), normType);
        return (float)Math.Pow(sum, 1 / normType);
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        // SIMD float sums over short chunks, added up in double: fast, and accurate for tensors of any size.
        const int chunk = 4096;
        double sum = 0;
        for (int start = 0; start < values.Length; start += chunk)
            sum += TensorPrimitives.SumOfSquares(values.Slice(start, Math.Min(chunk, values.Length - start)));
        return sum;
    }
}
