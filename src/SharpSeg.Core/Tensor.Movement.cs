using SharpSeg.Ops;

namespace SharpSeg;

public sealed partial class Tensor
{
    /// <summary>
    /// The same elements in a new shape (one dimension may be −1 and is inferred). A view when the layout allows,
    /// else a copy. Equivalent to <c>torch.reshape</c>.
    /// </summary>
    public Tensor Reshape(params int[] shape) => Movement.Reshape(this, shape, requireView: false);

    /// <summary>Like <see cref="Reshape"/> but never copies: throws for a non-contiguous tensor. Equivalent to <c>tensor.view</c>.</summary>
    public Tensor View(params int[] shape) => Movement.Reshape(this, shape, requireView: true);

    /// <summary>Merges dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one. Equivalent to <c>torch.flatten</c>.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = Shape.NormalizeAxis(startDim, Rank), e = Shape.NormalizeAxis(endDim, Rank);
        var dims = new List<int>();
        for (int i = 0; i < s; i++) dims.Add(Shape[i]);
        int merged = 1;
        for (int i = s; i <= e; i++) merged *= Shape[i];
        dims.Add(merged);
        for (int i = e + 1; i < Rank; i++) dims.Add(Shape[i]);
        return Reshape([.. dims]);
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="axis"/>. Equivalent to <c>torch.unsqueeze</c>.</summary>
    public Tensor Unsqueeze(int axis)
    {
        int a = Shape.NormalizeAxis(axis, Rank + 1);
        var dims = Shape.ToArray().ToList();
        dims.Insert(a, 1);
        return Reshape([.. dims]);
    }

    /// <summary>Removes size-1 dimensions (all, or only <paramref name="axis"/>). Equivalent to <c>torch.squeeze</c>.</summary>
    public Tensor Squeeze(int? axis = null)
    {
        var dims = Shape.ToArray().ToList();
        if (axis is { } ax)
        {
            int a = Shape.NormalizeAxis(ax, Rank);
            if (dims[a] == 1) dims.RemoveAt(a);
        }
        else
        {
            dims.RemoveAll(d => d == 1);
        }
        return Reshape([.. dims]);
    }

    /// <summary>Reorders dimensions (a view). Equivalent to <c>torch.permute</c>.</summary>
    public Tensor Permute(params int[] order) => Movement.Permute(this, order);

    /// <summary>Swaps two dimensions (a view). Equivalent to <c>torch.transpose</c>.</summary>
    public Tensor Transpose(int axis0, int axis1)
    {
        var order = Enumerable.Range(0, Rank).ToArray();
        int a = Shape.NormalizeAxis(axis0, Rank), b = Shape.NormalizeAxis(axis1, Rank);
        (order[a], order[b]) = (order[b], order[a]);
        return Permute(order);
    }

    /// <summary>Elements [start, start + length) along <paramref name="axis"/> (a view). Equivalent to <c>torch.narrow</c>.</summary>
    public Tensor Narrow(int axis, int start, int length) => Slice(axis, start, start + length);

    /// <summary>
    /// Elements start, start + step, … before <paramref name="end"/> along <paramref name="axis"/> (a view); negative
    /// start/end count from the end. Equivalent to <c>tensor[..., start:end:step]</c>.
    /// </summary>
    public Tensor Slice(int axis, int start, int end, int step = 1) => Movement.Slice(this, axis, start, end, step);

    /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="axis"/>, that axis removed (a view). Equivalent to <c>tensor.select</c>.</summary>
    public Tensor Select(int axis, int index)
    {
        int a = Shape.NormalizeAxis(axis, Rank);
        int i = index < 0 ? index + Shape[a] : index;
        Check.That(i >= 0 && i < Shape[a], "Select", $"index {index} is out of range for dimension {a} of shape {Shape}");
        return Slice(a, i, i + 1).Squeeze(a);
    }

    /// <summary>
    /// Repeats size-1 dimensions (and adds leading ones) to reach <paramref name="shape"/> without copying; −1 keeps a
    /// size. Equivalent to <c>tensor.expand</c>.
    /// </summary>
    public Tensor Expand(params int[] shape) => Movement.Expand(this, shape);

    /// <summary>Expands to another shape (see <see cref="Expand(int[])"/>).</summary>
    public Tensor Expand(Shape shape) => Movement.Expand(this, shape.ToArray());

    /// <summary>Reverses the order of elements along the given axes (a copy). Equivalent to <c>torch.flip</c>.</summary>
    public Tensor Flip(params int[] axes) => Movement.Flip(this, axes);

    /// <summary>
    /// Sums a broadcast gradient back to <paramref name="shape"/>: sums leading extra dimensions and dimensions where
    /// <paramref name="shape"/> has size 1. The inverse of broadcasting. Equivalent to <c>tensor.sum_to_size</c>.
    /// </summary>
    public Tensor SumTo(Shape shape) => Movement.SumTo(this, shape);

    /// <summary>Joins tensors along an existing axis. Equivalent to <c>torch.cat</c>.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int axis = 0) => Movement.Cat(tensors, axis);

    /// <summary>Joins tensors along a new axis. Equivalent to <c>torch.stack</c>.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new ArgumentException("Stack needs at least one tensor.");
        int a = Shape.NormalizeAxis(axis, tensors[0].Rank + 1);
        return Cat(tensors.Select(t => t.Unsqueeze(a)).ToArray(), a);
    }

    /// <summary>Views of consecutive pieces of the given sizes along <paramref name="axis"/>. Equivalent to <c>torch.split(sizes)</c>.</summary>
    public Tensor[] Split(int[] sizes, int axis = 0)
    {
        int a = Shape.NormalizeAxis(axis, Rank);
        Check.That(sizes.Sum() == Shape[a], "Split", $"sizes [{string.Join(", ", sizes)}] do not add up to dimension {a} of shape {Shape}");
        var parts = new Tensor[sizes.Length];
        for (int i = 0, start = 0; i < sizes.Length; start += sizes[i], i++) parts[i] = Narrow(a, start, sizes[i]);
        return parts;
    }

    /// <summary>Views of pieces of <paramref name="size"/> along <paramref name="axis"/> (the last may be smaller). Equivalent to <c>torch.split(int)</c>.</summary>
    public Tensor[] Split(int size, int axis = 0)
    {
        int n = Shape[axis];
        var sizes = new List<int>();
        for (int start = 0; start < n; start += size) sizes.Add(Math.Min(size, n - start));
        return Split([.. sizes], axis);
    }

    /// <summary><paramref name="chunks"/> nearly equal views along <paramref name="axis"/>. Equivalent to <c>torch.chunk</c>.</summary>
    public Tensor[] Chunk(int chunks, int axis = 0) => Split((Shape[axis] + chunks - 1) / chunks, axis);
}
