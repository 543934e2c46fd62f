using System.Runtime.CompilerServices;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// Forward convolution of small images with the GEMM's operands swapped: Yᵀ = im2col(X)ᵀ · Wᵀ, output pixels as the 6-row
/// slivers of A and output channels as the 64-wide column panels of B. At 7×7 (ResNet-50's last stage) the usual
/// orientation fills one 64-column panel with 49 pixels (77 % of the FMAs useful); as rows the 49 pixels take nine
/// 6-row slivers (91 %), and the weight, packed once into 64-channel panels by <see cref="PackedConvWeight"/>, is read in
/// place by the micro-kernel. oneDNN makes the same choice for small spatial sizes (its blocked layouts put channels in
/// the vector lanes). Each output element is the same FMA chain over k as the usual path (a·b = b·a exactly, and the
/// bias is C's start value in both), so the two agree bit for bit.
/// </summary>
internal sealed unsafe partial class LinearKernels
{
    private const int PixelRowsPanel = 64;

    /// <summary>
    /// Whether small images run as pixel rows (default). Off keeps the usual orientation with the same values; tests
    /// compare the two.
    /// </summary>
    public bool RunsSmallImagesAsPixelRows { get; init; } = true;

    /// <summary>Most output pixels per image that run as pixel rows (16×16).</summary>
    private const int PixelRowsMaxPixels = 256;

    /// <summary>Fewest output channels that run as pixel rows.</summary>
    private const int PixelRowsMinChannels = 256;

    /// <summary>
    /// Whether the forward of <paramref name="g"/> runs as pixel rows: AVX-512, one group, whole 64-channel panels, at least
    /// 256 output channels and at most 16×16 output pixels, and either
    /// <list type="bullet">
    /// <item>a 1×1 stride-1 convolution (no column matrix to build) whose micro-kernel FMAs drop by at least a tenth
    /// (output pixels padded to slivers of 6, against output channels padded to 6 times pixels padded to panels): 7×7,
    /// not 14×14; or</item>
    /// <item>a convolution whose usual path gathers its B panels (stride 2, or a dilated 3×3 at 14×14 whose padded pitch
    /// wastes too much): there every row block of A re-gathers the same panel (ResNet-50's 3×3 stride-2 512→512 at 14×14 ran at
    /// 40–56 GFLOP/s, against 120–150 as pixel rows), while pixel rows build the column matrix once.</item>
    /// </list>
    /// A stride-1 convolution read in place (over the padded pitch) keeps the usual path: at 7×7, 512→512 3×3 measured
    /// 0.9–1.6 ms usual against 1.6–1.9 ms as pixel rows, whose column matrix costs more than the FMAs saved. Since the
    /// pitched path's last panel may be 16 or 32 wide, the undilated 3×3 at 14×14 (224 columns for 196 pixels) reads in
    /// place too: on one thread it measured level with pixel rows (1.36–1.53 against 1.45–1.47 ms, 256 channels, a
    /// loaded machine) with no column matrix, packing or output transpose. With fewer
    /// channels the column matrix and the output transpose (about 2 / OutChannels extra floats moved per FMA) cost what
    /// is saved (128 channels at 28×28 measured slower).
    /// </summary>
    public bool RunsAsPixelRows(in Conv2dGeometry g)
    {
        if (!RunsSmallImagesAsPixelRows || Level != SimdLevel.Vector512 || g.Groups != 1 || g.OutChannels % PixelRowsPanel != 0
            || g.OutChannels < PixelRowsMinChannels || g.IsDepthwise || g.OutputLength == 0)
            return false;
        long pixels = (long)g.OutH * g.OutW;
        if (pixels > PixelRowsMaxPixels) return false;
        if (!IsPointwise(g) && (long)g.InChannels * g.KernelH * g.KernelW * pixels > FoldedColumnsLimit) return false;
        if (!IsPointwise(g)) return !ReadsInPlace(g.StrideW, g.OutW) && !ReadsOverPaddedPitch(g);
        long usual = RoundUpSlivers(g.OutChannels) * PackedColumns(pixels);
        long swapped = RoundUpSlivers(pixels) * g.OutChannels;
        return swapped * 10 <= usual * 9;
    }

    private static long RoundUpSlivers(long rows) => (rows + MicroKernels.Rows - 1) / MicroKernels.Rows * MicroKernels.Rows;

    /// <summary>Columns the packed path computes: whole panels, the last one 16, 32 or 64 wide (see <see cref="GemmDriver"/>).</summary>
    private static long PackedColumns(long pixels)
    {
        long tail = pixels % PixelRowsPanel;
        return pixels - tail + (tail == 0 ? 0 : tail <= 16 ? 16 : tail <= 32 ? 32 : PixelRowsPanel);
    }

    /// <summary>
    /// y = act(conv(x, w) + bias + residual) image by image as pixel rows, the weight read from
    /// <paramref name="channelPanels"/> (<see cref="PackedConvWeight.ChannelPanels"/>).
    /// </summary>
    private void ForwardAsPixelRows(in Conv2dGeometry g, float* x, float* channelPanels, float* bias, float* residual,
        FusedActivation activation, float* y)
    {
        int pixels = g.OutH * g.OutW, cout = g.OutChannels, k = g.InChannels * g.KernelH * g.KernelW;
        long* offsets = (long*)Scratch.Get(Scratch.Slot.Offsets, 2L * k);
        for (int row = 0; row < k; row++) offsets[row] = (long)row * PixelRowsPanel;
        float* packed = Scratch.Get(Scratch.Slot.PackedA, GemmDriver.PackedALength(pixels, k));
        float* transposed = Scratch.Get(Scratch.Slot.PixelRowsOutput, (long)pixels * cout);
        var image = g with { Batch = 1 };
        long imageInput = g.InputLength / g.Batch, imageOutput = g.OutputLength / g.Batch;
        for (int b = 0; b < g.Batch; b++)
        {
            // A[p][(ci, ky, kx)]: the im2col columns of the image read as rows (for a 1×1 stride-1 conv, x itself).
            float* columns = IsPointwise(g) ? x + b * imageInput : ForwardColumns(image, x + b * imageInput);
            GemmDriver.PackAStrided(columns, 1, pixels, pixels, k, packed);
            if (bias != null)
                for (int p = 0; p < pixels; p++) Buffer.MemoryCopy(bias, transposed + (long)p * cout, cout * 4L, cout * 4L);
            GemmDriver.Run(Level, new PixelRowsPlan(pixels, cout, k, packed, channelPanels, transposed)
            {
                Accumulate = bias != null,
                DirectRowOffsets = offsets,
            });

            nint source = (nint)transposed, target = (nint)(y + b * imageOutput);
            nint residualImage = residual == null ? 0 : (nint)(residual + b * imageOutput);
            var level = Level;
            Parallelism.ForRange(cout, 16, (c0, c1) =>
            {
                float* plane = (float*)target + c0 * pixels;
                Panels.Transpose(level, (float*)source + c0, cout, pixels, (int)(c1 - c0), plane, pixels);
                Epilogue.Apply(plane, residualImage == 0 ? null : (float*)residualImage + c0 * pixels, pixels, (int)(c1 - c0), pixels, activation);
            });
        }
    }

    /// <summary>Yᵀ[pixel][channel] = A · B with A the packed pixel rows and B the weight's 64-channel panels, read in place.</summary>
    private sealed class PixelRowsPlan(int pixels, int channels, int k, float* packedA, float* channelPanels, float* c)
        : GemmPlan(pixels, channels, k, 1)
    {
        public override float* PackedA(int job) => packedA;

        public override float* C(int job) => c;

        public override int Ldc => N;

        public override float* DirectBase(int job, int n0) => channelPanels + (long)(n0 / PixelRowsPanel) * K * PixelRowsPanel;

        /// <summary>Only for a caller without the in-place kernel: the same floats, copied.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            float* panel = DirectBase(job, n0) + (long)k0 * PixelRowsPanel;
            for (int r = 0; r < kc; r++)
                for (int j = 0; j < width; j++) dst[(long)r * width + j] = j < nr ? panel[(long)r * PixelRowsPanel + j] : 0f;
        }
    }
}
