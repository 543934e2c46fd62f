using SharpSeg.Autograd;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>Softmax, log-softmax and the negative log-likelihood that cross-entropy composes from them.</summary>
internal static class Losses
{
    public static Tensor Softmax(Tensor x, int axis, bool log)
    {
        string op = log ? "LogSoftmax" : "Softmax";
        Check.Float(x, op, "input");
        int a = Shape.NormalizeAxis(axis, Math.Max(1, x.Rank));
        var (outer, dim, inner) = x.Rank == 0 ? (1, 1, 1) : Reductions.Split(x.Shape, a);
        var y = NewFloat(x.Shape);
        Kernel.SoftmaxForward(outer, dim, inner, log, Dense(x).Data, y.Data);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new SoftmaxFn(log, outer, dim, inner, x, y.Detach()));
        return y;
    }

    /// <summary>
    /// torch.nn.functional.nll_loss on log-probabilities [N, C, d…] (or [N, C]) and integer targets [N, d…]: each
    /// counted element contributes −w[t]·logp[t]; the mean divides by Σ w[t] over non-ignored elements.
    /// </summary>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, Tensor? weight, int ignoreIndex, Reduction reduction)
    {
        const string op = "NllLoss";
        Check.That(target.DType != DType.Float32, op, $"target must hold integer class ids, got {target.DType.Name()} {target.Shape}");
        Check.That(logProbs.Rank >= 2 && target.Rank == logProbs.Rank - 1 && target.Shape[0] == logProbs.Shape[0], op,
            $"input {logProbs.Shape} and target {target.Shape} must be [N, C, d…] and [N, d…]");
        int n = logProbs.Shape[0], c = logProbs.Shape[1];
        int inner = (int)(logProbs.Numel / Math.Max(1L, (long)n * c));
        for (int i = 2; i < logProbs.Rank; i++)
            Check.That(target.Shape[i - 1] == logProbs.Shape[i], op, $"input {logProbs.Shape} and target {target.Shape} differ in spatial size");
        if (weight is not null) Check.That(weight.Rank == 1 && weight.Shape[0] == c, op, $"class weight {weight.Shape} must be [{c}]");

        var labels = target.To(DType.Int64).Detach().Contiguous().Span<long>();
        var w = weight is null ? null : weight.Detach().Contiguous().ToArray();
        var lp = Dense(logProbs).Data;
        var perElement = NewFloat(target.Shape);
        var losses = perElement.Data;
        var pixelWeights = new float[losses.Length];
        double weightSum = 0;
        for (int b = 0; b < n; b++)
            for (int s = 0; s < inner; s++)
            {
                int e = b * inner + s;
                long t = labels[e];
                if (t == ignoreIndex)
                {
                    losses[e] = 0f;
                    continue;
                }
                if (t < 0 || t >= c)
                    throw new ArgumentOutOfRangeException(nameof(target), $"{op}: target value {t} at element {e} is outside [0, {c}) and is not the ignore index {ignoreIndex}.");
                float wt = w is null ? 1f : w[t];
                pixelWeights[e] = wt;
                weightSum += wt;
                losses[e] = -wt * lp[(b * c + (int)t) * inner + s];
            }

        Tensor y = reduction switch
        {
            Reduction.None => perElement,
            Reduction.Sum => Tensor.Scalar((float)SumDouble(losses)),
            _ => Tensor.Scalar((float)(SumDouble(losses) / weightSum)),
        };
        if (GradMode.ShouldRecord(logProbs))
            y.AttachGradFn(new NllLossFn(logProbs, labels.ToArray(), pixelWeights, reduction, (float)weightSum, n, c, inner));
        return y;
    }

    private static double SumDouble(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        return sum;
    }
}

internal sealed class SoftmaxFn(bool log, int outer, int dim, int inner, Tensor x, Tensor y) : GradFn(log ? "LogSoftmax" : "Softmax", keepInputs: false, x)
{
    private Tensor? _output = y;

    public override Tensor?[] Backward(Tensor grad)
    {
        var dx = NewFloat(grad.Shape);
        Kernel.SoftmaxBackward(outer, dim, inner, log, _output!.Data, Dense(grad).Data, dx.Data);
        return [dx];
    }

    public override void Release()
    {
        base.Release();
        _output = null;
    }
}

internal sealed class NllLossFn(Tensor logProbs, long[] labels, float[] pixelWeights, Reduction reduction, float weightSum, int n, int c, int inner)
    : GradFn("NllLoss", keepInputs: false, logProbs)
{
    private long[]? _labels = labels;
    private float[]? _pixelWeights = pixelWeights;

    public override Tensor?[] Backward(Tensor grad)
    {
        var dx = Tensor.Zeros(InputShape(0));
        var d = dx.Data;
        var g = Dense(grad).Data;
        float scale = reduction == Reduction.Mean ? 1f / weightSum : 1f;
        for (int b = 0; b < n; b++)
            for (int s = 0; s < inner; s++)
            {
                int e = b * inner + s;
                float wt = _pixelWeights![e];
                if (wt == 0f) continue;
                float upstream = reduction == Reduction.None ? g[e] : g[0];
                d[(b * c + (int)_labels![e]) * inner + s] = -wt * upstream * scale;
            }
        return [dx];
    }

    public override void Release()
    {
        base.Release();
        _labels = null;
        _pixelWeights = null;
    }
}
