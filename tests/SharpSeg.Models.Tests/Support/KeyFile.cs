namespace SharpSeg.Models.Tests.Support;

/// <summary>
/// A committed state-dict listing dumped from the PyTorch reference: "# parameters N" (the whole reference model),
/// optionally "# classifier PREFIX…" (the reference keys a headless backbone drops), then one "key shape" line per entry
/// (shape "AxBxC" or "scalar").
/// </summary>
public sealed record KeyFile(long ParameterCount, IReadOnlyList<string> ClassifierPrefixes, IReadOnlyList<(string Key, string Shape)> Entries)
{
    /// <summary>The file of a registered name: <c>Golden/Backbones/keys/&lt;name&gt;.txt</c>.</summary>
    public static string PathOf(string name) => GoldenFiles.PathOf(Path.Combine("Backbones", "keys", name + ".txt"));

    /// <summary>Reads <c>Golden/Backbones/keys/&lt;name&gt;.txt</c>.</summary>
    public static KeyFile Read(string name)
    {
        var lines = File.ReadAllLines(PathOf(name));
        long parameters = long.Parse(lines[0].Split(' ')[^1]);
        var classifier = lines.Skip(1).TakeWhile(l => l.StartsWith('#')).Where(l => l.StartsWith("# classifier ", StringComparison.Ordinal))
            .SelectMany(l => l["# classifier ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var entries = lines.Skip(1).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToArray();
        return new KeyFile(parameters, classifier, entries);
    }

    /// <summary>The entries a headless backbone has: all but the classifier's.</summary>
    public IEnumerable<(string Key, string Shape)> HeadlessEntries => Entries.Where(e => !IsClassifier(e.Key));

    /// <summary>Parameters of the headless backbone: the reference's minus the classifier's (buffers are not parameters).</summary>
    public long HeadlessParameterCount => ParameterCount - Entries.Where(e => IsClassifier(e.Key) && !IsBuffer(e.Key)).Sum(e => Numel(e.Shape));

    /// <summary>A shape written the way the key files write it.</summary>
    public static string Format(Shape shape) => shape.Rank == 0 ? "scalar" : string.Join("x", shape.ToArray());

    /// <summary>Number of elements of a shape written the way the key files write it.</summary>
    public static long Numel(string shape) => shape == "scalar" ? 1 : shape.Split('x').Aggregate(1L, (a, d) => a * long.Parse(d));

    private bool IsClassifier(string key) => ClassifierPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));

    private static bool IsBuffer(string key) =>
        key.EndsWith(".running_mean", StringComparison.Ordinal) || key.EndsWith(".running_var", StringComparison.Ordinal)
        || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal);
}
