namespace SharpSeg;

/// <summary>
/// The managed array behind one or more tensor views. All tensor memory is created by <see cref="Allocate(DType, long)"/> (or its uninitialized twin),
/// which take large buffers from <see cref="BufferPool"/> inside a <see cref="BufferScope"/>.
/// </summary>
internal sealed class Storage
{
    // Serial numbers of buffers this class allocated; a wrapped caller array gets none.
    private static long _allocations;

    private Storage(Array data, DType dtype, long serial)
    {
        Data = data;
        DType = dtype;
        Serial = serial;
    }

    /// <summary>How many buffers have been allocated so far: a buffer whose <see cref="Serial"/> is at least a value read earlier was allocated after that read.</summary>
    public static long AllocationCount => Interlocked.Read(ref _allocations);

    /// <summary>This buffer's allocation number (increasing); −1 for a wrapped array, which the caller may still hold.</summary>
    public long Serial { get; }

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
        long bytes = length * dtype.ElementSize();
        // Pooled and fresh buffers alike count towards the next paced collection: it is what finds dead pooled storages.
        CollectionPacer.OnAllocate(bytes);
        Array? data = BufferPool.TryRent(dtype, n, bytes);
        if (data is not null)
        {
            if (zeroed) System.Array.Clear(data);
        }
        else
        {
            data = dtype switch
            {
                DType.Float32 => zeroed ? new float[n] : GC.AllocateUninitializedArray<float>(n),
                DType.Int32 => zeroed ? new int[n] : GC.AllocateUninitializedArray<int>(n),
                _ => zeroed ? new long[n] : GC.AllocateUninitializedArray<long>(n),
            };
        }
        if (!zeroed && PoisonUninitialized) Poison(data);
        var storage = new Storage(data, dtype, Interlocked.Increment(ref _allocations) - 1);
        BufferPool.Track(storage, bytes);
        return storage;
    }

    /// <summary>
    /// Set <c>SHARPSEG_POISON_UNINITIALIZED=1</c> to fill every uninitialized buffer with NaN (or −1 for integers): an op
    /// that reads an element it did not write then shows as NaN in a test instead of passing on a fresh page's zeros.
    /// Reused pooled buffers hold old values, so every op asking for an uninitialized buffer must write all of it.
    /// </summary>
    internal static readonly bool PoisonUninitialized = Environment.GetEnvironmentVariable("SHARPSEG_POISON_UNINITIALIZED") == "1";

    private static void Poison(Array data)
    {
        switch (data)
        {
            case float[] f: System.Array.Fill(f, float.NaN); break;
            case int[] i: System.Array.Fill(i, -1); break;
            case long[] l: System.Array.Fill(l, -1L); break;
        }
    }

    /// <summary>Wraps an existing array without copying.</summary>
    public static Storage Wrap<T>(T[] data) where T : unmanaged => new(data, DTypeExtensions.Of<T>(), -1);

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
