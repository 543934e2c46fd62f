namespace SharpSeg.Nn.Distributed;

/// <summary>
/// The collective operations data-parallel training needs, over the ranks of one job. Equivalent to PyTorch's
/// <c>torch.distributed.ProcessGroup</c> (and MPI's <c>MPI_COMM_WORLD</c>). Every rank must call the same collectives in the
/// same order with the same lengths; a call blocks until every rank has made it.
/// <para>
/// Implementations: <see cref="SingleProcessGroup"/> (one rank, every collective a no-op), an in-process group of threads
/// for tests, and <c>SharpSeg.Distributed.MpiProcessGroup</c> over the system's Open MPI (the one opt-in native component).
/// </para>
/// </summary>
public interface IProcessGroup : IDisposable
{
    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1 (<c>torch.distributed.get_rank()</c>).</summary>
    int Rank { get; }

    /// <summary>Number of ranks in the job (<c>torch.distributed.get_world_size()</c>).</summary>
    int Size { get; }

    /// <summary>Sums <paramref name="values"/> over all ranks, in place on every rank (<c>MPI_Allreduce</c> with <c>MPI_SUM</c>).</summary>
    void AllReduceSum(Span<float> values);

    /// <inheritdoc cref="AllReduceSum(Span{float})"/>
    void AllReduceSum(Span<double> values);

    /// <inheritdoc cref="AllReduceSum(Span{float})"/>
    void AllReduceSum(Span<long> values);

    /// <summary>
    /// Starts summing <paramref name="count"/> floats of <paramref name="buffer"/> from <paramref name="offset"/> over all
    /// ranks without waiting (<c>MPI_Iallreduce</c>; DDP's asynchronous bucket reduction). The buffer must not be read or
    /// written until <see cref="IPendingReduction.Wait"/> returns.
    /// </summary>
    IPendingReduction StartAllReduceSum(float[] buffer, int offset, int count);

    /// <summary>Copies <paramref name="data"/> from rank <paramref name="root"/> to every rank (<c>MPI_Bcast</c>).</summary>
    void Broadcast(Span<byte> data, int root);

    /// <inheritdoc cref="Broadcast(Span{byte}, int)"/>
    void Broadcast(Span<float> data, int root);

    /// <summary>Gathers every rank's bytes (lengths may differ), indexed by rank, on every rank (<c>MPI_Allgatherv</c>).</summary>
    byte[][] AllGather(ReadOnlySpan<byte> data);

    /// <summary>Blocks until every rank has called it (<c>MPI_Barrier</c>).</summary>
    void Barrier();

    /// <summary>
    /// Ends every rank of the job after writing <paramref name="message"/> (prefixed with this rank) to standard error
    /// (<c>MPI_Abort</c>). Called when this rank fails, so that no other rank waits for it forever. Does not return.
    /// </summary>
    void Abort(string message, int errorCode = 1);
}

/// <summary>A collective started by <see cref="IProcessGroup.StartAllReduceSum"/> (<c>MPI_Request</c>, PyTorch's <c>Work</c>).</summary>
public interface IPendingReduction
{
    /// <summary>Blocks until the reduction has finished on this rank; its buffer then holds the sum.</summary>
    void Wait();
}

/// <summary>The group of one process: rank 0 of 1, every collective leaves its data as it is.</summary>
public sealed class SingleProcessGroup : IProcessGroup
{
    /// <summary>The one instance.</summary>
    public static SingleProcessGroup Instance { get; } = new();

    private SingleProcessGroup() { }

    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int Size => 1;
    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values) { }
    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values) { }
    /// <inheritdoc/>
    public void AllReduceSum(Span<long> values) { }
    /// <inheritdoc/>
    public IPendingReduction StartAllReduceSum(float[] buffer, int offset, int count) => CompletedReduction.Instance;
    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root) { }
    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root) { }
    /// <inheritdoc/>
    public byte[][] AllGather(ReadOnlySpan<byte> data) => [data.ToArray()];
    /// <inheritdoc/>
    public void Barrier() { }
    /// <inheritdoc/>
    public void Abort(string message, int errorCode = 1)
    {
        Console.Error.WriteLine(message);
        Environment.Exit(errorCode);
    }
    /// <inheritdoc/>
    public void Dispose() { }

    private sealed class CompletedReduction : IPendingReduction
    {
        public static CompletedReduction Instance { get; } = new();
        public void Wait() { }
    }
}
