namespace SharpSeg.Training.Config;

/// <summary>
/// A PaddleSeg-style config that cannot be used: its message names the file (and line) the offending value came from,
/// the key path (e.g. <c>model.backbone.output_stride</c>) and what is allowed. Equivalent to the assertion errors of
/// PaddleSeg's <c>paddleseg.cvlibs.Config</c>, with the location added.
/// </summary>
public sealed class ConfigException : FormatException
{
    /// <summary>Creates the exception; the message is "<c>file:line: key.path: problem</c>".</summary>
    public ConfigException(string file, int line, string keyPath, string problem, Exception? inner = null)
        : base($"{file}{(line > 0 ? $":{line}" : "")}: {(keyPath.Length > 0 ? keyPath + ": " : "")}{problem}", inner)
    {
        File = file;
        Line = line;
        KeyPath = keyPath;
    }

    /// <summary>The config file the offending value came from (after <c>_base_</c> resolution, the file that set it).</summary>
    public string File { get; }

    /// <summary>1-based line of the value in <see cref="File"/>, or 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>The dotted key path, e.g. <c>model.backbone.output_stride</c>; empty for the file as a whole.</summary>
    public string KeyPath { get; }
}
