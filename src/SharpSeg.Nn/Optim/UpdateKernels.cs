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
    /// <summary>
    /// One SGD update of a parameter and its momentum buffer (empty without momentum): d = g + wd·p; buf = d on the
    /// first step, else buf·momentum + (1 − dampening)·d; d = d + momentum·buf (Nesterov) or buf; p += −lr·d.
    /// torch: <c>_single_tensor_sgd</c>, fused into one pass.
    /// </summary>
    public static void Sgd(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> momentumBuffer, bool firstStep,
        float weightDecay, float momentum, float oneMinusDampening, bool nesterov, float negativeLearningRate)
    {
        bool hasMomentum = !momentumBuffer.IsEmpty;
        CheckLengths(parameter.Length, gradient.Length, hasMomentum ? momentumBuffer.Length : parameter.Length);
        ref float pr = ref MemoryMarshal.GetReference(parameter), gr = ref MemoryMarshal.GetReference(gradient);
        ref float br = ref hasMomentum ? ref MemoryMarshal.GetReference(momentumBuffer) : ref pr;
        int n = parameter.Length, i = 0, width = Vector<float>.Count;
        Vector<float> vwd = new(weightDecay), vm = new(momentum), vdamp = new(oneMinusDampening), vlr = new(negativeLearningRate);
        for (; i <= n - width; i += width)
        {
            var p = Vector.LoadUnsafe(ref pr, (nuint)i);
            var d = Vector.LoadUnsafe(ref gr, (nuint)i);
            if (weightDecay != 0) d += vwd * p;
            if (hasMomentum)
            {
                var buffer = firstStep ? d : Vector.LoadUnsafe(ref br, (nuint)i) * vm + vdamp * d;
                Vector.StoreUnsafe(buffer, ref br, (nuint)i);
                d = nesterov ? d + vm * buffer : buffer;
            }
            Vector.StoreUnsafe(p + vlr * d, ref pr, (nuint)i);
        }
        for (; i < n; i++)
        {
            float p = Unsafe.Add(ref pr, i);
            float d = Unsafe.Add(ref gr, i);
            if (weightDecay != 0) d += weightDecay * p;
            if (hasMomentum)
            {
                float buffer = firstStep ? d : Unsafe.Add(ref br, i) * momentum + oneMinusDampening * d;
                Unsafe.Add(ref br, i) = buffer;
                d = nesterov ? d + momentum * buffer : buffer;
            }
            Unsafe.Add(ref pr, i) = p + negativeLearningRate * d;
        }
    }

    /// <summary>
    /// One Adam update of a parameter, its moments and (AMSGrad) the running maximum of the second moment:
    /// p = p·decoupledScale (AdamW); g = g + wd·p (Adam's L2 decay); m = m·β1 + (1 − β1)·g; v = v·β2 + ((1 − β2)·g)·g;
    /// v̂ = max(v̂, v); p += (−stepSize·m) / (√v̂ / √bc2 + ε). torch: <c>_single_tensor_adam</c> / <c>_single_tensor_adamw</c>,
    /// whose divisions by the scalar √bc2 stay divisions here.
    /// </summary>
    public static void Adam(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> expAvg, Span<float> expAvgSq, Span<float> maxExpAvgSq,
        float decoupledScale, float weightDecay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float negativeStepSize,
        float biasCorrection2Sqrt, float eps)
    {
        bool amsgrad = !maxExpAvgSq.IsEmpty;
        CheckLengths(parameter.Length, gradient.Length, expAvg.Length);
        CheckLengths(parameter.Length, expAvgSq.Length, amsgrad ? maxExpAvgSq.Length : parameter.Length);
        ref float pr = ref MemoryMarshal.GetReference(parameter), gr = ref MemoryMarshal.GetReference(gradient);
        ref float mr = ref MemoryMarshal.GetReference(expAvg), vr = ref MemoryMarshal.GetReference(expAvgSq);
        ref float vmr = ref amsgrad ? ref MemoryMarshal.GetReference(maxExpAvgSq) : ref vr;
        int n = parameter.Length, i = 0, width = Vector<float>.Count;
        Vector<float> vb1 = new(beta1), vc1 = new(oneMinusBeta1), vb2 = new(beta2), vc2 = new(oneMinusBeta2);
        Vector<float> vstep = new(negativeStepSize), vbc2 = new(biasCorrection2Sqrt), veps = new(eps), vscale = new(decoupledScale), vwd = new(weightDecay);
        for (; i <= n - width; i += width)
        {
            var p = Vector.LoadUnsafe(ref pr, (nuint)i);
            if (decoupledScale != 1) p *= vscale;
            var g = Vector.LoadUnsafe(ref gr, (nuint)i);
            if (weightDecay != 0) g += vwd * p;
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
            Vector.StoreUnsafe(p + vstep * m / denominator, ref pr, (nuint)i);
        }
        for (; i < n; i++)
        {
            float p = Unsafe.Add(ref pr, i);
            if (decoupledScale != 1) p *= decoupledScale;
            float g = Unsafe.Add(ref gr, i);
            if (weightDecay != 0) g += weightDecay * p;
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
            Unsafe.Add(ref pr, i) = p + negativeStepSize * m / denominator;
        }
    }

    private static void CheckLengths(int a, int b, int c)
    {
        if (a != b || a != c) throw new ArgumentException($"Optimizer kernel: span lengths differ ({a}, {b}, {c}).");
    }
}
