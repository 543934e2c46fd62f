namespace SharpSeg.Nn;

/// <summary>A state-dict key whose tensor shape differs between the module and the loaded dictionary.</summary>
/// <param name="Key">The <c>path.leaf</c> key.</param>
/// <param name="Expected">The module's shape.</param>
/// <param name="Actual">The loaded tensor's shape.</param>
public sealed record ShapeMismatch(string Key, Shape Expected, Shape Actual)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Key}: module has {Expected}, dictionary has {Actual}";
}

/// <summary>
/// The outcome of <see cref="Module.LoadStateDict"/>. Equivalent to the <c>_IncompatibleKeys</c> torch's
/// <c>load_state_dict</c> returns, plus the keys skipped for a different shape.
/// </summary>
/// <param name="LoadedCount">Number of tensors copied into the module.</param>
/// <param name="MissingKeys">Module keys the dictionary lacks (they kept their values).</param>
/// <param name="UnexpectedKeys">Dictionary keys the module does not have (ignored).</param>
/// <param name="SkippedShapeMismatches">Keys whose shapes differ and were allowed to; the module kept its own tensors.</param>
public sealed record LoadReport(int LoadedCount, IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys,
    IReadOnlyList<ShapeMismatch> SkippedShapeMismatches)
{
    /// <summary>True when every module key was loaded from a tensor of the same shape and nothing was left over.</summary>
    public bool IsExactMatch => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && SkippedShapeMismatches.Count == 0;
}

/// <summary>Thrown by a load that would leave a module inconsistent with the dictionary; nothing was copied.</summary>
public sealed class StateDictMismatchException : InvalidOperationException
{
    internal StateDictMismatchException(string moduleName, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<ShapeMismatch> shapeMismatches) : base(Describe(moduleName, missing, unexpected, shapeMismatches))
    {
        MissingKeys = missing;
        UnexpectedKeys = unexpected;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>Module keys the dictionary lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Dictionary keys the module does not have.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>Keys whose shapes differ and were not allowed to.</summary>
    public IReadOnlyList<ShapeMismatch> ShapeMismatches { get; }

    private static string Describe(string moduleName, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<ShapeMismatch> shapeMismatches)
    {
        var lines = new List<string> { $"Error(s) in loading state dict for {moduleName} (nothing was loaded):" };
        if (missing.Count > 0) lines.Add($"  missing keys ({missing.Count}): {string.Join(", ", missing)}");
        if (unexpected.Count > 0) lines.Add($"  unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
        foreach (var m in shapeMismatches) lines.Add($"  size mismatch for {m}");
        return string.Join(Environment.NewLine, lines);
    }
}
