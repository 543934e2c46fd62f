using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// One GEMM-shaped problem for <see cref="GemmDriver"/>: <see cref="Jobs"/> independent products
/// C_job[M × N] = A_job[M × K] · B_job[K × N] sharing M, N and K (one per image and group of a convolution).
/// A is packed up front (see <see cref="GemmDriver.PackAStrided"/>); B is packed one panel at a time by
/// <see cref="PackB"/>, which is where convolutions read activations (an im2col of one tile, never of the whole input).
/// </summary>
internal abstract unsafe class GemmPlan(int m, int n, int k, int jobs)
{
    public int M { get; } = m;
    public int N { get; } = n;
    public int K { get; } = k;
    public int Jobs { get; } = jobs;

    /// <summary>Add to C instead of overwriting it.</summary>
    public bool Accumulate { get; init; }

    /// <summary>The packed A of a job (layout of <see cref="GemmDriver.PackAStrided"/>).</summary>
    public abstract float* PackedA(int job);

    /// <summary>
    /// Writes rows [k0, k0 + kc) × columns [n0, n0 + nr) of B_job into <paramref name="dst"/> as kc rows of
    /// <paramref name="width"/> floats, zero beyond column nr.
    /// </summary>
    public abstract void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width);

    /// <summary>Element (0, 0) of C_job.</summary>
    public abstract float* C(int job);

    /// <summary>Row pitch of C.</summary>
    public abstract int Ldc { get; }

    /// <summary>Per-row start values of C (a bias), or null.</summary>
    public virtual float* RowInit(int job) => null;

    /// <summary>
    /// When set (length K), full-width panels are read in place instead of packed: row k of the panel at column n0 is
    /// the 64 floats at <see cref="DirectBase"/>(job, n0) + DirectRowOffsets[k]. Only for the Vector512 micro-kernel.
    /// </summary>
    public long* DirectRowOffsets { get; init; }

    /// <summary>Base address of the in-place panel at column n0 (see <see cref="DirectRowOffsets"/>).</summary>
    public virtual float* DirectBase(int job, int n0) => null;

    /// <summary>Whether <see cref="FinishTile"/> must run on every finished tile.</summary>
    public bool HasEpilogue { get; init; }

    /// <summary>
    /// Called once per tile when its last k block is done (only if <see cref="HasEpilogue"/>): rows [row0, row0 + rows) ×
    /// columns [n0, n0 + nr) of C_job at <paramref name="c"/> are final and still in L1, so an activation or a residual add
    /// costs no extra pass over memory.
    /// </summary>
    public virtual void FinishTile(int job, float* c, int row0, int rows, int n0, int nr)
    {
    }
}

/// <summary>
/// Blocked, threaded GEMM driver around <see cref="MicroKernels"/>. Work is split into (job, column panel) units,
/// cut into a few contiguous pieces per thread. Every C element is computed by one piece in one fixed order of k blocks,
/// so results do not depend on the thread count or on which thread runs a piece.
/// Loop order per group of <see cref="PanelsPerGroup"/> panels: k blocks of <see cref="KBlock"/>, blocks of
/// <see cref="SliversPerBlock"/> slivers of A (kept in L2 across the group's panels), panels, slivers (one B panel of
/// KBlock × 64 floats reused by every sliver of the block). KBlock = 256 measured a few percent faster than 128 and 192
/// on the reference machine: fewer passes over C outweigh a panel larger than L1.
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>Reduction block (KC).</summary>
    public const int KBlock = 256;

    private const int Rows = MicroKernels.Rows;

    /// <summary>Work pieces per thread: enough for load balance on a shared machine, few enough to keep panel groups whole.</summary>
    private const int PiecesPerThread = 4;

    /// <summary>Column panels sharing each block of A.</summary>
    private const int PanelsPerGroup = 4;

    /// <summary>6-row slivers per block of A (24 × 6 rows × KBlock floats = 144 KB, in L2).</summary>
    private const int SliversPerBlock = 24;

    /// <summary>Floats of packed A for an M × K operand.</summary>
    public static long PackedALength(int m, int k) => (long)RoundUpRows(m) * k;

    private static int RoundUpRows(int m) => (m + Rows - 1) / Rows * Rows;

    /// <summary>
    /// Packs A[i][p] = src[i·rowStride + p·kStride] (i &lt; m, p &lt; k): for each k block of <see cref="KBlock"/>, for each
    /// 6-row sliver, kc × 6 floats (row-fastest), rows past m zero. Slivers are spread over the engine's threads.
    /// </summary>
    public static void PackAStrided(float* src, long rowStride, long kStride, int m, int k, float* dst, bool parallel = true)
    {
        int slivers = (m + Rows - 1) / Rows;
        int pieces = parallel ? (int)Math.Min(Engine.Threads, Math.Max(1, (long)m * k / (1 << 16))) : 1;
        pieces = Math.Min(pieces, slivers);
        if (pieces <= 1)
        {
            PackASlivers(src, rowStride, kStride, m, k, dst, 0, slivers);
            return;
        }
        nint s = (nint)src, d = (nint)dst;
        Parallelism.Run(pieces, p => PackASlivers((float*)s, rowStride, kStride, m, k, (float*)d,
            slivers * p / pieces, slivers * (p + 1) / pieces));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackASlivers(float* src, long rowStride, long kStride, int m, int k, float* dst, int sliver0, int sliver1)
    {
        int mPad = RoundUpRows(m);
        for (int k0 = 0; k0 < k; k0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - k0);
            for (int s = sliver0; s < sliver1; s++)
            {
                float* d = dst + (long)k0 * mPad + (long)s * Rows * kc;
                int rows = Math.Min(Rows, m - s * Rows);
                if (rows == Rows && PackFullSliver(src + s * Rows * rowStride + k0 * kStride, rowStride, kStride, kc, m - s * Rows, d))
                    continue;
                for (int r = 0; r < Rows; r++)
                {
                    if (r >= rows)
                    {
                        for (int p = 0; p < kc; p++) d[p * Rows + r] = 0f;
                        continue;
                    }
                    float* row = src + (s * Rows + r) * rowStride + k0 * kStride;
                    if (kStride == 1)
                        for (int p = 0; p < kc; p++) d[p * Rows + r] = row[p];
                    else
                        for (int p = 0; p < kc; p++) d[p * Rows + r] = row[p * kStride];
                }
            }
        }
    }

    /// <summary>
    /// Packs one full sliver with one 8-float store per k (the two extra floats are overwritten by the next k; the last k
    /// is written exactly so nothing spills into a sliver another thread owns). False when the layout has no fast path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool PackFullSliver(float* src, long rowStride, long kStride, int kc, int rowsLeft, float* d)
    {
        if (rowStride == 1 && rowsLeft >= 8)
        {
            // Transposed A: the 6 values of one k are adjacent (and 2 more readable rows follow).
            for (int p = 0; p < kc - 1; p++) Vector256.Load(src + p * kStride).Store(d + p * Rows);
        }
        else if (kStride == 1)
        {
            float* r0 = src, r1 = src + rowStride, r2 = src + 2 * rowStride;
            float* r3 = src + 3 * rowStride, r4 = src + 4 * rowStride, r5 = src + 5 * rowStride;
            for (int p = 0; p < kc - 1; p++)
                Vector256.Create(r0[p], r1[p], r2[p], r3[p], r4[p], r5[p], 0f, 0f).Store(d + p * Rows);
        }
        else
        {
            return false;
        }
        int last = kc - 1;
        for (int r = 0; r < Rows; r++) d[last * Rows + r] = src[r * rowStride + last * kStride];
        return true;
    }

    /// <summary>
    /// Packs A[ci][(co, t)] = w[(co·cin + ci)·taps + t] (a convolution weight [cout, cin, taps] viewed as its transpose) in
    /// the layout of <see cref="PackAStrided"/>: for one sliver and one co, the 6 rows × taps block is contiguous in w.
    /// </summary>
    public static void PackATransposedWeights(float* w, int cout, int cin, int taps, float* dst)
    {
        int k = cout * taps, slivers = (cin + Rows - 1) / Rows;
        nint src = (nint)w, d = (nint)dst;
        int pieces = Math.Clamp((int)((long)cin * k / (1 << 16)), 1, Math.Min(Engine.Threads, slivers));
        Parallelism.Run(pieces, p => PackTransposedSlivers((float*)src, cin, taps, k, (float*)d, slivers * p / pieces, slivers * (p + 1) / pieces));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackTransposedSlivers(float* w, int cin, int taps, int k, float* dst, int sliver0, int sliver1)
    {
        int mPad = RoundUpRows(cin);
        for (int k0 = 0; k0 < k; k0 += KBlock)
        {
            int kc = Math.Min(KBlock, k - k0);
            for (int s = sliver0; s < sliver1; s++)
            {
                float* d = dst + (long)k0 * mPad + (long)s * Rows * kc;
                int rows = Math.Min(Rows, cin - s * Rows);
                int co = k0 / taps, t = k0 % taps;
                for (int p = 0; p < kc; p++)
                {
                    float* column = w + ((long)co * cin + s * Rows) * taps + t;
                    if (rows == Rows && p < kc - 1)
                    {
                        // One 8-float store per k; its two extra floats are overwritten by the next k.
                        Vector256.Create(column[0], column[taps], column[2 * taps], column[3 * taps], column[4 * taps],
                            column[5 * taps], 0f, 0f).Store(d + p * Rows);
                    }
                    else
                    {
                        for (int r = 0; r < Rows; r++) d[p * Rows + r] = r < rows ? column[r * taps] : 0f;
                    }
                    if (++t == taps)
                    {
                        t = 0;
                        co++;
                    }
                }
            }
        }
    }

    /// <summary>Runs <paramref name="plan"/> with the micro-kernel of <paramref name="level"/>.</summary>
    public static void Run(SimdLevel level, GemmPlan plan)
    {
        if (plan.M == 0 || plan.N == 0 || plan.Jobs == 0) return;
        int width = SimdLevels.PanelWidth(level);
        int panels = (plan.N + width - 1) / width;
        long panelUnits = (long)plan.Jobs * panels;
        double flopsPerPanel = 2.0 * plan.M * plan.K * width;
        int threads = (int)Math.Clamp((long)(panelUnits * flopsPerPanel / 2e6) + 1, 1, Engine.Threads);

        // Few panels (small images: 7×7 or 14×14 pixels at batch 1) cannot keep every thread busy, so the rows of A are cut
        // into blocks as well. Each tile is still computed whole by one piece in the same k order, so the split changes
        // which thread computes a tile, never its value.
        int slivers = (plan.M + Rows - 1) / Rows;
        int rowBlocks = threads == 1 || panelUnits >= (long)threads * PiecesPerThread ? 1
            : (int)Math.Min(slivers, ((long)threads * PiecesPerThread + panelUnits - 1) / panelUnits);
        var split = new UnitSplit(panels, rowBlocks, slivers);
        long units = panelUnits * rowBlocks;
        threads = (int)Math.Min(threads, units);
        if (threads == 1)
        {
            RunUnits(level, plan, split, 0, units);
            return;
        }

        // Up to PiecesPerThread pieces of at least one panel group per thread, taken by whichever thread is free: a core
        // slowed by another process does less of the work. Results stay bit-identical because every C element is
        // computed whole by one piece, in the same order whichever thread runs it.
        int pieces = Pieces(units, threads);
        Parallelism.Run(pieces, p => RunUnits(level, plan, split, units * p / pieces, units * (p + 1) / pieces));
    }

    /// <summary>
    /// How many equal pieces <paramref name="units"/> are cut into: a multiple of <paramref name="threads"/>, so that on an
    /// otherwise idle machine every thread gets the same share. 14 panels in 3 pieces (ResNet-50's 3×3 conv at 28×28)
    /// left one of two threads idle for a third of the conv; in 2 pieces both finish together.
    /// </summary>
    internal static int Pieces(long units, int threads)
    {
        long wanted = Math.Clamp(units / PanelsPerGroup, threads, (long)threads * PiecesPerThread);
        return (int)Math.Min(units, Math.Max(threads, wanted / threads * threads));
    }

    /// <summary>Runs all of <paramref name="plan"/> on the calling thread (inside a caller's own split of the work).</summary>
    public static void RunOnThisThread(SimdLevel level, GemmPlan plan)
    {
        if (plan.M == 0 || plan.N == 0 || plan.Jobs == 0) return;
        int width = SimdLevels.PanelWidth(level);
        int panels = (plan.N + width - 1) / width;
        RunUnits(level, plan, new UnitSplit(panels, 1, (plan.M + Rows - 1) / Rows), 0, (long)plan.Jobs * panels);
    }

    /// <summary>Work units in order job, row block (a contiguous range of 6-row slivers), column panel.</summary>
    private readonly record struct UnitSplit(int Panels, int RowBlocks, int Slivers)
    {
        public int FirstSliver(int rowBlock) => (int)((long)Slivers * rowBlock / RowBlocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunUnits(SimdLevel level, GemmPlan plan, UnitSplit split, long unit0, long unit1)
    {
        int width = SimdLevels.PanelWidth(level);
        int m = plan.M, n = plan.N, k = plan.K, ldc = plan.Ldc;
        int slivers = (m + Rows - 1) / Rows, mPad = slivers * Rows;
        int panels = split.Panels;
        bool epilogue = plan.HasEpilogue;
        long panelFloats = (long)KBlock * width;
        float* panelBuffers = Scratch.Get(Scratch.Slot.PanelB, PanelsPerGroup * panelFloats);
        float* tile = Scratch.Get(Scratch.Slot.Tile, Rows * width);
        float* paddedInit = stackalloc float[Rows];
        float** bases = stackalloc float*[PanelsPerGroup];
        int* columns = stackalloc int[PanelsPerGroup];

        // Units go in groups of up to PanelsPerGroup panels of one job: each block of A (SliversPerBlock slivers × one
        // k block) is used for every panel of the group while it sits in L2, and each packed panel stays in L1 for a block.
        for (long unit = unit0; unit < unit1;)
        {
            long jobRowBlock = unit / panels;
            int job = (int)(jobRowBlock / split.RowBlocks), rowBlock = (int)(jobRowBlock % split.RowBlocks);
            int firstPanel = (int)(unit % panels);
            int count = (int)Math.Min(Math.Min(PanelsPerGroup, panels - firstPanel), unit1 - unit);
            int sliver0 = split.FirstSliver(rowBlock), sliver1 = split.FirstSliver(rowBlock + 1);
            unit += count;
            float* aJob = plan.PackedA(job);
            float* cJob = plan.C(job);
            float* rowInit = plan.RowInit(job);
            for (int p = 0; p < count; p++)
            {
                int n0 = (firstPanel + p) * width;
                columns[p] = n0;
                bool direct = plan.DirectRowOffsets != null && level == SimdLevel.Vector512 && n - n0 >= width;
                bases[p] = direct ? plan.DirectBase(job, n0) : null;
            }
            if (k == 0)
            {
                int row0 = sliver0 * Rows, rows = Math.Min(m, sliver1 * Rows) - row0;
                for (int p = 0; p < count; p++)
                {
                    int nr = Math.Min(width, n - columns[p]);
                    if (!plan.Accumulate) ClearColumns(cJob, ldc, row0, rows, columns[p], nr, rowInit);
                    if (epilogue) plan.FinishTile(job, cJob + (long)row0 * ldc + columns[p], row0, rows, columns[p], nr);
                }
                continue;
            }

            for (int k0 = 0; k0 < k; k0 += KBlock)
            {
                int kc = Math.Min(KBlock, k - k0);
                long* offsets = plan.DirectRowOffsets + k0;
                for (int p = 0; p < count; p++)
                    if (bases[p] == null)
                        plan.PackB(job, k0, kc, columns[p], Math.Min(width, n - columns[p]), panelBuffers + p * panelFloats, width);
                TileStart start = k0 > 0 || plan.Accumulate ? TileStart.Accumulate
                    : rowInit != null ? TileStart.RowValues : TileStart.Zero;
                float* aBlock = aJob + (long)k0 * mPad;
                bool lastBlock = epilogue && k0 + kc == k;
                for (int s0 = sliver0; s0 < sliver1; s0 += SliversPerBlock)
                {
                    int s1 = Math.Min(sliver1, s0 + SliversPerBlock);
                    for (int p = 0; p < count; p++)
                    {
                        int n0 = columns[p], nr = Math.Min(width, n - n0);
                        float* panel = panelBuffers + p * panelFloats;
                        float* bBase = bases[p];
                        bool direct = bBase != null;
                        for (int s = s0; s < s1; s++)
                        {
                            int i0 = s * Rows;
                            int mr = Math.Min(Rows, m - i0);
                            float* ap = aBlock + (long)i0 * kc;
                            float* cp = cJob + (long)i0 * ldc + n0;
                            if (mr == Rows && nr == width)
                            {
                                Tile(level, direct, kc, ap, panel, bBase, offsets, cp, ldc, start, rowInit + i0);
                                if (lastBlock) plan.FinishTile(job, cp, i0, mr, n0, nr);
                                continue;
                            }

                            // Edge tile: compute the full tile into scratch, copy the valid part.
                            if (start == TileStart.Accumulate)
                                for (int r = 0; r < mr; r++)
                                    for (int j = 0; j < nr; j++) tile[r * width + j] = cp[(long)r * ldc + j];
                            if (start == TileStart.RowValues)
                                for (int r = 0; r < Rows; r++) paddedInit[r] = r < mr ? rowInit[i0 + r] : 0f;
                            // A narrow last panel (4 of 196 pixels at 14×14) runs a narrower kernel: same FMAs per column.
                            if (level == SimdLevel.Vector512 && !direct && nr <= 16)
                                MicroKernels.Tile6x16Avx512(kc, ap, panel, tile, width, start, paddedInit);
                            else if (level == SimdLevel.Vector512 && !direct && nr <= 32)
                                MicroKernels.Tile6x32Avx512(kc, ap, panel, tile, width, start, paddedInit);
                            else
                                Tile(level, direct, kc, ap, panel, bBase, offsets, tile, width, start, paddedInit);
                            for (int r = 0; r < mr; r++)
                                for (int j = 0; j < nr; j++) cp[(long)r * ldc + j] = tile[r * width + j];
                            if (lastBlock) plan.FinishTile(job, cp, i0, mr, n0, nr);
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ClearColumns(float* c, int ldc, int row0, int rows, int n0, int nr, float* rowInit)
    {
        for (int i = row0; i < row0 + rows; i++)
            for (int j = 0; j < nr; j++) c[(long)i * ldc + n0 + j] = rowInit == null ? 0f : rowInit[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(SimdLevel level, bool direct, int kc, float* a, float* b, float* bBase, long* bOffsets,
        float* c, int ldc, TileStart start, float* rowInit)
    {
        if (direct)
        {
            MicroKernels.Tile6x64Avx512Rows(kc, a, bBase, bOffsets, c, ldc, start, rowInit);
            return;
        }
        switch (level)
        {
            case SimdLevel.Vector512: MicroKernels.Tile6x64Avx512(kc, a, b, c, ldc, start, rowInit); break;
            case SimdLevel.Vector256: MicroKernels.Tile6x16Avx2(kc, a, b, c, ldc, start, rowInit); break;
            default: MicroKernels.Tile6x16Scalar(kc, a, b, c, ldc, start, rowInit); break;
        }
    }
}
