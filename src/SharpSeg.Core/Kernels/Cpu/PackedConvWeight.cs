namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// A convolution weight packed once in the A-panel layout of <see cref="GemmDriver.PackAStrided"/> (one block per group),
/// kept across calls so that inference does not repack every weight on every forward. Packing takes as long as the
/// convolution itself for the 1×1 and 3×3 layers at 7×7 and 14×14 pixels. The owner (the convolution op) decides
/// when the source weight has changed and calls <see cref="Pack"/> again; the array is reused when the size fits.
/// </summary>
internal sealed unsafe class PackedConvWeight
{
    private float[] _packed = [];

    /// <summary>The geometry's weight shape it was packed for: output channels per group, reduction length, groups.</summary>
    public (int OutPerGroup, int K, int Groups) Layout { get; private set; }

    /// <summary>Whether this holds the packing of a weight of <paramref name="g"/>'s shape.</summary>
    public bool Fits(in Conv2dGeometry g) =>
        Layout == (g.OutChannelsPerGroup, g.InChannelsPerGroup * g.KernelH * g.KernelW, g.Groups) && _packed.Length > 0;

    /// <summary>Packs <paramref name="w"/> ([out, in/groups, kh, kw] of <paramref name="g"/>).</summary>
    public void Pack(in Conv2dGeometry g, ReadOnlySpan<float> w)
    {
        int coutG = g.OutChannelsPerGroup, k = g.InChannelsPerGroup * g.KernelH * g.KernelW;
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
        Layout = (coutG, k, g.Groups);
    }

    /// <summary>The 64-byte-aligned start of the packed panels (the array is pinned, so the address is stable).</summary>
    public float* Aligned
    {
        get
        {
            nint address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _packed[0]);
            return (float*)((address + 63) & ~(nint)63);
        }
    }
}
