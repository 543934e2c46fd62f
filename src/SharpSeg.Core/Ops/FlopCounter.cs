namespace SharpSeg.Ops;

/// <summary>
/// Counts the floating-point operations of convolutions and matrix products while <see cref="Enabled"/> (the models
/// bench turns it on for one untimed step to report GFLOP/s). A multiply-add counts 2; elementwise ops, pooling,
/// normalization and resampling are not counted, as in the usual "model FLOPs" figure (fvcore, ptflops).
/// Backward counts both the input and the weight gradient of a convolution; a matrix product's backward is two
/// matrix products and is counted through them.
/// </summary>
internal static class FlopCounter
{
    private static double _flops;

    public static bool Enabled { get; set; }

    public static double Flops => Volatile.Read(ref _flops);

    public static void Reset() => Volatile.Write(ref _flops, 0);

    public static void Add(double flops)
    {
        if (!Enabled) return;
        double seen = Volatile.Read(ref _flops);
        while (true)
        {
            double previous = Interlocked.CompareExchange(ref _flops, seen + flops, seen);
            if (previous == seen) return;
            seen = previous;
        }
    }
}
