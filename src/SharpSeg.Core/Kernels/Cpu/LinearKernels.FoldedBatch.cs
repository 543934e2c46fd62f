using System.Runtime.CompilerServices;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// Convolution for batches of small images (the 4×4 and 8×8 stages of a 64² training batch), with the batch folded into
/// the GEMM. Run image by image, such a GEMM is starved: the weight gradient reduces over only 16 or 64 pixels per image
/// but reads and writes the whole dW (9 MB for a 512→512 3×3 conv) once per image, and the forward and input gradient
/// stream the whole packed weight once per image for a single 16-column panel. Folded, the weight gradient reduces over
/// (image, pixel) in one pass over dW, and the forward and input gradient share each block of A over the columns of
/// every image, read from a column matrix built once. Each result element is the same sequence of FMAs as on the
/// per-image path (the k order of a weight-gradient tile is (image, pixel) either way, and a tile computes the same
/// value in any column panel), so the two paths agree bit for bit.
/// </summary>
internal sealed unsafe partial class LinearKernels
{
    /// <summary>
    /// The weight gradient folds images with fewer output pixels than one k block: below it each image's reduction is
    /// shorter than a block and dW is read and written once per image.
    /// </summary>
    private const int FoldedReductionPixels = GemmDriver.KBlock;

    /// <summary>
    /// The forward and input gradient fold images with fewer pixels than one AVX-512 column panel: at 8×8 (one full panel
    /// per image) the per-image GEMM measured faster than building the batch's column matrix (0.8 vs 1.05 ms, 128
    /// channels, 8 images); at 4×4 folding measured 1.4–1.6× faster.
    /// </summary>
    private const int FoldedColumnPixels = 64;

    /// <summary>
    /// Whether convolutions fold a batch of small images into one GEMM (default). Off runs image by image with the same
    /// values; tests compare the two.
    /// </summary>
    public bool FoldsSmallImages { get; init; } = true;

    private bool FoldsBatch(in Conv2dGeometry g, int pixelsPerImage, int limit) =>
        FoldsSmallImages && g.Batch > 1 && pixelsPerImage < limit;

    /// <summary>
    /// dW_g = Σ over (image, pixel) of dY_g · im2col(X_g)ᵀ as one GEMM with K = batch × output pixels; false (nothing
    /// done) when the column matrix would pass <see cref="FoldedColumnsLimit"/>.
    /// </summary>
    private bool TryWeightGradientFoldedBatch(in Conv2dGeometry g, float* x, float* dy, float* dw)
    {
        int coutG = g.OutChannelsPerGroup, pixels = g.OutH * g.OutW, columnsPerGroup = g.InChannelsPerGroup * g.KernelH * g.KernelW;
        int k = checked(g.Batch * pixels);
        if ((long)g.Groups * columnsPerGroup * k > FoldedColumnsLimit) return false;
        float* im2col = ForwardColumns(g, x);
        long groupA = GemmDriver.PackedALength(coutG, k);
        float* packed = Scratch.Get(Scratch.Slot.PackedA, groupA * g.Groups);
        for (int gi = 0; gi < g.Groups; gi++)
            PackImageRows(dy + (long)gi * coutG * pixels, (long)g.OutChannels * pixels, coutG, pixels, g.Batch, packed + gi * groupA);
        GemmDriver.Run(Level, new ConvWeightFoldedPlan(coutG, columnsPerGroup, k, g.Groups, packed, groupA, im2col, dw, Level));
        return true;
    }

    /// <summary>
    /// dX_g = W_gᵀ · col(dY_g) as one GEMM whose columns are (image, input pixel); false (nothing done) when the column
    /// matrix would pass <see cref="FoldedColumnsLimit"/>.
    /// </summary>
    private bool TryInputGradientFoldedBatch(in Conv2dGeometry g, float* dy, float* packedWeights, long groupA, float* dx)
    {
        int m = g.InChannelsPerGroup, pixels = g.InH * g.InW, n = g.Batch * pixels, k = g.OutChannelsPerGroup * g.KernelH * g.KernelW;
        if ((long)g.Groups * k * n > FoldedColumnsLimit) return false;

        // Column (image, input pixel) of row (co, ky, kx) reads dy at ((iy + padH − ky·dilH) / strideH, …) where that
        // divides exactly and lands inside dy: the transposed convolution.
        var geometry = g;
        int[] sources = TapSources(g, pixels, (ky, kx, p) =>
        {
            int oyScaled = p / geometry.InW + geometry.PadH - ky * geometry.DilationH;
            int oxScaled = p % geometry.InW + geometry.PadW - kx * geometry.DilationW;
            int oy = Math.DivRem(oyScaled, geometry.StrideH, out int restY), ox = Math.DivRem(oxScaled, geometry.StrideW, out int restX);
            bool inside = oyScaled >= 0 && oxScaled >= 0 && restY == 0 && restX == 0 && oy < geometry.OutH && ox < geometry.OutW;
            return inside ? oy * geometry.OutW + ox : -1;
        });
        float* columns = BuildFoldedColumns(g.Groups, g.OutChannelsPerGroup, g.KernelH * g.KernelW, g.Batch, pixels, dy,
            (long)g.OutChannels * g.OutH * g.OutW, (long)g.OutH * g.OutW, sources);
        float* result = Scratch.Get(Scratch.Slot.FoldedOutput, g.InputLength);
        GemmDriver.Run(Level, new FoldedColumnsPlan(m, n, k, g.Groups, packedWeights, groupA, columns, result, null));
        UnfoldImages(result, g.Batch, g.InChannels, pixels, dx);
        return true;
    }

    /// <summary>
    /// y = act(W_g · im2col(X_g) + bias + residual) as one GEMM whose columns are (image, output pixel); false (nothing
    /// done) when the column matrix would pass <see cref="FoldedColumnsLimit"/>. The epilogue runs after the scatter back
    /// to NCHW: it is elementwise, so the values are those of the per-image path's tile epilogue.
    /// </summary>
    private bool TryForwardFoldedBatch(in Conv2dGeometry g, float* x, float* packedWeights, long groupA, float* bias,
        float* residual, FusedActivation activation, float* y)
    {
        int m = g.OutChannelsPerGroup, pixels = g.OutH * g.OutW, n = g.Batch * pixels, k = g.InChannelsPerGroup * g.KernelH * g.KernelW;
        if ((long)g.Groups * k * n > FoldedColumnsLimit) return false;
        float* columns = ForwardColumns(g, x);
        float* result = Scratch.Get(Scratch.Slot.FoldedOutput, g.OutputLength);
        GemmDriver.Run(Level, new FoldedColumnsPlan(m, n, k, g.Groups, packedWeights, groupA, columns, result, bias));
        UnfoldImages(result, g.Batch, g.OutChannels, pixels, y);
        Epilogue.Apply(y, residual, pixels, g.Batch * g.OutChannels, pixels, activation);
        return true;
    }

    /// <summary>
    /// Largest column matrix (floats, all groups) built up front: 32 MB, kept as per-thread scratch. Small images stay far
    /// below it (a 512-channel 3×3 conv at 4×4 × 8 images needs 2.4 MB).
    /// </summary>
    private const long FoldedColumnsLimit = 1L << 23;

    /// <summary>im2col of the whole batch: [group][(ci, ky, kx)][image · output pixels + pixel].</summary>
    private static float* ForwardColumns(in Conv2dGeometry g, float* x)
    {
        int pixels = g.OutH * g.OutW;
        var geometry = g;
        int[] sources = TapSources(g, pixels, (ky, kx, p) =>
        {
            int iy = p / geometry.OutW * geometry.StrideH + ky * geometry.DilationH - geometry.PadH;
            int ix = p % geometry.OutW * geometry.StrideW + kx * geometry.DilationW - geometry.PadW;
            return (uint)iy < (uint)geometry.InH && (uint)ix < (uint)geometry.InW ? iy * geometry.InW + ix : -1;
        });
        return BuildFoldedColumns(g.Groups, g.InChannelsPerGroup, g.KernelH * g.KernelW, g.Batch, pixels, x,
            (long)g.InChannels * g.InH * g.InW, (long)g.InH * g.InW, sources);
    }

    /// <summary>
    /// For each tap (ky, kx) and column pixel p, the offset of the source element in its plane, or −1 where the tap
    /// reads zero (padding, or a stride gap of the transposed convolution). Shared by all channels and images.
    /// </summary>
    private static int[] TapSources(in Conv2dGeometry g, int pixels, Func<int, int, int, int> source)
    {
        var sources = new int[g.KernelH * g.KernelW * pixels];
        for (int ky = 0; ky < g.KernelH; ky++)
            for (int kx = 0; kx < g.KernelW; kx++)
                for (int p = 0; p < pixels; p++) sources[(ky * g.KernelW + kx) * pixels + p] = source(ky, kx, p);
        return sources;
    }

    /// <summary>
    /// The column matrices [group][(channel, tap)][image · pixels + pixel] of every group, filled once in parallel (each
    /// B panel is then a plain copy, however many row blocks of A the GEMM driver splits the work into). Row (c, t) of
    /// image b is plane c of the group in image b read through <paramref name="sources"/>' row t.
    /// </summary>
    private static float* BuildFoldedColumns(int groups, int channelsPerGroup, int taps, int images, int pixels, float* source,
        long imageStride, long plane, int[] sources)
    {
        int n = images * pixels;
        long rows = (long)groups * channelsPerGroup * taps;
        float* columns = Scratch.Get(Scratch.Slot.FoldedColumns, rows * n);
        nint sourcePointer = (nint)source, target = (nint)columns;
        Parallelism.ForRange(rows, Math.Max(1, (1 << 14) / n), (r0, r1) =>
        {
            fixed (int* table = sources)
            {
                for (long r = r0; r < r1; r++)
                {
                    long channel = r / taps;
                    int* tap = table + r % taps * pixels;
                    float* row = (float*)target + r * n;
                    for (int b = 0; b < images; b++)
                    {
                        float* planeStart = (float*)sourcePointer + b * imageStride + channel * plane;
                        float* d = row + (long)b * pixels;
                        for (int p = 0; p < pixels; p++)
                        {
                            int offset = tap[p];
                            d[p] = offset < 0 ? 0f : planeStart[offset];
                        }
                    }
                }
            }
        });
        return columns;
    }

    /// <summary>[channel][image · pixels + pixel] (channels of all groups in order) to NCHW [image][channel][pixel].</summary>
    private static void UnfoldImages(float* folded, int images, int channels, int pixels, float* target)
    {
        nint source = (nint)folded, destination = (nint)target;
        Parallelism.ForRange(channels, Math.Max(1, (1 << 14) / ((long)images * pixels)), (c0, c1) =>
        {
            for (long c = c0; c < c1; c++)
                for (int b = 0; b < images; b++)
                    Panels.Copy((float*)source + (c * images + b) * pixels, (float*)destination + ((long)b * channels + c) * pixels, pixels);
        });
    }

    /// <summary>
    /// Packs A[i][b·pixels + p] = src[b·imageStride + i·pixels + p] (i &lt; rows) in the layout of
    /// <see cref="GemmDriver.PackAStrided"/>: per k block, per 6-row sliver, kc × 6 floats, rows past the end zero.
    /// </summary>
    private static void PackImageRows(float* src, long imageStride, int rows, int pixels, int batch, float* dst)
    {
        const int sliverRows = MicroKernels.Rows;
        int k = batch * pixels, slivers = (rows + sliverRows - 1) / sliverRows, rowsPadded = slivers * sliverRows;
        nint s = (nint)src, d = (nint)dst;
        Parallelism.ForRange(slivers, Math.Max(1, (1 << 16) / ((long)sliverRows * k)), (s0, s1) =>
        {
            for (int k0 = 0; k0 < k; k0 += GemmDriver.KBlock)
            {
                int kc = Math.Min(GemmDriver.KBlock, k - k0);
                for (long sliver = s0; sliver < s1; sliver++)
                {
                    float* block = (float*)d + (long)k0 * rowsPadded + sliver * sliverRows * kc;
                    int valid = (int)Math.Min(sliverRows, rows - sliver * sliverRows);
                    for (int r = 0; r < sliverRows; r++)
                    {
                        if (r >= valid)
                        {
                            for (int p = 0; p < kc; p++) block[p * sliverRows + r] = 0f;
                            continue;
                        }
                        float* row = (float*)s + (sliver * sliverRows + r) * pixels;
                        int image = k0 / pixels, pixel = k0 % pixels;
                        for (int p = 0; p < kc; p++)
                        {
                            block[p * sliverRows + r] = row[image * imageStride + pixel];
                            if (++pixel == pixels)
                            {
                                pixel = 0;
                                image++;
                            }
                        }
                    }
                }
            }
        });
    }

    /// <summary>
    /// Weight gradient, one job per group, reducing over K = (image, output pixel): B_job is the transpose of the group's
    /// prebuilt im2col matrix [N = (ci, ky, kx)][K].
    /// </summary>
    private sealed class ConvWeightFoldedPlan(int m, int n, int k, int jobs, float* packedA, long groupA, float* im2col, float* dw, SimdLevel level)
        : GemmPlan(m, n, k, jobs)
    {
        public override float* PackedA(int job) => packedA + job * groupA;

        public override float* C(int job) => dw + (long)job * M * N;

        public override int Ldc => N;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            Panels.Transpose(level, im2col + ((long)job * N + n0) * K + k0, K, nr, kc, dst, width);
            ZeroTail(dst, kc, nr, width);
        }
    }

    /// <summary>C_job = A_job · B_job with B_job read from a prebuilt column matrix (see <see cref="BuildFoldedColumns"/>).</summary>
    private sealed class FoldedColumnsPlan(int m, int n, int k, int jobs, float* packedA, long groupA, float* columns, float* c, float* bias)
        : GemmPlan(m, n, k, jobs)
    {
        public override float* PackedA(int job) => packedA + job * groupA;

        public override float* C(int job) => c + (long)job * M * N;

        public override int Ldc => N;

        public override float* RowInit(int job) => bias == null ? null : bias + (long)job * M;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            float* source = columns + ((long)job * K + k0) * N + n0;
            for (int r = 0; r < kc; r++) Panels.Copy(source + (long)r * N, dst + (long)r * width, nr);
            ZeroTail(dst, kc, nr, width);
        }
    }
}
