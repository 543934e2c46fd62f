namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// A convolution weight packed once in the A-panel layout of <see cref="GemmDriver.PackAStrided"/> (one block per group),
/// or, for a geometry that runs as pixel rows (<see cref="LinearKernels.RunsAsPixelRows"/>), as 64-channel B panels; kept
/// across calls so that inference does not repack every weight on every forward. Packing takes as long as the
/// convolution itself for the 1×1 and 3×3 layers at 7×7 and 14×14 pixels. The owner (the convolution op) decides
/// when the source weight has changed and calls <see cref="Pack"/> again; the array is reused when the size fits.
/// </summary>
internal sealed unsafe class PackedConvWeight
{
    private float[] _packed = [];
    private float[] _channelPanels = [];

    /// <summary>The geometry's weight shape it was packed for: output channels per group, reduction length, groups.</summary>
    public (int OutPerGroup, int K, int Groups) Layout { get; private set; }

    /// <summary>Whether this holds the A-panel packing of a weight of <paramref name="g"/>'s shape.</summary>
    public bool Fits(in Conv2dGeometry g) =>
        Layout == (g.OutChannelsPerGroup, g.InChannelsPerGroup * g.KernelH * g.KernelW, g.Groups) && _packed.Length > 0;

    /// <summary>
    /// Whether this holds the weight as 64-channel B panels for <see cref="LinearKernels"/>' pixel-rows forward, for a
    /// weight of <paramref name="g"/>'s shape.
    /// </summary>
    public bool HasChannelPanels(in Conv2dGeometry g) =>
        Layout == (g.OutChannelsPerGroup, g.InChannelsPerGroup * g.KernelH * g.KernelW, g.Groups) && _channelPanels.Length > 0;

    /// <summary>
    /// The weight as B panels of the pixel-rows forward: for each 64 output channels, K rows of 64 floats (row k holds
    /// w[co][k] of the panel's channels), so the micro-kernel reads every row in place. Only valid when
    /// <see cref="HasChannelPanels"/>.
    /// </summary>
    public float* ChannelPanels => AlignedStart(_channelPanels);

    /// <summary>
    /// Packs <paramref name="w"/> ([out, in/groups, kh, kw] of <paramref name="g"/>): as 64-channel panels when
    /// <paramref name="channelPanels"/> (the geometry runs as pixel rows: one group, whole panels), else as A panels. Only
    /// one form is kept, so a prepared weight costs its own size once.
    /// </summary>
    public void Pack(in Conv2dGeometry g, ReadOnlySpan<float> w, bool channelPanels = false)
    {
        int coutG = g.OutChannelsPerGroup, k = g.InChannelsPerGroup * g.KernelH * g.KernelW;
        if (channelPanels && (g.Groups != 1 || g.OutChannels % 64 != 0))
            throw new ArgumentException($"Channel panels need one group and whole 64-channel panels; got {g.Groups} groups of {g.OutChannels} output channels.");
        Layout = (coutG, k, g.Groups);
        if (channelPanels)
        {
            _packed = [];
            long panelsLength = (long)g.OutChannels * k + 16;
            if (panelsLength > Array.MaxLength) throw new OutOfMemoryException($"Packed convolution weight of {panelsLength} floats exceeds the largest array.");
            if (_channelPanels.Length != panelsLength) _channelPanels = GC.AllocateUninitializedArray<float>((int)panelsLength, pinned: true);
            fixed (float* pw = w)
            {
                float* dst = ChannelPanels;
                for (int co = 0; co < g.OutChannels; co++)
                {
                    float* row = pw + (long)co * k, column = dst + (long)(co / 64) * k * 64 + co % 64;
                    for (int p = 0; p < k; p++) column[(long)p * 64] = row[p];
                }
            }
            return;
        }

        _channelPanels = [];
        long groupA = GemmDriver.PackedALength(coutG, k);
        long length = groupA * g.Groups + 16;
        if (length > Array.MaxLength) throw new OutOfMemoryException($"Packed convolution weight of {length} floats exceeds the largest array.");
        if (_packed.Length != length) _packed = GC.AllocateUninitializedArray<float>((int)length, pinned: true);
        fixed (float* pw = w)
        {
            float* dst = Aligned;
            for (int gi = 0; gi < g.Groups; gi++)
                GemmDriver.PackAStrided(pw + (long)gi * coutG * k, k, 1, coutG, k, dst + gi * groupA);
        }
    }

    /// <summary>
    /// Writes the A panels of a weight held as channel panels into <paramref name="dst"/> (<see cref="GemmDriver.PackedALength"/>
    /// floats): for a call whose image is too large for pixel rows after the weight was prepared at a small one.
    /// </summary>
    public void UnpackChannelPanelsToA(float* dst)
    {
        var (cout, k, _) = Layout;
        float* panels = ChannelPanels;
        int rows = MicroKernels.Rows, mPad = (cout + rows - 1) / rows * rows;
        for (int k0 = 0; k0 < k; k0 += GemmDriver.KBlock)
        {
            int kc = Math.Min(GemmDriver.KBlock, k - k0);
            for (int s = 0; s < mPad / rows; s++)
            {
                float* sliver = dst + (long)k0 * mPad + (long)s * rows * kc;
                for (int r = 0; r < rows; r++)
                {
                    int co = s * rows + r;
                    float* column = panels + (long)(co / 64) * k * 64 + (long)k0 * 64 + co % 64;
                    for (int p = 0; p < kc; p++) sliver[p * rows + r] = co < cout ? column[(long)p * 64] : 0f;
                }
            }
        }
    }

    /// <summary>The 64-byte-aligned start of the packed panels (the array is pinned, so the address is stable).</summary>
    public float* Aligned => AlignedStart(_packed);

    private static float* AlignedStart(float[] pinned)
    {
        nint address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref pinned[0]);
        return (float*)((address + 63) & ~(nint)63);
    }
}
