namespace SharpSeg.Data.Transforms;

/// <summary>
/// A transform list given to <see cref="TransformConfig.FromJson"/> cannot be built: malformed JSON, an unknown
/// transform or parameter, a value of the wrong JSON type, or a value the transform's constructor rejects. The message
/// starts with the config's source, then the entry (<c>transforms[2] (Resize)</c>) and parameter where known.
/// Comparable to the <c>ValueError</c>/<c>TypeError</c> a PaddleSeg config raises while building
/// <c>manager.TRANSFORMS</c> components.
/// </summary>
public sealed class TransformConfigException : FormatException
{
    /// <summary>Creates the exception; the message is composed from the location and <paramref name="problem"/>.</summary>
    public TransformConfigException(string source, int? entryIndex, string? transformName, string? parameterName,
        string problem, Exception? inner = null)
        : base(Describe(source, entryIndex, transformName, parameterName, problem), inner)
    {
        Source = source;
        base.Source = source;
        EntryIndex = entryIndex;
        TransformName = transformName;
        ParameterName = parameterName;
        Problem = problem;
    }

    /// <summary>
    /// Where the config came from (a file path or a description), as passed to <see cref="TransformConfig.FromJson"/>.
    /// Hides <see cref="Exception.Source"/>, which is set to the same text.
    /// </summary>
    public new string Source { get; }

    /// <summary>Zero-based position of the failing entry in the transform list; null for errors of the whole document.</summary>
    public int? EntryIndex { get; }

    /// <summary>The failing entry's transform name, when it could be read.</summary>
    public string? TransformName { get; }

    /// <summary>The failing parameter in config spelling (e.g. <c>target_size</c>), when one is to blame.</summary>
    public string? ParameterName { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    private static string Describe(string source, int? entryIndex, string? transformName, string? parameterName, string problem)
    {
        string location = source;
        if (entryIndex is { } index)
            location += $": transforms[{index}]" + (transformName is null ? "" : $" ({transformName})");
        if (parameterName is not null)
            location += $", parameter '{parameterName}'";
        return $"{location}: {problem}";
    }
}
