namespace SharpSeg;

/// <summary>Argument checks at op boundaries; messages name the op and what is wrong.</summary>
internal static class Check
{
    public static void That(bool condition, string op, string detail)
    {
        if (!condition) throw new ShapeMismatchException(op, detail);
    }

    public static void Float(Tensor t, string op, string name)
    {
        if (t.DType != DType.Float32) throw new ArgumentException($"{op}: {name} must be float32, got {t.DType.Name()} with shape {t.Shape}.");
    }

    public static void Rank(Tensor t, int rank, string op, string name)
    {
        if (t.Rank != rank) throw new ShapeMismatchException(op, $"{name} must have rank {rank}, got shape {t.Shape}");
    }
}
