using SharpSeg.Autograd;
using SharpSeg.Kernels;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>Batch normalisation over the channel axis (axis 1) of [N, C, …] tensors.</summary>
internal static class Normalization
{
    /// <summary>
    /// Batch norm, followed by a ReLU when <paramref name="relu"/> (training mode only): the ReLU is applied as the
    /// normalised values are stored, and one graph node differentiates both, so the pre-activation tensor is never
    /// stored and backward never writes the ReLU's gradient. With a <paramref name="residual"/> (which needs
    /// <paramref name="relu"/>) the output is relu(bn(x) + residual), the closing ops of a residual block, written in
    /// one buffer. Every value equals the separate ops' exactly.
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, double momentum, double eps, bool relu = false, Tensor? residual = null)
    {
        const string op = "BatchNorm";
        if (relu && !training) throw new ArgumentException("BatchNorm: the fused ReLU is only for training mode (evaluation folds into the convolution).", nameof(relu));
        if (residual is not null && !relu) throw new ArgumentException("BatchNorm: a fused residual add needs the fused ReLU.", nameof(residual));
        if (residual is not null)
        {
            Check.Float(residual, op, "residual");
            Check.That(residual.Shape == x.Shape, op, $"residual {residual.Shape} must have the input's shape {x.Shape}");
        }
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
            bias is null ? default : Dense(bias).Data, relu && residual is null, y.Data);
        if (residual is not null) Kernel.AddReluInPlace(y.Data, Dense(residual).Data);
        if (GradMode.ShouldRecord(x, weight, bias, residual))
        {
            var inputs = new List<Tensor> { x };
            int weightIndex = weight is null ? -1 : inputs.Count;
            if (weight is not null) inputs.Add(weight);
            int biasIndex = bias is null ? -1 : inputs.Count;
            if (bias is not null) inputs.Add(bias);
            int residualIndex = residual is null ? -1 : inputs.Count;
            if (residual is not null) inputs.Add(residual);
            y.AttachGradFn(new BatchNormFn(training, mean, invStd, relu ? y.Detach() : null, [.. inputs], weightIndex, biasIndex, residualIndex));
        }
        return y;
    }
}

/// <summary>
/// Batch-norm backward. Training: the full formula through the batch statistics; evaluation: the statistics are
/// constants, so dx = dy·γ·invStd. With a fused ReLU (training only) it keeps the ReLU's output and masks the incoming
/// gradient inside the batch-norm kernels (<see cref="Kernels.IKernels.BatchNormReluBackward"/>). With a fused residual
/// add the masked gradient is stored once, as the residual's gradient, and the batch norm differentiates it. Only the
/// input, the weight and the ReLU's output are kept: never the residual, which the separate Add would not keep either.
/// </summary>
internal sealed class BatchNormFn(bool training, Tensor mean, Tensor invStd, Tensor? reluOutput, Tensor[] inputs, int weightIndex, int biasIndex,
    int residualIndex = -1)
    : GradFn(reluOutput is null ? "BatchNorm" : residualIndex > 0 ? "BatchNormAddRelu" : "BatchNormRelu", keepInputs: false, inputs)
{
    private readonly bool _training = training;
    private readonly int _weightIndex = weightIndex, _biasIndex = biasIndex, _residualIndex = residualIndex;
    private Tensor? _mean = mean, _invStd = invStd, _reluOutput = reluOutput;
    private Tensor? _x = inputs[0], _weight = weightIndex > 0 ? inputs[weightIndex] : null;

    public override Tensor?[] Backward(Tensor grad)
    {
        var x = _x!;
        int n = x.Shape[0], c = x.Shape[1];
        int plane = (int)(x.Numel / Math.Max(1L, (long)n * c));
        var weight = _weight;
        var dy = Dense(grad).Data;
        Tensor? residualGrad = null;
        if (_residualIndex > 0)
        {
            // relu(z) with z = bn(x) + residual: dz goes to the residual as it is, and the batch norm differentiates it.
            residualGrad = NewFloat(grad.Shape);
            var relu = Dense(_reluOutput!).Data;
            Kernel.UnaryBackward(UnaryOp.Relu, relu, relu, dy, residualGrad.Data);
            dy = residualGrad.Data;
        }
        var xd = Dense(x).Data;
        var gamma = weight is null ? default : Dense(weight).Data;
        var dgamma = NewFloat(new Shape(c));
        var dbeta = NewFloat(new Shape(c));
        Tensor? dx = x.RequiresGrad ? NewFloat(x.Shape) : null;
        if (_reluOutput is not null && residualGrad is null)
        {
            Kernel.BatchNormReluBackward(n, c, plane, dy, Dense(_reluOutput).Data, xd, _mean!.Data, _invStd!.Data, gamma, dx is null ? default : dx.Data,
                dgamma.Data, dbeta.Data);
        }
        else if (_training)
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
        if (_residualIndex > 0) grads[_residualIndex] = residualGrad;
        return grads;
    }

    public override void Release()
    {
        base.Release();
        _mean = null;
        _invStd = null;
        _reluOutput = null;
        _x = null;
        _weight = null;
    }
}
