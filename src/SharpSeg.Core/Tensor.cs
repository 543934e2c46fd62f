using System.Globalization;
using System.Text;
using SharpSeg.Autograd;
using SharpSeg.Kernels;
using SharpSeg.Tracing;

namespace SharpSeg;

/// <summary>
/// A dense n-dimensional array of float32 (or int32/int64 for labels and indices): a view (shape, strides, offset)
/// over a <see cref="Storage"/>, with reverse-mode autograd. Equivalent to <c>torch.Tensor</c>.
/// Tensors are ordinary garbage-collected objects: there is nothing to dispose.
/// </summary>
public sealed partial class Tensor
{
    private bool _requiresGrad;

    internal Tensor(Storage storage, Shape shape, int[] strides, int offset)
    {
        Storage = storage;
        Shape = shape;
        Strides = strides;
        Offset = offset;
    }

    internal Tensor(Storage storage, Shape shape) : this(storage, shape, shape.ContiguousStrides(), 0)
    {
    }

    internal Storage Storage { get; }

    internal int[] Strides { get; }

    internal int Offset { get; }

    /// <summary>The dimensions. Equivalent to <c>tensor.shape</c>.</summary>
    public Shape Shape { get; }

    /// <summary>The element type.</summary>
    public DType DType => Storage.DType;

    /// <summary>Number of dimensions. Equivalent to <c>tensor.dim()</c>.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Number of elements. Equivalent to <c>tensor.numel()</c>.</summary>
    public long Numel => Shape.Numel;

    /// <summary>The size of one dimension; negative axes count from the end. Equivalent to <c>tensor.size(axis)</c>.</summary>
    public int Size(int axis) => Shape[axis];

    /// <summary>The node that produced this tensor, or null for a leaf. Equivalent to <c>tensor.grad_fn</c>.</summary>
    internal GradFn? GradFn { get; private set; }

    /// <summary>True when no recorded op produced this tensor. Equivalent to <c>tensor.is_leaf</c>.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>
    /// Whether gradients flow to this tensor. Settable on leaves only (parameters); results of ops on such tensors
    /// require grad automatically while <see cref="GradMode"/> is enabled. Equivalent to <c>tensor.requires_grad</c>.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf) throw new InvalidOperationException("RequiresGrad can only be changed on a leaf tensor; use Detach() for a result.");
            if (value && DType != DType.Float32) throw new InvalidOperationException($"Only float tensors can require gradients, this one is {DType.Name()}.");
            _requiresGrad = value;
        }
    }

    /// <summary>
    /// The accumulated gradient of a leaf after <see cref="Backward"/> (summed over calls until reset to null).
    /// Equivalent to <c>tensor.grad</c>.
    /// </summary>
    public Tensor? Grad { get; set; }

    /// <summary>True when the elements lie in row-major order without gaps.</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (Shape.Dims[i] != 1 && Strides[i] != expected) return false;
                expected *= Shape.Dims[i];
            }
            return true;
        }
    }

    internal void AttachGradFn(GradFn fn)
    {
        GradFn = fn;
        _requiresGrad = true;
    }

    /// <summary>The elements of a contiguous tensor (callers make it contiguous first).</summary>
    internal Span<T> Span<T>() where T : unmanaged
    {
        Check.That(IsContiguous, "internal", "span of a non-contiguous tensor");
        return Storage.Array<T>().AsSpan(Offset, (int)Numel);
    }

    /// <summary>The float elements of a contiguous tensor.</summary>
    internal Span<float> Data => Span<float>();

    /// <summary>
    /// This tensor if it is already contiguous, else a row-major copy (recorded for autograd).
    /// Equivalent to <c>tensor.contiguous()</c>.
    /// </summary>
    public Tensor Contiguous()
    {
        if (IsContiguous) return this;
        var recorder = OpRecorder.Enter();
        var result = new Tensor(Storage.AllocateUninitialized(DType, Numel), Shape);
        switch (DType)
        {
            case DType.Float32: StridedCopy.Gather(Storage.Array<float>(), Offset, Shape.Dims, Strides, result.Span<float>()); break;
            case DType.Int32: StridedCopy.Gather(Storage.Array<int>(), Offset, Shape.Dims, Strides, result.Span<int>()); break;
            default: StridedCopy.Gather(Storage.Array<long>(), Offset, Shape.Dims, Strides, result.Span<long>()); break;
        }
        if (GradMode.ShouldRecord(this)) result.AttachGradFn(new IdentityFn(this));
        return recorder is null ? result : recorder.Exit(result, "Contiguous", [this]);
    }

    /// <summary>
    /// A tensor sharing this one's data but cut from the graph (no gradient flows back). Equivalent to <c>tensor.detach()</c>.
    /// </summary>
    public Tensor Detach() => new(Storage, Shape, Strides, Offset);

    /// <summary>A contiguous deep copy, recorded for autograd. Equivalent to <c>tensor.clone()</c>.</summary>
    public Tensor Clone()
    {
        var result = new Tensor(Storage.AllocateUninitialized(DType, Numel), Shape);
        var source = IsContiguous ? this : Detach().Contiguous();
        switch (DType)
        {
            case DType.Float32: source.Span<float>().CopyTo(result.Span<float>()); break;
            case DType.Int32: source.Span<int>().CopyTo(result.Span<int>()); break;
            default: source.Span<long>().CopyTo(result.Span<long>()); break;
        }
        if (GradMode.ShouldRecord(this)) result.AttachGradFn(new IdentityFn(this));
        return result;
    }

    /// <summary>The elements in row-major order as float (int tensors are converted). Equivalent to <c>tensor.numpy().ravel()</c>.</summary>
    public float[] ToArray() => DType == DType.Float32 ? ToArray<float>() : To(DType.Float32).ToArray<float>();

    /// <summary>The elements in row-major order; <typeparamref name="T"/> must match <see cref="DType"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (DTypeExtensions.Of<T>() != DType)
            throw new InvalidOperationException($"ToArray<{typeof(T).Name}> on a {DType.Name()} tensor; convert with To() first.");
        return Detach().Contiguous().Span<T>().ToArray();
    }

    /// <summary>The value of a one-element tensor as float. Equivalent to <c>tensor.item()</c>.</summary>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs a tensor with one element, this one has shape {Shape}.");
        return DType switch
        {
            DType.Float32 => Storage.Array<float>()[Offset],
            DType.Int32 => Storage.Array<int>()[Offset],
            _ => Storage.Array<long>()[Offset],
        };
    }

    /// <summary>A copy converted to another element type (float → int truncates toward zero). Equivalent to <c>tensor.to(dtype)</c>.</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return this;
        var source = Detach().Contiguous();
        var result = new Tensor(Storage.AllocateUninitialized(dtype, Numel), Shape);
        int n = (int)Numel;
        for (int i = 0; i < n; i++)
        {
            double v = source.DType switch
            {
                DType.Float32 => source.Span<float>()[i],
                DType.Int32 => source.Span<int>()[i],
                _ => source.Span<long>()[i],
            };
            switch (dtype)
            {
                case DType.Float32: result.Span<float>()[i] = (float)v; break;
                case DType.Int32: result.Span<int>()[i] = (int)v; break;
                default: result.Span<long>()[i] = (long)v; break;
            }
        }
        return result;
    }

    /// <summary>
    /// Back-propagates from this tensor: accumulates ∂this/∂leaf into every leaf's <see cref="Grad"/>, then releases
    /// the graph so activations can be collected. A non-scalar tensor needs an explicit <paramref name="gradient"/>.
    /// Equivalent to <c>tensor.backward(gradient)</c>.
    /// </summary>
    public void Backward(Tensor? gradient = null) => Backprop.Run(this, gradient);

    /// <summary>A short description with shape, dtype and the first elements.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Tensor(shape=").Append(Shape).Append(", dtype=").Append(DType.Name());
        if (GradFn is not null) sb.Append(", grad_fn=").Append(GradFn.Name);
        else if (RequiresGrad) sb.Append(", requires_grad");
        sb.Append(", data=[");
        var values = ToArray();
        for (int i = 0; i < Math.Min(values.Length, 8); i++)
            sb.Append(i == 0 ? "" : ", ").Append(values[i].ToString("G6", CultureInfo.InvariantCulture));
        if (values.Length > 8) sb.Append(", …");
        return sb.Append("])").ToString();
    }
}
