namespace SharpSeg.Kernels;

/// <summary>
/// Coarse work splitting for kernels. A call costs microseconds, so kernels split once into a few large pieces
/// (never a <c>Parallel.For</c> per row). Pieces depend only on <see cref="Engine.Threads"/> and the problem size,
/// which keeps results bit-identical for a given thread count.
/// </summary>
internal static class Parallelism
{
    /// <summary>Runs <paramref name="body"/>(piece) for piece in [0, pieces), spread over the engine's threads.</summary>
    public static void Run(int pieces, Action<int> body)
    {
        if (pieces <= 1 || Engine.Threads == 1)
        {
            for (int i = 0; i < pieces; i++) body(i);
            return;
        }
        Parallel.For(0, pieces, new ParallelOptions { MaxDegreeOfParallelism = Engine.Threads }, body);
    }

    /// <summary>
    /// Splits [0, count) into at most <see cref="Engine.Threads"/> contiguous ranges of at least
    /// <paramref name="minPerPiece"/> items and runs <paramref name="body"/>(start, end) on each.
    /// </summary>
    public static void ForRange(long count, long minPerPiece, Action<long, long> body)
    {
        if (count <= 0) return;
        long pieces = Math.Clamp(count / Math.Max(1, minPerPiece), 1, Engine.Threads);
        if (pieces == 1)
        {
            body(0, count);
            return;
        }
        Run((int)pieces, p => body(count * p / pieces, count * (p + 1) / pieces));
    }
}
