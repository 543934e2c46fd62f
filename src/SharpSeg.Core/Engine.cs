namespace SharpSeg;

/// <summary>
/// Engine-wide settings. Equivalent to <c>torch.set_num_threads</c> / <c>torch.get_num_threads</c>.
/// </summary>
public static class Engine
{
    private static int _threads = Environment.ProcessorCount;

    [ThreadStatic] private static Random? _random;

    /// <summary>
    /// How many threads every kernel may use (default: all cores). For a fixed value, every op is deterministic:
    /// the same inputs give bit-identical outputs, because work is split into the same pieces.
    /// </summary>
    public static int Threads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _threads = value;
        }
    }

    /// <summary>
    /// The generator used by random ops when none is passed (initialisers, <c>Rand</c>, dropout). Per thread;
    /// seeded by <see cref="ManualSeed"/>, otherwise from the system. Equivalent to torch's default generator.
    /// </summary>
    public static Random Random => _random ??= new Random();

    /// <summary>
    /// Opens a buffer-reuse scope on this thread (see <see cref="BufferScope"/>); scopes nest. PyTorch needs none: its
    /// caching allocator reuses every freed block, which reference counting tells it about at once.
    /// </summary>
    public static BufferScope ReuseBuffers()
    {
        BufferPool.Enter();
        return new BufferScope();
    }

    /// <summary>
    /// Inside a <see cref="ReuseBuffers"/> scope, pools the buffers of tensors that a garbage collection found dead since
    /// the last call, so the rest of the step can reuse them; does nothing outside a scope. <c>Sequential</c> calls it
    /// between its layers and backward between its nodes. Call it only where no span from <see cref="Tensor.AsSpan"/>
    /// is in use on this thread (PyTorch frees each tensor when its last reference goes, and needs no such call).
    /// </summary>
    public static void RecycleDeadBuffers() => BufferPool.SafePoint();

    /// <summary>Reseeds <see cref="Random"/> on the calling thread. Equivalent to <c>torch.manual_seed(seed)</c>.</summary>
    public static void ManualSeed(int seed) => _random = new Random(seed);
}
