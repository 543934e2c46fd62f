using System.Globalization;

namespace SharpSeg.Training.Config;

/// <summary>
/// Typed reads from one mapping of a config, each error naming the file, line and key path. Every key read is
/// remembered, so <c>RejectUnknown</c> can refuse the keys nobody asked for (a typo is an error, not a silently
/// ignored setting).
/// </summary>
internal sealed class ConfigSection(ConfigMap map, string path, string file)
{
    private readonly HashSet<string> _known = [];

    public ConfigMap Map { get; } = map;

    /// <summary>The keys read or accepted so far.</summary>
    public IReadOnlyCollection<string> KnownKeys => _known;
    public string Path { get; } = path;

    /// <summary>The file of the mapping itself (a missing key is blamed on it).</summary>
    public string File { get; } = file;

    public string KeyPath(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public ConfigNode? Node(string key)
    {
        _known.Add(key);
        return Map[key] is ConfigScalar { Text: null } ? null : Map[key];
    }

    /// <summary>Marks keys as read without reading them (accepted and deliberately unused).</summary>
    public void Accept(params string[] keys) => _known.UnionWith(keys);

    public ConfigException Error(string key, string problem) =>
        Map[key] is { } node ? new ConfigException(node.File, node.Line, KeyPath(key), problem) : new ConfigException(File, Map.Line, KeyPath(key), problem);

    public ConfigException Missing(string key, string why) =>
        new(Map.File, Map.Line, KeyPath(key), $"is required {why}.");

    public string? String(string key) => Node(key) switch
    {
        null => null,
        ConfigScalar scalar => scalar.Text,
        _ => throw Error(key, "must be a single value, not a list or mapping."),
    };

    public string RequiredString(string key, string why) => String(key) ?? throw Missing(key, why);

    public int? Int(string key, int minimum = int.MinValue)
    {
        if (Node(key) is not { } node) return null;
        long value = (node as ConfigScalar)?.AsLong() ?? throw Error(key, $"must be an integer, got {Describe(node)}.");
        if (value < minimum || value > int.MaxValue)
            throw Error(key, $"must be an integer of at least {minimum}, got {value}.");
        return (int)value;
    }

    public double? Double(string key, double minimum = double.NegativeInfinity, bool exclusive = false)
    {
        if (Node(key) is not { } node) return null;
        double value = (node as ConfigScalar)?.AsDouble() ?? throw Error(key, $"must be a number, got {Describe(node)}.");
        if (exclusive ? !(value > minimum) : !(value >= minimum))
            throw Error(key, string.Create(CultureInfo.InvariantCulture, $"must be {(exclusive ? "above" : "at least")} {minimum}, got {value}."));
        return value;
    }

    public bool? Bool(string key)
    {
        if (Node(key) is not { } node) return null;
        return (node as ConfigScalar)?.AsBool() ?? throw Error(key, $"must be true or false, got {Describe(node)}.");
    }

    public IReadOnlyList<double>? Numbers(string key)
    {
        if (Node(key) is not { } node) return null;
        if (node is not ConfigList list)
            throw Error(key, $"must be a list of numbers, got {Describe(node)}.");
        return [.. list.Items.Select((item, i) => (item as ConfigScalar)?.AsDouble()
            ?? throw new ConfigException(item.File, item.Line, $"{KeyPath(key)}[{i}]", $"must be a number, got {Describe(item)}."))];
    }

    public IReadOnlyList<int>? Ints(string key) => Numbers(key) is { } numbers
        ? [.. numbers.Select((n, i) => n == Math.Floor(n) && Math.Abs(n) < int.MaxValue ? (int)n
            : throw new ConfigException(Map[key]!.File, Map[key]!.Line, $"{KeyPath(key)}[{i}]", $"must be an integer, got {n}."))]
        : null;

    public ConfigSection? Section(string key) => Node(key) switch
    {
        null => null,
        ConfigMap child => new ConfigSection(child, KeyPath(key), child.File),
        var other => throw Error(key, $"must be a mapping of keys, got {Describe(other)}."),
    };

    public ConfigList? List(string key) => Node(key) switch
    {
        null => null,
        ConfigList list => list,
        var other => throw Error(key, $"must be a list, got {Describe(other)}."),
    };

    /// <summary>Refuses every key not read, listing the accepted ones.</summary>
    public void RejectUnknown(IEnumerable<string> accepted)
    {
        foreach (var (key, _) in Map.Entries)
            if (!_known.Contains(key))
                throw Error(key, $"unknown key; {(Path.Length == 0 ? "the top level" : Path)} accepts {string.Join(", ", accepted)}.");
    }

    /// <summary>Refuses every key not read, listing the keys read so far as the accepted ones.</summary>
    public void RejectUnknown() => RejectUnknown(_known.Order(StringComparer.Ordinal));

    public static string Describe(ConfigNode node) => node switch
    {
        ConfigScalar { Text: null } => "null",
        ConfigScalar { Quoted: true } scalar => $"'{scalar.Text}'",
        ConfigScalar scalar => scalar.Text!,
        ConfigList => "a list",
        _ => "a mapping",
    };
}
