using SharpSeg.Autograd;
using SharpSeg.Kernels;
using static SharpSeg.Ops.Backend;
using SharpSeg.Tracing;

namespace SharpSeg.Ops;

/// <summary>Reductions over any set of axes, done one axis at a time on the [outer, dim, inner] view.</summary>
internal static class Reductions
{
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim)
    {
        var recorder = OpRecorder.Enter();
        var y = Reduce(ReduceOp.Sum, x, axes, keepDim);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new SumFn(x, KeptShape(x, axes)));
        return recorder is null ? y : recorder.Exit(y, "Sum", [x], ("axes", Normalize(x, axes)), ("keepDim", keepDim));
    }

    public static Tensor MaxMin(Tensor x, int[] axes, bool keepDim, bool max)
    {
        var recorder = OpRecorder.Enter();
        Check.That(x.Numel > 0, max ? "Max" : "Min", $"cannot reduce an empty tensor of shape {x.Shape}");
        var y = Reduce(max ? ReduceOp.Max : ReduceOp.Min, x, axes, keepDim);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new MaxMinReduceFn(x, y.Detach().Reshape(KeptShape(x, axes).ToArray())));
        return recorder is null ? y : recorder.Exit(y, max ? "Max" : "Min", [x], ("axes", Normalize(x, axes)), ("keepDim", keepDim));
    }

    public static Tensor ArgReduce(Tensor x, int axis, bool keepDim, bool max)
    {
        var recorder = OpRecorder.Enter();
        Check.Float(x, max ? "Argmax" : "Argmin", "input");
        int a = Shape.NormalizeAxis(axis, x.Rank);
        var (outer, dim, inner) = Split(x.Shape, a);
        var kept = x.Shape.ToArray();
        kept[a] = 1;
        var indices = new Tensor(Storage.AllocateUninitialized(DType.Int64, (long)outer * inner), Shape.Wrap(kept));
        Kernel.ArgReduce(max, outer, dim, inner, Dense(x).Data, indices.Span<long>());
        var y = keepDim ? indices : indices.Squeeze(a);
        return recorder is null ? y : recorder.Exit(y, max ? "Argmax" : "Argmin", [x], ("axis", a), ("keepDim", keepDim));
    }

    public static long Count(Tensor x, int[] axes)
    {
        long n = 1;
        foreach (int a in Normalize(x, axes)) n *= x.Shape[a];
        return n;
    }

    /// <summary>x's shape with the reduced axes set to 1.</summary>
    public static Shape KeptShape(Tensor x, int[] axes)
    {
        var dims = x.Shape.ToArray();
        foreach (int a in Normalize(x, axes)) dims[a] = 1;
        return Shape.Wrap(dims);
    }

    private static int[] Normalize(Tensor x, int[] axes) =>
        axes.Select(a => Shape.NormalizeAxis(a, x.Rank)).Distinct().OrderDescending().ToArray();

    private static Tensor Reduce(ReduceOp op, Tensor x, int[] axes, bool keepDim)
    {
        Check.Float(x, op.ToString(), "input");
        var current = Dense(x.Detach());
        foreach (int a in Normalize(x, axes))
        {
            var (outer, dim, inner) = Split(current.Shape, a);
            var dims = current.Shape.ToArray();
            dims[a] = 1;
            var next = NewFloat(Shape.Wrap(dims));
            Kernel.Reduce(op, outer, dim, inner, current.Data, next.Data);
            current = next;
        }
        if (current == x) current = x.Detach().Clone();
        return keepDim ? current : current.Reshape(ReducedShape(x, axes));
    }

    private static int[] ReducedShape(Tensor x, int[] axes)
    {
        var reduced = Normalize(x, axes);
        return Enumerable.Range(0, x.Rank).Where(i => !reduced.Contains(i)).Select(i => x.Shape[i]).ToArray();
    }

    public static (int Outer, int Dim, int Inner) Split(Shape shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Rank; i++) inner *= shape[i];
        return (outer, shape[axis], inner);
    }
}

internal sealed class SumFn(Tensor x, Shape keptShape) : GradFn("Sum", x)
{
    public override Tensor?[] Backward(Tensor grad) =>
        [grad.Reshape(keptShape.ToArray()).Expand(Input(0).Shape).Contiguous()];
}

/// <summary>amax/amin: the gradient is split evenly among the elements equal to the extreme (torch's rule).</summary>
internal sealed class MaxMinReduceFn(Tensor x, Tensor extremeKept) : GradFn("MaxReduce", x)
{
    private Tensor? _extreme = extremeKept;

    public override Tensor?[] Backward(Tensor grad)
    {
        var x = Input(0);
        var mask = x.Eq(_extreme!);
        var axes = Enumerable.Range(0, x.Rank).Where(i => _extreme!.Shape[i] == 1 && x.Shape[i] != 1).ToArray();
        var ties = axes.Length == 0 ? Tensor.Ones(_extreme!.Shape) : mask.Sum(axes, keepDim: true);
        return [mask * (grad.Reshape(_extreme!.Shape.ToArray()) / ties)];
    }

    public override void Release()
    {
        base.Release();
        _extreme = null;
    }
}
