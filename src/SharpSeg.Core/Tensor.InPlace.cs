namespace SharpSeg;

public sealed partial class Tensor
{
    /// <summary>
    /// Overwrites this tensor's elements with <paramref name="source"/>'s (same shape, element type converted), in place
    /// and without recording autograd, so a parameter keeps its identity (optimizers holding it see the new values).
    /// Works on leaves that require grad, as loading weights and initialisers need. Returns this tensor.
    /// Equivalent to <c>with torch.no_grad(): tensor.copy_(source)</c>.
    /// </summary>
    public Tensor CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Shape != Shape)
            throw new ShapeMismatchException("CopyFrom", $"source of shape {source.Shape} cannot be copied into a tensor of shape {Shape}");
        if (!IsLeaf)
            throw new InvalidOperationException($"CopyFrom writes into leaf tensors only; this {Shape} tensor is the result of a recorded op.");

        var values = source.Detach().To(DType).Contiguous();
        // A source that views this tensor's own storage is copied first so the scatter never reads what it already wrote.
        if (ReferenceEquals(values.Storage, Storage)) values = values.Clone();
        switch (DType)
        {
            case DType.Float32: StridedCopy.Scatter<float>(values.Span<float>(), Storage.Array<float>(), Offset, Shape.Dims, Strides); break;
            case DType.Int32: StridedCopy.Scatter<int>(values.Span<int>(), Storage.Array<int>(), Offset, Shape.Dims, Strides); break;
            default: StridedCopy.Scatter<long>(values.Span<long>(), Storage.Array<long>(), Offset, Shape.Dims, Strides); break;
        }
        return this;
    }

    /// <summary>
    /// The raw elements of a contiguous float32 tensor in row-major order, writable in place: for optimizers and weight
    /// I/O, which update parameters without recording autograd history. Writes are seen by every view sharing the
    /// storage and bypass autograd, as <c>with torch.no_grad(): p.add_(…)</c> or <c>tensor.data</c> do in PyTorch.
    /// Keep the tensor referenced while the span is in use: inside an <see cref="Engine.ReuseBuffers"/> scope the
    /// buffer of a tensor nothing references may be handed to a new tensor (use <see cref="GC.KeepAlive"/> after the
    /// last use of the span if the tensor is not used again).
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor is not float32 or not contiguous.</exception>
    public Span<float> AsSpan()
    {
        if (DType != DType.Float32)
            throw new InvalidOperationException($"AsSpan() needs a float32 tensor, this one is {DType.Name()} with shape {Shape}.");
        if (!IsContiguous)
            throw new InvalidOperationException($"AsSpan() needs a contiguous tensor, this one with shape {Shape} is a strided view; call Contiguous() first.");
        return Span<float>();
    }
}
