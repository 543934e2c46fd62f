namespace SharpSeg.Ops;

/// <summary>
/// Counts the floating-point operations of convolutions and matrix products while <see cref="Enabled"/> on the calling thread (the models
/// bench turns it on for one untimed step to report GFLOP/s). A multiply-add counts 2; elementwise ops, pooling,
/// normalization and resampling are not counted, as in the usual "model FLOPs" figure (fvcore, ptflops).
/// Backward counts both the input and the weight gradient of a convolution; a matrix product's backward is two
/// matrix products and is counted through them.
/// </summary>
internal static class FlopCounter
{
    // Per thread: ops count on the thread that calls them (kernel workers never do), so concurrent callers — tests
    // running in parallel, a data loader — do not mix into each other's counts.
    [ThreadStatic] private static double _flops;
    [ThreadStatic] private static bool _enabled;

    /// <summary>Whether ops called on this thread are counted.</summary>
    public static bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>FLOPs counted on this thread since the last <see cref="Reset"/>.</summary>
    public static double Flops => _flops;

    public static void Reset() => _flops = 0;

    public static void Add(double flops)
    {
        if (_enabled) _flops += flops;
    }
}
