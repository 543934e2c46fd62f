using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using SharpSeg.Nn.Distributed;

namespace SharpSeg.Distributed;

/// <summary>
/// The ranks of an <c>mpirun</c> job as an <see cref="IProcessGroup"/>, over the system's Open MPI (<c>libmpi.so.40</c> from
/// Debian's <c>openmpi-bin</c>/<c>libopenmpi3</c>, loaded at run time): PyTorch's
/// <c>torch.distributed.init_process_group(backend="mpi")</c>, Horovod's MPI controller. Every collective runs on
/// <c>MPI_COMM_WORLD</c>. Started outside <c>mpirun</c>, the process is a job of one rank (MPI's singleton start).
/// </summary>
/// <remarks>
/// As in Horovod, one background thread makes every MPI call, in the order the collectives were asked for: a blocking
/// collective waits for it, and <see cref="StartAllReduceSum"/> returns at once while that thread runs the (blocking,
/// tuned) <c>MPI_Allreduce</c>. Open MPI moves a non-blocking <c>MPI_Iallreduce</c> forward only inside MPI calls, so on
/// the caller's thread it would make almost no progress during backward; on its own thread the reduction of one gradient
/// bucket overlaps the computation of the next. Every rank must ask for its collectives in the same order.
/// </remarks>
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
    private readonly BlockingCollection<MpiOperation> _queue = [];
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private bool _finalized;

    private MpiProcessGroup(MpiLibrary mpi)
    {
        _mpi = mpi;
        _thread = new Thread(Serve) { IsBackground = true, Name = "SharpSeg MPI" };
    }

    /// <inheritdoc/>
    public int Rank { get; private set; }

    /// <inheritdoc/>
    public int Size { get; private set; }

    /// <summary>The MPI library this group loaded (a name the dynamic loader resolved, or <c>SHARPSEG_MPI_LIBRARY</c>'s path).</summary>
    public string LibraryPath => _mpi.Path;

    /// <summary>Bytes per MPI call above which a collective is split (<see cref="DefaultMaxBytesPerCall"/>; tests lower it).</summary>
    internal int MaxBytesPerCall { get; set; } = DefaultMaxBytesPerCall;

    /// <summary>Whether this process was started by Open MPI's <c>mpirun</c> (it sets <c>OMPI_COMM_WORLD_SIZE</c> for every rank).</summary>
    public static bool IsLaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>
    /// Loads Open MPI (<c>$SHARPSEG_MPI_LIBRARY</c>, else <c>libmpi.so.40</c>, else <c>libmpi.so</c>), starts it on this
    /// group's MPI thread (<c>MPI_Init_thread</c>) and makes its errors return codes (<c>MPI_ERRORS_RETURN</c>) so that
    /// each failing call throws an <see cref="MpiException"/> naming it. Equivalent to
    /// <c>torch.distributed.init_process_group(backend="mpi")</c>. Dispose the group to finalize MPI.
    /// </summary>
    /// <exception cref="MpiNotAvailableException">Open MPI is not installed (the message names the Debian packages) or does not start.</exception>
    /// <exception cref="InvalidOperationException">MPI was already started in this process (MPI allows it once).</exception>
    public static MpiProcessGroup Initialize() => Initialize(MpiLibrary.Load());

    internal static MpiProcessGroup Initialize(MpiLibrary mpi)
    {
        if (Interlocked.Exchange(ref s_started, 1) == 1)
            throw new InvalidOperationException("MPI was already started in this process, and MPI can be started only once per process: reuse the first MpiProcessGroup.");
        var group = new MpiProcessGroup(mpi);
        group._thread.Start();
        try
        {
            group.Run(group.Start);
        }
        catch
        {
            group._queue.CompleteAdding();
            throw;
        }
        return group;
    }

    // Runs on the MPI thread. MPI_THREAD_MULTIPLE because Abort may call MPI_Abort from another thread while this one
    // is blocked in a collective; every other call is made from this thread alone.
    private void Start()
    {
        int provided = 0;
        int result = _mpi.InitThread(null, null, MpiLibrary.ThreadMultiple, &provided);
        if (result != MpiLibrary.Success)
            throw new MpiNotAvailableException(
                $"MPI_Init_thread of {_mpi.Path} failed: {_mpi.Describe(result)}. " +
                (IsLaunchedByMpirun ? "" : "This process was not started by mpirun; start every rank with mpirun -np N (Debian's openmpi-bin)."));
        if (provided < MpiLibrary.ThreadSerialized)
        {
            _mpi.Finalize();
            throw new MpiNotAvailableException(
                $"{_mpi.Path} provides MPI thread level {provided}, below MPI_THREAD_SERIALIZED ({MpiLibrary.ThreadSerialized}), which SharpSeg needs " +
                "because it calls MPI from a thread of its own. Use an Open MPI built with thread support (Debian's is).");
        }
        _mpi.Check(_mpi.CommSetErrhandler(_mpi.CommWorld, _mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        int rank, size;
        _mpi.Check(_mpi.CommRank(_mpi.CommWorld, &rank), "MPI_Comm_rank");
        _mpi.Check(_mpi.CommSize(_mpi.CommWorld, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values) => AllReduce(values, _mpi.Float);

    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values) => AllReduce(values, _mpi.Double);

    /// <inheritdoc/>
    public void AllReduceSum(Span<long> values) => AllReduce(values, _mpi.Int64);

    private void AllReduce<T>(Span<T> values, nint datatype) where T : unmanaged
    {
        // The span stays fixed while this thread waits for the MPI thread to finish with it.
        fixed (T* data = values)
        {
            nint address = (nint)data;
            int length = values.Length;
            Run(() => SumInPlace((T*)address, length, datatype));
        }
    }

    private void SumInPlace<T>(T* data, int length, nint datatype) where T : unmanaged
    {
        int chunk = ElementsPerCall<T>();
        for (int start = 0; start < length; start += chunk)
            _mpi.Check(_mpi.Allreduce(MpiLibrary.InPlace, data + start, Math.Min(chunk, length - start), datatype, _mpi.OpSum, _mpi.CommWorld),
                "MPI_Allreduce");
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Returns at once: the MPI thread sums the range after the collectives asked for before it, while the caller goes on
    /// computing. The buffer stays pinned (<see cref="GCHandle"/>) until the sum is done. Disposing the group finishes
    /// the reductions nobody waited for.
    /// </remarks>
    public IPendingReduction StartAllReduceSum(float[] buffer, int offset, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (offset < 0 || count < 0 || offset > buffer.Length - count)
            throw new ArgumentOutOfRangeException(nameof(count), $"StartAllReduceSum: [{offset}, {offset}+{count}) is outside the buffer of {buffer.Length} floats.");
        var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        nint address = pin.AddrOfPinnedObject() + offset * sizeof(float);
        try
        {
            return Enqueue(() =>
            {
                try
                {
                    SumInPlace((float*)address, count, _mpi.Float);
                }
                finally
                {
                    pin.Free();
                }
            });
        }
        catch
        {
            pin.Free();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root) => Broadcast(data, root, _mpi.Byte);

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root) => Broadcast(data, root, _mpi.Float);

    private void Broadcast<T>(Span<T> values, int root, nint datatype) where T : unmanaged
    {
        CheckRoot(root);
        fixed (T* data = values)
        {
            nint address = (nint)data;
            int length = values.Length;
            Run(() => BroadcastFrom((T*)address, length, datatype, root));
        }
    }

    private void BroadcastFrom<T>(T* data, int length, nint datatype, int root) where T : unmanaged
    {
        int chunk = ElementsPerCall<T>();
        for (int start = 0; start < length; start += chunk)
            _mpi.Check(_mpi.Bcast(data + start, Math.Min(chunk, length - start), datatype, root, _mpi.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The lengths are gathered first (<c>MPI_Allgather</c> of one int64 per rank); the bytes then travel in one
    /// <c>MPI_Allgatherv</c>, or, when they exceed <see cref="DefaultMaxBytesPerCall"/> together, as one chunked
    /// <c>MPI_Bcast</c> per rank, since <c>MPI_Allgatherv</c>'s displacements are <c>int</c>.
    /// </remarks>
    public byte[][] AllGather(ReadOnlySpan<byte> data)
    {
        byte[] mine = data.ToArray();
        byte[][] gathered = [];
        Run(() => gathered = Gather(mine));
        return gathered;
    }

    private byte[][] Gather(byte[] mine)
    {
        long length = mine.Length;
        var lengths = new long[Size];
        fixed (long* lengthsPointer = lengths)
            _mpi.Check(_mpi.Allgather(&length, 1, _mpi.Int64, lengthsPointer, 1, _mpi.Int64, _mpi.CommWorld), "MPI_Allgather");
        var gathered = lengths.Select(count => new byte[count]).ToArray();
        gathered[Rank] = mine;
        if (lengths.Sum() > MaxBytesPerCall)
        {
            for (int root = 0; root < Size; root++)
                fixed (byte* bytes = gathered[root])
                    BroadcastFrom(bytes, gathered[root].Length, _mpi.Byte, root);
            return gathered;
        }
        var counts = lengths.Select(count => (int)count).ToArray();
        var displacements = new int[Size];
        for (int r = 1; r < Size; r++)
            displacements[r] = displacements[r - 1] + counts[r - 1];
        var all = new byte[lengths.Sum()];
        fixed (byte* send = mine)
        fixed (byte* receive = all)
        fixed (int* countsPointer = counts)
        fixed (int* displacementsPointer = displacements)
            _mpi.Check(_mpi.Allgatherv(send, counts[Rank], _mpi.Byte, receive, countsPointer, displacementsPointer, _mpi.Byte, _mpi.CommWorld),
                "MPI_Allgatherv");
        for (int r = 0; r < Size; r++)
            if (r != Rank)
                all.AsSpan(displacements[r], counts[r]).CopyTo(gathered[r]);
        return gathered;
    }

    /// <inheritdoc/>
    public void Barrier() => Run(() => _mpi.Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier"));

    /// <inheritdoc/>
    /// <remarks>
    /// Writes <c>rank R of N: message</c> and calls <c>MPI_Abort</c> from the calling thread (the MPI thread may be blocked
    /// in a collective that the failed rank will never finish), after which <c>mpirun</c> ends every rank.
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
    /// Finishes the reductions nobody waited for, finalizes MPI (<c>MPI_Finalize</c>, once) and ends the MPI thread:
    /// every rank must dispose its group, as <c>MPI_Finalize</c> is collective.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_finalized) return;
            _finalized = true;
            try
            {
                var finalize = Enqueue(() => _mpi.Check(_mpi.Finalize(), "MPI_Finalize"), afterFinalize: true);
                _queue.CompleteAdding();
                finalize.Wait();
            }
            finally
            {
                _thread.Join();
                _queue.Dispose();
            }
        }
    }

    private void Run(Action action) => Enqueue(action).Wait();

    private MpiOperation Enqueue(Action action, bool afterFinalize = false)
    {
        var operation = new MpiOperation(action);
        lock (_gate)
        {
            if (_finalized && !afterFinalize)
                throw new ObjectDisposedException(nameof(MpiProcessGroup), "MPI was finalized (the group was disposed); MPI cannot be used again in this process.");
            _queue.Add(operation);
        }
        return operation;
    }

    private void Serve()
    {
        foreach (var operation in _queue.GetConsumingEnumerable())
            operation.Execute();
    }

    private int ElementsPerCall<T>() where T : unmanaged => Math.Max(1, MaxBytesPerCall / sizeof(T));

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= Size)
            throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast root {root} is not a rank of this job (0 … {Size - 1}).");
    }

    /// <summary>One job for the MPI thread; the thread that asked for it (or holds its <see cref="IPendingReduction"/>) waits for it.</summary>
    private sealed class MpiOperation(Action action) : IPendingReduction
    {
        private readonly ManualResetEventSlim _done = new();
        private ExceptionDispatchInfo? _failure;

        public void Execute()
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                _failure = ExceptionDispatchInfo.Capture(e);
            }
            _done.Set();
        }

        public void Wait()
        {
            _done.Wait();
            _failure?.Throw();
        }
    }
}
