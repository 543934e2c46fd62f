using SharpSeg.Autograd;

namespace SharpSeg.Nn.Distributed;

/// <summary>
/// Batch normalisation with statistics over every rank's batch: <c>torch.nn.SyncBatchNorm</c> (PaddlePaddle's
/// <c>nn.SyncBatchNorm</c>). In training each rank sums its per-channel values, squares and counts, the sums are
/// allreduced, and the global mean and biased variance normalise every rank's batch; the running statistics take the global
/// mean and the global unbiased variance. Backward allreduces the two per-channel sums the input gradient needs (Σ dy and
/// Σ dy·x̂); the weight and bias gradients stay local, to be averaged with the other gradients
/// (<see cref="DistributedDataParallel"/>). So N ranks with batch B normalise exactly as one process with the concatenated
/// batch N·B. Evaluation is plain <see cref="BatchNorm2d"/>.
/// <para>
/// Our modules keep their children in typed fields, so instead of replacing <see cref="BatchNorm2d"/> objects (PyTorch's
/// <c>convert_sync_batchnorm</c>) the conversion switches each one to synchronised statistics in place
/// (<see cref="BatchNorm2d.SyncGroup"/>). Parameters, buffers and state-dict keys stay those of <see cref="BatchNorm2d"/>, so
/// checkpoints are interchangeable.
/// </para>
/// </summary>
public static class SyncBatchNorm
{
    /// <summary>
    /// Makes every <see cref="BatchNorm2d"/> in <paramref name="module"/> (itself included) normalise with statistics over
    /// <paramref name="group"/> when training, and returns how many were converted. Equivalent to
    /// <c>torch.nn.SyncBatchNorm.convert_sync_batchnorm(module, process_group)</c>.
    /// </summary>
    public static int ConvertModules(Module module, IProcessGroup group)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        int converted = 0;
        foreach (var norm in module.Modules().OfType<BatchNorm2d>())
        {
            norm.SyncGroup = group;
            converted++;
        }
        return converted;
    }

    /// <summary>Undoes <see cref="ConvertModules"/>: every <see cref="BatchNorm2d"/> in <paramref name="module"/> uses its own batch again.</summary>
    public static void RevertModules(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        foreach (var norm in module.Modules().OfType<BatchNorm2d>()) norm.SyncGroup = null;
    }

    /// <summary>
    /// The synchronised training forward over axis 1 of <paramref name="x"/> [N, C, …]: normalises with the statistics of all
    /// ranks' inputs and updates the running statistics with weight <paramref name="momentum"/> (when given). Every rank must
    /// call it with the same channel count. Equivalent to <c>torch.nn.SyncBatchNorm.forward</c> in training mode.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The input is not [N, C, …] float, or its channels differ from the statistics'.</exception>
    /// <exception cref="ArgumentException">All ranks together have a single value per channel.</exception>
    public static Tensor Normalize(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias, double momentum,
        double eps, IProcessGroup group)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(group);
        if (x.DType != DType.Float32 || x.Rank < 2) throw new ShapeMismatchException("SyncBatchNorm", $"expected a float input [N, C, …], got {x.DType} {x.Shape}");
        int n = x.Shape[0], c = x.Shape[1];
        int plane = (int)(x.Numel / Math.Max(1L, (long)n * c));
        foreach (var (t, name) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
            if (t is not null && (t.Rank != 1 || t.Shape[0] != c))
                throw new ShapeMismatchException("SyncBatchNorm", $"{name} {t.Shape} must be [{c}] for input {x.Shape}");

        var input = (x.IsContiguous ? x : x.Contiguous()).Detach();
        var values = input.AsSpan();
        // Per channel: Σx, Σx², then the element count; double so the cross-rank sums lose nothing.
        var sums = new double[2 * c + 1];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
            {
                double sum = 0, squares = 0;
                foreach (float v in values.Slice((b * c + ch) * plane, plane))
                {
                    sum += v;
                    squares += (double)v * v;
                }
                sums[ch] += sum;
                sums[c + ch] += squares;
            }
        sums[2 * c] = (double)n * plane;
        group.AllReduceSum(sums.AsSpan());
        double count = sums[2 * c];
        if (count <= 1)
            throw new ArgumentException($"SyncBatchNorm: training needs more than one value per channel over all ranks, got input {x.Shape} on rank {group.Rank} and {count} values in all.");

        var mean = new double[c];
        var invStd = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            mean[ch] = sums[ch] / count;
            double variance = Math.Max(0, sums[c + ch] / count - mean[ch] * mean[ch]);
            invStd[ch] = 1 / Math.Sqrt(variance + eps);
            if (runningMean is not null && runningVar is not null)
            {
                var rm = runningMean.AsSpan();
                var rv = runningVar.AsSpan();
                rm[ch] = (float)((1 - momentum) * rm[ch] + momentum * mean[ch]);
                rv[ch] = (float)((1 - momentum) * rv[ch] + momentum * variance * count / (count - 1));
            }
        }

        float[]? gamma = weight?.ToArray(), beta = bias?.ToArray();
        var y = Tensor.Zeros(x.Shape);
        var output = y.AsSpan();
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
            {
                int start = (b * c + ch) * plane;
                double scale = invStd[ch] * (gamma?[ch] ?? 1f), shift = beta?[ch] ?? 0f, m = mean[ch];
                for (int i = start; i < start + plane; i++) output[i] = (float)((values[i] - m) * scale + shift);
            }

        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        bool inputNeedsGrad = x.RequiresGrad;
        return CustomFunction.Apply("SyncBatchNorm", y, [.. inputs], grad =>
            Backward(grad, input, mean, invStd, gamma, count, inputNeedsGrad, weight is not null, bias is not null, group));
    }

    private static Tensor?[] Backward(Tensor grad, Tensor input, double[] mean, double[] invStd, float[]? gamma, double count,
        bool inputNeedsGrad, bool hasWeight, bool hasBias, IProcessGroup group)
    {
        int n = input.Shape[0], c = input.Shape[1];
        int plane = (int)(input.Numel / Math.Max(1L, (long)n * c));
        var dy = (grad.IsContiguous ? grad : grad.Contiguous()).AsSpan();
        var x = input.AsSpan();
        // Per channel: Σ dy, then Σ dy·x̂ — local here, global after the allreduce.
        var sums = new double[2 * c];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
            {
                int start = (b * c + ch) * plane;
                double sumDy = 0, sumDyXhat = 0, m = mean[ch], s = invStd[ch];
                for (int i = start; i < start + plane; i++)
                {
                    sumDy += dy[i];
                    sumDyXhat += dy[i] * (x[i] - m) * s;
                }
                sums[ch] += sumDy;
                sums[c + ch] += sumDyXhat;
            }
        var grads = new List<Tensor?>();
        Tensor? dx = null;
        if (inputNeedsGrad)
        {
            // The weight and bias gradients below use the local sums, so the allreduce works on a copy.
            var global = sums.ToArray();
            group.AllReduceSum(global.AsSpan());
            dx = Tensor.Zeros(input.Shape);
            var dxs = dx.AsSpan();
            for (int b = 0; b < n; b++)
                for (int ch = 0; ch < c; ch++)
                {
                    int start = (b * c + ch) * plane;
                    double m = mean[ch], s = invStd[ch], scale = s * (gamma?[ch] ?? 1f);
                    double meanDy = global[ch] / count, meanDyXhat = global[c + ch] / count;
                    for (int i = start; i < start + plane; i++)
                        dxs[i] = (float)(scale * (dy[i] - meanDy - (x[i] - m) * s * meanDyXhat));
                }
        }
        grads.Add(dx);
        if (hasWeight) grads.Add(Tensor.FromArray([.. sums.AsSpan(c, c).ToArray().Select(v => (float)v)], c));
        if (hasBias) grads.Add(Tensor.FromArray([.. sums.AsSpan(0, c).ToArray().Select(v => (float)v)], c));
        return [.. grads];
    }
}
