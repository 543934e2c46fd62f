namespace SharpSeg;

/// <summary>
/// Engine-wide settings. Equivalent to <c>torch.set_num_threads</c> / <c>torch.get_num_threads</c>.
/// </summary>
public static class Engine
{
    private static int _threads = Environment.ProcessorCount;

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
}
