namespace SharpSeg.Kernels;

/// <summary>
/// Everything a 2-D convolution kernel needs to know about its operands, all NCHW and contiguous:
/// input <c>[Batch, InChannels, InH, InW]</c>, weight <c>[OutChannels, InChannels / Groups, KernelH, KernelW]</c>,
/// output <c>[Batch, OutChannels, OutH, OutW]</c>. Semantics of <c>torch.nn.functional.conv2d</c>.
/// </summary>
internal readonly record struct Conv2dGeometry(
    int Batch, int InChannels, int InH, int InW,
    int OutChannels, int KernelH, int KernelW,
    int StrideH = 1, int StrideW = 1,
    int PadH = 0, int PadW = 0,
    int DilationH = 1, int DilationW = 1,
    int Groups = 1)
{
    public int OutH => (InH + 2 * PadH - DilationH * (KernelH - 1) - 1) / StrideH + 1;
    public int OutW => (InW + 2 * PadW - DilationW * (KernelW - 1) - 1) / StrideW + 1;
    public int InChannelsPerGroup => InChannels / Groups;
    public int OutChannelsPerGroup => OutChannels / Groups;

    /// <summary>Depthwise: one input channel per group (channel multiplier = OutChannels / InChannels).</summary>
    public bool IsDepthwise => Groups == InChannels && Groups > 1;

    public long InputLength => (long)Batch * InChannels * InH * InW;
    public long OutputLength => (long)Batch * OutChannels * OutH * OutW;
    public long WeightLength => (long)OutChannels * InChannelsPerGroup * KernelH * KernelW;

    /// <summary>Multiply-adds × 2 of one forward pass.</summary>
    public double Flops => 2.0 * Batch * OutChannels * OutH * OutW * InChannelsPerGroup * KernelH * KernelW;
}

/// <summary>
/// A 2-D pooling window over NCHW input <c>[Batch, Channels, InH, InW]</c> producing <c>[Batch, Channels, OutH, OutW]</c>.
/// <see cref="OutH"/>/<see cref="OutW"/> are computed by the caller with torch's rule (including <c>ceil_mode</c>, where the
/// last window must start inside the input or left padding).
/// </summary>
internal readonly record struct Pool2dGeometry(
    int Batch, int Channels, int InH, int InW,
    int OutH, int OutW,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int PadH, int PadW,
    int DilationH = 1, int DilationW = 1);
