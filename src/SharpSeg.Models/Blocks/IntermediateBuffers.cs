namespace SharpSeg.Models;

/// <summary>
/// Reusable memory for the intermediate results of one block call in inference (the 1×1 and 3×3 outputs inside a
/// bottleneck, the expansion inside an inverted residual): results that provably die before the block returns, so the
/// next block on the same thread can write over them. Passed as <c>outputBuffer</c> to
/// <see cref="Functional.Conv2dFused"/>, which uses a buffer only on its inference path; every fresh tensor costs an
/// allocation, page faults on first touch and a share of the next full garbage collection. Sets are per thread and
/// rented for the length of one call, so concurrent callers never share one and a block nested inside another rents its
/// own. Each slot keeps the largest inference result it has seen, so a thread holds a few buffers of the largest
/// intermediate size, not one per layer. PyTorch relies on its allocator's free lists for the same reuse.
/// </summary>
internal sealed class IntermediateBuffers
{
    private const int Slots = 4;

    [ThreadStatic] private static Stack<IntermediateBuffers>? t_idle;

    private readonly Tensor?[] _buffers = new Tensor?[Slots];

    /// <summary>A set for one block call on this thread; give it back with <see cref="Return"/> once its results are dead.</summary>
    public static IntermediateBuffers Rent() => (t_idle ??= new Stack<IntermediateBuffers>()).TryPop(out var set) ? set : new IntermediateBuffers();

    /// <summary>Makes the set available to the next block call on this thread.</summary>
    public void Return() => (t_idle ??= new Stack<IntermediateBuffers>()).Push(this);

    /// <summary>The memory of <paramref name="slot"/> (null while empty) for a convolution's <c>outputBuffer</c>.</summary>
    public Tensor? this[int slot] => _buffers[slot];

    /// <summary>
    /// Hands back <paramref name="result"/> after keeping it as the slot's memory for later calls when it is a plain
    /// inference result (contiguous float32, no graph) larger than what the slot holds. Results of a recorded graph are
    /// never kept: backward may still read them.
    /// </summary>
    public Tensor Keep(int slot, Tensor result)
    {
        var held = _buffers[slot];
        if (result.IsLeaf && !result.RequiresGrad && result.DType == DType.Float32 && result.IsContiguous
            && (held is null || result.Numel > held.Numel))
            _buffers[slot] = result;
        return result;
    }
}
