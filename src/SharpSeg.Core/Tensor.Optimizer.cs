namespace SharpSeg;

public sealed partial class Tensor
{
    /// <summary>
    /// The raw elements of a contiguous float32 tensor in row-major order, writable in place: for optimizers and weight
    /// I/O, which update parameters without recording autograd history. Writes are seen by every view sharing the
    /// storage and bypass autograd, as <c>with torch.no_grad(): p.add_(…)</c> or <c>tensor.data</c> do in PyTorch.
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
