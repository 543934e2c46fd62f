namespace SharpSeg.Kernels;

/// <summary>
/// Coarse work splitting for kernels. Kernels split once into a few large pieces (never one call per row). Pieces
/// depend only on <see cref="Engine.Threads"/> and the problem size, and each piece writes its own outputs, so which
/// thread runs which piece never changes a result: results are bit-identical for a given thread count.
/// </summary>
internal static class Parallelism
{
    /// <summary>Runs <paramref name="body"/>(piece) for piece in [0, pieces), spread over the engine's threads.</summary>
    public static void Run(int pieces, Action<int> body)
    {
        int threads = Math.Min(Engine.Threads, pieces);
        if (threads <= 1 || !WorkerTeam.TryRun(threads - 1, pieces, body))
            for (int i = 0; i < pieces; i++) body(i);
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

/// <summary>
/// Helper threads that stay alive between kernels, so a fork/join costs a wake-up and a few atomic operations instead of
/// a <c>Parallel.For</c> (task objects, thread-pool queueing): a 64×64 training step runs about a thousand parallel
/// kernels, most of them microseconds long. The caller works on the pieces too and helpers take pieces from a shared
/// counter; a helper that wakes after the pieces are gone does not join, so a short kernel never waits for a slow
/// wake-up. One fork/join runs at a time: a call made while the team is busy (another thread's kernel, or a kernel
/// inside a piece) runs its pieces on its own thread, which gives the same results.
/// </summary>
internal static class WorkerTeam
{
    private static readonly Lock Gate = new();
    private static readonly List<Helper> Helpers = [];

    [ThreadStatic] private static bool t_inTeam;

    // The job: written by the caller before it opens the job, read by helpers after they join it.
    private static Action<int>? _body;
    private static int _pieces, _next, _finished, _allowed;
    private static Exception? _error;

    // Bit 0: the job is open to helpers; the bits above count the helpers that joined it.
    private static int _membership;

    /// <summary>
    /// Runs the pieces on the calling thread and up to <paramref name="helpers"/> helper threads; false (nothing run)
    /// when the team is busy or the caller is itself running a piece.
    /// </summary>
    public static bool TryRun(int helpers, int pieces, Action<int> body)
    {
        if (t_inTeam || !Gate.TryEnter()) return false;
        try
        {
            while (Helpers.Count < helpers) Helpers.Add(new Helper(Helpers.Count));
            _body = body;
            _pieces = pieces;
            _next = 0;
            _finished = 0;
            _error = null;
            _allowed = helpers;
            Interlocked.Exchange(ref _membership, 1);
            for (int i = 0; i < helpers; i++) Helpers[i].Wake.Set();

            t_inTeam = true;
            try
            {
                TakePieces();
            }
            finally
            {
                t_inTeam = false;
            }

            int joined = Close();
            var spin = new SpinWait();
            while (Volatile.Read(ref _finished) < joined) spin.SpinOnce(sleep1Threshold: -1);
            _body = null;
            if (_error is { } error) throw new AggregateException(error);
            return true;
        }
        finally
        {
            Gate.Exit();
        }
    }

    /// <summary>Closes the job to helpers that have not joined yet and returns how many did.</summary>
    private static int Close()
    {
        while (true)
        {
            int seen = Volatile.Read(ref _membership);
            if (Interlocked.CompareExchange(ref _membership, seen & ~1, seen) == seen) return seen >> 1;
        }
    }

    /// <summary>Joins the open job if it still wants a helper.</summary>
    private static bool TryJoin()
    {
        while (true)
        {
            int seen = Volatile.Read(ref _membership);
            if ((seen & 1) == 0 || (seen >> 1) >= Volatile.Read(ref _allowed)) return false;
            if (Interlocked.CompareExchange(ref _membership, seen + 2, seen) == seen) return true;
        }
    }

    private static void TakePieces()
    {
        var body = _body!;
        int pieces = _pieces;
        try
        {
            for (int piece = Interlocked.Increment(ref _next) - 1; piece < pieces; piece = Interlocked.Increment(ref _next) - 1)
                body(piece);
        }
        catch (Exception error)
        {
            Interlocked.CompareExchange(ref _error, error, null);
            Volatile.Write(ref _next, pieces);
        }
    }

    private sealed class Helper
    {
        public readonly ManualResetEventSlim Wake = new(false, spinCount: 20);

        public Helper(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"SharpSeg kernel helper {index + 1}" };
            thread.Start();
        }

        private void Loop()
        {
            t_inTeam = true;
            while (true)
            {
                Wake.Wait();
                // Reset before looking at the job: a job opened after this point sets Wake again.
                Wake.Reset();
                if (!TryJoin()) continue;
                TakePieces();
                Interlocked.Increment(ref _finished);
            }
        }
    }
}
