using SharpSeg.Ops;
using SharpSeg.Tracing;

namespace SharpSeg;

public sealed partial class Tensor
{
    /// <summary>Sum of all elements (a scalar). Equivalent to <c>torch.sum(x)</c>.</summary>
    public Tensor Sum() => Reductions.Sum(this, AllAxes(), keepDim: false);

    /// <summary>Sum over <paramref name="axes"/>. Equivalent to <c>torch.sum(x, dim, keepdim)</c>.</summary>
    public Tensor Sum(int[] axes, bool keepDim = false) => Reductions.Sum(this, axes, keepDim);

    /// <summary>Sum over one axis. Equivalent to <c>torch.sum(x, dim, keepdim)</c>.</summary>
    public Tensor Sum(int axis, bool keepDim = false) => Reductions.Sum(this, [axis], keepDim);

    /// <summary>Mean of all elements. Equivalent to <c>torch.mean(x)</c>.</summary>
    public Tensor Mean() => Mean(AllAxes());

    /// <summary>Mean over <paramref name="axes"/>. Equivalent to <c>torch.mean(x, dim, keepdim)</c>.</summary>
    public Tensor Mean(int[] axes, bool keepDim = false)
    {
        // Recorded as one op: as Sum and Div the element count would be frozen into the graph as a constant.
        var recorder = OpRecorder.Enter();
        var y = Sum(axes, keepDim) / Reductions.Count(this, axes);
        return recorder is null ? y : recorder.Exit(y, "Mean", [this], ("axes", axes.Select(a => Shape.NormalizeAxis(a, Rank)).ToArray()),
            ("keepDim", keepDim));
    }

    /// <summary>Mean over one axis. Equivalent to <c>torch.mean(x, dim, keepdim)</c>.</summary>
    public Tensor Mean(int axis, bool keepDim = false) => Mean([axis], keepDim);

    /// <summary>
    /// Variance over <paramref name="axes"/>, unbiased (divides by n − 1) unless told otherwise.
    /// Equivalent to <c>torch.var(x, dim, unbiased, keepdim)</c>.
    /// </summary>
    public Tensor Var(int[] axes, bool unbiased = true, bool keepDim = false)
    {
        long n = Reductions.Count(this, axes);
        var centered = this - Mean(axes, keepDim: true);
        return centered.Square().Sum(axes, keepDim) / (unbiased ? Math.Max(n - 1, 0) : n);
    }

    /// <summary>Variance of all elements. Equivalent to <c>torch.var(x, unbiased)</c>.</summary>
    public Tensor Var(bool unbiased = true) => Var(AllAxes(), unbiased);

    /// <summary>Maximum of all elements. Equivalent to <c>torch.max(x)</c>.</summary>
    public Tensor Max() => Reductions.MaxMin(this, AllAxes(), keepDim: false, max: true);

    /// <summary>Maximum over <paramref name="axes"/>; the gradient is shared evenly among tied maxima. Equivalent to <c>torch.amax</c>.</summary>
    public Tensor Max(int[] axes, bool keepDim = false) => Reductions.MaxMin(this, axes, keepDim, max: true);

    /// <summary>Maximum over one axis (values only). Equivalent to <c>torch.amax(x, dim, keepdim)</c>.</summary>
    public Tensor Max(int axis, bool keepDim = false) => Max([axis], keepDim);

    /// <summary>Minimum of all elements. Equivalent to <c>torch.min(x)</c>.</summary>
    public Tensor Min() => Reductions.MaxMin(this, AllAxes(), keepDim: false, max: false);

    /// <summary>Minimum over <paramref name="axes"/>. Equivalent to <c>torch.amin</c>.</summary>
    public Tensor Min(int[] axes, bool keepDim = false) => Reductions.MaxMin(this, axes, keepDim, max: false);

    /// <summary>Minimum over one axis. Equivalent to <c>torch.amin(x, dim, keepdim)</c>.</summary>
    public Tensor Min(int axis, bool keepDim = false) => Min([axis], keepDim);

    /// <summary>Index of the first maximum along <paramref name="axis"/>, as int64. Equivalent to <c>torch.argmax</c>.</summary>
    public Tensor Argmax(int axis, bool keepDim = false) => Reductions.ArgReduce(this, axis, keepDim, max: true);

    /// <summary>Flat index of the first maximum over all elements, as an int64 scalar. Equivalent to <c>torch.argmax(x)</c>.</summary>
    public Tensor Argmax() => Reshape(-1).Argmax(0);

    /// <summary>Index of the first minimum along <paramref name="axis"/>, as int64. Equivalent to <c>torch.argmin</c>.</summary>
    public Tensor Argmin(int axis, bool keepDim = false) => Reductions.ArgReduce(this, axis, keepDim, max: false);

    private int[] AllAxes() => Enumerable.Range(0, Rank).ToArray();
}
