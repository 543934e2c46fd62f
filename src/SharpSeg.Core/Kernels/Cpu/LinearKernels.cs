using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// GEMM and convolution at one fixed <see cref="SimdLevel"/>: the implementation behind <see cref="CpuKernels"/>'s
/// linear-algebra methods. Tests build one per level to check the fallbacks on an AVX-512 machine without any global
/// switch. Dense and grouped convolutions run as implicit GEMMs through <see cref="GemmDriver"/>; depthwise ones
/// through <see cref="DepthwiseConv"/>.
/// </summary>
internal sealed unsafe partial class LinearKernels
{
    /// <summary>The instance at the best level of this CPU.</summary>
    public static readonly LinearKernels Best = new(SimdLevels.Best);

    /// <summary>Creates kernels that use <paramref name="level"/> (which this CPU must support).</summary>
    public LinearKernels(SimdLevel level)
    {
        if (!SimdLevels.IsSupported(level))
            throw new PlatformNotSupportedException($"SIMD level {level} is not supported by this CPU (best: {SimdLevels.Best}).");
        Level = level;
    }

    /// <summary>The instruction set used.</summary>
    public SimdLevel Level { get; }

    /// <summary>See <see cref="IKernels.Gemm"/>.</summary>
    public void Gemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
        {
            float* packed = Scratch.Get(Scratch.Slot.PackedA, GemmDriver.PackedALength(m, k));
            GemmDriver.PackAStrided(pa, transA ? 1 : lda, transA ? lda : 1, m, k, packed);
            GemmDriver.Run(Level, new MatrixPlan(m, n, k, packed, pb, ldb, transB, pc, ldc, Level) { Accumulate = accumulate });
        }
    }

    /// <summary>See <see cref="IKernels.Conv2dForward"/>.</summary>
    public void Conv2dForward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
        => Conv2dForward(g, x, w, bias, default, FusedActivation.None, y, null);

    /// <summary>
    /// y = act(conv(x, w) + bias + residual) (see <see cref="IKernels.Conv2dForwardFused"/>). With <paramref name="packedWeight"/>
    /// the weight is read from that packing (done by the caller, who knows when <paramref name="w"/> changes) instead of
    /// being packed into scratch.
    /// </summary>
    public void Conv2dForward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, FusedActivation activation, Span<float> y, PackedConvWeight? packedWeight)
    {
        if (g.OutputLength == 0) return;
        bool epilogue = !residual.IsEmpty || activation != FusedActivation.None;
        if (g.IsDepthwise)
        {
            DepthwiseConv.Forward(Level, g, x, w, bias, residual, activation, y);
            return;
        }
        int coutG = g.OutChannelsPerGroup, k = g.InChannelsPerGroup * g.KernelH * g.KernelW;
        long groupA = GemmDriver.PackedALength(coutG, k);
        fixed (float* px = x, pw = w, pbias = bias, py = y, pr = residual)
        {
            float* packed;
            if (packedWeight is not null && packedWeight.HasChannelPanels(g))
            {
                if (RunsAsPixelRows(g))
                {
                    ForwardAsPixelRows(g, px, packedWeight.ChannelPanels, bias.IsEmpty ? null : pbias, residual.IsEmpty ? null : pr, activation, py);
                    return;
                }
                packed = Scratch.Get(Scratch.Slot.PackedA, groupA);
                packedWeight.UnpackChannelPanelsToA(packed);
            }
            else if (packedWeight is not null && packedWeight.Fits(g))
            {
                packed = packedWeight.Aligned;
            }
            else
            {
                packed = Scratch.Get(Scratch.Slot.PackedA, groupA * g.Groups);
                for (int gi = 0; gi < g.Groups; gi++)
                    GemmDriver.PackAStrided(pw + (long)gi * coutG * k, k, 1, coutG, k, packed + gi * groupA);
            }
            float* biasPointer = bias.IsEmpty ? null : pbias;
            float* residualPointer = residual.IsEmpty ? null : pr;
            if (ReadsInPlace(g.StrideW, g.OutW) && !IsPointwise(g))
            {
                // Every panel is 64 pixels of one output row: read them from a zero-padded copy of x, one image at a
                // time so that the copy stays the size of one image.
                long* offsets = (long*)Scratch.Get(Scratch.Slot.Offsets, 2L * k);
                int taps = g.KernelH * g.KernelW, pitch = g.InW + 2 * g.PadW;
                long planeLength = (long)(g.InH + 2 * g.PadH) * pitch;
                for (int row = 0; row < k; row++)
                {
                    int ci = row / taps, ky = row % taps / g.KernelW, kx = row % g.KernelW;
                    offsets[row] = ci * planeLength + (long)ky * g.DilationH * pitch + kx * g.DilationW;
                }
                var image = g with { Batch = 1 };
                for (int b = 0; b < g.Batch; b++)
                {
                    float* xImage = px + b * g.InputLength / g.Batch;
                    long imageOutput = b * g.OutputLength / g.Batch;
                    GemmDriver.Run(Level, new ConvForwardPlan(image, xImage, packed, groupA, biasPointer, py + imageOutput, Level)
                    {
                        DirectRowOffsets = offsets,
                        Padded = new PaddedPlanes(xImage, g.InChannels, g.InH, g.InW, g.PadH, g.PadW),
                        HasEpilogue = epilogue,
                        Residual = residualPointer == null ? null : residualPointer + imageOutput,
                        Activation = activation,
                    });
                }
                return;
            }
            if (FoldsBatch(g, g.OutH * g.OutW, FoldedColumnPixels) && TryForwardFoldedBatch(g, px, packed, groupA, biasPointer, residualPointer, activation, py))
                return;
            if (ReadsOverPaddedPitch(g))
            {
                ForwardOverPaddedPitch(g, px, packed, groupA, biasPointer, py, residualPointer, activation);
                return;
            }
            GemmDriver.Run(Level, new ConvForwardPlan(g, px, packed, groupA, biasPointer, py, Level)
            {
                HasEpilogue = epilogue,
                Residual = residualPointer,
                Activation = activation,
            });
        }
    }

    /// <summary>See <see cref="IKernels.Conv2dBackwardInput"/>.</summary>
    public void Conv2dBackwardInput(in Conv2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        if (g.InputLength == 0) return;
        if (g.IsDepthwise)
        {
            DepthwiseConv.BackwardInput(Level, g, dy, w, dx);
            return;
        }
        int cinG = g.InChannelsPerGroup, coutG = g.OutChannelsPerGroup, taps = g.KernelH * g.KernelW;
        int k = coutG * taps;
        long groupA = GemmDriver.PackedALength(cinG, k);
        fixed (float* pdy = dy, pw = w, pdx = dx)
        {
            // A of group gi is Wᵀ: row ci, column (co, ky, kx).
            float* packed = Scratch.Get(Scratch.Slot.PackedA, groupA * g.Groups);
            for (int gi = 0; gi < g.Groups; gi++)
                GemmDriver.PackATransposedWeights(pw + (long)gi * coutG * cinG * taps, coutG, cinG, taps, packed + gi * groupA);
            int flipPadH = g.DilationH * (g.KernelH - 1) - g.PadH, flipPadW = g.DilationW * (g.KernelW - 1) - g.PadW;
            if (g.StrideH == 1 && ReadsInPlace(g.StrideW, g.InW) && flipPadH >= 0 && flipPadW >= 0 && !IsPointwise(g))
            {
                // Stride 1: dx is a correlation of dy zero-padded by (reach − padding) with the flipped kernel, so
                // panels of 64 dx pixels of one row are read in place from that padded copy of dy.
                long* offsets = (long*)Scratch.Get(Scratch.Slot.Offsets, 2L * k);
                int pitch = g.OutW + 2 * flipPadW;
                long planeLength = (long)(g.OutH + 2 * flipPadH) * pitch;
                for (int row = 0; row < k; row++)
                {
                    int co = row / taps, ky = row % taps / g.KernelW, kx = row % g.KernelW;
                    offsets[row] = co * planeLength + (long)(g.KernelH - 1 - ky) * g.DilationH * pitch + (g.KernelW - 1 - kx) * g.DilationW;
                }
                var image = g with { Batch = 1 };
                for (int b = 0; b < g.Batch; b++)
                {
                    float* dyImage = pdy + b * g.OutputLength / g.Batch;
                    GemmDriver.Run(Level, new ConvBackwardInputPlan(image, dyImage, packed, groupA, pdx + b * g.InputLength / g.Batch)
                    {
                        DirectRowOffsets = offsets,
                        Padded = new PaddedPlanes(dyImage, g.OutChannels, g.OutH, g.OutW, flipPadH, flipPadW),
                    });
                }
                return;
            }
            if (FoldsBatch(g, g.InH * g.InW, FoldedColumnPixels) && TryInputGradientFoldedBatch(g, pdy, packed, groupA, pdx))
                return;
            GemmDriver.Run(Level, new ConvBackwardInputPlan(g, pdy, packed, groupA, pdx));
        }
    }

    /// <summary>See <see cref="IKernels.Conv2dBackwardWeight"/>.</summary>
    public void Conv2dBackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw, Span<float> dbias)
    {
        if (!dbias.IsEmpty) BiasGradient(g, dy, dbias);
        if (g.IsDepthwise)
        {
            DepthwiseConv.BackwardWeight(Level, g, x, dy, dw);
            return;
        }
        int coutG = g.OutChannelsPerGroup, pixels = g.OutH * g.OutW;
        long groupA = GemmDriver.PackedALength(coutG, pixels);
        fixed (float* px = x, pdy = dy, pdw = dw)
        {
            if (g.Batch == 0 || pixels == 0)
            {
                dw.Clear();
                return;
            }
            // With contiguous 16-pixel runs, B panels are gathered from a zero-padded copy of x and transposed in registers.
            bool gather = Level == SimdLevel.Vector512 && g.StrideW == 1 && g.OutW % 16 == 0;
            long* offsets = null;
            if (gather)
            {
                int columns = g.InChannelsPerGroup * g.KernelH * g.KernelW, taps = g.KernelH * g.KernelW, pitch = g.InW + 2 * g.PadW;
                long planeLength = (long)(g.InH + 2 * g.PadH) * pitch;
                offsets = (long*)Scratch.Get(Scratch.Slot.Offsets, 2L * columns);
                for (int column = 0; column < columns; column++)
                {
                    int ci = column / taps, ky = column % taps / g.KernelW, kx = column % g.KernelW;
                    offsets[column] = ci * planeLength + (long)ky * g.DilationH * pitch + kx * g.DilationW;
                }
            }
            int width = SimdLevels.PanelWidth(Level), threads = Engine.Threads;
            long units = (long)g.Groups * ((g.InChannelsPerGroup * g.KernelH * g.KernelW + width - 1) / width);
            long idleUnits = (units + threads - 1) / threads * threads - units;
            if (threads > 1 && idleUnits * 20 > units && g.Flops > 1e7)
            {
                WeightGradientSplitOverPixels(g, px, pdy, pdw, offsets, threads);
                return;
            }
            if (FoldsBatch(g, pixels, FoldedReductionPixels) && TryWeightGradientFoldedBatch(g, px, pdy, pdw))
                return;
            float* packed = Scratch.Get(Scratch.Slot.PackedA, groupA * g.Groups);
            for (int b = 0; b < g.Batch; b++)
            {
                // Images run one after another so that every dw element sums over the batch in a fixed order.
                for (int gi = 0; gi < g.Groups; gi++)
                {
                    float* dyGroup = pdy + ((long)b * g.OutChannels + gi * coutG) * pixels;
                    GemmDriver.PackAStrided(dyGroup, pixels, 1, coutG, pixels, packed + gi * groupA);
                }
                float* xImage = px + b * g.InputLength / g.Batch;
                GemmDriver.Run(Level, new ConvWeightPlan(g with { Batch = 1 }, 0, pixels, xImage, packed, groupA, pdw, Level)
                {
                    Accumulate = b > 0,
                    Padded = gather ? new PaddedPlanes(xImage, g.InChannels, g.InH, g.InW, g.PadH, g.PadW) : default,
                    ColumnOffsets = offsets,
                });
            }
        }
    }

    /// <summary>
    /// Weight columns do not share out evenly (more than 5 % of thread time idle): each thread reduces a fixed contiguous
    /// range of (image, pixel) into a private dw (thread 0 straight into <paramref name="dw"/>), and the partial sums are
    /// added in thread order.
    /// </summary>
    private void WeightGradientSplitOverPixels(in Conv2dGeometry g, float* x, float* dy, float* dw, long* offsets, int pieces)
    {
        long pixels = (long)g.OutH * g.OutW, total = g.Batch * pixels, length = g.WeightLength;
        float* partials = Scratch.Get(Scratch.Slot.Partials, (pieces - 1) * length);
        var geometry = g;
        nint xp = (nint)x, dyp = (nint)dy, dwp = (nint)dw, partialsPointer = (nint)partials, offsetsPointer = (nint)offsets;

        // Range boundaries fall on multiples of 16 pixels (whole 16-pixel runs for the gathered panels).
        long Boundary(int piece) => piece == pieces ? total : total * piece / pieces & ~15L;
        Parallelism.Run(pieces, piece => WeightGradientRange(geometry, (float*)xp, (float*)dyp,
            piece == 0 ? (float*)dwp : (float*)partialsPointer + (piece - 1) * length,
            Boundary(piece), Boundary(piece + 1), (long*)offsetsPointer));
        for (int piece = 1; piece < pieces; piece++)
        {
            var partial = new ReadOnlySpan<float>(partials + (piece - 1) * length, (int)length);
            var sum = new Span<float>(dw, (int)length);
            System.Numerics.Tensors.TensorPrimitives.Add(sum, partial, sum);
        }
    }

    /// <summary>dw_target = Σ over the flattened (image, pixel) range [start, end), on the calling thread.</summary>
    private void WeightGradientRange(in Conv2dGeometry g, float* x, float* dy, float* target, long start, long end, long* offsets)
    {
        int coutG = g.OutChannelsPerGroup, pixels = g.OutH * g.OutW;
        bool first = true;
        for (long s = start; s < end;)
        {
            int image = (int)(s / pixels), pixel0 = (int)(s % pixels);
            int count = (int)Math.Min(end - s, pixels - pixel0);
            long groupA = GemmDriver.PackedALength(coutG, count);
            float* packed = Scratch.Get(Scratch.Slot.PackedA, groupA * g.Groups);
            for (int gi = 0; gi < g.Groups; gi++)
            {
                float* dyGroup = dy + ((long)image * g.OutChannels + gi * coutG) * pixels + pixel0;
                GemmDriver.PackAStrided(dyGroup, pixels, 1, coutG, count, packed + gi * groupA, parallel: false);
            }
            // Each thread pads the images of its own range (an image split between threads is padded by both).
            float* xImage = x + image * g.InputLength / g.Batch;
            GemmDriver.RunOnThisThread(Level, new ConvWeightPlan(g with { Batch = 1 }, pixel0, count, xImage, packed, groupA, target, Level)
            {
                Accumulate = !first,
                Padded = offsets == null ? default : new PaddedPlanes(xImage, g.InChannels, g.InH, g.InW, g.PadH, g.PadW, parallel: false),
                ColumnOffsets = offsets,
            });
            first = false;
            s += count;
        }
        if (first) new Span<float>(target, (int)g.WeightLength).Clear();
    }

    /// <summary>
    /// Panels can be read in place when the Vector512 kernel runs, columns are contiguous (stride 1) and every 64-pixel
    /// panel stays inside one row. 1×1 convolutions keep packing: their rows are whole planes apart, a power-of-two
    /// stride for typical sizes that would alias in L1.
    /// </summary>
    private bool ReadsInPlace(int strideW, int rowWidth) =>
        Level == SimdLevel.Vector512 && strideW == 1 && rowWidth % SimdLevels.PanelWidth(SimdLevel.Vector512) == 0;

    private static bool IsPointwise(in Conv2dGeometry g) =>
        g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    /// <summary>
    /// A zero-bordered copy of the NCHW planes of one image in per-thread scratch of the calling thread, filled in
    /// parallel unless the caller is already one of several threads.
    /// </summary>
    private readonly struct PaddedPlanes
    {
        public PaddedPlanes(float* source, int planes, int height, int width, int padH, int padW, bool parallel = true, int slack = 0)
        {
            Pitch = width + 2 * padW;
            PlaneLength = (long)(height + 2 * padH) * Pitch;
            // Slack: readable floats past the last plane for callers that read whole panels beyond it (their values unused).
            Data = Scratch.Get(Scratch.Slot.Padded, planes * PlaneLength + slack);
            nint src = (nint)source, dst = (nint)Data;
            long plane = (long)height * width, padded = PlaneLength;
            void Fill(long p0, long p1)
            {
                for (long p = p0; p < p1; p++)
                    Panels.PadPlane((float*)src + p * plane, height, width, padH, padW, (float*)dst + p * padded);
            }
            if (parallel)
                Parallelism.ForRange(planes, 8, Fill);
            else
                Fill(0, planes);
        }

        public float* Data { get; }

        public int Pitch { get; }

        public long PlaneLength { get; }
    }

    private static void BiasGradient(in Conv2dGeometry g, ReadOnlySpan<float> dy, Span<float> dbias)
    {
        int pixels = g.OutH * g.OutW;
        for (int co = 0; co < g.OutChannels; co++)
        {
            float sum = 0f;
            for (int b = 0; b < g.Batch; b++)
                sum += System.Numerics.Tensors.TensorPrimitives.Sum(dy.Slice(((b * g.OutChannels) + co) * pixels, pixels));
            dbias[co] = sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ZeroTail(float* dst, int rows, int nr, int width)
    {
        if (nr == width) return;
        for (int r = 0; r < rows; r++) Panels.Zero(dst + (long)r * width + nr, width - nr);
    }

    /// <summary>Plain C = op(A) · op(B).</summary>
    private sealed class MatrixPlan(int m, int n, int k, float* packedA, float* b, int ldb, bool transB, float* c, int ldc, SimdLevel level)
        : GemmPlan(m, n, k, 1)
    {
        public override float* PackedA(int job) => packedA;

        public override float* C(int job) => c;

        public override int Ldc => ldc;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            if (transB)
            {
                Panels.Transpose(level, b + (long)n0 * ldb + k0, ldb, nr, kc, dst, width);
            }
            else
            {
                for (int r = 0; r < kc; r++) Panels.Copy(b + (long)(k0 + r) * ldb + n0, dst + (long)r * width, nr);
            }
            ZeroTail(dst, kc, nr, width);
        }
    }

    /// <summary>Forward convolution, one job per (image, group): Y_g = W_g · im2col(X_g).</summary>
    private sealed class ConvForwardPlan(Conv2dGeometry g, float* x, float* packedA, long groupA, float* bias, float* y, SimdLevel level)
        : GemmPlan(g.OutChannelsPerGroup, g.OutH * g.OutW, g.InChannelsPerGroup * g.KernelH * g.KernelW, g.Batch * g.Groups)
    {
        private readonly bool _pointwise = g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

        public override float* PackedA(int job) => packedA + job % g.Groups * groupA;

        public override float* C(int job) => y + ((long)(job / g.Groups) * g.OutChannels + job % g.Groups * M) * N;

        public override int Ldc => N;

        public override float* RowInit(int job) => bias == null ? null : bias + job % g.Groups * M;

        public PaddedPlanes Padded { get; init; }

        /// <summary>Added to the output before the activation (same layout as y), or null.</summary>
        public float* Residual { get; init; }

        public FusedActivation Activation { get; init; }

        public override void FinishTile(int job, float* c, int row0, int rows, int n0, int nr)
        {
            float* residual = Residual == null ? null : Residual + (C(job) - y) + (long)row0 * N + n0;
            Epilogue.Apply(c, residual, N, rows, nr, Activation);
        }

        public override float* DirectBase(int job, int n0)
        {
            long firstPlane = (long)(job / g.Groups) * g.InChannels + job % g.Groups * g.InChannelsPerGroup;
            int oy = n0 / g.OutW, ox = n0 % g.OutW;
            return Padded.Data + firstPlane * Padded.PlaneLength + (long)oy * g.StrideH * Padded.Pitch + ox;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            float* xGroup = x + ((long)(job / g.Groups) * g.InChannels + job % g.Groups * g.InChannelsPerGroup) * g.InH * g.InW;
            if (_pointwise)
            {
                // A 1×1 stride-1 convolution is a plain GEMM: its im2col rows are the input planes.
                for (int r = 0; r < kc; r++) Panels.Copy(xGroup + (long)(k0 + r) * N + n0, dst + (long)r * width, nr);
            }
            else
            {
                Panels.ForwardRows(level, g, xGroup, k0, kc, n0, nr, dst, width);
            }
            ZeroTail(dst, kc, nr, width);
        }
    }

    /// <summary>Input gradient, one job per (image, group): dX_g = W_gᵀ · col(dY_g), the forward pass of conv_transpose2d.</summary>
    private sealed class ConvBackwardInputPlan(Conv2dGeometry g, float* dy, float* packedA, long groupA, float* dx)
        : GemmPlan(g.InChannelsPerGroup, g.InH * g.InW, g.OutChannelsPerGroup * g.KernelH * g.KernelW, g.Batch * g.Groups)
    {
        public override float* PackedA(int job) => packedA + job % g.Groups * groupA;

        public override float* C(int job) => dx + ((long)(job / g.Groups) * g.InChannels + job % g.Groups * M) * N;

        public override int Ldc => N;

        public PaddedPlanes Padded { get; init; }

        public override float* DirectBase(int job, int n0)
        {
            long firstPlane = (long)(job / g.Groups) * g.OutChannels + job % g.Groups * g.OutChannelsPerGroup;
            int iy = n0 / g.InW, ix = n0 % g.InW;
            return Padded.Data + firstPlane * Padded.PlaneLength + (long)iy * Padded.Pitch + ix;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            float* dyGroup = dy + ((long)(job / g.Groups) * g.OutChannels + job % g.Groups * g.OutChannelsPerGroup) * g.OutH * g.OutW;
            Panels.BackwardInputRows(g, dyGroup, k0, kc, n0, nr, dst, width);
            ZeroTail(dst, kc, nr, width);
        }
    }

    /// <summary>
    /// Weight gradient of one image, one job per group: dW_g (+)= dY_g · im2col(X_g)ᵀ, reducing over pixels. The B panel
    /// is an im2col tile (rows = weight columns) transposed in registers.
    /// </summary>
    private sealed class ConvWeightPlan(Conv2dGeometry g, int pixelStart, int pixelCount, float* x, float* packedA,
        long groupA, float* dw, SimdLevel level)
        : GemmPlan(g.OutChannelsPerGroup, g.InChannelsPerGroup * g.KernelH * g.KernelW, pixelCount, g.Groups)
    {
        public override float* PackedA(int job) => packedA + job * groupA;

        public override float* C(int job) => dw + (long)job * M * N;

        public override int Ldc => N;

        public PaddedPlanes Padded { get; init; }

        /// <summary>When set, offset of each weight column's row in the padded input (see <see cref="PackGathered"/>).</summary>
        public long* ColumnOffsets { get; init; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            if (ColumnOffsets != null)
            {
                PackGathered(job, k0, kc, n0, nr, dst, width);
                return;
            }
            float* xGroup = x + (long)job * g.InChannelsPerGroup * g.InH * g.InW;
            const int ld = GemmDriver.KBlock;
            float* staging = Scratch.Get(Scratch.Slot.Staging, (long)width * ld);
            Panels.ForwardRows(level, g, xGroup, n0, nr, pixelStart + k0, kc, staging, ld);
            for (int r = nr; r < width; r++) Panels.Zero(staging + (long)r * ld, kc);
            Panels.Transpose(level, staging, ld, width, kc, dst, width);
        }

        /// <summary>
        /// B[p][j] = padded x at column j's offset plus pixel p's position: 16 pixels of one output row by 16 columns at a
        /// time, loaded in place and transposed in registers (output rows are a multiple of 16 pixels).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackGathered(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            float* imageBase = Padded.Data + (long)job * g.InChannelsPerGroup * Padded.PlaneLength;
            long* columns = ColumnOffsets + n0;
            int p = 0;
            for (; p + 16 <= kc; p += 16)
            {
                int pixel = pixelStart + k0 + p, oy = pixel / g.OutW, ox = pixel % g.OutW;
                float* pixelBase = imageBase + (long)oy * g.StrideH * Padded.Pitch + ox;
                for (int j = 0; j < width; j += 16)
                    Panels.GatherTransposed16(pixelBase, columns + j, Math.Clamp(nr - j, 0, 16), dst + (long)p * width + j, width);
            }
            for (; p < kc; p++)
            {
                int pixel = pixelStart + k0 + p, oy = pixel / g.OutW, ox = pixel % g.OutW;
                float* pixelBase = imageBase + (long)oy * g.StrideH * Padded.Pitch + ox;
                for (int j = 0; j < width; j++) dst[(long)p * width + j] = j < nr ? pixelBase[columns[j]] : 0f;
            }
        }
    }
}
