using SharpSeg.Autograd;
using static SharpSeg.Ops.Backend;
using SharpSeg.Tracing;

namespace SharpSeg.Ops;

/// <summary>Views and copies that move elements without arithmetic.</summary>
internal static class Movement
{
    public static Tensor Reshape(Tensor x, int[] shape, bool requireView)
    {
        var recorder = OpRecorder.Enter();
        var target = InferShape(x, shape);
        Tensor result;
        if (x.IsContiguous)
            result = new Tensor(x.Storage, target, target.ContiguousStrides(), x.Offset);
        else if (requireView)
            throw new ShapeMismatchException("View", $"a non-contiguous tensor of shape {x.Shape} cannot be viewed as {target}; use Reshape");
        else
        {
            var dense = x.Detach().Contiguous();
            result = new Tensor(dense.Storage, target);
        }
        if (GradMode.ShouldRecord(x)) result.AttachGradFn(new ReshapeFn(x));
        return recorder is null ? result : recorder.Exit(result, "Reshape", [x], ("shape", target.ToArray()));
    }

    private static Shape InferShape(Tensor x, int[] shape)
    {
        int infer = Array.IndexOf(shape, -1);
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
            if (i != infer) known *= shape[i];
        var dims = (int[])shape.Clone();
        if (infer >= 0)
        {
            Check.That(known > 0 && x.Numel % known == 0, "Reshape", $"shape {x.Shape} cannot be reshaped to [{string.Join(", ", shape)}]");
            dims[infer] = (int)(x.Numel / known);
        }
        var target = new Shape(dims);
        Check.That(target.Numel == x.Numel, "Reshape", $"shape {x.Shape} ({x.Numel} elements) cannot be reshaped to {target}");
        return target;
    }

    public static Tensor Permute(Tensor x, int[] order)
    {
        var recorder = OpRecorder.Enter();
        Check.That(order.Length == x.Rank, "Permute", $"order [{string.Join(", ", order)}] does not match shape {x.Shape}");
        var dims = new int[order.Length];
        var strides = new int[order.Length];
        var seen = new bool[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            int a = Shape.NormalizeAxis(order[i], x.Rank);
            Check.That(!seen[a], "Permute", $"order [{string.Join(", ", order)}] repeats an axis");
            seen[a] = true;
            order[i] = a;
            dims[i] = x.Shape[a];
            strides[i] = x.Strides[a];
        }
        var result = new Tensor(x.Storage, Shape.Wrap(dims), strides, x.Offset);
        if (GradMode.ShouldRecord(x)) result.AttachGradFn(new PermuteFn(x, order));
        return recorder is null ? result : recorder.Exit(result, "Permute", [x], ("order", order.ToArray()));
    }

    public static Tensor Slice(Tensor x, int axis, int start, int end, int step)
    {
        var recorder = OpRecorder.Enter();
        int a = Shape.NormalizeAxis(axis, x.Rank);
        int n = x.Shape[a];
        Check.That(step > 0, "Slice", $"step must be positive, got {step}");
        int s = Math.Clamp(start < 0 ? start + n : start, 0, n);
        int e = Math.Clamp(end < 0 ? end + n : end, s, n);
        var dims = x.Shape.ToArray();
        dims[a] = (e - s + step - 1) / step;
        var strides = (int[])x.Strides.Clone();
        strides[a] *= step;
        var result = new Tensor(x.Storage, Shape.Wrap(dims), strides, x.Offset + s * x.Strides[a]);
        if (GradMode.ShouldRecord(x)) result.AttachGradFn(new SliceFn(x, a, s, e, step));
        return recorder is null ? result : recorder.Exit(result, "Slice", [x], ("axis", a), ("start", s), ("end", e), ("step", step));
    }

    public static Tensor Expand(Tensor x, int[] shape)
    {
        int rank = shape.Length;
        Check.That(rank >= x.Rank, "Expand", $"shape {x.Shape} cannot be expanded to fewer dimensions [{string.Join(", ", shape)}]");
        var dims = new int[rank];
        var strides = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int j = i - (rank - x.Rank);
            int own = j >= 0 ? x.Shape[j] : 1;
            int want = shape[i] == -1 ? own : shape[i];
            Check.That(own == want || own == 1, "Expand", $"shape {x.Shape} cannot be expanded to [{string.Join(", ", shape)}]");
            dims[i] = want;
            strides[i] = own == want && j >= 0 ? x.Strides[j] : 0;
        }
        var target = Shape.Wrap(dims);
        if (target == x.Shape) return x;
        var recorder = OpRecorder.Enter();
        var result = new Tensor(x.Storage, target, strides, x.Offset);
        if (GradMode.ShouldRecord(x)) result.AttachGradFn(new ExpandFn(x));
        return recorder is null ? result : recorder.Exit(result, "Expand", [x], ("shape", target.ToArray()));
    }

    public static Tensor Flip(Tensor x, int[] axes)
    {
        var recorder = OpRecorder.Enter();
        var strides = (int[])x.Strides.Clone();
        int offset = x.Offset;
        var normalized = axes.Select(a => Shape.NormalizeAxis(a, x.Rank)).ToArray();
        foreach (int a in normalized)
        {
            if (x.Shape[a] == 0) continue;
            offset += (x.Shape[a] - 1) * strides[a];
            strides[a] = -strides[a];
        }
        var result = new Tensor(x.Storage, x.Shape, strides, offset).Contiguous();
        if (GradMode.ShouldRecord(x)) result.AttachGradFn(new FlipFn(x, normalized));
        return recorder is null ? result : recorder.Exit(result, "Flip", [x], ("axes", normalized));
    }

    public static Tensor SumTo(Tensor x, Shape shape)
    {
        if (x.Shape == shape) return x;
        Check.That(shape.Rank <= x.Rank, "SumTo", $"shape {x.Shape} cannot be summed to {shape}");
        int lead = x.Rank - shape.Rank;
        var axes = new List<int>();
        for (int i = 0; i < x.Rank; i++)
        {
            if (i < lead) axes.Add(i);
            else if (shape[i - lead] == 1 && x.Shape[i] != 1) axes.Add(i);
            else Check.That(shape[i - lead] == x.Shape[i], "SumTo", $"shape {x.Shape} cannot be summed to {shape}");
        }
        var summed = axes.Count == 0 ? x : x.Sum([.. axes], keepDim: true);
        return summed.Reshape(shape.ToArray());
    }

    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int axis)
    {
        var recorder = OpRecorder.Enter();
        Check.That(tensors.Count > 0, "Cat", "no tensors given");
        var first = tensors[0];
        int a = Shape.NormalizeAxis(axis, first.Rank);
        int total = 0;
        foreach (var t in tensors)
        {
            bool compatible = t.Rank == first.Rank && t.DType == first.DType;
            for (int i = 0; compatible && i < t.Rank; i++) compatible = i == a || t.Shape[i] == first.Shape[i];
            Check.That(compatible, "Cat", $"shapes {string.Join(", ", tensors.Select(u => $"{u.Shape} {u.DType.Name()}"))} differ outside axis {a}");
            total += t.Shape[a];
        }
        var dims = first.Shape.ToArray();
        dims[a] = total;
        var result = new Tensor(Storage.AllocateUninitialized(first.DType, new Shape(dims).Numel), Shape.Wrap(dims));
        var outStrides = result.Strides;
        int start = 0;
        foreach (var t in tensors)
        {
            var dense = Dense(t);
            int offset = start * outStrides[a];
            switch (first.DType)
            {
                case DType.Float32: StridedCopy.Scatter<float>(dense.Span<float>(), result.Storage.Array<float>(), offset, t.Shape.Dims, outStrides); break;
                case DType.Int32: StridedCopy.Scatter<int>(dense.Span<int>(), result.Storage.Array<int>(), offset, t.Shape.Dims, outStrides); break;
                default: StridedCopy.Scatter<long>(dense.Span<long>(), result.Storage.Array<long>(), offset, t.Shape.Dims, outStrides); break;
            }
            start += t.Shape[a];
        }
        if (GradMode.ShouldRecord(tensors.ToArray())) result.AttachGradFn(new CatFn([.. tensors], a));
        return recorder is null ? result : recorder.Exit(result, "Cat", [.. tensors], ("axis", a));
    }

    /// <summary>zeros of <paramref name="shape"/> with <paramref name="grad"/> written into the slice (the backward of a slice).</summary>
    public static Tensor ScatterIntoZeros(Tensor grad, Shape shape, int axis, int start, int step)
    {
        var result = Tensor.Zeros(shape);
        var strides = (int[])result.Strides.Clone();
        int offset = start * strides[axis];
        strides[axis] *= step;
        StridedCopy.Scatter<float>(Dense(grad).Data, result.Storage.Array<float>(), offset, grad.Shape.Dims, strides);
        return result;
    }
}

internal sealed class ReshapeFn(Tensor x) : GradFn("Reshape", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad) => [grad.Reshape(InputShape(0).ToArray())];
}

internal sealed class PermuteFn(Tensor x, int[] order) : GradFn("Permute", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var inverse = new int[order.Length];
        for (int i = 0; i < order.Length; i++) inverse[order[i]] = i;
        return [grad.Permute(inverse)];
    }
}

internal sealed class SliceFn(Tensor x, int axis, int start, int end, int step) : GradFn("Slice", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad) => [Movement.ScatterIntoZeros(grad, InputShape(0), axis, start, step)];

    public override string ToString() => $"Slice(axis {axis}, {start}:{end}:{step})";
}

internal sealed class ExpandFn(Tensor x) : GradFn("Expand", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad) => [grad.SumTo(InputShape(0))];
}

internal sealed class FlipFn(Tensor x, int[] axes) : GradFn("Flip", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad) => [grad.Flip(axes)];
}

internal sealed class CatFn(Tensor[] inputs, int axis) : GradFn("Cat", keepInputs: false, inputs)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var grads = new Tensor?[InputCount];
        int start = 0;
        for (int i = 0; i < grads.Length; i++)
        {
            int size = InputShape(i)[axis];
            if (InputRequiresGrad(i)) grads[i] = grad.Narrow(axis, start, size).Contiguous();
            start += size;
        }
        return grads;
    }
}
