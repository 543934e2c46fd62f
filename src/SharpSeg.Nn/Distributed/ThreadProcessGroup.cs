namespace SharpSeg.Nn.Distributed;

/// <summary>
/// A process group whose ranks are threads of this process: the reference implementation of <see cref="IProcessGroup"/>
/// for tests and single-machine experiments (PyTorch's <c>gloo</c> group on one host plays that role). Sums are taken in
/// rank order 0, 1, …, N − 1, so a result is the same on every rank and on every run. A rank that fails calls
/// <see cref="Abort"/>: every other rank's pending and later collectives then throw <see cref="ProcessGroupAbortedException"/>
/// naming it, instead of waiting forever. Collectives are matched by the order in which each rank calls them (as MPI
/// matches them on a communicator); a call whose kind or length differs from another rank's throws on every rank.
/// </summary>
public sealed class ThreadProcessGroup : IProcessGroup
{
    private readonly World _world;
    private long _calls;

    private ThreadProcessGroup(World world, int rank)
    {
        _world = world;
        Rank = rank;
    }

    /// <summary>The <paramref name="size"/> ranks of one new group, indexed by rank; give each to its own thread.</summary>
    public static ThreadProcessGroup[] Create(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var world = new World(size);
        return [.. Enumerable.Range(0, size).Select(rank => new ThreadProcessGroup(world, rank))];
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="size"/> threads, one per rank, and returns their results by rank. A
    /// rank that throws aborts the group (the others' collectives throw); the first failure by rank is rethrown here with the
    /// others' errors as an <see cref="AggregateException"/>. <paramref name="threadSetup"/> runs first on each thread (per-thread
    /// state such as <see cref="Engine.ManualSeed"/>; <see cref="Engine.Threads"/> is process-wide, so set it once before).
    /// </summary>
    public static T[] Run<T>(int size, Func<ThreadProcessGroup, T> body, Action<ThreadProcessGroup>? threadSetup = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var groups = Create(size);
        var results = new T[size];
        var errors = new Exception?[size];
        var threads = groups.Select(group => new Thread(() =>
        {
            try
            {
                threadSetup?.Invoke(group);
                results[group.Rank] = body(group);
            }
            catch (Exception error)
            {
                errors[group.Rank] = error;
                if (error is not ProcessGroupAbortedException) group.Abort($"{error.GetType().Name}: {error.Message}");
            }
        }, maxStackSize: 16 << 20) { Name = $"rank {group.Rank}", IsBackground = true }).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        var failures = errors.OfType<Exception>().ToArray();
        if (failures.Length > 0) throw new AggregateException($"ThreadProcessGroup.Run: {failures.Length} of {size} rank(s) failed.", failures);
        return results;
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int Size => _world.Size;

    /// <summary>Whether some rank has called <see cref="Abort"/>.</summary>
    public bool IsAborted => _world.AbortMessage is not null;

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values)
    {
        var round = Contribute("AllReduceSum(float)", values.ToArray());
        round.Await(_world).Sum<float>(static (a, b) => a + b).AsSpan().CopyTo(values);
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values)
    {
        var round = Contribute("AllReduceSum(double)", values.ToArray());
        round.Await(_world).Sum<double>(static (a, b) => a + b).AsSpan().CopyTo(values);
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<long> values)
    {
        var round = Contribute("AllReduceSum(long)", values.ToArray());
        round.Await(_world).Sum<long>(static (a, b) => a + b).AsSpan().CopyTo(values);
    }

    /// <inheritdoc/>
    public IPendingReduction StartAllReduceSum(float[] buffer, int offset, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (offset + count > buffer.Length)
            throw new ArgumentException($"StartAllReduceSum: offset {offset} + count {count} exceeds the buffer's {buffer.Length} floats.");
        // The contribution is copied now, as MPI_Iallreduce may read the buffer at any time before the wait.
        var round = Contribute("StartAllReduceSum(float)", buffer.AsSpan(offset, count).ToArray());
        return new PendingSum(this, round, buffer, offset, count);
    }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root)
    {
        CheckRoot(root);
        var round = Contribute($"Broadcast(byte, root {root})", Rank == root ? data.ToArray() : new byte[data.Length]);
        ((byte[])round.Await(_world).Contributions[root]).AsSpan().CopyTo(data);
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root)
    {
        CheckRoot(root);
        var round = Contribute($"Broadcast(float, root {root})", Rank == root ? data.ToArray() : new float[data.Length]);
        ((float[])round.Await(_world).Contributions[root]).AsSpan().CopyTo(data);
    }

    /// <inheritdoc/>
    public byte[][] AllGather(ReadOnlySpan<byte> data)
    {
        var round = Contribute("AllGather", data.ToArray(), lengthsMayDiffer: true);
        return [.. round.Await(_world).Contributions.Select(c => ((byte[])c).ToArray())];
    }

    /// <inheritdoc/>
    public void Barrier() => Contribute("Barrier", Array.Empty<byte>()).Await(_world);

    /// <summary>
    /// Marks the group aborted with <paramref name="message"/>, prefixed with this rank, and wakes every rank: their pending
    /// and later collectives throw <see cref="ProcessGroupAbortedException"/>. Unlike <c>MPI_Abort</c> it cannot end the
    /// process, so it returns; the caller then throws its own error. The first abort's message is kept.
    /// </summary>
    public void Abort(string message, int errorCode = 1)
    {
        lock (_world)
        {
            _world.AbortMessage ??= $"rank {Rank} of {Size} aborted the job: {message}";
            Monitor.PulseAll(_world);
        }
    }

    /// <summary>Nothing to release: the group lives as long as its threads.</summary>
    public void Dispose() { }

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"Broadcast: root must be a rank of 0 … {Size - 1}.");
    }

    private Round Contribute(string kind, Array data, bool lengthsMayDiffer = false)
    {
        long call = _calls++;
        lock (_world)
        {
            _world.ThrowIfAborted();
            if (!_world.Rounds.TryGetValue(call, out var round))
                _world.Rounds[call] = round = new Round(kind, data.Length, _world.Size);
            if (round.Kind != kind || (!lengthsMayDiffer && round.Length != data.Length))
            {
                _world.AbortMessage ??= $"collective #{call} does not match across ranks: rank {Rank} called {kind} with {data.Length} values, " +
                    $"another rank {round.Kind} with {round.Length}";
                Monitor.PulseAll(_world);
                _world.ThrowIfAborted();
            }
            round.Contributions[Rank] = data;
            if (++round.Arrived == _world.Size)
            {
                _world.Rounds.Remove(call);
                round.Complete = true;
                Monitor.PulseAll(_world);
            }
            return round;
        }
    }

    private sealed class World(int size)
    {
        public int Size { get; } = size;
        public Dictionary<long, Round> Rounds { get; } = [];
        public string? AbortMessage { get; set; }

        public void ThrowIfAborted()
        {
            if (AbortMessage is { } message) throw new ProcessGroupAbortedException(message);
        }
    }

    /// <summary>One collective: every rank's contribution, complete once all have arrived.</summary>
    private sealed class Round(string kind, int length, int size)
    {
        private Array? _sum;

        public string Kind { get; } = kind;
        public int Length { get; } = length;
        public Array[] Contributions { get; } = new Array[size];
        public int Arrived { get; set; }
        public bool Complete { get; set; }

        public Round Await(World world)
        {
            lock (world)
            {
                while (!Complete)
                {
                    world.ThrowIfAborted();
                    Monitor.Wait(world);
                }
                return this;
            }
        }

        /// <summary>The element-wise sum, rank 0 first, computed once and shared by every rank.</summary>
        public T[] Sum<T>(Func<T, T, T> add)
        {
            lock (this)
            {
                if (_sum is null)
                {
                    var total = ((T[])Contributions[0]).ToArray();
                    for (int rank = 1; rank < Contributions.Length; rank++)
                    {
                        var values = (T[])Contributions[rank];
                        for (int i = 0; i < total.Length; i++) total[i] = add(total[i], values[i]);
                    }
                    _sum = total;
                }
                return (T[])_sum;
            }
        }
    }

    private sealed class PendingSum(ThreadProcessGroup group, Round round, float[] buffer, int offset, int count) : IPendingReduction
    {
        public void Wait() => round.Await(group._world).Sum<float>(static (a, b) => a + b).AsSpan().CopyTo(buffer.AsSpan(offset, count));
    }
}

/// <summary>A collective could not finish because a rank aborted the job; the message names that rank and its reason.</summary>
public sealed class ProcessGroupAbortedException(string message) : Exception(message);
