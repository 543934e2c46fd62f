namespace SharpSeg;

/// <summary>
/// Keeps a process's memory near what its tensors actually use. Every tensor buffer is a managed array; large ones
/// live on the large-object heap, which the runtime only sweeps in a full (gen-2) collection, and its default budget
/// lets garbage grow to several times the live set: a UNet 2×3×256² train step held 1 GB of live tensors in 4.5 GB of
/// resident memory. So <see cref="Storage"/> reports every allocation here, and once the bytes allocated since the last
/// full collection exceed a budget — an eighth of the live heap that survived it, with a floor — this asks for
/// a non-compacting full collection. Tensor buffers hold no references, so marking them is nearly free and the collection
/// costs milliseconds; the freed space is reused by the next allocations of the step (PyTorch's allocator reuses
/// freed blocks the same way). Values computed are unaffected.
/// </summary>
internal static class CollectionPacer
{
    /// <summary>
    /// Never collect more often than every this many bytes of tensor allocations: inference and small images keep
    /// little alive, and a collection per few tensors would cost more than the memory it saves.
    /// </summary>
    public const long MinimumBudget = 96L << 20;

    /// <summary>The budget as a fraction of the heap that survived the last full collection.</summary>
    /// <remarks>
    /// An eighth: inside a <see cref="BufferScope"/> a collection is what finds dead buffers for reuse, so the sooner
    /// it runs the fewer buffers a step needs (a UNet 2×3×256² training step peaked at 1.49 GB with a quarter, 1.26 GB
    /// with an eighth, for about 20 ms more collection per 3-second step).
    /// </remarks>
    public const double BudgetFraction = 0.125;

    private static long _allocatedSinceFull;
    private static long _budget = MinimumBudget;
    private static int _fullCollections = GC.CollectionCount(2);
    private static int _induced;

    /// <summary>Whether pacing is on (default). Off leaves collection entirely to the runtime's own heuristics.</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>How many full collections pacing has asked for in this process.</summary>
    public static int InducedCollections => Volatile.Read(ref _induced);

    /// <summary>Called by <see cref="Storage"/> for every new buffer of <paramref name="bytes"/> bytes.</summary>
    public static void OnAllocate(long bytes)
    {
        if (!Enabled) return;
        int full = GC.CollectionCount(2);
        if (full != Volatile.Read(ref _fullCollections))
        {
            // The runtime collected on its own: count from there.
            Volatile.Write(ref _fullCollections, full);
            Volatile.Write(ref _allocatedSinceFull, 0);
        }
        if (Interlocked.Add(ref _allocatedSinceFull, bytes) < Volatile.Read(ref _budget)) return;

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        Interlocked.Increment(ref _induced);
        // Free buffers waiting in the pool are not live data: counting them would space collections further apart,
        // and dead pooled storages (found only by a collection) would wait longer to be reused.
        long survived = GC.GetGCMemoryInfo(GCKind.FullBlocking).HeapSizeBytes - BufferPool.PooledBytes;
        Volatile.Write(ref _budget, Math.Max(MinimumBudget, (long)(survived * BudgetFraction)));
        Volatile.Write(ref _fullCollections, GC.CollectionCount(2));
        Volatile.Write(ref _allocatedSinceFull, 0);
    }
}
