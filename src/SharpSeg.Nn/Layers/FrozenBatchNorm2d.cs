namespace SharpSeg.Nn;

/// <summary>
/// Batch normalisation with fixed statistics and affine parameters: y = x·s + (β − μ·s) with s = γ / √(σ² + ε), in
/// training and evaluation alike. Weight, bias, running mean and running variance are all buffers, so an optimizer never
/// sees them (detection fine-tunes with batches too small for batch statistics). Keys <c>weight</c>, <c>bias</c>,
/// <c>running_mean</c>, <c>running_var</c>; no <c>num_batches_tracked</c> (callers loading a BatchNorm2d checkpoint drop
/// it, as torchvision's <c>_load_from_state_dict</c> does). Equivalent to <c>torchvision.ops.misc.FrozenBatchNorm2d</c>.
/// </summary>
public sealed class FrozenBatchNorm2d : TensorModule
{
    /// <summary>Creates the layer with identity statistics (γ = 1, β = 0, μ = 0, σ² = 1) and torchvision's eps 1e-5.</summary>
    public FrozenBatchNorm2d(int numFeatures, double eps = 1e-5)
    {
        if (numFeatures <= 0) throw new ArgumentException($"FrozenBatchNorm2d: numFeatures must be positive, got {numFeatures}.", nameof(numFeatures));
        if (!(eps > 0)) throw new ArgumentException($"FrozenBatchNorm2d: eps must be positive, got {eps}.", nameof(eps));
        NumFeatures = numFeatures;
        Eps = eps;
        Weight = Buffer("weight", Tensor.Ones(numFeatures));
        Bias = Buffer("bias", Tensor.Zeros(numFeatures));
        RunningMean = Buffer("running_mean", Tensor.Zeros(numFeatures));
        RunningVar = Buffer("running_var", Tensor.Ones(numFeatures));
    }

    /// <summary>Channels.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Scale γ [C] (a buffer).</summary>
    public Tensor Weight { get; }

    /// <summary>Shift β [C] (a buffer).</summary>
    public Tensor Bias { get; }

    /// <summary>Mean μ [C].</summary>
    public Tensor RunningMean { get; }

    /// <summary>Variance σ² [C].</summary>
    public Tensor RunningVar { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ShapeMismatchException("FrozenBatchNorm2d", $"expected 4D input [N, C, H, W], got {x.Shape}");
        if (x.Shape[1] != NumFeatures) throw new ShapeMismatchException("FrozenBatchNorm2d", $"input {x.Shape} has {x.Shape[1]} channels, the layer {NumFeatures}");
        // Folded into one scale and shift per channel, in torchvision's order of operations.
        var scale = Weight * (RunningVar + (float)Eps).Rsqrt();
        var shift = Bias - RunningMean * scale;
        return x * scale.Reshape(1, NumFeatures, 1, 1) + shift.Reshape(1, NumFeatures, 1, 1);
    }
}
