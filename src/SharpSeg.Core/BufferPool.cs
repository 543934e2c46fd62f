namespace SharpSeg;

/// <summary>
/// Reuses large tensor buffers across the ops of a step and across steps, the way PyTorch's caching allocator reuses
/// freed blocks. Without it every large buffer is a fresh large-object-heap array; the runtime gives freed LOH memory
/// back to the OS, so the next step touches new pages, and on a VM each first touch is a page fault of several
/// microseconds: a ResNet-50 224² forward took 3,000–8,000 of them and 37–140 ms instead of a steady 37 ms.
/// <para>
/// A buffer can only be reused once nothing can read it any more. C# has no reference counts, so this relies on two
/// facts: a <see cref="Storage"/> that the garbage collector found unreachable is referenced by no tensor; and an op
/// reads a buffer through spans only while it runs. So buffers are tracked only on a thread inside a
/// <see cref="BufferScope"/>, and a dead storage's array goes back to the pool only at a <em>safe point</em> of that
/// thread, where no op is running on it: a scope's end, the backward walk between two nodes, and
/// <see cref="Engine.RecycleDeadBuffers"/> (Sequential between layers). Storages still alive when the outermost scope
/// ends have escaped (returned to the caller, kept by a module, a gradient the next step drops); they stay tracked
/// through the next scope on the thread and are then left to the runtime.
/// </para>
/// <para>
/// Buffers are pooled by exact element count and type, since a training step or an inference at a fixed size asks for
/// the same sizes every time. A size not asked for in the last <see cref="IdleScopesBeforeTrim"/> scopes is dropped.
/// </para>
/// </summary>
internal static class BufferPool
{
    /// <summary>Smallest buffer pooled, in bytes: the runtime's large-object threshold. Smaller arrays live in gen 0, which the runtime reuses itself.</summary>
    public const int MinimumBytes = 85_000;

    /// <summary>How many outermost scopes may end without a size being asked for before its pooled buffers are dropped.</summary>
    public const int IdleScopesBeforeTrim = 4;

    private static readonly object Gate = new();
    private static readonly Dictionary<(DType Type, int Length), Bucket> Buckets = [];
    private static long _pooledBytes;
    private static long _scopesEnded;

    [ThreadStatic] private static ThreadState? _thread;

    /// <summary>Bytes asked for inside scopes that the pool could not serve (fresh buffers), since the process started.</summary>
    public static long MissedBytes
    {
        get
        {
            lock (Gate) return _missedBytes;
        }
    }

    private static long _missedBytes;

    /// <summary>Bytes of free buffers waiting in the pool.</summary>
    public static long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>Whether the calling thread is inside a <see cref="BufferScope"/>.</summary>
    public static bool InScope => _thread is { Depth: > 0 };

    /// <summary>How many large buffers the calling thread's scope tracks now (tests).</summary>
    internal static int TrackedCount => _thread?.Lent.Count ?? 0;

    /// <summary>A pooled array of exactly <paramref name="length"/> elements, or null (outside a scope, too small, or none free).</summary>
    public static Array? TryRent(DType type, int length, long bytes)
    {
        if (bytes < MinimumBytes || !InScope) return null;
        lock (Gate)
        {
            if (!Buckets.TryGetValue((type, length), out var bucket)) { _missedBytes += bytes; return null; }
            bucket.LastAsked = _scopesEnded;
            if (bucket.Free.Count == 0) { _missedBytes += bytes; return null; }
            _pooledBytes -= bytes;
            return bucket.Free.Pop();
        }
    }

    /// <summary>Starts tracking <paramref name="storage"/> if it is large and the calling thread is inside a scope.</summary>
    public static void Track(Storage storage, long bytes)
    {
        if (bytes < MinimumBytes || _thread is not { Depth: > 0 } state) return;
        // Tracking holds the array until a safe point: a long scope with none (many forwards in one scope) would grow
        // without bound, so past the limit the older half is left to the runtime.
        if (state.LentBytes + bytes > MaximumTrackedBytes) Forget(state, state.Lent.Count / 2 + 1);
        state.Lent.Add(new Lent(new WeakReference<Storage>(storage), storage.Data, storage.DType, bytes));
        state.LentBytes += bytes;
    }

    /// <summary>The most bytes one thread's scope tracks at once; beyond it the oldest tracked buffers are left to the runtime.</summary>
    public static long MaximumTrackedBytes { get; set; } = 2L << 30;

    private static void Forget(ThreadState state, int count)
    {
        count = Math.Min(count, state.Lent.Count);
        for (int i = 0; i < count; i++) state.LentBytes -= state.Lent[i].Bytes;
        state.Lent.RemoveRange(0, count);
    }

    /// <summary>Opens a scope on the calling thread (scopes nest; the outermost one decides when tracking ends).</summary>
    public static void Enter()
    {
        var state = _thread ??= new ThreadState();
        if (state.Depth++ == 0) state.Gen1CollectionsAtStart = GC.CollectionCount(1);
    }

    /// <summary>
    /// Ends a scope. Scopes are opened around steps and calls, never inside an op, so every end is a safe point: a
    /// collection shows which tracked storages died, and their arrays are pooled. At the outermost end the storages
    /// still alive have escaped the scope: they stay tracked through the next outermost scope, then are let go.
    /// </summary>
    public static void Exit()
    {
        var state = _thread ?? throw new InvalidOperationException("BufferScope ended on a thread that did not open it (a scope must end on the thread that started it, not after an await that moved threads).");
        if (state.Depth == 0) throw new InvalidOperationException("BufferScope ended more times than it was started on this thread.");
        state.Depth--;
        if (state.Lent.Count > 0)
        {
            // Storages made in the scope are young unless a collection of gen 1 or 2 ran during it (as in a training
            // step): then some were promoted to gen 2, and only a full collection shows which died. Either way no
            // large array is scanned (they hold no references), so this costs little next to the page faults it saves.
            int generation = state.CarriesEscaped || GC.CollectionCount(1) != state.Gen1CollectionsAtStart ? 2 : 1;
            GC.Collect(generation, GCCollectionMode.Forced, blocking: true, compacting: false);
            Sweep(state);
        }
        if (state.Depth > 0) return;
        // Storages alive at the outermost end escaped the scope: returned, kept by a module, or a gradient the next
        // step's ZeroGrad drops. They stay tracked through the next scope on this thread, then are left to the runtime.
        int kept = 0;
        for (int i = 0; i < state.Lent.Count; i++)
        {
            var item = state.Lent[i];
            if (item.Escaped)
            {
                state.LentBytes -= item.Bytes;
                continue;
            }
            state.Lent[kept++] = item with { Escaped = true };
        }
        state.Lent.RemoveRange(kept, state.Lent.Count - kept);
        state.CarriesEscaped = kept > 0;
        EndScope();
    }

    /// <summary>
    /// A point of the calling thread at which no op is running (backward between nodes, <c>Sequential</c> between
    /// layers): pools the arrays of tracked storages that a collection since the last sweep found dead.
    /// </summary>
    public static void SafePoint()
    {
        if (_thread is not { Depth: > 0 } state) return;
        int collections = GC.CollectionCount(0);
        if (collections == state.CollectionsAtSweep) return;
        Sweep(state);
    }

    /// <summary>Drops every pooled buffer (tests, or a caller that wants the memory back now).</summary>
    public static void Clear()
    {
        lock (Gate)
        {
            Buckets.Clear();
            _pooledBytes = 0;
        }
    }

    private static void Sweep(ThreadState state)
    {
        state.CollectionsAtSweep = GC.CollectionCount(0);
        var lent = state.Lent;
        int kept = 0;
        lock (Gate)
        {
            for (int i = 0; i < lent.Count; i++)
            {
                var item = lent[i];
                if (item.Owner.TryGetTarget(out _))
                {
                    lent[kept++] = item;
                    continue;
                }
                var key = (item.Type, item.Data.Length);
                if (!Buckets.TryGetValue(key, out var bucket))
                    Buckets[key] = bucket = new Bucket { LastAsked = _scopesEnded };
                bucket.Free.Push(item.Data);
                _pooledBytes += item.Bytes;
                state.LentBytes -= item.Bytes;
            }
        }
        lent.RemoveRange(kept, lent.Count - kept);
    }

    private static void EndScope()
    {
        lock (Gate)
        {
            long ended = ++_scopesEnded;
            List<(DType Type, int Length)>? idle = null;
            foreach (var (key, bucket) in Buckets)
                if (ended - bucket.LastAsked > IdleScopesBeforeTrim) (idle ??= []).Add(key);
            if (idle is null) return;
            foreach (var key in idle)
            {
                var bucket = Buckets[key];
                foreach (var array in bucket.Free) _pooledBytes -= (long)array.Length * key.Type.ElementSize();
                Buckets.Remove(key);
            }
        }
    }

    private sealed class Bucket
    {
        public readonly Stack<Array> Free = new();
        public long LastAsked;
    }

    private readonly record struct Lent(WeakReference<Storage> Owner, Array Data, DType Type, long Bytes, bool Escaped = false);

    private sealed class ThreadState
    {
        public readonly List<Lent> Lent = [];
        public int Depth;
        public int Gen1CollectionsAtStart;
        public bool CarriesEscaped;
        public long LentBytes;
        public int CollectionsAtSweep = -1;
    }
}

/// <summary>
/// Reuses large tensor buffers inside the scope, as PyTorch's caching allocator does for every tensor: buffers of
/// tensors that die inside the scope go back to a pool and serve the next allocations of the same size, instead of
/// returning to the runtime and being faulted in again. Open one around each training step or inference call:
/// <code>using (Engine.ReuseBuffers()) { var loss = criterion.Forward(model.Forward(x), y); loss.Backward(); optimizer.Step(); }</code>
/// <c>Segmenter</c> and <c>Detector</c> open one per step, evaluation batch and prediction. Results are unchanged.
/// A scope is per thread and must end on the thread that opened it. Tensors made inside it may be returned or kept;
/// one that dies during the next scope on this thread still has its buffer pooled, so while another thread works on
/// such a tensor, keep a reference to it (and keep the tensor referenced while you use a span from
/// <see cref="Tensor.AsSpan"/>).
/// </summary>
public readonly struct BufferScope : IDisposable
{
    /// <summary>Ends the scope: pools the buffers of tensors that died in it.</summary>
    public void Dispose() => BufferPool.Exit();
}
