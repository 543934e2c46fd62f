namespace SharpSeg;

/// <summary>
/// Switches gradient recording for the current thread. Equivalent to <c>torch.no_grad()</c>:
/// <code>using (GradMode.NoGrad()) { var logits = model.Forward(x); }</code>
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static int _disabledDepth;

    /// <summary>Whether ops on this thread record the graph.</summary>
    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Disables recording until the returned scope is disposed (scopes nest).</summary>
    public static Scope NoGrad()
    {
        _disabledDepth++;
        return new Scope();
    }

    internal static bool ShouldRecord(Tensor a) => _disabledDepth == 0 && a.RequiresGrad;

    internal static bool ShouldRecord(Tensor a, Tensor b) => _disabledDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    internal static bool ShouldRecord(params ReadOnlySpan<Tensor?> inputs)
    {
        if (_disabledDepth != 0) return false;
        foreach (var t in inputs)
            if (t is { RequiresGrad: true }) return true;
        return false;
    }

    /// <summary>Restores recording when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        /// <summary>Ends the no-grad scope.</summary>
        public void Dispose() => _disabledDepth--;
    }
}
