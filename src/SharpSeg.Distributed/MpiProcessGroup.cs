using System.Runtime.InteropServices;
using SharpSeg.Nn.Distributed;

namespace SharpSeg.Distributed;

/// <summary>
/// The ranks of an <c>mpirun</c> job as an <see cref="IProcessGroup"/>, over the system's Open MPI (<c>libmpi.so.40</c> from
/// Debian's <c>openmpi-bin</c>/<c>libopenmpi3</c>, loaded at run time): PyTorch's
/// <c>torch.distributed.init_process_group(backend="mpi")</c>, Horovod's MPI controller. Every collective runs on
/// <c>MPI_COMM_WORLD</c>; calls from several threads are serialised (MPI is started at <c>MPI_THREAD_SERIALIZED</c>), so
/// every rank must make its collectives in the same order. Started outside <c>mpirun</c>, the process is a job of one
/// rank (MPI's singleton start).
/// </summary>
public sealed unsafe class MpiProcessGroup : IProcessGroup
{
    /// <summary>
    /// The most bytes one MPI call moves: longer buffers go in several calls, because MPI counts are <c>int</c> and some
    /// Open MPI transports have mishandled single messages of 2 GiB and more.
    /// </summary>
    public const int DefaultMaxBytesPerCall = 1 << 30;

    // MPI may be initialised once per process, even after MPI_Finalize.
    private static int s_started;

    private readonly MpiLibrary _mpi;
    private readonly Lock _gate = new();
    private readonly List<PendingReduction> _pending = [];
    private bool _finalized;

    private MpiProcessGroup(MpiLibrary mpi, int rank, int size)
    {
        _mpi = mpi;
        Rank = rank;
        Size = size;
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size { get; }

    /// <summary>The MPI library this group loaded (a name the dynamic loader resolved, or <c>SHARPSEG_MPI_LIBRARY</c>'s path).</summary>
    public string LibraryPath => _mpi.Path;

    /// <summary>Bytes per MPI call above which a collective is split (<see cref="DefaultMaxBytesPerCall"/>; tests lower it).</summary>
    internal int MaxBytesPerCall { get; set; } = DefaultMaxBytesPerCall;

    /// <summary>Whether this process was started by Open MPI's <c>mpirun</c> (it sets <c>OMPI_COMM_WORLD_SIZE</c> for every rank).</summary>
    public static bool IsLaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>
    /// Loads Open MPI (<c>$SHARPSEG_MPI_LIBRARY</c>, else <c>libmpi.so.40</c>, else <c>libmpi.so</c>), starts it
    /// (<c>MPI_Init_thread</c> at <c>MPI_THREAD_SERIALIZED</c>) and makes its errors return codes
    /// (<c>MPI_ERRORS_RETURN</c>) so that each failing call throws an <see cref="MpiException"/> naming it. Equivalent to
    /// <c>torch.distributed.init_process_group(backend="mpi")</c>. Dispose the group to finalize MPI.
    /// </summary>
    /// <exception cref="MpiNotAvailableException">Open MPI is not installed (the message names the Debian packages) or does not start.</exception>
    /// <exception cref="InvalidOperationException">MPI was already started in this process (MPI allows it once).</exception>
    public static MpiProcessGroup Initialize() => Initialize(MpiLibrary.Load());

    internal static MpiProcessGroup Initialize(MpiLibrary mpi)
    {
        if (Interlocked.Exchange(ref s_started, 1) == 1)
            throw new InvalidOperationException("MPI was already started in this process, and MPI can be started only once per process: reuse the first MpiProcessGroup.");
        int provided = 0;
        int result = mpi.InitThread(null, null, MpiLibrary.ThreadSerialized, &provided);
        if (result != MpiLibrary.Success)
            throw new MpiNotAvailableException(
                $"MPI_Init_thread of {mpi.Path} failed: {mpi.Describe(result)}. " +
                (IsLaunchedByMpirun ? "" : "This process was not started by mpirun; start every rank with mpirun -np N (Debian's openmpi-bin)."));
        if (provided < MpiLibrary.ThreadSerialized)
        {
            mpi.Finalize();
            throw new MpiNotAvailableException(
                $"{mpi.Path} provides MPI thread level {provided}, below MPI_THREAD_SERIALIZED ({MpiLibrary.ThreadSerialized}), which SharpSeg needs " +
                "because training calls MPI from more than one thread. Use an Open MPI built with thread support (Debian's is).");
        }
        mpi.Check(mpi.CommSetErrhandler(mpi.CommWorld, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        int rank, size;
        mpi.Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        return new MpiProcessGroup(mpi, rank, size);
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values) => AllReduce(values, _mpi.Float);

    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values) => AllReduce(values, _mpi.Double);

    /// <inheritdoc/>
    public void AllReduceSum(Span<long> values) => AllReduce(values, _mpi.Int64);

    private void AllReduce<T>(Span<T> values, nint datatype) where T : unmanaged
    {
        int chunk = ElementsPerCall<T>();
        lock (_gate)
        {
            ThrowIfFinalized();
            fixed (T* data = values)
                for (int start = 0; start < values.Length; start += chunk)
                    _mpi.Check(_mpi.Allreduce(MpiLibrary.InPlace, data + start, Math.Min(chunk, values.Length - start), datatype, _mpi.OpSum, _mpi.CommWorld),
                        "MPI_Allreduce");
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The buffer stays pinned (<see cref="GCHandle"/>) until <see cref="IPendingReduction.Wait"/> returns. Open MPI moves
    /// a non-blocking collective forward only inside MPI calls, so most of the work happens in <c>Wait</c> or in the next
    /// collective; disposing the group waits for reductions nobody waited for.
    /// </remarks>
    public IPendingReduction StartAllReduceSum(float[] buffer, int offset, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (offset < 0 || count < 0 || offset > buffer.Length - count)
            throw new ArgumentOutOfRangeException(nameof(count), $"StartAllReduceSum: [{offset}, {offset}+{count}) is outside the buffer of {buffer.Length} floats.");
        int chunk = ElementsPerCall<float>();
        lock (_gate)
        {
            ThrowIfFinalized();
            var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            var pending = new PendingReduction(this, pin, (count + chunk - 1) / chunk);
            float* data = (float*)pin.AddrOfPinnedObject() + offset;
            for (int start = 0, index = 0; start < count; start += chunk, index++)
            {
                nint request;
                // On failure the pin is kept: chunks already started may still write into the buffer.
                _mpi.Check(_mpi.Iallreduce(MpiLibrary.InPlace, data + start, Math.Min(chunk, count - start), _mpi.Float, _mpi.OpSum, _mpi.CommWorld, &request),
                    "MPI_Iallreduce");
                pending.Requests[index] = request;
            }
            _pending.Add(pending);
            return pending;
        }
    }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root) => Broadcast(data, root, _mpi.Byte);

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root) => Broadcast(data, root, _mpi.Float);

    private void Broadcast<T>(Span<T> values, int root, nint datatype) where T : unmanaged
    {
        CheckRoot(root);
        int chunk = ElementsPerCall<T>();
        lock (_gate)
        {
            ThrowIfFinalized();
            fixed (T* data = values)
                for (int start = 0; start < values.Length; start += chunk)
                    _mpi.Check(_mpi.Bcast(data + start, Math.Min(chunk, values.Length - start), datatype, root, _mpi.CommWorld), "MPI_Bcast");
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The lengths are gathered first (<c>MPI_Allgather</c> of one int64 per rank); the bytes then travel in one
    /// <c>MPI_Allgatherv</c>, or, when they exceed <see cref="DefaultMaxBytesPerCall"/> together, as one chunked
    /// <c>MPI_Bcast</c> per rank, since <c>MPI_Allgatherv</c>'s displacements are <c>int</c>.
    /// </remarks>
    public byte[][] AllGather(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            ThrowIfFinalized();
            long mine = data.Length;
            var lengths = new long[Size];
            fixed (long* lengthsPointer = lengths)
                _mpi.Check(_mpi.Allgather(&mine, 1, _mpi.Int64, lengthsPointer, 1, _mpi.Int64, _mpi.CommWorld), "MPI_Allgather");
            var gathered = lengths.Select(length => new byte[length]).ToArray();
            data.CopyTo(gathered[Rank]);
            if (lengths.Sum() <= MaxBytesPerCall)
            {
                var counts = lengths.Select(length => (int)length).ToArray();
                var displacements = new int[Size];
                for (int r = 1; r < Size; r++)
                    displacements[r] = displacements[r - 1] + counts[r - 1];
                var all = new byte[lengths.Sum()];
                fixed (byte* send = data)
                fixed (byte* receive = all)
                fixed (int* countsPointer = counts)
                fixed (int* displacementsPointer = displacements)
                    _mpi.Check(_mpi.Allgatherv(send, counts[Rank], _mpi.Byte, receive, countsPointer, displacementsPointer, _mpi.Byte, _mpi.CommWorld),
                        "MPI_Allgatherv");
                for (int r = 0; r < Size; r++)
                    all.AsSpan(displacements[r], counts[r]).CopyTo(gathered[r]);
                return gathered;
            }
            for (int root = 0; root < Size; root++)
                fixed (byte* bytes = gathered[root])
                    for (int start = 0; start < gathered[root].Length; start += MaxBytesPerCall)
                        _mpi.Check(_mpi.Bcast(bytes + start, Math.Min(MaxBytesPerCall, gathered[root].Length - start), _mpi.Byte, root, _mpi.CommWorld),
                            "MPI_Bcast");
            return gathered;
        }
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        lock (_gate)
        {
            ThrowIfFinalized();
            _mpi.Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier");
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Writes <c>rank R of N: message</c> and calls <c>MPI_Abort</c>, after which <c>mpirun</c> ends every rank. It takes
    /// no lock: another thread of this rank may be blocked in a collective that the failed rank will never join.
    /// </remarks>
    public void Abort(string message, int errorCode = 1)
    {
        Console.Error.WriteLine($"rank {Rank} of {Size}: {message}");
        Console.Error.Flush();
        Console.Out.Flush();
        _mpi.Abort(_mpi.CommWorld, errorCode);
        Environment.Exit(errorCode);
    }

    /// <summary>
    /// Waits for reductions nobody waited for, then finalizes MPI (<c>MPI_Finalize</c>, once): every rank must dispose its
    /// group, as <c>MPI_Finalize</c> is collective.
    /// </summary>
    public void Dispose()
    {
        PendingReduction[] unfinished;
        lock (_gate)
        {
            if (_finalized) return;
            unfinished = [.. _pending];
        }
        foreach (var pending in unfinished)
            pending.Wait();
        lock (_gate)
        {
            if (_finalized) return;
            _finalized = true;
            _mpi.Check(_mpi.Finalize(), "MPI_Finalize");
        }
    }

    private int ElementsPerCall<T>() where T : unmanaged => Math.Max(1, MaxBytesPerCall / sizeof(T));

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= Size)
            throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast root {root} is not a rank of this job (0 … {Size - 1}).");
    }

    private void ThrowIfFinalized()
    {
        if (_finalized)
            throw new ObjectDisposedException(nameof(MpiProcessGroup), "MPI was finalized (the group was disposed); MPI cannot be used again in this process.");
    }

    /// <summary>An <c>MPI_Iallreduce</c> in flight (one request per chunk), its buffer pinned until <see cref="Wait"/>.</summary>
    private sealed class PendingReduction(MpiProcessGroup group, GCHandle pin, int requestCount) : IPendingReduction
    {
        public nint[] Requests { get; } = new nint[requestCount];

        private bool _done;

        public void Wait()
        {
            lock (group._gate)
            {
                if (_done) return;
                group.ThrowIfFinalized();
                fixed (nint* requests = Requests)
                    for (int i = 0; i < Requests.Length; i++)
                        group._mpi.Check(group._mpi.Wait(requests + i, null), "MPI_Wait");
                _done = true;
                pin.Free();
                group._pending.Remove(this);
            }
        }
    }
}
