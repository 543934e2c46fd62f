using SharpSeg.Nn.Distributed;

namespace SharpSeg.Nn;

/// <summary>
/// Batch normalisation over the channels of [N, C, H, W]. Keys <c>weight</c>, <c>bias</c> (when affine; initialised to
/// ones and zeros), <c>running_mean</c>, <c>running_var</c> and the int64 scalar <c>num_batches_tracked</c> (when tracking
/// running statistics). Training normalises with batch statistics and updates the running ones
/// (running = (1 − momentum)·running + momentum·batch, unbiased batch variance; a null momentum gives the cumulative
/// average, factor 1/num_batches_tracked); evaluation uses the running statistics. A loaded dictionary may lack
/// <c>num_batches_tracked</c> (PaddleSeg weights have none): it then keeps its value. Equivalent to <c>torch.nn.BatchNorm2d</c>;
/// with a <see cref="SyncGroup"/> (set by <see cref="SyncBatchNorm.ConvertModules"/>) training uses the statistics of every
/// rank's batch, as <c>torch.nn.SyncBatchNorm</c>.
/// </summary>
public sealed class BatchNorm2d : TensorModule
{
    private readonly Tensor? _numBatchesTracked;

    /// <summary>Creates the layer with PyTorch's defaults (eps 1e-5, momentum 0.1, affine, tracking running statistics).</summary>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    {
        if (numFeatures <= 0) throw new ArgumentException($"BatchNorm2d: numFeatures must be positive, got {numFeatures}.", nameof(numFeatures));
        if (!(eps > 0)) throw new ArgumentException($"BatchNorm2d: eps must be positive, got {eps}.", nameof(eps));
        if (momentum is { } m && !(m is >= 0 and <= 1)) throw new ArgumentException($"BatchNorm2d: momentum {m} is outside [0, 1].", nameof(momentum));
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = Param("weight", Tensor.Ones(numFeatures));
            Bias = Param("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = Buffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = Buffer("running_var", Tensor.Ones(numFeatures));
            _numBatchesTracked = Buffer("num_batches_tracked", Tensor.Zeros(new Shape(), DType.Int64), optionalOnLoad: true);
        }
    }

    /// <summary>Channels.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Weight of the newest batch in the running statistics; null for the cumulative average.</summary>
    public double? Momentum { get; }

    /// <summary>Scale γ [C], or null when not affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>Shift β [C], or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <summary>Running mean [C], or null when not tracking.</summary>
    public Tensor? RunningMean { get; }

    /// <summary>Running (unbiased) variance [C], or null when not tracking.</summary>
    public Tensor? RunningVar { get; }

    /// <summary>
    /// The ranks whose batches training statistics are taken over (<see cref="SyncBatchNorm"/>), or null for this batch alone.
    /// Evaluation ignores it. Set with <see cref="SyncBatchNorm.ConvertModules"/> and <see cref="SyncBatchNorm.RevertModules"/>.
    /// </summary>
    public IProcessGroup? SyncGroup { get; internal set; }

    /// <summary>Training forwards seen since creation or the last load; 0 when not tracking.</summary>
    public long NumBatchesTracked => _numBatchesTracked?.ToArray<long>()[0] ?? 0;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Normalize(x, relu: false);

    /// <summary>
    /// activation(<see cref="Forward"/>(x) + residual). A ReLU in training mode runs fused into the normalisation
    /// (<see cref="Functional.BatchNormRelu"/>): the same values, without storing the pre-activation tensor or the ReLU's
    /// gradient. Equivalent to PyTorch's <c>torch.ao.nn.intrinsic.BNReLU2d</c> for ReLU.
    /// </summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="activation">Applied last.</param>
    /// <param name="residual">Added before the activation, or null.</param>
    public Tensor ForwardWithActivation(Tensor x, FusedActivation activation, Tensor? residual = null) =>
        activation == FusedActivation.Relu
            ? Normalize(x, relu: true, residual)
            : Functional.AddAndActivate(Normalize(x, relu: false, null), residual, activation);

    private Tensor Normalize(Tensor x, bool relu, Tensor? residual = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ShapeMismatchException("BatchNorm2d", $"expected 4D input [N, C, H, W], got {x.Shape}");
        if (x.Shape[1] != NumFeatures) throw new ShapeMismatchException("BatchNorm2d", $"input {x.Shape} has {x.Shape[1]} channels, the layer {NumFeatures}");

        double factor = Momentum ?? 0.0;
        if (IsTraining && _numBatchesTracked is not null)
        {
            long tracked = NumBatchesTracked + 1;
            _numBatchesTracked.CopyFrom(Tensor.FromArray([tracked]).Reshape());
            factor = Momentum ?? 1.0 / tracked;
        }
        bool useBatchStatistics = IsTraining || RunningMean is null;
        if (useBatchStatistics && SyncGroup is { } group)
        {
            var synced = SyncBatchNorm.Normalize(x, RunningMean, RunningVar, Weight, Bias, factor, Eps, group);
            return relu ? Functional.AddAndActivate(synced, residual, FusedActivation.Relu) : synced;
        }
        return relu
            ? Functional.BatchNormRelu(x, RunningMean, RunningVar, Weight, Bias, useBatchStatistics, factor, Eps, residual)
            : Functional.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, useBatchStatistics, factor, Eps);
    }
}
