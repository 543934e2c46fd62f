namespace SharpSeg;

/// <summary>
/// The managed array behind one or more tensor views. All tensor memory is created by <see cref="Allocate(DType, long)"/> (or its uninitialized twin),
/// the single seam where a pool or arena can later be put without touching any op.
/// </summary>
internal sealed class Storage
{
    private Storage(Array data, DType dtype)
    {
        Data = data;
        DType = dtype;
    }

    public Array Data { get; }

    public DType DType { get; }

    public int Length => Data.Length;

    /// <summary>A new zero-filled buffer of <paramref name="length"/> elements.</summary>
    public static Storage Allocate(DType dtype, long length) => Create(dtype, length, zeroed: true);

    /// <summary>A new buffer whose contents are unspecified; for outputs every element of which the caller writes.</summary>
    public static Storage AllocateUninitialized(DType dtype, long length) => Create(dtype, length, zeroed: false);

    private static Storage Create(DType dtype, long length, bool zeroed)
    {
        if (length > System.Array.MaxLength)
            throw new OutOfMemoryException($"A tensor of {length} elements exceeds the largest managed array ({System.Array.MaxLength}).");
        int n = (int)length;
        CollectionPacer.OnAllocate(length * (dtype == DType.Int64 ? 8 : 4));
        Array data = dtype switch
        {
            DType.Float32 => zeroed ? new float[n] : GC.AllocateUninitializedArray<float>(n),
            DType.Int32 => zeroed ? new int[n] : GC.AllocateUninitializedArray<int>(n),
            _ => zeroed ? new long[n] : GC.AllocateUninitializedArray<long>(n),
        };
        return new Storage(data, dtype);
    }

    /// <summary>Wraps an existing array without copying.</summary>
    public static Storage Wrap<T>(T[] data) where T : unmanaged => new(data, DTypeExtensions.Of<T>());

    /// <summary>
    /// Changes every time the data is handed out by <see cref="Array{T}"/>, the one door to it for reads and writes alike,
    /// so a cache derived from the data (a packed or BatchNorm-folded convolution weight) can tell that it may be stale.
    /// Conservative: a read also counts. Equivalent to torch's <c>tensor._version</c>.
    /// </summary>
    public int Version => _version;

    private int _version;

    public T[] Array<T>() where T : unmanaged
    {
        _version++;
        return Data as T[] ?? throw new InvalidOperationException($"Tensor holds {DType.Name()}, not {DTypeExtensions.Of<T>().Name()}.");
    }
}
