using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpSeg.Nn.Optim;

/// <summary>
/// The element loops of the optimizers: one pass per update, SIMD over <see cref="Vector{T}"/> with a scalar tail that
/// rounds identically. Each loop keeps PyTorch's operation order (e.g. <c>buf.mul_(m).add_(g, alpha)</c> rounds the
/// product before adding) so results agree with torch to the last bit or two.
/// </summary>
internal static class UpdateKernels
{
    /// <summary>destination = x + alpha·y. torch: <c>x.add(y, alpha=alpha)</c>.</summary>
    public static void AddScaled(ReadOnlySpan<float> x, float alpha, ReadOnlySpan<float> y, Span<float> destination)
    {
        CheckLengths(x.Length, y.Length, destination.Length);
        ref float xr = ref MemoryMarshal.GetReference(x), yr = ref MemoryMarshal.GetReference(y), dr = ref MemoryMarshal.GetReference(destination);
        int n = x.Length, i = 0, width = Vector<float>.Count;
        var va = new Vector<float>(alpha);
        for (; i <= n - width; i += width)
            Vector.StoreUnsafe(Vector.LoadUnsafe(ref xr, (nuint)i) + va * Vector.LoadUnsafe(ref yr, (nuint)i), ref dr, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref dr, i) = Unsafe.Add(ref xr, i) + alpha * Unsafe.Add(ref yr, i);
    }

    /// <summary>buffer = buffer·scale + alpha·x. torch: <c>buffer.mul_(scale).add_(x, alpha=alpha)</c>.</summary>
    public static void ScaleAddScaled(Span<float> buffer, float scale, ReadOnlySpan<float> x, float alpha)
    {
        CheckLengths(buffer.Length, x.Length, x.Length);
        ref float br = ref MemoryMarshal.GetReference(buffer), xr = ref MemoryMarshal.GetReference(x);
        int n = buffer.Length, i = 0, width = Vector<float>.Count;
        var vs = new Vector<float>(scale);
        var va = new Vector<float>(alpha);
        for (; i <= n - width; i += width)
            Vector.StoreUnsafe(Vector.LoadUnsafe(ref br, (nuint)i) * vs + va * Vector.LoadUnsafe(ref xr, (nuint)i), ref br, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref br, i) = Unsafe.Add(ref br, i) * scale + alpha * Unsafe.Add(ref xr, i);
    }

    /// <summary>
    /// One Adam update of a parameter, its moments and (AMSGrad) the running maximum of the second moment:
    /// m = m·β1 + (1 − β1)·g; v = v·β2 + ((1 − β2)·g)·g; v̂ = max(v̂, v); p += (−stepSize·m) / (√v̂ / √bc2 + ε).
    /// torch: <c>_single_tensor_adam</c>, whose divisions by the scalar √bc2 stay divisions here.
    /// </summary>
    public static void Adam(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> expAvg, Span<float> expAvgSq, Span<float> maxExpAvgSq,
        float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float negativeStepSize, float biasCorrection2Sqrt, float eps)
    {
        bool amsgrad = !maxExpAvgSq.IsEmpty;
        CheckLengths(parameter.Length, gradient.Length, expAvg.Length);
        CheckLengths(parameter.Length, expAvgSq.Length, amsgrad ? maxExpAvgSq.Length : parameter.Length);
        ref float pr = ref MemoryMarshal.GetReference(parameter), gr = ref MemoryMarshal.GetReference(gradient);
        ref float mr = ref MemoryMarshal.GetReference(expAvg), vr = ref MemoryMarshal.GetReference(expAvgSq);
        ref float vmr = ref amsgrad ? ref MemoryMarshal.GetReference(maxExpAvgSq) : ref vr;
        int n = parameter.Length, i = 0, width = Vector<float>.Count;
        Vector<float> vb1 = new(beta1), vc1 = new(oneMinusBeta1), vb2 = new(beta2), vc2 = new(oneMinusBeta2);
        Vector<float> vstep = new(negativeStepSize), vbc2 = new(biasCorrection2Sqrt), veps = new(eps);
        for (; i <= n - width; i += width)
        {
            var g = Vector.LoadUnsafe(ref gr, (nuint)i);
            var m = Vector.LoadUnsafe(ref mr, (nuint)i) * vb1 + vc1 * g;
            var v = Vector.LoadUnsafe(ref vr, (nuint)i) * vb2 + vc2 * g * g;
            Vector.StoreUnsafe(m, ref mr, (nuint)i);
            Vector.StoreUnsafe(v, ref vr, (nuint)i);
            if (amsgrad)
            {
                v = Vector.Max(Vector.LoadUnsafe(ref vmr, (nuint)i), v);
                Vector.StoreUnsafe(v, ref vmr, (nuint)i);
            }
            var denominator = Vector.SquareRoot(v) / vbc2 + veps;
            Vector.StoreUnsafe(Vector.LoadUnsafe(ref pr, (nuint)i) + vstep * m / denominator, ref pr, (nuint)i);
        }
        for (; i < n; i++)
        {
            float g = Unsafe.Add(ref gr, i);
            float m = Unsafe.Add(ref mr, i) * beta1 + oneMinusBeta1 * g;
            float v = Unsafe.Add(ref vr, i) * beta2 + oneMinusBeta2 * g * g;
            Unsafe.Add(ref mr, i) = m;
            Unsafe.Add(ref vr, i) = v;
            if (amsgrad)
            {
                v = MathF.Max(Unsafe.Add(ref vmr, i), v);
                Unsafe.Add(ref vmr, i) = v;
            }
            float denominator = MathF.Sqrt(v) / biasCorrection2Sqrt + eps;
            Unsafe.Add(ref pr, i) += negativeStepSize * m / denominator;
        }
    }

    private static void CheckLengths(int a, int b, int c)
    {
        if (a != b || a != c) throw new ArgumentException($"Optimizer kernel: span lengths differ ({a}, {b}, {c}).");
    }
}
