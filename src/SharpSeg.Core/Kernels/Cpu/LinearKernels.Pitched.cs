using System.Runtime.CompilerServices;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// Forward convolution as a GEMM read in place over the padded input's pitch, for any stride. The zero-padded input is
/// split into its stride phases (phase (a, b) holds padded rows a, a + strideH, … and columns b, b + strideW, …; one
/// phase, the padded input itself, at stride 1), so that output pixel (oy, ox) reads tap (ky, kx) at row oy + ky·dilH /
/// strideH and column ox + kx·dilW / strideW of phase (ky·dilH mod strideH, kx·dilW mod strideW). GEMM column
/// n = oy·pitch + ox (pitch = the phases' width) then reads B row k = (ci, ky, kx) as consecutive floats at a fixed
/// offset: no panel is gathered, at stride 2 as at stride 1 (a space-to-depth view of the input, kept NCHW). Splitting
/// costs one pass over the input, against a gather of every B panel (once per row block of A) on the packed path.
/// </summary>
internal sealed unsafe partial class LinearKernels
{
    /// <summary>
    /// Whether a convolution pays to run over the padded pitch (see <see cref="ForwardOverPaddedPitch"/>): its extra columns
    /// (pitch − OutW per output row) cost at most 15 % more FMAs than the packed panels (full panels plus a 16- or 32-wide
    /// last one), which in turn cost a gather of every panel (and at stride 2, a gather per row block of A). Stride-1
    /// rows that are whole panels read in place without a pitch, and 1×1 stride-1 convolutions are plain GEMMs.
    /// A strided convolution reads over the pitch only above 16×16 output pixels: smaller ones keep their narrow last panel
    /// off the slower 6×16 kernel by running as pixel rows or gathered (one thread, loaded machine: 1×1 stride-2 512→1024
    /// from 28² measured 1.44–1.54 ms over the pitch against 1.16–1.19 as pixel rows and 1.27–1.39 gathered). Above it,
    /// one thread measured level or better over the pitch: 3×3 stride-2 128 from 56² 1.46 against 1.57 ms gathered, the
    /// ResNet-50 stem (7×7 stride 2 to 112²) 1.42–1.82 against 1.61–2.5 ms (best of 20, a loaded machine).
    /// </summary>
    internal bool ReadsOverPaddedPitch(in Conv2dGeometry g)
    {
        if (Level != SimdLevel.Vector512 || IsPointwise(g)) return false;
        if ((g.StrideH != 1 || g.StrideW != 1) && (long)g.OutH * g.OutW <= PixelRowsMaxPixels) return false;
        return PitchedColumns(g) <= PackedColumns((long)g.OutH * g.OutW) * 115 / 100;
    }

    /// <summary>
    /// GEMM columns over the padded pitch: OutH rows of <see cref="StridePhases.Pitch"/> columns, the last panel rounded up
    /// to 16, 32 or 64 columns like the packed path's (the driver runs a narrow last panel with the 6×16 or 6×32 kernel):
    /// at 28×28 stride 1 that is 848 columns for 784 pixels, at 14×14 224 for 196, at 56→28 stride 2 832 for 784.
    /// </summary>
    private static long PitchedColumns(in Conv2dGeometry g) => PackedColumns((long)g.OutH * StridePhases.PitchOf(g));

    /// <summary>
    /// The convolution over the padded pitch (see the class summary). Columns past OutW in each row are computed and
    /// dropped (the price of skipping the gather). The product goes to a scratch of OutChannels × columns; as each tile is
    /// finished (still in L1) its kept columns are copied to the output and the residual and activation applied there, so
    /// no second pass over the output follows. Every kept value is the same FMA chain over k as the packed path's, so
    /// results are bit-identical to it.
    /// </summary>
    private void ForwardOverPaddedPitch(in Conv2dGeometry g, float* x, float* packed, long groupA, float* bias, float* y,
        float* residual, FusedActivation activation)
    {
        int k = g.InChannelsPerGroup * g.KernelH * g.KernelW, taps = g.KernelH * g.KernelW;
        var phases = new StridePhases(g);
        int columns = (int)PitchedColumns(g);
        long* offsets = (long*)Scratch.Get(Scratch.Slot.Offsets, 2L * k);
        for (int row = 0; row < k; row++)
        {
            int ci = row / taps, ky = row % taps / g.KernelW, kx = row % g.KernelW;
            offsets[row] = ci * phases.ChannelLength + phases.Offset(ky * g.DilationH, kx * g.DilationW);
        }
        float* wide = Scratch.Get(Scratch.Slot.PitchedOutput, (long)g.OutChannels * columns);
        var image = g with { Batch = 1 };
        long imageInput = g.InputLength / g.Batch, imageOutput = g.OutputLength / g.Batch;
        for (int b = 0; b < g.Batch; b++)
        {
            float* split = phases.Fill(x + b * imageInput, g.InChannels);
            GemmDriver.Run(Level, new PitchedConvPlan(image, split, phases, packed, groupA, bias, wide, columns)
            {
                DirectRowOffsets = offsets,
                HasEpilogue = true,
                Output = y + b * imageOutput,
                Residual = residual == null ? null : residual + b * imageOutput,
                Activation = activation,
            });
        }
    }

    /// <summary>
    /// The layout of one image's zero-padded input split into stride phases: per channel, each phase some tap reads (all
    /// of them for a 3×3 stride-2 convolution, one for a 1×1 stride-2) as <see cref="Rows"/> × <see cref="Pitch"/> floats,
    /// in per-thread scratch of the calling thread.
    /// </summary>
    private readonly struct StridePhases
    {
        private readonly Conv2dGeometry _g;
        private readonly int[] _slots;
        private readonly int _used;

        public StridePhases(in Conv2dGeometry g)
        {
            _g = g;
            Pitch = PitchOf(g);
            Rows = (g.InH + 2 * g.PadH + g.StrideH - 1) / g.StrideH;
            _slots = new int[g.StrideH * g.StrideW];
            Array.Fill(_slots, -1);
            var rowPhases = new bool[g.StrideH];
            var columnPhases = new bool[g.StrideW];
            for (int ky = 0; ky < g.KernelH; ky++) rowPhases[ky * g.DilationH % g.StrideH] = true;
            for (int kx = 0; kx < g.KernelW; kx++) columnPhases[kx * g.DilationW % g.StrideW] = true;
            for (int a = 0; a < g.StrideH; a++)
                for (int b = 0; b < g.StrideW; b++)
                    if (rowPhases[a] && columnPhases[b]) _slots[a * g.StrideW + b] = _used++;
            ChannelLength = _used * PhaseLength;
        }

        /// <summary>Width of a phase: ⌈(InW + 2·PadW) / StrideW⌉, the GEMM's columns per output row.</summary>
        public static int PitchOf(in Conv2dGeometry g) => (g.InW + 2 * g.PadW + g.StrideW - 1) / g.StrideW;

        public int Pitch { get; }

        /// <summary>Height of a phase: ⌈(InH + 2·PadH) / StrideH⌉.</summary>
        public int Rows { get; }

        public long PhaseLength => (long)Rows * Pitch;

        /// <summary>Floats per input channel: every used phase.</summary>
        public long ChannelLength { get; }

        /// <summary>Where in a channel's phases output pixel (0, 0) reads the padded input at row dy, column dx.</summary>
        public long Offset(int dy, int dx) =>
            _slots[dy % _g.StrideH * _g.StrideW + dx % _g.StrideW] * PhaseLength + (long)(dy / _g.StrideH) * Pitch + dx / _g.StrideW;

        /// <summary>
        /// Writes the phases of <paramref name="channels"/> planes from <paramref name="source"/> (NCHW, one image) into
        /// scratch, in parallel over channels, and returns it. The last panel reads up to 63 columns plus the kernel's reach
        /// past the last channel (junk columns only: a kept column reads inside its own phase), so slack follows.
        /// </summary>
        public float* Fill(float* source, int channels)
        {
            long slack = 64 + (long)(_g.KernelH * _g.DilationH / _g.StrideH + 1) * Pitch + _g.KernelW * _g.DilationW;
            float* data = Scratch.Get(Scratch.Slot.Padded, channels * ChannelLength + slack);
            nint src = (nint)source, dst = (nint)data;
            var self = this;
            Parallelism.ForRange(channels, 8, (c0, c1) =>
            {
                for (long c = c0; c < c1; c++)
                    self.FillChannel((float*)src + c * self._g.InH * self._g.InW, (float*)dst + c * self.ChannelLength);
            });
            return data;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void FillChannel(float* plane, float* target)
        {
            var g = _g;
            if (g.StrideH == 1 && g.StrideW == 1)
            {
                Panels.PadPlane(plane, g.InH, g.InW, g.PadH, g.PadW, target);
                return;
            }
            for (int a = 0; a < g.StrideH; a++)
                for (int b = 0; b < g.StrideW; b++)
                {
                    int slot = _slots[a * g.StrideW + b];
                    if (slot < 0) continue;
                    float* phase = target + slot * PhaseLength;
                    // Phase columns j read input column j·strideW + b − padW: inside the plane for j in [first, end).
                    int first = Math.Clamp((g.PadW - b + g.StrideW - 1) / g.StrideW, 0, Pitch);
                    int end = Math.Clamp((g.InW + g.PadW - b + g.StrideW - 1) / g.StrideW, first, Pitch);
                    for (int i = 0; i < Rows; i++)
                    {
                        float* row = phase + (long)i * Pitch;
                        int iy = i * g.StrideH + a - g.PadH;
                        if ((uint)iy >= (uint)g.InH)
                        {
                            Panels.Zero(row, Pitch);
                            continue;
                        }
                        float* input = plane + (long)iy * g.InW + b - g.PadW;
                        for (int j = 0; j < first; j++) row[j] = 0f;
                        for (int j = first; j < end; j++) row[j] = input[(long)j * g.StrideW];
                        for (int j = end; j < Pitch; j++) row[j] = 0f;
                    }
                }
        }
    }

    /// <summary>
    /// Forward of one image over the padded pitch (see <see cref="ForwardOverPaddedPitch"/>), one job per group: C is the
    /// scratch of OutChannels × <paramref name="columns"/>, every panel read in place from the stride phases at
    /// <paramref name="split"/>.
    /// </summary>
    private sealed class PitchedConvPlan(Conv2dGeometry g, float* split, StridePhases phases, float* packedA, long groupA, float* bias,
        float* wide, int columns)
        : GemmPlan(g.OutChannelsPerGroup, columns, g.InChannelsPerGroup * g.KernelH * g.KernelW, g.Groups)
    {
        public override float* PackedA(int job) => packedA + job * groupA;

        public override float* C(int job) => wide + (long)job * M * N;

        public override int Ldc => N;

        public override float* RowInit(int job) => bias == null ? null : bias + job * M;

        public override float* DirectBase(int job, int n0) => split + (long)job * g.InChannelsPerGroup * phases.ChannelLength + n0;

        /// <summary>The image's output (NCHW), where finished tiles' kept columns go.</summary>
        public float* Output { get; init; }

        /// <summary>Added to the output before the activation (same layout), or null.</summary>
        public float* Residual { get; init; }

        public FusedActivation Activation { get; init; }

        /// <summary>
        /// Copies the kept columns of a finished tile (pitched position n → output row n / pitch, column n % pitch, kept
        /// when that column is below OutW) to the output and applies the epilogue there, one run of an output row at a time.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void FinishTile(int job, float* c, int row0, int rows, int n0, int nr)
        {
            int pitch = phases.Pitch, outW = g.OutW, outH = g.OutH;
            long plane = (long)outH * outW;
            // Without a residual the activation runs over the whole tile in whole vectors before the copy (the dropped
            // columns' values do not matter); a residual is laid out like the output, so it is added run by run.
            bool wholeTile = Residual == null;
            if (wholeTile) Epilogue.Apply(c, null, N, rows, nr, Activation);
            for (int j = 0; j < nr;)
            {
                int n = n0 + j, oy = n / pitch, ox = n % pitch;
                int run = Math.Min(nr - j, pitch - ox);
                if (oy >= outH) break;
                if (ox < outW)
                {
                    int kept = Math.Min(run, outW - ox);
                    for (int r = 0; r < rows; r++)
                    {
                        long at = (long)(job * M + row0 + r) * plane + (long)oy * outW + ox;
                        float* target = Output + at;
                        Panels.Copy(c + (long)r * N + j, target, kept);
                        if (!wholeTile) Epilogue.Apply(target, Residual + at, 0, 1, kept, Activation);
                    }
                }
                j += run;
            }
        }

        /// <summary>The narrow last panel (and a caller without the in-place kernel): the same floats, copied.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void PackB(int job, int k0, int kc, int n0, int nr, float* dst, int width)
        {
            float* source = DirectBase(job, n0);
            for (int r = 0; r < kc; r++)
                Panels.Copy(source + DirectRowOffsets[k0 + r], dst + (long)r * width, nr);
            ZeroTail(dst, kc, nr, width);
        }
    }
}
