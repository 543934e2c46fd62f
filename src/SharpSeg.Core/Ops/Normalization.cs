using SharpSeg.Autograd;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>Batch normalisation over the channel axis (axis 1) of [N, C, …] tensors.</summary>
internal static class Normalization
{
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, double momentum, double eps)
    {
        const string op = "BatchNorm";
        Check.Float(x, op, "input");
        Check.That(x.Rank >= 2, op, $"input must be [N, C, …], got {x.Shape}");
        int n = x.Shape[0], c = x.Shape[1];
        int plane = (int)(x.Numel / Math.Max(1L, (long)n * c));
        foreach (var (t, name) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
            if (t is not null) Check.That(t.Rank == 1 && t.Shape[0] == c, op, $"{name} {t.Shape} must be [{c}] for input {x.Shape}");
        Check.That(training || (runningMean is not null && runningVar is not null), op, "evaluation mode needs running statistics");

        var mean = NewFloat(new Shape(c));
        var invStd = NewFloat(new Shape(c));
        var xd = Dense(x).Data;
        if (training)
        {
            long count = (long)n * plane;
            Check.That(count > 1, op,
                $"training needs more than one value per channel, got input {x.Shape} (a batch of one image reaching a 1×1 feature map, e.g. after global pooling or in a deep encoder on a small image: train with a batch of at least 2 or larger images)");
            var variance = NewFloat(new Shape(c));
            Kernel.ChannelMeanVar(n, c, plane, xd, mean.Data, variance.Data);
            for (int i = 0; i < c; i++) invStd.Data[i] = (float)(1.0 / Math.Sqrt(variance.Data[i] + eps));
            if (runningMean is not null && runningVar is not null)
            {
                // torch: running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance.
                var rm = runningMean.Data;
                var rv = runningVar.Data;
                double unbias = count / (double)(count - 1);
                for (int i = 0; i < c; i++)
                {
                    rm[i] = (float)((1 - momentum) * rm[i] + momentum * mean.Data[i]);
                    rv[i] = (float)((1 - momentum) * rv[i] + momentum * variance.Data[i] * unbias);
                }
            }
        }
        else
        {
            runningMean!.Data.CopyTo(mean.Data);
            var rv = runningVar!.Data;
            for (int i = 0; i < c; i++) invStd.Data[i] = (float)(1.0 / Math.Sqrt(rv[i] + eps));
        }

        var y = NewFloat(x.Shape);
        Kernel.ChannelNormalize(n, c, plane, xd, mean.Data, invStd.Data, weight is null ? default : Dense(weight).Data,
            bias is null ? default : Dense(bias).Data, relu: false, y.Data);
        if (GradMode.ShouldRecord(x, weight, bias))
        {
            var inputs = new List<Tensor> { x };
            int weightIndex = weight is null ? -1 : inputs.Count;
            if (weight is not null) inputs.Add(weight);
            int biasIndex = bias is null ? -1 : inputs.Count;
            if (bias is not null) inputs.Add(bias);
            y.AttachGradFn(new BatchNormFn(training, mean, invStd, [.. inputs], weightIndex, biasIndex));
        }
        return y;
    }
}

/// <summary>
/// Batch-norm backward. Training: the full formula through the batch statistics; evaluation: the statistics are
/// constants, so dx = dy·γ·invStd.
/// </summary>
internal sealed class BatchNormFn(bool training, Tensor mean, Tensor invStd, Tensor[] inputs, int weightIndex, int biasIndex)
    : GradFn("BatchNorm", inputs)
{
    private readonly bool _training = training;
    private readonly int _weightIndex = weightIndex, _biasIndex = biasIndex;
    private Tensor? _mean = mean, _invStd = invStd;

    public override Tensor?[] Backward(Tensor grad)
    {
        var x = Input(0);
        int n = x.Shape[0], c = x.Shape[1];
        int plane = (int)(x.Numel / Math.Max(1L, (long)n * c));
        var weight = _weightIndex > 0 ? Input(_weightIndex) : null;
        var dy = Dense(grad).Data;
        var xd = Dense(x).Data;
        var gamma = weight is null ? default : Dense(weight).Data;
        var dgamma = NewFloat(new Shape(c));
        var dbeta = NewFloat(new Shape(c));
        Tensor? dx = x.RequiresGrad ? NewFloat(x.Shape) : null;
        if (_training)
        {
            Kernel.BatchNormBackward(n, c, plane, dy, xd, _mean!.Data, _invStd!.Data, gamma, dx is null ? default : dx.Data, dgamma.Data, dbeta.Data);
        }
        else
        {
            // Statistics are constants: dγ = Σ dy·x̂, dβ = Σ dy, dx = dy·γ·invStd (the normalize kernel with a zero mean).
            Kernel.BatchNormBackward(n, c, plane, dy, xd, _mean!.Data, _invStd!.Data, gamma, default, dgamma.Data, dbeta.Data);
            if (dx is not null)
            {
                var scale = NewFloat(new Shape(c));
                for (int i = 0; i < c; i++) scale.Data[i] = _invStd.Data[i] * (gamma.IsEmpty ? 1f : gamma[i]);
                var zero = Tensor.Zeros(c);
                Kernel.ChannelNormalize(n, c, plane, dy, zero.Data, scale.Data, default, default, relu: false, dx.Data);
            }
        }
        var grads = new Tensor?[InputCount];
        grads[0] = dx;
        if (_weightIndex > 0) grads[_weightIndex] = dgamma;
        if (_biasIndex > 0) grads[_biasIndex] = dbeta;
        return grads;
    }

    public override void Release()
    {
        base.Release();
        _mean = null;
        _invStd = null;
    }
}
