namespace SharpSeg.Kernels;

/// <summary>Geometry preconditions shared by the pooling kernels.</summary>
internal static class Pool2dChecks
{
    /// <summary>avg_pool2d has no dilation in torch; a dilated geometry here is a caller bug, not a silent no-op.</summary>
    public static void RequireUndilated(in Pool2dGeometry g)
    {
        if (g.DilationH != 1 || g.DilationW != 1)
            throw new ArgumentException($"avg_pool2d takes no dilation, got dilation ({g.DilationH}, {g.DilationW}) in {g}");
    }
}
